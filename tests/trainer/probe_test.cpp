// Stage 3: the probe runs one training batch and one batch of each validation loader before
// training, reports what does not fit, and leaves no trace.

#include "support/support.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/optim/sgd.h>

#include <ATen/ATen.h>
#include <numeric>
#include <gtest/gtest.h>

namespace lightning {
namespace {

using testing::BoringModel;
using testing::flat_parameters;
using testing::random_loader;

/// Dropout draws random numbers and batch norm updates buffers: both must be undone.
struct Noisy : BoringModel {
  torch::nn::Dropout dropout{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
  Noisy() {
    dropout = register_module("dropout", torch::nn::Dropout(0.5));
    norm = register_module("norm", torch::nn::BatchNorm1d(32));
  }
  StepOutput training_step(const Batch& batch, int64_t) override {
    auto value = torch::nn::functional::cross_entropy(layer->forward(dropout->forward(norm->forward(batch[0]))), batch[1]);
    log("train_loss", value);
    return value;
  }
};

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

TEST(Probe, LeavesNoTrace) {
  seed_everything(5);
  Noisy model;
  for (auto& p : model.parameters()) p.mutable_grad() = at::full_like(p, 0.25);
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_epochs = 1, .logger = logger});
  const auto parameters = copies(model.parameters());
  const auto buffers = copies(model.buffers());
  std::vector<at::Tensor> gradients;
  for (const auto& p : model.parameters()) gradients.push_back(p.grad().clone());
  const auto generator_state = at::detail::getDefaultCPUGenerator().get_state();
  model.train(false);

  auto found = trainer.check(model, random_loader(16, 8, /*shuffle=*/true), {random_loader(8, 8)});
  EXPECT_TRUE(found.empty()) << (found.empty() ? "" : found[0].render());

  auto after = model.parameters();
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].equal(parameters[i])) << "parameter " << i;
    EXPECT_TRUE(after[i].grad().equal(gradients[i])) << "gradient " << i;
  }
  auto after_buffers = model.buffers();
  for (std::size_t i = 0; i < after_buffers.size(); ++i) EXPECT_TRUE(after_buffers[i].equal(buffers[i])) << "buffer " << i;
  EXPECT_TRUE(at::detail::getDefaultCPUGenerator().get_state().equal(generator_state));
  EXPECT_FALSE(model.is_training()) << "the module's mode comes back";
  EXPECT_TRUE(trainer.callback_metrics().empty());
  EXPECT_TRUE(logger->rows.empty());
  EXPECT_EQ(trainer.global_step(), 0);
}

/// The weights after two epochs of Noisy on `accelerator`, with a `check` before the fit or not.
at::Tensor fit_noisy(bool check_first, const std::string& accelerator) {
  seed_everything(9);
  Noisy model;
  Trainer trainer({.max_epochs = 2, .accelerator = accelerator, .devices = 1});
  if (check_first) trainer.check(model, random_loader(16, 4, true));
  trainer.fit(model, random_loader(16, 4, true));
  return flat_parameters(model);
}

TEST(Probe, AFitAfterACheckTrainsExactlyAsAFitAlone) {
  EXPECT_TRUE(fit_noisy(true, "cpu").equal(fit_noisy(false, "cpu")));
}

// On a GPU, dropout draws from the GPU's generator, which the probe puts back too.
TEST(Probe, AFitAfterACheckTrainsExactlyAsAFitAloneOnTheGpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  EXPECT_TRUE(fit_noisy(true, "gpu").equal(fit_noisy(false, "gpu")));
}

/// A module whose training_step returns what the test chooses.
struct Returning : BoringModel {
  std::function<StepOutput(Returning&, const Batch&)> step;
  StepOutput training_step(const Batch& batch, int64_t) override { return step(*this, batch); }
};

struct StepCase {
  const char* name;
  std::function<StepOutput(Returning&, const Batch&)> step;
  const char* code;
  const char* text;
};

class StepOutputDiagnostics : public ::testing::TestWithParam<StepCase> {};

TEST_P(StepOutputDiagnostics, AreFoundBeforeAnyOptimizerStep) {
  Returning model;
  model.step = GetParam().step;
  const auto before = flat_parameters(model);
  Trainer trainer({.max_epochs = 1});
  try {
    trainer.fit(model, random_loader(8, 4));
    FAIL() << "expected " << GetParam().code;
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has(GetParam().code)) << e.what();
    EXPECT_NE(std::string(e.what()).find(GetParam().text), std::string::npos) << e.what();
  }
  EXPECT_EQ(trainer.global_step(), 0);
  EXPECT_TRUE(flat_parameters(model).equal(before));
}

