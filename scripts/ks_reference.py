#!/usr/bin/env python3
"""Classical reference solution of the Krusell-Smith (1998) economy in the calibration of
Den Haan, Judd & Juillard (2010, JEDC 34(1), "Computational suite of models with heterogeneous
agents: incomplete markets and aggregate uncertainty").

Algorithm (Krusell-Smith with a continuum of households):
  1. Given a log-linear aggregate law of motion (ALM)  ln K' = b0_z + b1_z ln K,  solve the
     household problem on a grid of individual capital k (= end-of-period asset grid a) and
     aggregate capital K, for every (z, e), by the endogenous grid method (Carroll 2006).  The
     borrowing limit k' >= 0 is handled exactly: households whose k lies below the endogenous
     point of a = 0 choose k' = 0 and consume all their cash on hand.  The policy is stored as the
     endogenous grid itself (linear between its points, exact kink at the limit); between K nodes
     the savings rate k'/m (m = cash on hand) is interpolated linearly, which keeps the marginal
     propensity to consume of the rich at its exact limit 1 - beta (interpolating k' does not).
  2. Simulate the continuum with the non-stochastic histogram method (Young 2010) on a fine k grid
     for each employment status, along one long aggregate path z_t drawn with a fixed seed.  Each
     period the unemployed mass is set to exactly u_z (the chain implies it up to the 6-digit
     rounding of the published matrix, see the checks).
  3. Regress ln K_{t+1} on ln K_t separately for z_t = b and z_t = g (after the burn-in), update
     the ALM with damping, repeat until max |b_regression - b_current| < tol.

Timing: K_t is the mean of capital held at the start of period t (before production).  z_t and
e_t are known at the start of t; prices r_t, w_t use (K_t, z_t); income uses e_t; the household
then chooses k_{t+1}; then (z_{t+1}, e_{t+1}) are drawn jointly from the 4x4 chain.

numpy only (no scipy), single process.  See docs/krusell-smith-reference.md.  Usage:
  python3 scripts/ks_reference.py --out ks_reference.json [--periods 10000] [--seed 0] [--quick]
"""

import argparse
import json
import sys
import time

import numpy as np

# ----------------------------------------------------------------------------------------------
# Calibration (DHJJ 2010; identical in Maliar-Maliar-Valli 2010 code and DeepHAM's KSParam)
# ----------------------------------------------------------------------------------------------
BETA = 0.99
ALPHA = 0.36
DELTA = 0.025
LBAR = 1.0 / 0.9          # time endowment: l̄ (1 - u_b) = 1
MU = 0.15                 # unemployment benefit, share of the wage
Z = np.array([0.99, 1.01])          # z_b, z_g
U = np.array([0.10, 0.04])          # u_b, u_g
# states ordered (b,u), (b,e), (g,u), (g,e); rows today, columns tomorrow
P4 = np.array([
    [0.525, 0.35, 0.03125, 0.09375],
    [0.038889, 0.836111, 0.002083, 0.122917],
    [0.09375, 0.03125, 0.291667, 0.583333],
    [0.009115, 0.115885, 0.024306, 0.850694],
])
LAB = LBAR * (1.0 - U)                      # aggregate labour in efficiency units, L_z
TAU = MU * U / (LBAR * (1.0 - U))           # labour tax balancing the benefit budget
KSS = ((1.0 / BETA - (1.0 - DELTA)) / ALPHA) ** (1.0 / (ALPHA - 1.0))  # deterministic SS, L = 1

REPORT_K = [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0]


def s_index(iz, ie):
    return 2 * iz + ie


def prices(K, iz):
    """r, w for aggregate capital K (array ok) in aggregate state iz."""
    kl = K / LAB[iz]
    return ALPHA * Z[iz] * kl ** (ALPHA - 1.0), (1.0 - ALPHA) * Z[iz] * kl ** ALPHA


def labour_income(w, iz, ie):
    """[(1 - tau_z) l̄ e + mu (1 - e)] w."""
    return w * ((1.0 - TAU[iz]) * LBAR if ie == 1 else MU)


