#!/usr/bin/env bash
# Installs what SymmetricDP needs on a fresh Debian machine: OpenBLAS (BLAS + LAPACK) and
# pkg-config; with --test also Python's safetensors/numpy, used by one cross-check test.
set -euo pipefail

need_apt=()
have_header() { for f in /usr/include/cblas.h /usr/include/*/cblas.h; do [ -f "$f" ] && return 0; done; return 1; }
if ! pkg-config --exists openblas 2>/dev/null || ! have_header; then
  need_apt+=(libopenblas-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}. Install with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--test" ]; then
  if ! python3 -c "import safetensors, numpy" 2>/dev/null; then
    echo "setup: installing Python packages safetensors and numpy (test cross-check)" >&2
    python3 -m pip install -q safetensors numpy 2>/dev/null || python3 -m pip install -q --break-system-packages safetensors numpy
  fi
fi
