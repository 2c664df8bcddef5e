#!/usr/bin/env bash
# The checks a GPU machine can make and this project's CI cannot: build lightning-cpp against that
# machine's PyTorch (CUDA) LibTorch; run the _CUDA tests, the digits example on the GPU in three
# precisions and the Trainer's overhead on the GPU; then build the rest and run ctest (every test
# with the GPU hidden, the CPU paths on that LibTorch) and trainer_tests with "auto" picking the
# GPU; checkpoints are exchanged with that PyTorch and its Lightning. The GPU's checks come first
# because the device's time is short. Crash reports of the test binaries are printed with function
# names. Logs go to OUT, one per step (7; the device tool brings back 8 files, the caller's own log
# included).
#
#   tools/gpu_check.sh DEPS OUT
#
# DEPS: Debian 12's packages of our dependencies unpacked into one folder (such a machine has no
# package registry): `make gpu-check-deps` makes .devdeps/ (docs/distributed.md, "Checking the CUDA
# paths").
set -u
DEPS=$(realpath "${1:?usage: tools/gpu_check.sh DEPS OUT}")
OUT=${2:?usage: tools/gpu_check.sh DEPS OUT}
mkdir -p "$OUT"
BUILD=${BUILD:-/tmp/lightning-gpu-build}
START=$SECONDS
step() { echo; echo "== $* (at $((SECONDS - START)) s)"; }
# The test support's crash reports (glibc's backtrace lines) with function names.
symbolize() {
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^([^\(]+)\(\+(0x[0-9a-f]+)\) ]]; then
      echo "  $(addr2line -Cfpe "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" | head -1)  [${BASH_REMATCH[1]##*/}]"
    elif [[ $line =~ ^([^\(]+)\(([^+\)]+)\+ ]]; then
      echo "  $(c++filt "${BASH_REMATCH[2]}")  [${BASH_REMATCH[1]##*/}]"
    else
      echo "$line"
    fi
  done
}

step machine
PY=$(command -v python3)
uname -r; grep PRETTY_NAME /etc/os-release; g++ --version | head -1; cmake --version | head -1
nvcc --version 2>/dev/null | tail -1; nvidia-smi -L; nproc
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
TORCH=$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
echo "CXX=${CXX:-} c++=$(command -v c++) TMPDIR=${TMPDIR:-}"

# Test binaries crashed in the first test whose TempDir held files, when std::filesystem::remove_all
# emptied it (session 8; TempDir now uses nftw and the crash is gone). pip's libtorch_cpu.so exports
# a copy of std::filesystem (pytorch/pytorch#133437) that takes a program's calls; which copy a
# small program's remove_all binds to, and whether it works, is printed here.
step "std::filesystem in this LibTorch"
nm -DC --defined-only "$TORCH/lib/libtorch_cpu.so" | grep -c "std::filesystem" | sed 's/^/symbols exported: /'
nm -DC --defined-only "$TORCH/lib/libtorch_cpu.so" | grep -E "std::filesystem.*(remove_all|recursive_directory_iterator::rec)" | head -4
probe=$(mktemp -d)
cat >"$probe/remove_all.cpp" <<'CPP'
#include <filesystem>
#include <fstream>
#include <iostream>
int main() {
  const auto dir = std::filesystem::temp_directory_path() / "lightning-remove-all-probe";
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "sub" / "file") << "x";
  std::error_code error;
  std::cout << "removed " << std::filesystem::remove_all(dir, error) << " (" << error.message() << ")" << std::endl;
}
CPP
${CXX:-c++} -std=c++20 -O1 "$probe/remove_all.cpp" -o "$probe/alone" && "$probe/alone" | sed 's/^/without LibTorch: /'
${CXX:-c++} -std=c++20 -O1 "$probe/remove_all.cpp" -o "$probe/linked" -Wl,--no-as-needed -L"$TORCH/lib" -ltorch_cpu -lc10 \
  -Wl,-rpath,"$TORCH/lib" && { "$probe/linked" 2>&1; echo "status $?"; } | sed 's/^/linked to LibTorch: /'
# The same with libstdc++ first on the link line, so that its symbols come before LibTorch's copies.
${CXX:-c++} -std=c++20 -O1 "$probe/remove_all.cpp" -o "$probe/stdcxx_first" -Wl,--no-as-needed -lstdc++ -L"$TORCH/lib" \
  -ltorch_cpu -lc10 -Wl,-rpath,"$TORCH/lib" && { "$probe/stdcxx_first" 2>&1; echo "status $?"; } |
  sed 's/^/linked to libstdc++, then LibTorch: /'