# ----------------------------------------------------------------------------------------------
# Markov chain: checks and conditional matrices
# ----------------------------------------------------------------------------------------------
def chain_objects():
    checks = {}
    rows = P4.sum(axis=1)
    checks["row_sums"] = rows.tolist()
    assert np.allclose(rows, 1.0, atol=1e-9), rows
    # aggregate chain: P(z'|z, e) must not depend on e
    pz = np.zeros((2, 2))
    for iz in range(2):
        p_from = [P4[s_index(iz, ie)].reshape(2, 2).sum(axis=1) for ie in range(2)]
        assert np.allclose(p_from[0], p_from[1], atol=1e-6), (iz, p_from)
        pz[iz] = p_from[1]
    checks["P_z"] = pz.tolist()
    # conditional idiosyncratic chains pi[z, z', e, e'] = P((z',e')|(z,e)) / P(z'|z)
    pi = np.zeros((2, 2, 2, 2))
    implied_u = np.zeros((2, 2))
    for iz in range(2):
        for jz in range(2):
            for ie in range(2):
                pi[iz, jz, ie] = P4[s_index(iz, ie), 2 * jz:2 * jz + 2] / pz[iz, jz]
            assert np.allclose(pi[iz, jz].sum(axis=1), 1.0, atol=1e-12)
            # unemployment tomorrow implied by today's u_z and the conditional chain
            implied_u[iz, jz] = U[iz] * pi[iz, jz, 0, 0] + (1 - U[iz]) * pi[iz, jz, 1, 0]
    checks["implied_u_next[z][z']"] = implied_u.tolist()
    err_u = np.abs(implied_u - U[None, :]).max()
    checks["max_abs_implied_u_error"] = float(err_u)
    assert err_u < 1e-5, implied_u
    checks["conditional_pi[z][z'][e][e']"] = pi.tolist()
    checks["expected_durations"] = {
        "z_spell": [1.0 / (1.0 - pz[0, 0]), 1.0 / (1.0 - pz[1, 1])],
        "unemployment_spell_bb": 1.0 / (1.0 - pi[0, 0, 0, 0]),
        "unemployment_spell_gg": 1.0 / (1.0 - pi[1, 1, 0, 0]),
        "pi_gb_uu_over_pi_bb_uu": pi[1, 0, 0, 0] / pi[0, 0, 0, 0],
        "pi_bg_uu_over_pi_gg_uu": pi[0, 1, 0, 0] / pi[1, 1, 0, 0],
    }
    # stationary distribution of the joint chain: unemployment share in each z
    evals, evecs = np.linalg.eig(P4.T)
    v = np.real(evecs[:, np.argmin(np.abs(evals - 1.0))])
    v = v / v.sum()
    checks["stationary_joint"] = v.tolist()
    checks["stationary_u_by_z"] = [v[0] / (v[0] + v[1]), v[2] / (v[2] + v[3])]
    assert np.allclose(checks["stationary_u_by_z"], U, atol=1e-5)
    return pz, pi, checks


# ----------------------------------------------------------------------------------------------
# Grids and interpolation helpers
# ----------------------------------------------------------------------------------------------
def power_grid(lo, hi, n, power):
    return lo + (hi - lo) * np.linspace(0.0, 1.0, n) ** power


def k_weights(Kq, Kgrid):
    """Bracketing index and weight for linear interpolation in K (clamped to the grid)."""
    Kq = np.clip(Kq, Kgrid[0], Kgrid[-1])
    lo = np.clip(np.searchsorted(Kgrid, Kq, side="right") - 1, 0, len(Kgrid) - 2)
    w = (Kq - Kgrid[lo]) / (Kgrid[lo + 1] - Kgrid[lo])
    return lo, w


def interp_extrap(x, xp, fp):
    """Linear interpolation with linear extrapolation at both ends (xp increasing)."""
    y = np.interp(x, xp, fp)
    hi = x > xp[-1]
    if np.any(hi):
        y[hi] = fp[-1] + (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]) * (x[hi] - xp[-1])
    return y


def savings_from_endo(k, kend, agrid):
    """k'(k) from an endogenous grid (kend[j] -> agrid[j]), k' = 0 below kend[0] (exact kink)."""
    y = interp_extrap(k, kend, agrid)
    y[k <= kend[0]] = 0.0
    return y


