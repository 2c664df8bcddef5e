#!/usr/bin/env bash
# `lightning-cpp predict` of the digits config in two processes with a PredictionWriter added by a
# second config: each rank writes its own file, which Python's torch.load reads (weights-only).
#   cli_predict_writer_test.sh COMMAND SOURCE_DIR PYTHON
set -euo pipefail
command=$1
source_dir=$2
python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$source_dir"
cat >"$work/writer.yaml" <<YAML
trainer:
  callbacks:
    - class_path: PredictionWriter
      init_args: {output_dir: $work/predictions}
YAML
"$command" predict --config examples/digits/config.yaml --config "$work/writer.yaml" --trainer.devices=2 \
  --trainer.default_root_dir="$work" --trainer.enable_progress_bar=false
ls "$work/predictions"
"$python" - "$work/predictions" <<'PY'
import sys, torch
samples = []
for rank in (0, 1):
    batches = torch.load(f"{sys.argv[1]}/predictions_rank{rank}.pt", weights_only=True)
    samples += [i for batch in torch.load(f"{sys.argv[1]}/batch_indices_rank{rank}.pt", weights_only=True) for i in batch]
    rows = torch.cat(batches)
    print(f"rank {rank}: {len(batches)} batches, {len(rows)} rows of {rows.shape[1]} probabilities, "
          f"summing to 1: {bool(torch.allclose(rows.sum(1), torch.ones(len(rows))))}")
distinct = set(samples)
print(f"the ranks' batch indices cover rows 0-{max(samples)}: {distinct == set(range(max(samples) + 1))}, "
      f"{len(samples) - len(distinct)} twice")
PY
