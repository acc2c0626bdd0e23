#!/usr/bin/env python3
"""Side-by-side tables of our sweep medians and the paper's Tables 2 and 3.

Runs `symdp report` on the sweep folders (docs/tables/table2|table3/report.{md,csv,tex}) and writes
docs/tables/table2/vs_paper.md and docs/tables/table3/vs_paper.md. The paper's numbers are typed in
from its Tables 2 and 3 (medians of 21 seeds on a GPU); ours are medians over the seeds we ran.

    python3 scripts/paper_tables.py [--symdp .build/release/symdp]
"""
import argparse, csv, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# configuration: (time s, params K, train MSE, test MSE, val MSE[, policy abs, policy rel])
paper2 = {  # group: {row: (time, params K, train, test, val, pol_abs, pol_rel)}
 "φ(Identity): Baseline": ("42","49.4","4.1e-06","3.3e-07","3.3e-07","2.9e-05","0.10%"),
 "φ(Identity): Thin (64 nodes)": ("33","12.4","3.7e-06","2.7e-07","2.7e-07","3.4e-05","0.10%"),
 "φ(Identity): Shallow (2 layers)": ("159","16.6","3.7e-06","7.8e-07","7.6e-07","9.4e-03","33.53%"),
 "φ(ReLU): Baseline": ("107","66.8","3.7e-06","3.3e-07","3.3e-07","2.7e-05","0.09%"),
 "φ(ReLU): L = 1": ("88","66.0","1.8e-05","2.3e-07","2.4e-07","2.8e-05","0.10%"),
 "φ(ReLU): L = 2": ("86","66.3","1.3e-05","2.1e-07","2.2e-07","2.6e-05","0.08%"),
 "φ(ReLU): L = 8": ("70","67.8","3.0e-05","5.9e-07","5.9e-07","3.3e-05","0.11%"),
 "φ(ReLU): L = 16": ("91","69.9","5.5e-06","1.5e-07","1.5e-07","2.1e-05","0.07%"),
 "φ(ReLU): Shallow (φ: 1 layer, ρ: 2 layers)": ("79","17.7","2.0e-06","5.5e-07","5.5e-07","3.2e-05","0.11%"),
 "φ(ReLU): Shallow (φ: 1 layer)": ("58","50.4","8.7e-06","1.5e-07","1.5e-07","2.5e-05","0.08%"),
 "φ(ReLU): Shallow (ρ: 2 layers)": ("89","34.0","3.1e-06","4.2e-07","4.2e-07","2.7e-05","0.09%"),
 "φ(ReLU): Deep (φ: 4 layers, ρ: 8 layers)": ("242","165.1","2.1e-03","2.2e-03","2.1e-03","2.7e-03","8.50%"),
 "φ(ReLU): Very Thin (φ, ρ: 16 nodes)": ("45","1.2","1.2e-05","4.9e-07","4.9e-07","3.2e-05","0.10%"),
 "φ(ReLU): Thin (φ, ρ: 64 nodes)": ("87","17.0","1.1e-05","4.5e-07","4.5e-07","3.0e-05","0.10%"),
 "φ(ReLU): Wide (φ, ρ: 256 nodes)": ("115","264.7","5.4e-06","4.0e-07","4.0e-07","4.1e-05","0.13%"),
 "φ(Moments): Baseline": ("55","49.8","1.4e-06","7.6e-07","7.6e-07","2.8e-05","0.09%"),
 "φ(Moments): Moments (1,2)": ("211","49.5","2.4e-06","1.1e-06","2.3e-06","4.4e-05","0.14%"),
 "φ(Moments): Very Shallow (1 layer)": ("241","0.6","1.1e-05","8.4e-06","7.9e-06","1.1e-02","34.00%"),
 "φ(Moments): Shallow (2 layers)": ("137","17.0","1.6e-06","9.9e-07","9.5e-07","1.8e-02","59.41%"),
 "φ(Moments): Deep (8 layers)": ("241","115.3","2.8e-06","1.2e-06","1.0e-06","5.2e-05","0.16%"),
 "φ(Moments): Thin (64 nodes)": ("82","12.6","1.6e-06","9.1e-07","9.2e-07","3.8e-05","0.12%"),
 "φ(Moments): Wide (256 nodes)": ("61","197.9","1.8e-06","8.7e-07","8.0e-07","4.3e-05","0.13%"),
}
paper3 = {
 "φ(ReLU): Baseline": ("60","67.1","1.4e-05","4.7e-06","3.3e-06"),
 "φ(ReLU): L = 1": ("109","66.3","9.4e-06","1.3e-05","4.5e-06"),
 "φ(ReLU): L = 2": ("73","66.6","1.0e-05","3.3e-06","2.3e-06"),
 "φ(ReLU): L = 8": ("73","68.1","1.1e-05","4.9e-06","2.0e-06"),
 "φ(ReLU): L = 16": ("72","70.2","1.5e-05","5.4e-06","1.7e-06"),
 "φ(ReLU): Very Shallow (φ, ρ: 1 layer)": ("136","1.4","8.9e-06","4.8e+06","4.9e-06"),
 "φ(ReLU): Shallow (φ, ρ: 2 layers)": ("47","34.3","1.0e-05","9.2e-06","2.8e-06"),
 "φ(ReLU): Thin (φ, ρ: 32 nodes)": ("52","4.5","1.3e-05","6.0e-06","2.7e-06"),
 "φ(Moments): Baseline": ("26","49.8","6.0e-06","5.0e-06","3.8e-06"),
 "φ(Moments): Moments (1)": ("24","49.4","2.7e-05","6.5e-06","3.4e-06"),
 "φ(Moments): Moments (1,2)": ("27","49.5","8.0e-06","5.1e-06","3.6e-06"),
 "φ(Moments): Very Shallow (1 layer)": ("252","0.6","8.3e-06","1.4e+00","5.0e-06"),
 "φ(Moments): Shallow (2 layers)": ("35","17.0","5.8e-06","1.2e+00","4.4e-06"),
 "φ(Moments): Thin (32 nodes)": ("66","3.2","1.1e-05","9.7e-06","4.4e-06"),
}
def run(symdp, folders, out):
    r = subprocess.run([symdp, 'report'] + folders + ['--out', out], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        sys.exit("symdp report failed (run the sweeps first, see docs/reproduction.md):\n" + r.stderr)
    out = os.path.join(ROOT, out)
    rows=list(csv.DictReader(open(out+'/report.csv')))
    return rows
def fmt(v, pct=False):
    if v in ('',None): return '–'
    x=float(v)
    if x == float('inf'): return '∞'
    if pct: return '%.2f%%'%(100*x)
    return '%.1e'%x
def fmt_time(t):
    if not t: return '–'
    x = float(t)
    return '∞' if x == float('inf') else '%.1f' % x

def table(rows, paper, nu1):
    h = "| Configuration | runs | success (1st try) | test MSE ours / paper | val MSE ours / paper | " + ("policy error ours / paper | " if nu1 else "") + "time ours (s) / paper GPU (s) |\n"
    h += "|---|---|---|---|---|" + ("---|" if nu1 else "") + "---|\n"
    for r in rows:
        p = paper.get(r['configuration'])
        succ = "%d/%s (%d)" % (int(r['successes']), r['runs'], int(r['first_attempt_successes']))
        line = "| %s | %s | %s | %s / %s | %s / %s | " % (r['configuration'], r['runs'], succ, fmt(r['median_test_mse']), p[3] if p else '–', fmt(r['median_val_mse']), p[4] if p else '–')
        if nu1: line += "%s / %s | " % (fmt(r['median_policy_rel_error'], True), p[6] if p else '–')
        t = r['median_seconds']
        line += "%s / %s |" % (fmt_time(t), p[0] if p else '–')
        h += line + "\n"
    return h

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symdp", default=".build/release/symdp")
    a = ap.parse_args()
    r2 = run(a.symdp, ["runs/sweeps/table2_identity", "runs/sweeps/table2_deepsets", "runs/sweeps/table2_moments"], "docs/tables/table2")
    r3 = run(a.symdp, ["runs/sweeps/table3_deepsets", "runs/sweeps/table3_moments"], "docs/tables/table3")
    note = ("\nOurs: medians over our seeds (failed seeds included; ∞ where most seeds left no finite value). "
            "Success: val MSE reached 1e-6 and the solution passed the own-path check; in brackets, at the first attempt. "
            "Paper: medians of 21 seeds on a GPU; times are GPU seconds, ours 2-core CPU seconds including restarts.\n")
    for rows, paper, nu1, out in [(r2, paper2, True, "docs/tables/table2/vs_paper.md"), (r3, paper3, False, "docs/tables/table3/vs_paper.md")]:
        text = table(rows, paper, nu1) + note
        with open(os.path.join(ROOT, out), "w") as f:
            f.write(text)
        print(text)

if __name__ == "__main__":
    main()
