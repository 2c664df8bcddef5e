// A fit begun in Python with PyTorch Lightning continues here. The checkpoints in lightning/ were
// written by Lightning 2.6.6's own Trainer (torch 2.11, CPU) with tools/make_lightning_checkpoints.py,
// which this file's module, data and callbacks repeat: a run of 3 epochs of 6 batches, its
// checkpoints at the end of epoch 0 (ModelCheckpoint), after step 9 (mid-epoch) and after fit, and
// Lightning's own resumes of the first two, fit on to 3 epochs.

#include "support/support.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace lightning {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

const fs::path kLightningCheckpoints = fs::path(LIGHTNING_TEST_SOURCE_DIR) / "checkpoint" / "lightning";

/// The script's module: Sequential(Linear(16, 32), ReLU, Linear(32, 4)) as `net`, Adam(0.01) and
/// StepLR(step_size 1, gamma 0.5) each epoch, train_loss logged at each step.
struct LightningsNet : LightningModule {
  torch::nn::Sequential net{nullptr};
  bool cosine = false;  // CosineAnnealingLR instead of the script's StepLR
  LightningsNet() {
    net = register_module("net", torch::nn::Sequential(torch::nn::Linear(16, 32), torch::nn::ReLU(), torch::nn::Linear(32, 4)));
  }
  StepOutput training_step(const Batch& batch, int64_t) override {
    const at::Tensor features = batch[0];  // Sequential::forward takes any type: convert first
    auto loss = torch::nn::functional::cross_entropy(net->forward(features), batch[1]);
    log("train_loss", loss);
    return loss;
  }
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config;
    auto& adam = config.add(std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(0.01)));
    if (cosine) {
      config.add_scheduler(std::make_unique<CosineAnnealingLR>(adam, CosineAnnealingLROptions{.T_max = 4}));
    } else {
      config.add_scheduler(std::make_unique<StepLR>(adam, StepLROptions{.step_size = 1, .gamma = 0.5}));
    }
    return config;
  }
};

/// The script's data, exact in float32: 96 samples of 16 features, 4 classes, batches of 16 in order.
DataLoader lightnings_data() {
  const at::Tensor i = at::arange(96).unsqueeze(1);
  const at::Tensor j = at::arange(16).unsqueeze(0);
  const at::Tensor x = ((i * 7 + j * 13) % 17).to(at::kFloat) / 16.0;
  const at::Tensor y = (at::arange(96) * 3 + at::arange(96).div(5, "floor")) % 4;
  return DataLoader(TensorDataset(x, y), {.batch_size = 16});
}

/// The learning rate when training ends.
struct LrAtEnd : Callback {
  double lr = 0;
  void on_train_end(const TrainerView&, LightningModule& module) override {
    lr = module.lr_schedulers().at(0)->get_last_lr().at(0);
  }
};

/// What a resumed run ends with.
struct Resumed {
  at::Tensor weights;
  int64_t global_step = 0;
  int64_t epoch = 0;
  double lr = 0;
  std::shared_ptr<ModelCheckpoint> checkpoint;
  std::shared_ptr<EarlyStopping> stopping;
};

/// Resumes the script's fit from `file` (of lightning/) with its callbacks, up to `max_epochs`.
Resumed resume_from(const std::string& file, const std::string& dir, int64_t max_epochs = 3, double min_delta = 0) {
  seed_everything(1);  // other initial weights: the checkpoint's must replace them
  LightningsNet model;
  Resumed resumed;
  resumed.checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .dirpath = dir, .filename = "epoch{epoch:02d}", .monitor = "train_loss", .save_top_k = -1,
      .mode = "min", .auto_insert_metric_name = false, .every_n_epochs = 1});
  resumed.stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "train_loss", .min_delta = min_delta, .patience = 10});
  auto lr = std::make_shared<LrAtEnd>();
  Trainer trainer({.max_epochs = max_epochs, .callbacks = {resumed.checkpoint, resumed.stopping, lr}, .logger = false,
                   .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, lightnings_data(), std::vector<DataLoader>{}, (kLightningCheckpoints / file).string());
  resumed.weights = testing::flat_parameters(model);
  resumed.global_step = trainer.global_step();
  resumed.epoch = trainer.current_epoch();
  resumed.lr = lr->lr;
  return resumed;
}

