// Checkpoint files: the format Python reads, atomic writes, clear errors for bad files, and
// optimizer state that round-trips exactly.

#include "support/support.h"

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/utilities/console.h>

#include "trainer/connectors/checkpoint_connector.h"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/lbfgs.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using testing::BoringModel;
using testing::TempDir;

Checkpoint small_checkpoint(double value) {
  Checkpoint checkpoint = make_checkpoint();
  checkpoint.insert("epoch", int64_t{3});
  checkpoint.insert("name", std::string("boring"));
  checkpoint.insert("weights", at::full({4, 4}, value));
  return checkpoint;
}

MisconfigurationException load_error(const std::string& path) {
  try {
    load_checkpoint_file(path);
  } catch (const MisconfigurationException& e) {
    return e;
  }
  throw std::runtime_error("load_checkpoint_file accepted " + path);
}

TEST(CheckpointFile, RoundTripsNumbersStringsAndTensors) {
  TempDir dir;
  save_checkpoint_file(small_checkpoint(1.5), dir / "sub/a.ckpt");
  const Checkpoint loaded = load_checkpoint_file(dir / "sub/a.ckpt");
  EXPECT_EQ(loaded.at("epoch").toInt(), 3);
  EXPECT_EQ(loaded.at("name").toStringRef(), "boring");
  EXPECT_TRUE(loaded.at("weights").toTensor().equal(at::full({4, 4}, 1.5)));
  EXPECT_EQ(testing::files_in(dir.path() / "sub"), std::vector<std::string>{"a.ckpt"}) << "no temporary file is left";
}

// ModelCheckpoint's second name for a file: a hard link in one file system, a copy across two
// (/dev/shm is a tmpfs apart from the temporary folder here), the same checkpoint either way.
TEST(CheckpointFile, ALinkedFileIsTheSameCheckpointAHardLinkOrACopyAcrossFileSystems) {
  TempDir dir;
  Checkpoint checkpoint = make_checkpoint();
  checkpoint.insert("global_step", int64_t{7});
  save_checkpoint_file(checkpoint, dir / "last.ckpt");
  link_checkpoint_file(dir / "last.ckpt", dir / "best.ckpt");
  EXPECT_TRUE(std::filesystem::equivalent(dir / "last.ckpt", dir / "best.ckpt"));
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm for a second file system";
  const std::filesystem::path other = "/dev/shm/lightning-link-test-" + std::to_string(::getpid()) + ".ckpt";
  link_checkpoint_file(dir / "last.ckpt", other);
  EXPECT_FALSE(std::filesystem::equivalent(dir / "last.ckpt", other));
  EXPECT_EQ(load_checkpoint_file(other).at("global_step").toInt(), 7);
  std::filesystem::remove(other);
  EXPECT_EQ(testing::files_in(dir.path()), (std::vector<std::string>{"best.ckpt", "last.ckpt"})) << "no temporary left";
}

// A checkpoint saved on a GPU names "cuda:0" as its tensors' place; read on a machine without one
// (train on a GPU server, test on the robot), its tensors load on the CPU, as Lightning's
// checkpoint loading maps them. The file is written by Python's torch.save with its location tag
// replaced, since this machine has no GPU to save from.
TEST(CheckpointFile, TensorsSavedOnAGpuLoadOnTheCpu) {
  TempDir dir;
  const std::string script =
      "import sys, torch, torch.serialization as s; s.location_tag = lambda storage: 'cuda:0'; "
      "torch.save({'epoch': 2, 'state_dict': {'w': torch.arange(4.)}}, sys.argv[1])";
  testing::run_python(script, {dir / "gpu.ckpt"});
  const Checkpoint loaded = load_checkpoint_file(dir / "gpu.ckpt");
  const at::Tensor w = loaded.at("state_dict").toGenericDict().at("w").toTensor();
  EXPECT_TRUE(w.device().is_cpu());
  EXPECT_TRUE(w.equal(at::arange(4.0)));
  EXPECT_EQ(loaded.at("epoch").toInt(), 2);
}