# ----------------------------------------------------------------------------------------------
# Household problem: endogenous grid method given the ALM
# ----------------------------------------------------------------------------------------------
class Household:
    def __init__(self, agrid, Kgrid):
        self.a = agrid
        self.K = Kgrid
        nK, na = len(Kgrid), len(agrid)
        self.R = np.zeros((nK, 2))
        self.y = np.zeros((nK, 2, 2))
        for iz in range(2):
            r, w = prices(Kgrid, iz)
            self.R[:, iz] = 1.0 + r - DELTA
            for ie in range(2):
                self.y[:, iz, ie] = labour_income(w, iz, ie)
        # initial guess: consume the return plus labour income (k' ~= k)
        self.kp = np.broadcast_to(0.9 * agrid, (nK, 2, 2, na)).copy()
        self.kend = None
        self.egm_iterations = 0

    def wealth(self, k, iK):
        return self.R[iK, :, None, None] * k + self.y[iK, :, :, None]

    def solve(self, B, tol=1e-10, maxit=20000):
        a, Kg = self.a, self.K
        nK, na = len(Kg), len(a)
        # next-period aggregate capital from the ALM, prices there (exact K', clamped only for
        # the interpolation of the policy in K)
        Kp = np.exp(B[:, 0][None, :] + B[:, 1][None, :] * np.log(Kg)[:, None])    # (nK, z)
        lo, wt = k_weights(Kp, Kg)                                                  # (nK, z)
        Rn = np.zeros((nK, 2, 2))       # [iK, z, z']
        yn = np.zeros((nK, 2, 2, 2))    # [iK, z, z', e']
        for jz in range(2):
            r, w = prices(Kp, jz)
            Rn[:, :, jz] = 1.0 + r - DELTA
            for je in range(2):
                yn[:, :, jz, je] = labour_income(w, jz, je)
        Pm = P4.reshape(2, 2, 2, 2)     # [z, e, z', e']
        kp = self.kp
        m_grid = self.R[:, :, None, None] * a + self.y[:, :, :, None]          # [iK, z, e, a]
        mn = Rn[:, :, :, None, None] * a + yn[:, :, :, :, None]                  # [iK, z, z', e', a]
        for it in range(maxit):
            # savings rate s = k'/m at the K nodes, linear in K at K' (exact for the linear
            # asymptote of the rich: interpolating k' itself in K carries the convexity of
            # R(K) into the MPC of the rich, which beta R ~ 1 amplifies about 100 times)
            srate = kp / m_grid
            sn = (1.0 - wt)[:, :, None, None, None] * srate[lo] + wt[:, :, None, None, None] * srate[lo + 1]
            # sn: [iK, z, z', e', a]
            cn = mn * (1.0 - sn)
            if np.any(cn <= 0):
                raise RuntimeError("non-positive next-period consumption in EGM")
            g = Rn[:, :, :, None, None] / cn                           # [iK, z, z', e', a]
            emu = np.einsum("zexy,kzxya->kzea", Pm, g)                  # [iK, z, e, a]
            c = 1.0 / (BETA * emu)
            kend = (c + a - self.y[:, :, :, None]) / self.R[:, :, None, None]
            kp_new = np.empty_like(kp)
            for iK in range(nK):
                for iz in range(2):
                    for ie in range(2):
                        kp_new[iK, iz, ie] = savings_from_endo(a, kend[iK, iz, ie], a)
            diff = np.abs(kp_new - kp).max()
            kp = kp_new
            if diff < tol:
                break
        self.egm_iterations = it + 1
        self.egm_diff = float(diff)
        self.kp = kp
        self.kend = kend
        self.Kp_clamped = int(np.sum((Kp < Kg[0]) | (Kp > Kg[-1])))
        return kp

    def policy(self, k, K, iz, ie):
        """k'(k; K, z, e) and c for arbitrary k (array) and scalar K: at the two bracketing K nodes
        the savings rate k'/m from the endogenous grid (exact kink at the limit), linear in K, times
        the exact cash on hand m(k; K, z, e)."""
        lo, w = k_weights(np.array([K]), self.K)
        lo, w = int(lo[0]), float(w[0])
        srate = 0.0
        for node, wn in ((lo, 1.0 - w), (lo + 1, w)):
            m_node = self.R[node, iz] * k + self.y[node, iz, ie]
            srate = srate + wn * savings_from_endo(k, self.kend[node, iz, ie], self.a) / m_node
        r, wage = prices(K, iz)
        m = (1 + r - DELTA) * k + labour_income(wage, iz, ie)
        kp = srate * m
        return kp, m - kp, m


