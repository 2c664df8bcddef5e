# lightning-cpp: `make demo` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Everything the build, the tests, the examples and the benchmark use, from Debian 12.
# libopenblas0-pthread: LibTorch's BLAS calls go to OpenBLAS instead of the reference BLAS
# (measured in docs/performance.md).
PACKAGES := cmake make g++ ccache pkg-config \
  libtorch-dev libgloo-dev libfmt-dev nlohmann-json3-dev zlib1g-dev libyaml-cpp-dev \
  libprotobuf-dev protobuf-compiler libcrcutil-dev python3-protobuf python3-crc32c libcli11-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas0-pthread \
  python3-torch python3-sklearn dataset-fashion-mnist clang

.PHONY: deps configure build test demo bench clean gpu-check-deps fuzz-build fuzz fuzz-replay sanitize

deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: every package is installed"; fi

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900 > ctest.log 2>&1; status=$$?; \
	  cat ctest.log; echo; echo "== test summary =="; grep -E 'tests passed|tests failed|Total Test time' ctest.log; \
	  exit $$status

# The digits example from its config with the `lightning-cpp` command: fit, then test the best
# checkpoint through the config the run saved next to its logs (examples/digits/config.yaml).
DEMO_DIR := $(BUILD_DIR)/demo
demo: build
	rm -rf $(DEMO_DIR)
	$(BUILD_DIR)/lightning-cpp fit --config examples/digits/config.yaml --trainer.default_root_dir=$(DEMO_DIR)
	$(BUILD_DIR)/lightning-cpp test --config $(DEMO_DIR)/lightning_logs/version_0/config.yaml \
	  --ckpt_path=$(DEMO_DIR)/lightning_logs/version_0/checkpoints/best.ckpt

bench: build
	$(BUILD_DIR)/bench/trainer_overhead
	$(BUILD_DIR)/bench/checkpoint_io
	$(BUILD_DIR)/bench/ddp_scaling 1
	$(BUILD_DIR)/bench/ddp_scaling 2
	$(BUILD_DIR)/bench/ddp_scaling 2 200 25,0.1 4

# libFuzzer targets of the readers (tests/fuzz), built with clang in their own folder. `make fuzz`
# runs each for FUZZ_SECONDS on a copy of its seed corpus (new inputs stay in the build folder;
# a crash leaves its input there as crash-*); `make fuzz-replay` (in CI) runs each seed once, then
# FUZZ_REPLAY_RUNS mutations of a fixed seed, so that CI's run is the same each time.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_REPLAY_RUNS ?= 5000
FUZZ_TARGETS := checkpoint config csv
# LibTorch's own allocations outlive the fuzz loop: leaks are not what these targets look for.
FUZZ_OPTIONS := -rss_limit_mb=4096 -timeout=10 -detect_leaks=0 -print_final_stats=1
export ASAN_OPTIONS := detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS := print_stacktrace=1
fuzz-build: deps
	CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIGHTNING_FUZZ=ON \
	  -DLIGHTNING_BUILD_TESTS=OFF -DLIGHTNING_BUILD_EXAMPLES=OFF -DLIGHTNING_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@set -o pipefail; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t && cd $(FUZZ_DIR) && \
	  ./tests/fuzz/fuzz_$$t $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) corpus/$$t ../tests/fuzz/corpus/$$t \
	    2>&1 | tail -n 12 || exit 1; cd ..; done

fuzz-replay: fuzz-build
	@set -o pipefail; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t: the seed corpus, then $(FUZZ_REPLAY_RUNS) inputs"; \
	  $(FUZZ_DIR)/tests/fuzz/fuzz_$$t $(FUZZ_OPTIONS) -runs=0 tests/fuzz/corpus/$$t 2>&1 | tail -n 3 || exit 1; \
	  rm -rf $(FUZZ_DIR)/replay/$$t && mkdir -p $(FUZZ_DIR)/replay/$$t && \
	  $(FUZZ_DIR)/tests/fuzz/fuzz_$$t $(FUZZ_OPTIONS) -seed=1 -runs=$(FUZZ_REPLAY_RUNS) \
	    -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/replay/$$t tests/fuzz/corpus/$$t 2>&1 | tail -n 12 || exit 1; done

# The library and the unit tests built with ASan and UBSan (-O1) in their own folder, and every
# ctest entry of that build run (examples, benchmarks and the compile-fail tests are left out; the
# normal build covers them). Any report fails the run: UBSan does not recover, ASan stops at its first.
SANITIZE_DIR ?= build-sanitize
# Leaks are looked for too: the suite runs without a suppression.
SANITIZE_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: deps
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DLIGHTNING_SANITIZE=ON \
	  -DLIGHTNING_BUILD_EXAMPLES=OFF -DLIGHTNING_BUILD_BENCH=OFF -DLIGHTNING_INSTALL=OFF $(CMAKE_ARGS)
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	@cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS) -E '^compile_fail_' --timeout 1800 \
	  > ctest.log 2>&1; status=$$?; cat ctest.log; echo; echo "== sanitize summary =="; \
	  grep -E 'tests passed|tests failed|Total Test time' ctest.log; exit $$status

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(SANITIZE_DIR)

# Debian 12's packages of our dependencies unpacked into .devdeps/, for tools/gpu_check.sh on a GPU
# machine that has no package registry (docs/distributed.md, "Checking the CUDA paths").
GPU_CHECK_PACKAGES := libfmt-dev libfmt9 libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev nlohmann-json3-dev \
  libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32 libcrcutil-dev libcrcutil0 \
  libgloo-dev libgtest-dev libgmock-dev zlib1g-dev pkgconf pkgconf-bin libpkgconf3
GPU_CHECK_DEBS := $(BUILD_DIR)/gpu-check-debs
gpu-check-deps:
	rm -rf .devdeps $(GPU_CHECK_DEBS) && mkdir -p .devdeps $(GPU_CHECK_DEBS)
	cd $(GPU_CHECK_DEBS) && apt-get download $(GPU_CHECK_PACKAGES)
	for f in $(GPU_CHECK_DEBS)/*.deb; do dpkg -x $$f .devdeps; done
	rm -rf .devdeps/usr/share/doc .devdeps/usr/share/man
	cd .devdeps/usr/lib/x86_64-linux-gnu && rm -f libprotobuf.a libprotobuf-lite.a libyaml-cpp.a libz.a
