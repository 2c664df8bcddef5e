#!/usr/bin/env bash
# What `make demo` runs, in a temporary folder: fit the digits config with the `lightning-cpp`
# command, then test the best checkpoint through the config the run saved next to its logs.
set -euo pipefail
command=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$source_dir"
"$command" fit --config examples/digits/config.yaml --trainer.default_root_dir="$work" \
  --trainer.enable_progress_bar=false
run="$work/lightning_logs/version_0"
"$command" test --config "$run/config.yaml" --ckpt_path="$run/checkpoints/best.ckpt" \
  --trainer.enable_progress_bar=false