# ----------------------------------------------------------------------------------------------
# Non-stochastic simulation (Young 2010)
# ----------------------------------------------------------------------------------------------
def draw_z_path(T, seed, pz):
    rng = np.random.default_rng(seed)
    z = np.zeros(T, dtype=np.int64)
    z[0] = 0 if rng.random() < 0.5 else 1
    draws = rng.random(T)
    for t in range(1, T):
        z[t] = z[t - 1] if draws[t] < pz[z[t - 1], z[t - 1]] else 1 - z[t - 1]
    return z


def simulate(hh, zpath, pi, kf, dist0, collect=False, burn=0):
    """dist0: (2, J) masses on kf for e = u, e (summing to u_{z_0}, 1 - u_{z_0}).
    With collect, out["histogram"] is the wealth histogram averaged over the periods t >= burn."""
    T, J = len(zpath), len(kf)
    dist = dist0.copy()
    # the start distribution may come from a path that ended in the other z: set u_{z_0} exactly
    dist *= (np.array([U[zpath[0]], 1 - U[zpath[0]]]) / dist.sum(axis=1))[:, None]
    Kts = np.zeros(T)
    out = {}
    if collect:
        for name in ("K_u", "K_e", "constrained", "constrained_u", "constrained_e", "gini",
                     "share_k_below_0.1", "share_k_below_1", "resource_residual", "mass_top"):
            out[name] = np.zeros(T)
        out["histogram"] = np.zeros(J)
    max_u_fix = 0.0
    for t in range(T):
        iz = zpath[t]
        K = float(kf @ dist.sum(axis=0))
        Kts[t] = K
        if t == T - 1 and not collect:
            break
        post = np.zeros((2, J))
        cons = 0.0
        for ie in range(2):
            kp, c, m = hh.policy(kf, K, iz, ie)
            kp = np.minimum(kp, kf[-1])
            idx = np.clip(np.searchsorted(kf, kp, side="right") - 1, 0, J - 2)
            wgt = np.clip((kp - kf[idx]) / (kf[idx + 1] - kf[idx]), 0.0, 1.0)
            mass = dist[ie]
            post[ie] = np.bincount(idx, mass * (1 - wgt), J) + np.bincount(idx + 1, mass * wgt, J)
            if collect:
                cons += float(mass @ c)
                binding = float(mass[kp <= 0.0].sum())
                out["constrained_u" if ie == 0 else "constrained_e"][t] = binding / mass.sum()
                out["constrained"][t] += binding
        if collect:
            tot = dist.sum(axis=0)
            out["K_u"][t] = kf @ dist[0] / dist[0].sum()
            out["K_e"][t] = kf @ dist[1] / dist[1].sum()
            cum = np.cumsum(tot * kf) / K
            out["gini"][t] = 1.0 - float(np.sum(tot * (cum + np.concatenate(([0.0], cum[:-1])))))
            out["share_k_below_0.1"][t] = tot[kf < 0.1].sum()
            out["share_k_below_1"][t] = tot[kf < 1.0].sum()
            out["mass_top"][t] = tot[-1]
            if t >= burn:
                out["histogram"] += tot / (T - burn)
            Kn = float(kf @ post.sum(axis=0))
            Y = Z[iz] * K ** ALPHA * LAB[iz] ** (1 - ALPHA)
            out["resource_residual"][t] = cons + Kn - Y - (1 - DELTA) * K
        if t == T - 1:
            break
        jz = zpath[t + 1]
        new = np.zeros((2, J))
        for je in range(2):
            new[je] = post[0] * pi[iz, jz, 0, je] + post[1] * pi[iz, jz, 1, je]
        # enforce the unemployment rate u_{z'} exactly (the 6-digit matrix implies it to ~1e-6)
        target = np.array([U[jz], 1 - U[jz]])
        sums = new.sum(axis=1)
        max_u_fix = max(max_u_fix, float(np.abs(sums - target).max()))
        new *= (target / sums)[:, None]
        dist = new
    return Kts, dist, out, max_u_fix