/// The weights a checkpoint of lightning/ holds.
at::Tensor weights_of(const std::string& file) {
  LightningsNet model;
  load_weights(model, kLightningCheckpoints / file);
  return testing::flat_parameters(model);
}

double largest_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// PyTorch 2.11 with its own BLAS in Python, LibTorch 1.13 with Debian's here: the same arithmetic
// up to rounding (measured: 3e-8 at most after 12 steps).
constexpr double kRounding = 1e-6;

TEST(ResumeFromLightning, ItsEpochEndCheckpointContinuesAsLightningsOwnResume) {
  TempDir dir;
  const Resumed resumed = resume_from("epoch00.ckpt", dir / "run");
  EXPECT_EQ(resumed.global_step, 18);
  EXPECT_EQ(resumed.epoch, 3);
  EXPECT_DOUBLE_EQ(resumed.lr, 0.01 / 8) << "StepLR had stepped once in the file, and twice more here";
  EXPECT_LT(largest_difference(resumed.weights, weights_of("resumed_from_epoch00.ckpt")), kRounding);
  EXPECT_TRUE(weights_of("resumed_from_epoch00.ckpt").equal(weights_of("end.ckpt"))) << "Lightning's resume is exact";
  // The train_loss of the last step, as Lightning computed it (its end.ckpt): the best here.
  ASSERT_TRUE(resumed.checkpoint->best_model_score().has_value());
  EXPECT_NEAR(*resumed.checkpoint->best_model_score(), 1.2826850414276123, kRounding);
  EXPECT_EQ(resumed.checkpoint->best_model_path(), dir / "run/epoch02.ckpt");
}

// Lightning's own resume from a checkpoint saved inside an epoch runs the epoch's data again from
// its start; ours continues with the batch after the one saved, so it ends where the run that was
// never interrupted ended.
TEST(ResumeFromLightning, ItsMidEpochCheckpointContinuesWithTheNextBatch) {
  TempDir dir;
  const Resumed resumed = resume_from("mid.ckpt", dir / "run");
  EXPECT_EQ(resumed.global_step, 18);
  EXPECT_EQ(resumed.epoch, 3);
  EXPECT_LT(largest_difference(resumed.weights, weights_of("end.ckpt")), kRounding);
  EXPECT_GT(largest_difference(weights_of("resumed_from_mid.ckpt"), weights_of("end.ckpt")), 1e-3);
}

TEST(ResumeFromLightning, CallbackStatesAndTheScheduleCarryOver) {
  TempDir dir;
  // EarlyStopping kept epoch 0's loss, 1.3027; epoch 1's, 1.2909, is no improvement by min_delta.
  const Resumed one_more = resume_from("epoch00.ckpt", dir / "a", /*max_epochs=*/2, /*min_delta=*/0.05);
  EXPECT_EQ(one_more.stopping->wait_count(), 1);
  EXPECT_NEAR(one_more.stopping->best_score(), 1.3026984930038452, 1e-7);

  // After fit, a longer fit goes on with epoch 3 and the schedule's next step.
  const Resumed longer = resume_from("end.ckpt", dir / "b", /*max_epochs=*/4);
  EXPECT_EQ(longer.global_step, 24);
  EXPECT_EQ(longer.epoch, 4);
  EXPECT_DOUBLE_EQ(longer.lr, 0.01 / 16);
  // One as long trains no more; ModelCheckpoint, in another folder, keeps only the best, as in Lightning.
  const Resumed done = resume_from("end.ckpt", dir / "c", /*max_epochs=*/3);
  EXPECT_EQ(done.global_step, 18);
  EXPECT_TRUE(done.weights.equal(weights_of("end.ckpt")));
  EXPECT_EQ(done.checkpoint->best_model_path(), "/root/out/lightning/epoch02.ckpt");
  EXPECT_EQ(done.checkpoint->best_model_score(), 1.2826850414276123);
}

/// The fit's error from resuming `model` from `checkpoint`; none is a failure.
MisconfigurationException resume_error(LightningModule& model, const std::string& checkpoint) {
  Trainer trainer({.max_epochs = 4, .logger = false, .enable_checkpointing = false});
  try {
    trainer.fit(model, lightnings_data(), std::vector<DataLoader>{}, checkpoint);
  } catch (const MisconfigurationException& e) {
    EXPECT_EQ(trainer.global_step(), 0);
    return e;
  }
  throw std::runtime_error("the fit resumed from " + checkpoint);
}