INSTANTIATE_TEST_SUITE_P(
    EachMistake, StepOutputDiagnostics,
    ::testing::Values(
        StepCase{"no_loss", [](Returning&, const Batch&) { return StepOutput(); }, "LC0320",
                 "`training_step` returned no loss under automatic optimization"},
        StepCase{"map_without_loss",
                 [](Returning& m, const Batch& b) { return StepOutput(std::map<std::string, at::Tensor>{{"los", m.loss(b)}}); },
                 "LC0321", "received: a map with keys \"los\""},
        StepCase{"non_scalar",
                 [](Returning& m, const Batch& b) {
                   return StepOutput(torch::nn::functional::cross_entropy(
                       m.forward(b[0]), b[1], torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone)));
                 },
                 "LC0322", "received: a tensor of shape [4]"},
        StepCase{"detached", [](Returning& m, const Batch& b) { return StepOutput(m.loss(b).detach()); }, "LC0323",
                 "`training_step` returned a loss that does not require grad"},
        StepCase{"non_finite", [](Returning& m, const Batch& b) { return StepOutput(m.loss(b) * INFINITY); }, "LC0324",
                 "`training_step` returned a non-finite loss on the first batch"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Probe, ABatchThatDoesNotFitTheModelIsReportedWithShapes) {
  BoringModel model;  // Linear(32, 2)
  Trainer trainer({.max_epochs = 1});
  try {
    trainer.fit(model, DataLoader(testing::random_dataset(8, 0, 12), {.batch_size = 4}));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0330")) << e.what();
    const std::string text = e.what();
    EXPECT_NE(text.find("`training_step` failed on the first batch, before training: mat1 and mat2 shapes cannot be multiplied (4x12 and 32x2)"),
              std::string::npos) << text;
    EXPECT_NE(text.find("received: batch tensors: [4, 12] Float, [4] Long"), std::string::npos) << text;
    EXPECT_NE(text.find("layer.weight [2, 32] Float"), std::string::npos) << text;
  }
  EXPECT_EQ(model.training_steps, 0);
}

TEST(Probe, TargetsOfTheWrongDtypeForTheLossAreReportedWithTheBatch) {
  BoringModel model;  // cross_entropy wants int64 class indices
  auto data = testing::random_dataset(8);
  Trainer trainer({.max_epochs = 1});
  try {
    trainer.fit(model, DataLoader(TensorDataset(data.tensors()[0], data.tensors()[1].to(at::kFloat)), {.batch_size = 4}));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0330")) << e.what();
    EXPECT_NE(std::string(e.what()).find("received: batch tensors: [4, 32] Float, [4] Float"), std::string::npos) << e.what();
  }
  EXPECT_EQ(trainer.global_step(), 0);
}

TEST(Probe, DoubleDataIntoAFloatModelIsReportedBeforeItFails) {
  BoringModel model;
  auto data = testing::random_dataset(8);
  Trainer trainer({.max_epochs = 1});
  try {
    trainer.fit(model, DataLoader(TensorDataset(data.tensors()[0].to(at::kDouble), data.tensors()[1]), {.batch_size = 4}));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0331")) << e.what();
    EXPECT_NE(std::string(e.what()).find("the batch holds Double tensors but the module's parameters are Float"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("features.to(torch::kFloat)"), std::string::npos);
  }
  EXPECT_EQ(model.training_steps, 0);
}

TEST(Probe, DataOnAnotherDeviceThanTheModuleIsReportedBeforeItFails) {
  BoringModel model;
  // The meta device stands for a GPU this machine does not have: tensors with shapes, no data.
  auto features = at::empty({8, 32}, at::TensorOptions().device(at::kMeta));
  auto labels = at::empty({8}, at::TensorOptions().dtype(at::kLong).device(at::kMeta));
  Trainer trainer({.max_epochs = 1, .accelerator = "cpu"});
  try {
    trainer.fit(model, DataLoader(TensorDataset(features, labels), {.batch_size = 4}));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].code, "LC0332");
    EXPECT_NE(std::string(e.what()).find("the batch holds tensors on meta but the module's parameters are on cpu"),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("build the dataset on the CPU"), std::string::npos);
  }
  EXPECT_EQ(model.training_steps, 0);
}

TEST(Probe, CheckReturnsTheReportWithoutThrowingOrTraining) {
  Returning model;
  model.step = [](Returning& m, const Batch& b) { return StepOutput(m.loss(b).detach()); };
  Trainer trainer({.max_epochs = 1});
  auto found = trainer.check(model, random_loader(8, 4), {random_loader(8, 0)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].code, "LC0201") << "loaders first; the probe runs once they can be read";
  found = trainer.check(model, random_loader(8, 4));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].code, "LC0323");
  EXPECT_EQ(trainer.global_step(), 0);
}

/// Lightning's pattern: collect in the steps, reduce and log in the epoch-end hooks, then clear.
struct EpochEndMetrics : BoringModel {
  std::vector<double> train_losses;
  std::vector<int64_t> train_counts_at_epoch_end;
  std::vector<double> val_losses;
  StepOutput training_step(const Batch& batch, int64_t) override {
    auto value = loss(batch);
    train_losses.push_back(value.item<double>());
    return value;
  }
  void on_train_epoch_end() override {
    if (!trainer().probing()) train_counts_at_epoch_end.push_back(static_cast<int64_t>(train_losses.size()));
    log("train_loss_mean", std::accumulate(train_losses.begin(), train_losses.end(), 0.0) / train_losses.size());
    train_losses.clear();
  }
  StepOutput validation_step(const Batch& batch, int64_t) override {
    val_losses.push_back(loss(batch).item<double>());
    return {};
  }
  void on_validation_epoch_end() override {
    log("val_acc", 1.0 - std::accumulate(val_losses.begin(), val_losses.end(), 0.0) / val_losses.size());
    val_losses.clear();
  }
};

TEST(Probe, LearnsKeysLoggedInEpochEndHooksAndItsCollectedOutputsAreCleared) {
  testing::TempDir dir;
  EpochEndMetrics model;
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.dirpath = dir.path().string(), .monitor = "val_acc", .mode = "max"});
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "train_loss_mean"});
  Trainer trainer({.max_epochs = 2, .callbacks = {checkpoint, early_stopping}, .logger = false,
                   .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, random_loader(16, 4), random_loader(8, 4));
  EXPECT_EQ(model.train_counts_at_epoch_end, (std::vector<int64_t>{4, 4})) << "the probe's step is not counted in epoch 0";
  EXPECT_TRUE(checkpoint->best_model_score().has_value());
}

}  // namespace
}  // namespace lightning