def regress_alm(Kts, zpath, burn):
    x, y, z = np.log(Kts[burn:-1]), np.log(Kts[burn + 1:]), zpath[burn:-1]
    B = np.zeros((2, 2))
    r2 = np.zeros(2)
    se = np.zeros(2)
    for iz in range(2):
        sel = z == iz
        X = np.column_stack([np.ones(sel.sum()), x[sel]])
        coef, *_ = np.linalg.lstsq(X, y[sel], rcond=None)
        res = y[sel] - X @ coef
        B[iz] = coef
        r2[iz] = 1 - res @ res / np.sum((y[sel] - y[sel].mean()) ** 2)
        se[iz] = np.sqrt(res @ res / (sel.sum() - 2))
    return B, r2, se


# ----------------------------------------------------------------------------------------------
# Euler-equation errors of the household policy (given the ALM)
# ----------------------------------------------------------------------------------------------
def euler_errors(hh, B, K, kpoints):
    """log10 unit-free Euler errors at (k, K, z, e): |1 - c_implied/c| where unconstrained,
    max(0, 1 - c_implied/c) where k' = 0 (only a violation of the inequality counts)."""
    res = {}
    allerr = []
    labels = []
    for iz in range(2):
        Kn = float(np.exp(B[iz, 0] + B[iz, 1] * np.log(K)))
        for ie in range(2):
            kp, c, _ = hh.policy(kpoints, K, iz, ie)
            emu = np.zeros_like(kpoints)
            for jz in range(2):
                r, _ = prices(Kn, jz)
                for je in range(2):
                    _, cn, _ = hh.policy(kp, Kn, jz, je)
                    emu += P4[s_index(iz, ie), s_index(jz, je)] * (1 + r - DELTA) / cn
            cimp = 1.0 / (BETA * emu)
            err = np.abs(1.0 - cimp / c)
            con = kp <= 0.0
            err[con] = np.maximum(0.0, 1.0 - cimp[con] / c[con])
            allerr.append(err)
            labels += [(f"z{'bg'[iz]}_e{ie}", float(k)) for k in kpoints]
            res[f"z{'bg'[iz]}_e{ie}"] = np.log10(np.maximum(err, 1e-17)).tolist()
    e = np.concatenate(allerr)
    l10 = np.log10(np.maximum(e, 1e-17))
    worst = labels[int(np.argmax(l10))]
    res["worst"] = {"state": worst[0], "k": worst[1], "log10": float(l10.max())}
    return res, float(l10.mean()), float(l10.max())