TEST(CheckpointFile, MissingFileIsLC0401NamingThePath) {
  TempDir dir;
  const auto e = load_error(dir / "nope.ckpt");
  ASSERT_TRUE(e.has("LC0401"));
  EXPECT_THAT(e.what(), HasSubstr("nope.ckpt\" does not exist"));
}

TEST(CheckpointFile, TruncatedEmptyAndForeignFilesAreLC0402) {
  TempDir dir;
  save_checkpoint_file(small_checkpoint(2.0), dir / "full.ckpt");
  std::ifstream in(dir / "full.ckpt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "half.ckpt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir / "empty.ckpt", std::ios::binary);
  std::ofstream(dir / "text.ckpt") << "epoch: 3\n";

  for (const char* name : {"half.ckpt", "empty.ckpt", "text.ckpt"}) {
    const auto e = load_error(dir / name);
    EXPECT_TRUE(e.has("LC0402")) << name;
    EXPECT_THAT(e.what(), HasSubstr(std::string(name) + "\" is not a readable checkpoint"));
  }
  EXPECT_THAT(load_error(dir / "empty.ckpt").what(), HasSubstr("an empty file"));
}

// A checkpoint from Python may hold objects only Python builds (Lightning's hyper_parameters with a
// pathlib.Path): the report names the class, not the first opcode the direct read stumbled on.
TEST(CheckpointFile, APythonObjectLibTorchCannotBuildIsLC0402NamingItsClass) {
  TempDir dir;
  testing::run_python("import sys, pathlib, torch; "
                      "torch.save({'state_dict': {'w': torch.ones(2)}, 'hyper_parameters': {'data': pathlib.Path('/data')}}, sys.argv[1])",
                      {dir / "path.ckpt"});
  const auto e = load_error(dir / "path.ckpt");
  ASSERT_TRUE(e.has("LC0402"));
  EXPECT_THAT(e.what(), HasSubstr("LibTorch cannot read: Unpickler found unknown type pathlib.PosixPath"));
  EXPECT_THAT(e.what(), HasSubstr("help: the file holds a Python object that only Python can build (often in "
                                  "hyper_parameters): load it in Python and save a copy without it, or only the "
                                  "weights: torch.save(torch.load(path)['state_dict'], 'weights.pt')"));
}

// A record shorter than the storage the pickle states: LibTorch 1.13 would read past it (test
// reported nan; AddressSanitizer saw the read). The record is cut after Python saved the file.
TEST(CheckpointFile, AStorageRecordShorterThanItsTensorIsLC0402NamingTheEntry) {
  TempDir dir;
  testing::run_python("import sys, torch, zipfile\n"
                      "torch.save({'state_dict': {'w': torch.arange(100.)}}, sys.argv[1] + '.whole')\n"
                      "with zipfile.ZipFile(sys.argv[1] + '.whole') as whole, zipfile.ZipFile(sys.argv[1], 'w') as cut:\n"
                      "    for name in whole.namelist():\n"
                      "        data = whole.read(name)\n"
                      "        cut.writestr(name, data[:40] if name.endswith('/data/0') else data)\n",
                      {dir / "short.ckpt"});
  const auto e = load_error(dir / "short.ckpt");
  ASSERT_TRUE(e.has("LC0402"));
  EXPECT_THAT(e.what(), HasSubstr("the storage of [\"state_dict\"][\"w\"] states 400 bytes, but its record data/0 holds 40"));
}

// A view the pickle describes beyond its storage (8 elements of a 2-element storage), built by
// Python as torch.save pickles a tensor.
TEST(CheckpointFile, ATensorViewingBeyondItsStorageIsLC0402NamingTheEntry) {
  TempDir dir;
  testing::run_python("import sys, torch, collections\n"
                      "class Beyond:\n"
                      "    def __reduce_ex__(self, protocol):\n"
                      "        return (torch._utils._rebuild_tensor_v2,\n"
                      "                (torch.arange(2.).storage(), 1, (8,), (1,), False, collections.OrderedDict()))\n"
                      "torch.save({'state_dict': {'w': Beyond()}}, sys.argv[1])\n",
                      {dir / "beyond.ckpt"});
  const auto e = load_error(dir / "beyond.ckpt");
  ASSERT_TRUE(e.has("LC0402"));
  EXPECT_THAT(e.what(), HasSubstr("entry [\"state_dict\"][\"w\"]: a Float tensor of sizes [8] viewing elements up to 8 of "
                                  "a storage of 8 bytes (2 elements)"));
}

