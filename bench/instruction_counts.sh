#!/bin/sh
# The Trainer's overhead in instructions, which this VM's noise does not touch: each side of
# trainer_overhead (one repetition, setup included) runs under valgrind's callgrind, counting only
# inside run_trainer or run_raw; both sides run at once. About 75 s for tiny and 35 minutes for
# mlp on 2 cores (callgrind runs BLAS far slower than the program does).
#
#   bench/instruction_counts.sh [build/bench/trainer_overhead] [workload=tiny|mlp ...]
set -eu
binary=${1:-build/bench/trainer_overhead}
shift 2>/dev/null || true
workloads=${*:-tiny mlp}
command -v valgrind >/dev/null || { echo "instruction_counts: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
# INSTRUCTION_COUNTS_KEEP=folder keeps callgrind's profiles there (for callgrind_annotate).
if [ -n "${INSTRUCTION_COUNTS_KEEP:-}" ]; then
  out=$INSTRUCTION_COUNTS_KEEP
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
count() {  # workload side -> instructions collected
  valgrind --tool=callgrind --callgrind-out-file="$out/$1.$2.out" --toggle-collect="*run_$2*" \
    "$binary" 1 "$1" "$2" >"$out/$1.$2.log" 2>&1
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/$1.$2.log"
}
for workload in $workloads; do
  count "$workload" trainer >"$out/trainer" &
  trainer_pid=$!
  raw=$(count "$workload" raw)
  wait "$trainer_pid"
  trainer=$(cat "$out/trainer")
  awk -v w="$workload" -v t="$trainer" -v r="$raw" \
    'BEGIN { printf "workload=%s trainer_instructions=%.0f raw_instructions=%.0f ratio=%.4f\n", w, t, r, t / r }'
done
