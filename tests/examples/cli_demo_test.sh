#!/usr/bin/env bash
# A config example run as `make demo` runs digits, in a temporary folder: fit with the
# `lightning-cpp` command, then test the best checkpoint through the config the run saved next to
# its logs.   cli_demo_test.sh COMMAND SOURCE_DIR CONFIG [OVERRIDE...]
set -euo pipefail
command=$1
source_dir=$2
config=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$source_dir"
"$command" fit --config "$config" --trainer.default_root_dir="$work" --trainer.enable_progress_bar=false "$@"
run="$work/lightning_logs/version_0"
"$command" test --config "$run/config.yaml" --ckpt_path="$run/checkpoints/best.ckpt"
