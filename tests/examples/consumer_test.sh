#!/usr/bin/env bash
# Installs lightning-cpp from the build tree into a temporary prefix, then configures, builds and
# runs examples/consumer against it, as another project would.
#
#   consumer_test.sh BUILD_DIR SOURCE_DIR [PREFIX_PATH] [CXX_COMPILER]
#
# PREFIX_PATH (folders separated by ':') and the compiler are the build's own, so a LibTorch or
# dependencies found through CMAKE_PREFIX_PATH are found again by the installed package.
set -euo pipefail
build_dir=$1
source_dir=$2
extra_prefix=${3:-}
compiler=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a step with its output in a log, shown when the step fails.
logged() {
  local log=$work/$1.log
  shift
  "$@" > "$log" 2>&1 || { local status=$?; echo "consumer_test: $* failed ($status):"; tail -40 "$log"; exit "$status"; }
}

logged install cmake --install "$build_dir" --prefix "$work/prefix"
options=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$work/prefix${extra_prefix:+;${extra_prefix//:/;}}")
[ -n "$compiler" ] && options+=("-DCMAKE_CXX_COMPILER=$compiler")
command -v ccache > /dev/null && options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
logged configure cmake -S "$source_dir/examples/consumer" -B "$work/build" "${options[@]}"
logged build cmake --build "$work/build" -j 2
"$work/build/consumer"