// What fuzz_checkpoint found, kept in its corpus: a memo index beyond the memo (std::out_of_range
// from LibTorch's unpickler, which ended the process), a string and a memo slot stating gigabytes
// (allocated before anything was read). Each is a file that cannot be read, said as such.
TEST(CheckpointFile, FilesTheFuzzerFoundAreLC0402) {
  const std::filesystem::path corpus = std::filesystem::path(LIGHTNING_TEST_SOURCE_DIR) / "fuzz/corpus/checkpoint";
  for (const char* name : {"found_memo_index_out_of_range.ckpt", "found_string_length_of_gigabytes.ckpt",
                           "found_memo_slot_of_gigabytes.ckpt"}) {
    const auto e = load_error(corpus / name);
    EXPECT_TRUE(e.has("LC0402")) << name << ": " << e.what();
  }
  EXPECT_THAT(load_error(corpus / "found_string_length_of_gigabytes.ckpt").what(), HasSubstr("truncated pickle"));
  EXPECT_THAT(load_error(corpus / "found_memo_slot_of_gigabytes.ckpt").what(), HasSubstr("memo slot"));
}

// Opcodes that take more items than the stack holds (above the last mark): LibTorch 1.13's
// unpickler reads before its stack's start (AddressSanitizer saw SEGVs and a heap overflow; the
// CI's fuzz replay found one). Each is checked before the unpickler runs.
TEST(CheckpointFile, APickleTakingItemsItsStackLacksIsLC0402) {
  const std::filesystem::path corpus = std::filesystem::path(LIGHTNING_TEST_SOURCE_DIR) / "fuzz/corpus/checkpoint";
  for (const char* name : {"found_reduce_on_an_empty_stack.ckpt", "found_tuple3_of_one_item.ckpt",
                           "found_tuple2_below_a_mark.ckpt", "found_build_on_an_empty_stack.ckpt"}) {
    const auto e = load_error(corpus / name);
    EXPECT_TRUE(e.has("LC0402")) << name << ": " << e.what();
    EXPECT_THAT(e.what(), HasSubstr("malformed pickle: an opcode takes more items than the stack holds")) << name;
  }
}

// APPENDS after a MARK at the bottom of the stack: no list below the mark to append to.
TEST(CheckpointFile, APickleAppendingToNothingIsLC0402) {
  TempDir dir;
  testing::run_python("import sys, zipfile\n"
                      "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                      "    z.writestr('archive/data.pkl', b'\\x80\\x02(Ne.')\n"
                      "    z.writestr('archive/version', '3\\n')\n",
                      {dir / "appends.ckpt"});
  const auto e = load_error(dir / "appends.ckpt");
  ASSERT_TRUE(e.has("LC0402")) << e.what();
  EXPECT_THAT(e.what(), HasSubstr("malformed pickle: an opcode needs an item the stack lacks"));
}

TEST(CheckpointFile, AFolderOrALoopOfLinksIsLC0401SayingWhatItIs) {
  TempDir dir;
  std::filesystem::create_directories(dir / "folder.ckpt");
  std::filesystem::create_symlink(dir / "b.ckpt", dir / "a.ckpt");
  std::filesystem::create_symlink(dir / "a.ckpt", dir / "b.ckpt");
  const auto folder = load_error(dir / "folder.ckpt");
  ASSERT_TRUE(folder.has("LC0401"));
  EXPECT_THAT(folder.what(), HasSubstr("folder.ckpt\" is not a file"));
  EXPECT_THAT(folder.what(), HasSubstr("received: a folder"));
  const auto loop = load_error(dir / "a.ckpt");
  ASSERT_TRUE(loop.has("LC0401"));
  EXPECT_THAT(loop.what(), HasSubstr("received: a loop of symbolic links"));
}

