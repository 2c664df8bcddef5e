#include "support/support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/convert_parameters.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <execinfo.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lightning::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lightning-cpp-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  // POSIX's walk, not std::filesystem::remove_all: linked to PyTorch's pip LibTorch, that call
  // binds to the copy of std::filesystem its libtorch_cpu.so exports (pytorch/pytorch#133437), and
  // test binaries crashed there; with nftw they pass (docs/distributed.md).
  const auto remove_entry = [](const char* entry, const struct stat*, int, struct FTW*) { return ::remove(entry); };
  ::nftw(path_.c_str(), remove_entry, /*nopenfd=*/16, FTW_DEPTH | FTW_PHYS);
}

std::vector<std::string> files_in(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run: " << command;
    return output;
  }
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << output;
  return output;
}

std::string run_python(const std::string& script, const std::vector<std::string>& arguments) {
  std::string command = std::string(LIGHTNING_PYTHON) + " -c \"" + script + "\"";
  for (const auto& argument : arguments) command += " " + argument;
  return run_command(command);
}

namespace {
/// A test that crashes names itself and where it crashed (with the gtest_brief ctest uses, nothing
/// else would), then dies of its signal as before. The device machines have no debugger.
void report_crash(int signal) {
  const auto say = [](const char* text) { (void)!::write(STDERR_FILENO, text, std::strlen(text)); };
  say("\n*** fatal signal ");
  say(::strsignal(signal));
  if (const auto* test = ::testing::UnitTest::GetInstance()->current_test_info()) {
    say(" in ");
    say(test->test_suite_name());
    say(".");
    say(test->name());
  }
  say("; backtrace:\n");
  std::array<void*, 64> frames{};
  ::backtrace_symbols_fd(frames.data(), ::backtrace(frames.data(), static_cast<int>(frames.size())), STDERR_FILENO);
  ::raise(signal);  // the handler was reset: the default action, the same exit status
}
[[maybe_unused]] const bool kCrashReport = [] {
  struct sigaction action {};
  action.sa_handler = report_crash;
  action.sa_flags = SA_RESETHAND;
  for (const int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) ::sigaction(signal, &action, nullptr);
  return true;
}();

/// Every test binary runs in a fresh empty folder: default loggers and checkpoints write into
/// the working directory, as in Lightning, and must not litter the build tree.
class FreshWorkingDirectory : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    previous_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_->path());
  }
  void TearDown() override {
    std::filesystem::current_path(previous_);
    dir_.reset();
  }

 private:
  std::unique_ptr<TempDir> dir_;
  std::filesystem::path previous_;
};
[[maybe_unused]] auto* const kFreshWorkingDirectory = ::testing::AddGlobalTestEnvironment(new FreshWorkingDirectory);
}  // namespace

TensorDataset random_dataset(int64_t n, uint64_t seed, int64_t features) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = at::randn({n, features}, generator, at::TensorOptions().dtype(at::kFloat));
  auto y = (x.select(1, 0) > 0).to(at::kLong);
  return TensorDataset(x, y);
}

DataLoader random_loader(int64_t n, int64_t batch_size, bool shuffle) {
  return DataLoader(random_dataset(n), {.batch_size = batch_size, .shuffle = shuffle, .seed = 7});
}

BoringModel::BoringModel() { layer = register_module("layer", torch::nn::Linear(32, 2)); }

// The diagnostics probe runs a step before training; the counters count the real ones.
StepOutput BoringModel::training_step(const Batch& batch, int64_t) {
  if (!trainer().probing()) ++training_steps;
  auto value = loss(batch);
  log("train_loss", value);
  return value;
}

StepOutput BoringModel::validation_step(const Batch& batch, int64_t) {
  if (!trainer().probing()) ++validation_steps;
  auto value = loss(batch);
  log("val_loss", value);
  return value;
}

StepOutput BoringModel::test_step(const Batch& batch, int64_t) {
  ++test_steps;
  auto value = loss(batch);
  log("test_loss", value);
  return value;
}

Batch BoringModel::predict_step(const Batch& batch, int64_t) { return Batch(forward(batch[0])); }

OptimizerConfig BoringModel::configure_optimizers() {
  return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(lr));
}

StepOutput ScriptedMetricModel::validation_step(const Batch& batch, int64_t) {
  const auto epoch = static_cast<std::size_t>(current_epoch());
  log("val_loss", values.at(std::min(epoch, values.size() - 1)));
  return loss(batch);
}

StepOutput CountingModule::training_step(const Batch& batch, int64_t) {
  log("a", static_cast<double>(global_step()));
  return loss(batch);
}

StepOutput CountingModule::validation_step(const Batch& batch, int64_t) {
  log("val_x", 10.0 * static_cast<double>(current_epoch()));
  return loss(batch);
}

at::Tensor flat_parameters(torch::nn::Module& module) {
  return torch::nn::utils::parameters_to_vector(module.parameters()).detach().clone();
}

}  // namespace lightning::testing