for program in linked stdcxx_first; do echo "$program needs: $(readelf -d "$probe/$program" | grep NEEDED | grep -oE "\[[^]]+\]" | tr "\n" " ")"; done
# Which copy of remove_all each program's call binds to: LibTorch's or libstdc++'s.
for program in linked stdcxx_first; do
  echo "$program binds: $(LD_DEBUG=bindings "$probe/$program" 2>&1 >/dev/null | grep -m1 "remove_all" | sed 's/^ *[0-9]*: *//')"
done

# The unpacked packages, made to work from where they are.
USR=$DEPS/usr
LIB=$USR/lib/x86_64-linux-gnu
if [ -d "$TORCH/include/gloo" ]; then rm -rf "$USR/include/gloo"; fi  # this LibTorch's own Gloo headers
sed -i "s|=/usr|=$USR|; s| /usr/| $USR/|g" "$LIB"/pkgconfig/*.pc "$USR"/share/pkgconfig/*.pc
ln -sf "$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)" "$LIB/libz.so"
export PATH=$USR/bin:$PATH LD_LIBRARY_PATH=$LIB PKG_CONFIG_PATH=$LIB/pkgconfig:$USR/share/pkgconfig

step configure
generator=$(command -v ninja >/dev/null && echo Ninja || echo "Unix Makefiles")
configure() {
  cmake -S . -B "$BUILD" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH/share/cmake;$USR" \
    -DLIGHTNING_PYTHON="$PY" "$@" >"$OUT/configure.log" 2>&1
}
if ! configure; then
  grep -A3 "CMake Error" "$OUT/configure.log" | head -20
  grep -rn "dummy" "$TORCH/share/cmake" | head -5
  echo "configuring again without the install rules"
  configure -DLIGHTNING_INSTALL=OFF || { tail -40 "$OUT/configure.log"; exit 1; }
fi
grep -E "lightning-cpp:|CUDA|cuDNN|NCCL|Torch" "$OUT/configure.log" | head -20

step "build what the GPU checks need"
keep_going=$([ "$generator" = Ninja ] && echo "-k 0" || echo "-k")
build() {
  cmake --build "$BUILD" -j "$(nproc)" "$@" -- $keep_going >>"$OUT/build.log" 2>&1
  echo "build status $?"
  grep -E "error|undefined reference" "$OUT/build.log" | sort -u | head -60
}
build --target trainer_tests callbacks_tests distributed_tests lightning_cpp_command trainer_overhead
echo "trainer_tests needs: $(readelf -d "$BUILD/tests/trainer_tests" | grep NEEDED | grep -oE "\[[^]]+\]" | tr "\n" " ")"

step "the _CUDA tests"
for t in trainer_tests callbacks_tests distributed_tests; do
  timeout 120 "$BUILD/tests/$t" --gtest_filter='*_CUDA' 2>&1 | grep -vE "^\[ +(RUN|OK) " | symbolize | tail -60
done | tee "$OUT/cuda_tests.log"

step "digits on the GPU"
for precision in 32-true bf16-mixed 16-mixed; do
  dir=/tmp/digits-$precision
  timeout 60 "$BUILD/lightning-cpp" fit --config examples/digits/config.yaml --trainer.default_root_dir="$dir" \
    --trainer.accelerator=gpu --trainer.devices=1 --trainer.precision="$precision" >>"$OUT/digits.log" 2>&1
  echo "$precision fit status $?"
  timeout 60 "$BUILD/lightning-cpp" test --config "$dir/lightning_logs/version_0/config.yaml" \
    --ckpt_path="$dir/lightning_logs/version_0/checkpoints/best.ckpt" 2>&1 | grep -iE "test_acc|error" | head -5
done

step "checkpoints between lightning-cpp and this PyTorch and Lightning"
# Ours under PyTorch >= 2.6's weights-only loading; a checkpoint of PyTorch Lightning (the digits
# model's layout: net.0 and net.2) tested by us, and resumed by us from its epoch 1 to 3
# (tools/make_lightning_checkpoints.py writes the checkpoints of the resume tests).
"$PY" - <<'PY' 2>&1 | grep -vE "^\s*$|warn|Warn|GPU available|TPU|HPU|LOCAL_RANK|You are using" | head -90
import torch, torch.nn as nn
try:
    ours = torch.load("/tmp/digits-32-true/lightning_logs/version_0/checkpoints/best.ckpt", weights_only=True)
    print("ours with weights_only=True:", sorted(ours))
except Exception as error:
    print("ours with weights_only=True FAILED:", error)
try:
    import lightning as L
except ImportError:
    import pytorch_lightning as L
class MLP(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    def training_step(self, batch, index):
        return nn.functional.cross_entropy(self.net(batch[0]), batch[1])
    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), 1e-3)
data = torch.utils.data.TensorDataset(torch.randn(64, 64), torch.randint(0, 10, (64,)))
trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, accelerator="cpu", default_root_dir="/tmp/pl")
trainer.fit(MLP(), torch.utils.data.DataLoader(data, batch_size=16))
trainer.save_checkpoint("/tmp/pl/lightning.ckpt")
print("Lightning", L.__version__, "wrote /tmp/pl/lightning.ckpt; its layout, for resuming from it one day:")
def layout(value, name="", depth=0):
    if isinstance(value, dict) and value and depth < 5:
        items = list(value.items())
        if not isinstance(items[0][0], str):  # parameter indexes: the first stands for all
            items = [(f"{items[0][0]} of {len(items)}", items[0][1])]
        for key, item in items:
            layout(item, f"{name}.{key}" if name else str(key), depth + 1)
    elif isinstance(value, (list, tuple)) and value and depth < 5:
        layout(value[0], f"{name}[0 of {len(value)}]", depth + 1)
    else:
        print(f"  {name}: {type(value).__name__}" + (f" {value}" if isinstance(value, (int, float, str, bool)) else ""))
layout({k: v for k, v in torch.load("/tmp/pl/lightning.ckpt", weights_only=False).items() if k != "state_dict"})
PY
timeout 60 "$BUILD/lightning-cpp" test --config examples/digits/config.yaml --trainer.accelerator=cpu \
  --ckpt_path=/tmp/pl/lightning.ckpt 2>&1 | grep -E "test_acc|error" | head -5
timeout 60 "$BUILD/lightning-cpp" fit --config examples/digits/config.yaml --trainer.accelerator=cpu \
  --trainer.default_root_dir=/tmp/pl-fit --trainer.max_epochs=3 --trainer.enable_progress_bar=false \
  --ckpt_path=/tmp/pl/lightning.ckpt 2>&1 | grep -E -A2 "error|val_acc" | head -8
echo "resumed fit status ${PIPESTATUS[0]}"

step "trainer overhead on the GPU"
timeout 90 "$BUILD/bench/trainer_overhead" 3 all both cuda 2>&1 | tee "$OUT/overhead_gpu.log"

step "build the rest"
echo "== the rest" >>"$OUT/build.log"
build

step "ctest (the GPU hidden from all but the *_cuda entries)"
# Two threads a test: eight tests of 16 threads each on 16 cores took the examples from seconds to
# minutes (session 8).
# Two tests need what such a machine lacks: Debian's Fashion-MNIST package and Python's crc32c
# module (the TensorBoard reader checks each record's checksum); their binaries run without them.
(cd "$BUILD" && OMP_NUM_THREADS=2 ctest -j 8 --timeout 240 -E "fashion|^cli_tests$|^callbacks_tests$" \
  --output-on-failure >"$OUT/ctest_cpu.log" 2>&1)
for t in cli_tests callbacks_tests; do
  echo "== $t" >>"$OUT/ctest_cpu.log"
  CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=2 timeout 240 "$BUILD/tests/$t" --gtest_brief=1 \
    --gtest_filter='-*_CUDA:FashionMNISTDataModule.*:TensorBoardLogger.WritesRecordsWithValidChecksums*' >>"$OUT/ctest_cpu.log" 2>&1
  echo "$t status $?"
done | tee -a "$OUT/ctest_cpu.log"
grep -E "tests passed|\*\*\*|Failed|Not Run|Total Test" "$OUT/ctest_cpu.log" | grep -v "fatal signal"
grep -A24 "^\*\*\* fatal signal" "$OUT/ctest_cpu.log" | symbolize | head -150
grep -B2 -A12 -E "^\[  FAILED  \]|Failure$" "$OUT/ctest_cpu.log" | head -120

step "trainer_tests with the GPU visible (accelerator auto picks it)"
timeout 150 "$BUILD/tests/trainer_tests" --gtest_brief=1 >"$OUT/trainer_tests_gpu.log" 2>&1
echo "status $?"; grep -E "^\[  (FAILED|PASSED) |tests ran" "$OUT/trainer_tests_gpu.log" | head -30

step done
