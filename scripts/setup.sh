#!/usr/bin/env bash
# Installs the one system dependency, OpenBLAS (Debian libopenblas-dev, LAPACK included), when
# it is missing. Uses sudo only when not root.
set -euo pipefail
if command -v dpkg >/dev/null 2>&1; then
  dpkg -s libopenblas-dev >/dev/null 2>&1 && exit 0
elif [ -e /usr/include/cblas.h ]; then
  exit 0   # not Debian: trust an existing CBLAS header (OpenBLAS must provide it)
fi
echo "setup: installing libopenblas-dev" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libopenblas-dev >/dev/null