// Each kill during a save left `.<name>.tmp-<pid>` behind (23 files, 738 MB after 52 kills). The
// first save into a folder removes those of processes that no longer run, never a live one's.
TEST(CheckpointFile, TheFirstSaveIntoAFolderRemovesWhatKilledSavesLeftButNotALiveProcesssFile) {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a process that no longer runs
  const std::string dead_old = fmt::format(".last.ckpt.tmp-{}", child);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string dead_new = fmt::format(".best.ckpt.tmp-{}-{}", host, child);
  const std::string live = fmt::format(".last.ckpt.tmp-{}", ::getppid());
  for (const auto& name : {dead_old, dead_new, live}) std::ofstream(dir / name) << "partial";
  console::forget_warnings();
  ::testing::internal::CaptureStderr();
  save_checkpoint_file(small_checkpoint(1.0), dir / "model.ckpt");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  auto files = testing::files_in(dir.path());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{live, "model.ckpt"}));
  EXPECT_THAT(printed, HasSubstr("warning[LC0409]: removed 2 partial checkpoint files (0.0 MB) that killed runs left in"));
}

TEST(CheckpointFile, ACheckpointOfANewerLightningCppIsLC0408AWarning) {
  Checkpoint newer = small_checkpoint(1.0);
  newer.insert("lightning_cpp_version", std::string("0.10.0"));
  DiagnosticCollector problems;
  detail::check_writer_version(newer, "newer.ckpt", problems);
  ASSERT_EQ(problems.diagnostics().size(), 1u);
  const Diagnostic& d = problems.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0408");
  EXPECT_EQ(d.severity, Severity::kWarning);
  EXPECT_EQ(d.message, "\"newer.ckpt\" was written by lightning-cpp 0.10.0, newer than this 0.1.0");
  Checkpoint same = small_checkpoint(1.0);
  same.insert("lightning_cpp_version", std::string("0.1.0"));
  DiagnosticCollector none;
  detail::check_writer_version(same, "same.ckpt", none);
  EXPECT_TRUE(none.diagnostics().empty());
}

TEST(CheckpointFile, AKillDuringASaveLeavesThePreviousFileWhole) {
  TempDir dir;
  const std::string path = dir / "model.ckpt";
  save_checkpoint_file(small_checkpoint(1.0), path);
  Checkpoint big = make_checkpoint();
  big.insert("weights", at::full({1024, 1024, 8}, 2.0));  // 32 MB: the kill lands mid-write
  for (int delay_ms : {1, 5, 20, 60}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (;;) save_checkpoint_file(big, path);
    }
    ::usleep(delay_ms * 1000);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    const at::Tensor weights = load_checkpoint_file(path).at("weights").toTensor();
    const double first = weights.flatten()[0].item<double>();
    EXPECT_TRUE(first == 1.0 || first == 2.0);
    EXPECT_TRUE(weights.equal(at::full_like(weights, first))) << "a whole checkpoint, old or new, after " << delay_ms << " ms";
  }
}

TEST(CheckpointFile, WeightsOfAnotherModelAreLC0403ListingEveryDifference) {
  TempDir dir;
  struct Other : LightningModule {
    torch::nn::Linear layer{nullptr}, head{nullptr};
    Other() {
      layer = register_module("layer", torch::nn::Linear(16, 2));
      head = register_module("head", torch::nn::Linear(2, 2));
    }
  } other;
  Checkpoint checkpoint = make_checkpoint();
  checkpoint.insert("state_dict", module_state_dict(other));
  save_checkpoint_file(checkpoint, dir / "other.ckpt");
  BoringModel model;
  try {
    load_weights(model, dir / "other.ckpt");
    FAIL() << "loaded weights of another model";
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0403"));
    EXPECT_THAT(e.what(), HasSubstr("unexpected head.bias, head.weight"));
    EXPECT_THAT(e.what(), HasSubstr("layer.weight is [2, 16] in the file, [2, 32] in the model"));
  }
}