// PyTorch's states name no class: the options they keep tell it.
TEST(ResumeFromLightning, AnotherOptimizersOrSchedulersStateIsLC0405) {
  TempDir dir;
  const std::string script =
      "import sys, torch; c = torch.load(sys.argv[1]); "
      "c['optimizer_states'][0] = {'state': {}, 'param_groups': [{'lr': 0.1, 'momentum': 0, 'dampening': 0, "
      "'weight_decay': 0, 'nesterov': False, 'maximize': False, 'foreach': None, 'params': [0, 1, 2, 3]}]}; "
      "torch.save(c, sys.argv[2]); c = torch.load(sys.argv[1]); del c['lr_schedulers'][0]['_last_lr']; torch.save(c, sys.argv[3])";
  testing::run_python(script, {(kLightningCheckpoints / "end.ckpt").string(), dir / "sgd.ckpt", dir / "no_last_lr.ckpt"});
  LightningsNet model;
  const auto sgd = resume_error(model, dir / "sgd.ckpt");
  ASSERT_TRUE(sgd.has("LC0405"));
  EXPECT_THAT(sgd.what(), HasSubstr("received: the state of SGD given to Adam\n"));

  LightningsNet cosine;
  cosine.cosine = true;
  const auto step_lr = resume_error(cosine, (kLightningCheckpoints / "end.ckpt").string());
  ASSERT_TRUE(step_lr.has("LC0405"));
  EXPECT_THAT(step_lr.what(), HasSubstr("the state of lr_schedulers[0] in \""));
  EXPECT_THAT(step_lr.what(), HasSubstr("end.ckpt\" does not fit CosineAnnealingLR"));
  EXPECT_THAT(step_lr.what(), HasSubstr("received: the state of StepLR given to CosineAnnealingLR\n"));

  LightningsNet without;
  const auto no_last_lr = resume_error(without, dir / "no_last_lr.ckpt");
  ASSERT_TRUE(no_last_lr.has("LC0405"));
  EXPECT_THAT(no_last_lr.what(), HasSubstr("does not fit StepLR"));
  EXPECT_THAT(no_last_lr.what(), HasSubstr("received: scheduler state: missing list \"last_lr\"\n"));
}

// PyTorch's optimizer state goes by the parameters' order: a C++ module that registers its layers
// in another order than the Python one gets states of other shapes; a state without a tensor
// Adam's step needs would fail in the first step.
TEST(ResumeFromLightning, AParametersStateOfAnotherShapeOrIncompleteIsLC0405) {
  TempDir dir;
  const std::string script =
      "import sys, torch; c = torch.load(sys.argv[1]); s = c['optimizer_states'][0]['state']; "
      "s[0], s[2] = s[2], s[0]; torch.save(c, sys.argv[2]); "
      "c = torch.load(sys.argv[1]); del c['optimizer_states'][0]['state'][1]['exp_avg']; torch.save(c, sys.argv[3]); "
      "c = torch.load(sys.argv[1]); c['optimizer_states'][0]['state'][3] = 5; torch.save(c, sys.argv[4])";
  testing::run_python(script, {(kLightningCheckpoints / "end.ckpt").string(), dir / "swapped.ckpt", dir / "incomplete.ckpt",
                               dir / "not_a_state.ckpt"});
  LightningsNet model;
  const auto swapped = resume_error(model, dir / "swapped.ckpt");
  ASSERT_TRUE(swapped.has("LC0405"));
  EXPECT_THAT(swapped.what(), HasSubstr(
      "received: parameter 0's exp_avg is [4, 32], the parameter [32, 16]; parameter 0's exp_avg_sq is [4, 32], the "
      "parameter [32, 16]; parameter 2's exp_avg is [32, 16], the parameter [4, 32]; and 1 more\n"));
  EXPECT_THAT(swapped.what(), HasSubstr("expected Adam's state with the same parameter groups, each parameter's state of its shape"));
  const auto incomplete = resume_error(model, dir / "incomplete.ckpt");
  ASSERT_TRUE(incomplete.has("LC0405"));
  EXPECT_THAT(incomplete.what(), HasSubstr("received: parameter 1 has no exp_avg\n"));
  const auto not_a_state = resume_error(model, dir / "not_a_state.ckpt");
  ASSERT_TRUE(not_a_state.has("LC0405"));
  EXPECT_THAT(not_a_state.what(), HasSubstr("received: the state of parameter 3 is int\n"));
}

}  // namespace
}  // namespace lightning
