#!/bin/sh
# `devices: 2` with a mistake every rank finds in fit's preflight (EarlyStopping monitors a key the
# model never logs): rank 0 alone prints the report, and the exit status stays 2.
#
#   cli_ddp_misconfiguration_test.sh <lightning-cpp> <source dir>
set -u
command=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cat > mistake.yaml <<'YAML'
trainer:
  max_epochs: 1
  devices: 2
  callbacks: [{class_path: EarlyStopping, init_args: {monitor: val_los}}]
YAML
"$command" fit --config "$source_dir/examples/digits/config.yaml" --config mistake.yaml >out.txt 2>err.txt
echo "exit status $?"
echo "reports: $(grep -c 'error\[LC0514\]' err.txt)"
cat err.txt