/// Trains `optimizer` on `model` for `steps` steps of a fixed problem.
void train_steps(BoringModel& model, torch::optim::Optimizer& optimizer, int steps) {
  const auto data = testing::random_dataset(16);
  const std::vector<int64_t> indices{0, 1, 2, 3, 4, 5, 6, 7};
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    auto loss = model.loss(data.get_batch(indices));
    loss.backward();
    optimizer.step();
  }
}

template <class Optimizer, class Options>
void expect_exact_round_trip(Options options) {
  BoringModel a;
  Optimizer first(a.parameters(), options);
  train_steps(a, first, 3);
  first.param_groups()[0].options().set_lr(0.0123);  // as a scheduler would
  const c10::IValue saved = optimizer_state_dict(first);

  BoringModel b;
  {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < a.parameters().size(); ++i) b.parameters()[i].copy_(a.parameters()[i]);
  }
  Optimizer second(b.parameters(), options);
  load_optimizer_state_dict(second, saved, "test");
  EXPECT_EQ(second.param_groups()[0].options().get_lr(), 0.0123) << "the learning rate is restored";
  train_steps(a, first, 2);
  train_steps(b, second, 2);
  EXPECT_TRUE(testing::flat_parameters(a).equal(testing::flat_parameters(b)));
}

TEST(OptimizerState, SgdAdamAdamWRmspropAdagradAndLbfgsContinueBitwiseAfterALoad) {
  expect_exact_round_trip<torch::optim::SGD>(torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
  expect_exact_round_trip<torch::optim::Adam>(torch::optim::AdamOptions(0.01).amsgrad(true));
  expect_exact_round_trip<torch::optim::AdamW>(torch::optim::AdamWOptions(0.01));
  expect_exact_round_trip<torch::optim::RMSprop>(torch::optim::RMSpropOptions(0.01).momentum(0.5).centered(true));
  expect_exact_round_trip<torch::optim::Adagrad>(torch::optim::AdagradOptions(0.1));
}

TEST(OptimizerState, UsesPythonsLayoutAndNames) {
  BoringModel model;
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(0.01));
  train_steps(model, adam, 2);
  const auto saved = optimizer_state_dict(adam).toGenericDict();
  const auto group = saved.at("param_groups").toList().get(0).toGenericDict();
  EXPECT_EQ(group.at("lr").toDouble(), 0.01);
  EXPECT_EQ(group.at("params").toIntVector(), (std::vector<int64_t>{0, 1}));
  const auto state = saved.at("state").toGenericDict().at(int64_t{0}).toGenericDict();
  EXPECT_EQ(state.at("step").toTensor().item<double>(), 2.0);
  EXPECT_TRUE(state.at("exp_avg").toTensor().sizes().equals({2, 32}));
}

TEST(OptimizerState, AStateOfAnotherOptimizerIsLC0405) {
  BoringModel model;
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(0.01));
  torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1));
  try {
    load_optimizer_state_dict(sgd, optimizer_state_dict(adam), "x.ckpt");
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0405"));
    EXPECT_THAT(e.what(), HasSubstr("the state of Adam given to SGD"));
  }
}

TEST(OptimizerState, OtherOptimizersTravelAsLibTorchArchives) {
  BoringModel a;
  torch::optim::LBFGS first(a.parameters(), torch::optim::LBFGSOptions(0.5));
  const auto saved = optimizer_state_dict(first).toGenericDict();
  EXPECT_TRUE(saved.contains("libtorch_archive"));
  BoringModel b;
  torch::optim::LBFGS second(b.parameters(), torch::optim::LBFGSOptions(1.0));
  load_optimizer_state_dict(second, saved, "test");
  EXPECT_EQ(second.param_groups()[0].options().get_lr(), 0.5);
}

}  // namespace
}  // namespace lightning
