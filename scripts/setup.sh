#!/usr/bin/env bash
# Installs what is missing of the system packages: OpenBLAS (Debian libopenblas-dev, LAPACK
# included) — the library's one dependency — and, with --tests, libsimde-dev (header-only x86
# intrinsics, used by one test to check the AVX-512 kernel on processors without AVX-512).
# Uses sudo only when not root.
set -euo pipefail
packages=(libopenblas-dev)
[ "${1:-}" = "--tests" ] && packages+=(libsimde-dev)
if ! command -v dpkg >/dev/null 2>&1; then
  [ -e /usr/include/cblas.h ] && exit 0   # not Debian: trust an existing CBLAS header (OpenBLAS)
  echo "setup: not a Debian system and no cblas.h: install OpenBLAS" >&2; exit 1
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
