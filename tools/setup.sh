#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for this repository: system libraries (oneDNN, libjpeg-turbo, Open MPI), npm packages,
# and a build of every package including the native addons (oneDNN, libjpeg-turbo). Idempotent.
#   bash tools/setup.sh            # libraries + npm ci + build
#   bash tools/setup.sh --bench    # also the PyTorch/torchvision peers (benchmarks, paper check) and Chromium (browser test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    *) echo "setup.sh: unknown option '$arg' (allowed: --bench)" >&2; exit 2 ;;
  esac
done

apt_packages=()
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || apt_packages+=(libdnnl-dev)
[ -f /usr/include/jpeglib.h ] || apt_packages+=(libjpeg-dev)
{ command -v mpicc && command -v mpirun; } >/dev/null 2>&1 || apt_packages+=(libopenmpi-dev openmpi-bin)
command -v g++ >/dev/null 2>&1 || apt_packages+=(g++)
command -v make >/dev/null 2>&1 || apt_packages+=(make)
if [ "$want_bench" = 1 ]; then
  /usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1 || apt_packages+=(python3-torch python3-torchvision)
  # the browser test of apps/web drives Debian's Chromium (no browser download)
  command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root or sudo to install: ${apt_packages[*]}" >&2; exit 1; }
    sudo_cmd="sudo"
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: no apt-get here; install these yourself: ${apt_packages[*]} (oneDNN 2.6+ and libjpeg-turbo headers and libraries)" >&2
    exit 1
  fi
  echo "[setup] apt-get install ${apt_packages[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

echo "[setup] npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "[setup] build (TypeScript packages and the native addons)"
npx nx run-many -t build --outputStyle=static

# the `lm` bin points into dist/, which exists only now: link it so that `npx lm --help` works after set-up
npm rebuild --ignore-scripts @lm/trainer >/dev/null
