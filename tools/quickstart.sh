#!/usr/bin/env bash
# The main job on a fresh machine: set everything up, then train LM-ResNet-20 on CIFAR-10 with the short
# `quick` preset (on the built-in synthetic dataset when CIFAR-10 is neither on disk nor downloadable).
# Extra arguments go to `lm train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
args=("$@")
shared_cifar="../shared/datasets/cifar10/cifar-10-train-binary.tar.gz"
if [ -z "${LM_CIFAR10_PATH:-}${LM_CIFAR10:-}" ] && [ -f "$shared_cifar" ] && [[ " ${args[*]-} " != *" --data "* ]]; then
  args+=(--data "$shared_cifar")
fi
exec node packages/trainer/dist/cli.js train "${args[@]}"