# ----------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description="Classical Krusell-Smith reference solution (DHJJ 2010 calibration).")
    ap.add_argument("--out", required=True)
    ap.add_argument("--periods", type=int, default=None, help="simulation length (default 10000, quick 3000)")
    ap.add_argument("--burn", type=int, default=None, help="burn-in (default 1000, quick 500)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="coarser grids, shorter path (< 30 s)")
    ap.add_argument("--tol", type=float, default=None, help="ALM tolerance (default 1e-6, quick 1e-4)")
    ap.add_argument("--damp", type=float, default=0.3, help="weight on the regression coefficients")
    ap.add_argument("--nk", type=int, default=None, help="x^3-spaced household grid points (default 200, quick 100)")
    ap.add_argument("--nK", type=int, default=None, help="aggregate-capital nodes on [32, 48] (default 20, quick 6)")
    ap.add_argument("--J", type=int, default=None, help="histogram points on [0, 400] (default 2000, quick 600)")
    args = ap.parse_args(argv)
    t0 = time.time()
    c0 = time.process_time()

    if args.quick:
        T = args.periods or 3000
        burn = args.burn if args.burn is not None else 500
        na, nd, nK, J, tol = 100, 50, 6, 600, args.tol or 1e-4
        egm_tol = 1e-8
    else:
        T = args.periods or 10000
        burn = args.burn if args.burn is not None else 1000
        na, nd, nK, J, tol = 200, 200, 20, 2000, args.tol or 1e-6
        egm_tol = 1e-10
    assert T > burn + 100
    na, nK, J = args.nk or na, args.nK or nK, args.J or J

    pz, pi, checks = chain_objects()
    # household grid: x^3-spaced on [0, 500] plus a uniform block on [0, 2], where the kinks
    # inherited from next period's borrowing limit sit (the largest Euler errors)
    agrid = np.unique(np.concatenate([power_grid(0.0, 500.0, na, 3.0), np.linspace(0.0, 2.0, nd)]))
    Kgrid = np.linspace(32.0, 48.0, nK)
    kf = power_grid(0.0, 400.0, J, 2.0)
    hh = Household(agrid, Kgrid)
    zpath = draw_z_path(T, args.seed, pz)

    # initial distribution: everyone at the deterministic steady state, unemployment u_{z_0}
    dist = np.zeros((2, J))
    j = np.searchsorted(kf, KSS)
    dist[0, j] = U[zpath[0]]
    dist[1, j] = 1 - U[zpath[0]]

    B = np.array([[(1 - 0.96) * np.log(KSS), 0.96]] * 2)
    history = []
    converged = False
    for it in range(1, 201):
        hh.solve(B, tol=egm_tol)
        Kts, dist_end, _, ufix = simulate(hh, zpath, pi, kf, dist)
        Bnew, r2, se = regress_alm(Kts, zpath, burn)
        diff = float(np.abs(Bnew - B).max())
        history.append({"iteration": it, "B": B.tolist(), "B_regression": Bnew.tolist(),
                        "max_abs_diff": diff, "egm_iterations": hh.egm_iterations,
                        "mean_K": float(Kts[burn:].mean())})
        print(f"  ALM it {it:3d}: b_b=({Bnew[0,0]:.6f},{Bnew[0,1]:.6f}) b_g=({Bnew[1,0]:.6f},{Bnew[1,1]:.6f})"
              f"  diff {diff:.2e}  mean K {Kts[burn:].mean():.4f}  EGM its {hh.egm_iterations}"
              f"  [{time.time() - t0:.1f}s]", flush=True)
        if diff < tol:
            converged = True
            B = Bnew if diff == 0 else B
            break
        B = args.damp * Bnew + (1 - args.damp) * B
        # start the next simulation from a distribution in the ergodic set
        dist = dist_end
    # final: policy under the converged ALM, simulation with statistics
    hh.solve(B, tol=egm_tol)
    Kts, _, st, ufix = simulate(hh, zpath, pi, kf, dist, collect=True, burn=burn)
    Bfin, r2, se = regress_alm(Kts, zpath, burn)
    sl = slice(burn, T)
    Ks, zs = Kts[sl], zpath[sl]

    # Den Haan (2010) dynamic forecast: iterate the ALM alone along the z path
    Kalm = np.zeros(T - burn)
    Kalm[0] = Ks[0]
    for t in range(1, T - burn):
        iz = zs[t - 1]
        Kalm[t] = np.exp(B[iz, 0] + B[iz, 1] * np.log(Kalm[t - 1]))
    dh_err = np.abs(np.log(Kalm / Ks)) * 100

    Kmean = float(Ks.mean())
    kpts = np.array(REPORT_K)
    table = {}
    for iz in range(2):
        for ie in range(2):
            kp, c, m = hh.policy(kpts, Kmean, iz, ie)
            r, w = prices(Kmean, iz)
            budget = np.abs(c + kp - ((1 + r - DELTA) * kpts + labour_income(w, iz, ie))).max()
            assert budget < 1e-10
            table[f"z{'bg'[iz]}_e{ie}"] = {"c": c.tolist(), "kprime": kp.tolist(), "cash_on_hand": m.tolist()}
    # budget identity on the whole household grid
    bmax = 0.0
    for iK in range(len(Kgrid)):
        for iz in range(2):
            r, w = prices(Kgrid[iK], iz)
            for ie in range(2):
                kp, c, m = hh.policy(agrid, Kgrid[iK], iz, ie)
                bmax = max(bmax, float(np.abs(c + kp - (1 + r - DELTA) * agrid - labour_income(w, iz, ie)).max()))
                assert np.all(c > 0) and np.all(kp >= 0)
    checks["budget_identity_max_abs_on_grid"] = bmax
    assert bmax < 1e-10
    checks["unemployment_renormalisation_max_abs"] = ufix
    checks["aggregate_resource_residual_max_abs"] = float(np.abs(st["resource_residual"][sl][:-1]).max())
    checks["mass_at_top_of_histogram_max"] = float(st["mass_top"].max())
    checks["K_range_simulated"] = [float(Ks.min()), float(Ks.max())]
    checks["K_grid"] = [float(Kgrid[0]), float(Kgrid[-1])]
    assert Kgrid[0] < Ks.min() and Ks.max() < Kgrid[-1], "simulated K leaves the K grid"

    ee_pts = np.concatenate([kpts, agrid[(agrid > 0) & (agrid <= 100)]])
    ee_pts = np.unique(ee_pts)
    ee_all, ee_mean, ee_max = euler_errors(hh, B, Kmean, ee_pts)
    ee_report, _, _ = euler_errors(hh, B, Kmean, kpts)

    by_z = {}
    for iz in range(2):
        sel = zs == iz
        by_z["bg"[iz]] = {"mean_K": float(Ks[sel].mean()), "std_K": float(Ks[sel].std()),
                          "periods": int(sel.sum())}
    runtime = time.time() - t0
    result = {
        "model": "Krusell-Smith (1998), DHJJ (2010) calibration with unemployment insurance",
        "calibration": {"beta": BETA, "alpha": ALPHA, "delta": DELTA, "l_bar": LBAR, "mu": MU,
                        "z": Z.tolist(), "u": U.tolist(), "tau": TAU.tolist(), "L": LAB.tolist(),
                        "P": P4.tolist(), "state_order": ["(b,u)", "(b,e)", "(g,u)", "(g,e)"],
                        "k_ss_deterministic": KSS},
        "settings": {"periods": T, "burn_in": burn, "seed": args.seed, "quick": args.quick,
                     "k_grid": {"n": int(len(agrid)), "min": 0.0, "max": 500.0,
                                "spacing": f"{na} points x^3-spaced on [0, 500] plus {nd} uniform on [0, 2]"},
                     "K_grid": Kgrid.tolist(),
                     "histogram_grid": {"n": J, "min": 0.0, "max": 400.0, "spacing": "x^2"},
                     "alm_tol": tol, "damping": args.damp, "egm_tol": egm_tol},
        "alm": {"b": {"b": B[0].tolist(), "g": B[1].tolist()},
                "b_final_regression": {"b": Bfin[0].tolist(), "g": Bfin[1].tolist()},
                "r2": {"b": float(r2[0]), "g": float(r2[1])},
                "regression_se": {"b": float(se[0]), "g": float(se[1])},
                "iterations": len(history), "converged": converged,
                "final_max_abs_diff": history[-1]["max_abs_diff"],
                "den_haan_error_pct": {"mean": float(dh_err.mean()), "max": float(dh_err.max())}},
        "aggregate": {"mean_K": Kmean, "std_K": float(Ks.std()), "by_z": by_z,
                      "mean_K_unemployed": float(st["K_u"][sl].mean()),
                      "mean_K_employed": float(st["K_e"][sl].mean())},
        "distribution": {
            "share_constrained_kprime_eq_0": float(st["constrained"][sl].mean()),
            "share_constrained_unemployed": float(st["constrained_u"][sl].mean()),
            "share_constrained_employed": float(st["constrained_e"][sl].mean()),
            "share_k_below_0.1": float(st["share_k_below_0.1"][sl].mean()),
            "share_k_below_1": float(st["share_k_below_1"][sl].mean()),
            "gini_wealth": float(st["gini"][sl].mean()),
            # quantiles of k in the ergodic distribution (histogram averaged over the periods after
            # the burn-in; linear interpolation of the CDF between histogram points)
            "k_quantiles": {f"{q:g}": float(np.interp(q / 100, np.cumsum(st["histogram"]), kf))
                            for q in (0.1, 0.5, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9)},
            "share_k_below": {f"{b:g}": float(st["histogram"][kf < b].sum()) for b in (2, 5, 10, 20)}},
        "policy_at_mean_K": {"K": Kmean, "k": REPORT_K, "table": table,
                             "euler_log10_at_k": ee_report},
        "euler_errors": {"points": "k in REPORT_K and every household-grid point in (0, 100]; K = mean K; all (z, e)",
                         "n_points": int(4 * len(ee_pts)), "log10_mean": ee_mean, "log10_max": ee_max,
                         "worst": ee_all["worst"]},
        "checks": checks,
        "history": history,
        "runtime_seconds": runtime,
        "cpu_seconds": time.process_time() - c0,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)

    # ------------------------------------------------------------------ summary
    p = print
    p("")
    p(f"Krusell-Smith reference (DHJJ 2010 calibration), T={T}, burn={burn}, seed={args.seed}"
      f"{' [quick]' if args.quick else ''}")
    p(f"  ALM converged={converged} after {len(history)} iterations (tol {tol:g}, damping {args.damp})")
    for iz in range(2):
        p(f"  ln K' = {B[iz,0]:.6f} + {B[iz,1]:.6f} ln K   (z={'bg'[iz]})  R^2 = {r2[iz]:.8f}  s.e. {se[iz]:.2e}")
    p(f"  Den Haan dynamic ALM error: mean {dh_err.mean():.4f}%  max {dh_err.max():.4f}%")
    p(f"  K: mean {Kmean:.4f}  std {Ks.std():.4f} | bad: mean {by_z['b']['mean_K']:.4f} std {by_z['b']['std_K']:.4f}"
      f" | good: mean {by_z['g']['mean_K']:.4f} std {by_z['g']['std_K']:.4f}")
    p(f"  mean k: unemployed {result['aggregate']['mean_K_unemployed']:.4f}  employed {result['aggregate']['mean_K_employed']:.4f}")
    d = result["distribution"]
    p(f"  share with k'=0: {d['share_constrained_kprime_eq_0']:.5f} (u {d['share_constrained_unemployed']:.5f},"
      f" e {d['share_constrained_employed']:.5f}); share k<0.1: {d['share_k_below_0.1']:.5f}; k<1: {d['share_k_below_1']:.5f}")
    p(f"  Gini of wealth: {d['gini_wealth']:.4f}")
    p("  ergodic quantiles of k: " + ", ".join(f"{q}%: {v:.2f}" for q, v in d["k_quantiles"].items()))
    p("  ergodic share of k below: " + ", ".join(f"{b}: {v:.4f}" for b, v in d["share_k_below"].items()))
    p(f"  Euler errors (log10, K = mean K): mean {ee_mean:.2f}  max {ee_max:.2f}"
      f" (worst at k={ee_all['worst']['k']:.4g}, {ee_all['worst']['state']})")
    p(f"  policy at K = {Kmean:.3f}:")
    p("      k   " + "  ".join(f"c(b,u)   k'(b,u)  c(b,e)   k'(b,e)  c(g,u)   k'(g,u)  c(g,e)   k'(g,e)".split("  ")))
    for i, k in enumerate(REPORT_K):
        row = []
        for key in ("zb_e0", "zb_e1", "zg_e0", "zg_e1"):
            row += [table[key]["c"][i], table[key]["kprime"][i]]
        p(f"  {k:6.1f}  " + " ".join(f"{v:8.4f}" for v in row))
    p(f"  checks: rows sum to 1; implied u error {checks['max_abs_implied_u_error']:.1e}; "
      f"budget {bmax:.1e}; resource {checks['aggregate_resource_residual_max_abs']:.1e}; "
      f"u renormalisation {ufix:.1e}; K range [{Ks.min():.2f}, {Ks.max():.2f}] in grid [{Kgrid[0]}, {Kgrid[-1]}]")
    p(f"  runtime {runtime:.1f} s wall, {result['cpu_seconds']:.1f} s CPU -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
