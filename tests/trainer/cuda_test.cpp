// The Trainer on a CUDA device: placement, mixed precision, checkpoints across devices and the
// teardown to the CPU (the gradient scaler's GPU test is in grad_scaler_loop_test.cpp). Every test
// here is named _CUDA and skips itself where this LibTorch has no CUDA or the machine no GPU.

#include "support/support.h"

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/lightning.h>
#include <lightning/utilities/seed.h>

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

#include <vector>

namespace pl = lightning;

namespace {

/// Records where its training steps ran and in which dtypes.
struct WhereItRan : pl::testing::BoringModel {
  std::vector<c10::Device> batch_devices, parameter_devices;
  std::vector<at::ScalarType> output_dtypes, loss_dtypes;
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    batch_devices.push_back(batch[0].tensor().device());
    parameter_devices.push_back(layer->weight.device());
    auto output = forward(batch[0]);
    auto loss = torch::nn::functional::cross_entropy(output, batch[1]);
    output_dtypes.push_back(output.scalar_type());
    loss_dtypes.push_back(loss.scalar_type());
    return loss;
  }
};

pl::TrainerOptions quiet(pl::TrainerOptions options) {
  options.logger = false;
  options.enable_progress_bar = false;
  options.enable_model_summary = false;
  options.enable_checkpointing = false;
  return options;
}

TEST(Cuda, FitOnTheGpuTrainsLikeTheCpuAndHandsTheModuleBackOnTheCpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  std::vector<at::Tensor> weights;
  for (const char* accelerator : {"cpu", "gpu"}) {
    pl::seed_everything(11);
    WhereItRan model;
    const auto initial = pl::testing::flat_parameters(model);
    pl::Trainer trainer(quiet({.max_epochs = 3, .accelerator = accelerator, .devices = 1}));
    trainer.fit(model, pl::testing::random_loader(64, 16, /*shuffle=*/true));
    EXPECT_EQ(trainer.global_step(), 12) << accelerator;
    const auto expected = std::string(accelerator) == "gpu" ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    ASSERT_EQ(model.batch_devices.size(), 13u) << "the probe's step, then 12";
    for (std::size_t i = 0; i < model.batch_devices.size(); ++i) {
      EXPECT_EQ(model.batch_devices[i], expected) << accelerator << " step " << i;
      EXPECT_EQ(model.parameter_devices[i], expected) << accelerator << " step " << i;
    }
    // Lightning's Strategy.teardown moves the module back to the CPU when the stage ends.
    for (const auto& p : model.parameters()) EXPECT_TRUE(p.device().is_cpu()) << accelerator;
    weights.push_back(pl::testing::flat_parameters(model));
    EXPECT_FALSE(weights.back().equal(initial)) << accelerator << ": it trained";
  }
  EXPECT_TRUE(weights[0].allclose(weights[1], /*rtol=*/1e-4, /*atol=*/1e-5))
      << "largest difference " << (weights[0] - weights[1]).abs().max().item<double>();
}

TEST(Cuda, Bf16MixedAutocastsTheForwardOnTheGpuAndKeepsFloat32Gradients_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  WhereItRan model;
  pl::Trainer trainer(quiet({.max_steps = 3, .accelerator = "gpu", .devices = 1, .precision = "bf16-mixed"}));
  trainer.fit(model, pl::testing::random_loader(48, 16));
  ASSERT_EQ(model.output_dtypes.size(), 4u);  // the probe's step, then three
  for (auto dtype : model.output_dtypes) EXPECT_EQ(dtype, at::kBFloat16);
  for (auto dtype : model.loss_dtypes) EXPECT_EQ(dtype, at::kFloat);  // cross_entropy is on the float32 list
  for (const auto& p : model.parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
  }
  // Nothing left switched on: a forward after fit, on the GPU, is float32 again.
  model.to(c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(model.forward(torch::randn({2, 32}, at::TensorOptions().device(at::kCUDA))).scalar_type(), at::kFloat);
}

TEST(Cuda, SixteenMixedRunsTheForwardInHalfAndScalesTheLoss_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  pl::seed_everything(2);
  WhereItRan model;
  pl::Trainer trainer(quiet({.max_epochs = 2, .accelerator = "gpu", .devices = 1, .precision = "16-mixed"}));
  trainer.fit(model, pl::testing::random_loader(64, 16));
  EXPECT_EQ(trainer.global_step(), 8);
  for (auto dtype : model.output_dtypes) EXPECT_EQ(dtype, at::kHalf);
  for (const auto& p : model.parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_TRUE(p.isfinite().all().item<bool>());
  }
}

/// A BoringModel with Adam, whose state a resume must carry to the parameters' device. Keeps the
/// optimizer it made last (the trainer keeps it after fit, for Trainer::save_checkpoint).
struct AdamModel : pl::testing::BoringModel {
  torch::optim::Adam* adam = nullptr;
  pl::OptimizerConfig configure_optimizers() override {
    auto made = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(0.01));
    adam = made.get();
    return made;
  }
};

// Lightning's Strategy.teardown moves the optimizers' state to the CPU with the module, freeing the
// GPU's memory; LibTorch's Module::to leaves gradients behind, so they are moved too.
TEST(Cuda, AfterFitTheOptimizerStateAndTheGradientsAreOnTheCpuWithTheModule_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  pl::testing::TempDir dir;
  AdamModel model;
  pl::Trainer trainer(quiet({.max_epochs = 1, .accelerator = "gpu", .devices = 1}));
  trainer.fit(model, pl::testing::random_loader(64, 16));
  ASSERT_NE(model.adam, nullptr);
  ASSERT_EQ(model.adam->state().size(), 2u) << "weight and bias";
  for (const auto& [key, state] : model.adam->state()) {
    const auto& adam_state = static_cast<const torch::optim::AdamParamState&>(*state);
    EXPECT_TRUE(adam_state.exp_avg().device().is_cpu());
    EXPECT_TRUE(adam_state.exp_avg_sq().device().is_cpu());
    EXPECT_EQ(adam_state.step(), 4);
  }
  for (const auto& p : model.parameters()) {
    EXPECT_TRUE(p.device().is_cpu());
    ASSERT_TRUE(p.grad().defined());
    EXPECT_TRUE(p.grad().device().is_cpu());
  }
  trainer.save_checkpoint(dir / "after.ckpt");  // the module goes to the GPU and back for the save
  EXPECT_TRUE(model.layer->weight.device().is_cpu());
  EXPECT_TRUE(pl::load_checkpoint_file(dir / "after.ckpt").contains("optimizer_states"));
}

struct AdamRun {
  at::Tensor weights;
  int64_t training_steps = 0;  // those this fit ran
};

/// `epochs` epochs on `accelerator`, resumed from `checkpoint` when given; saves the last
/// checkpoint under `dir`.
AdamRun train_adam(const char* accelerator, int64_t epochs, const std::string& dir, const std::string& checkpoint = "") {
  pl::seed_everything(5);
  AdamModel model;
  auto last = std::make_shared<pl::ModelCheckpoint>(pl::ModelCheckpointOptions{.dirpath = dir, .save_last = true});
  pl::TrainerOptions options = quiet({.max_epochs = epochs, .accelerator = accelerator, .devices = 1});
  options.callbacks = {last};
  options.enable_checkpointing = true;
  pl::Trainer(options).fit(model, pl::testing::random_loader(64, 16, /*shuffle=*/true), std::vector<pl::DataLoader>{},
                           checkpoint);
  return {pl::testing::flat_parameters(model), model.training_steps};
}

// A checkpoint written on the GPU names "cuda:0" for its tensors; it loads on the CPU, and Adam's
// state goes to the parameters' device, so the run continues on the GPU or on the CPU alike.
TEST(Cuda, ARunCheckpointedOnTheGpuResumesOnTheGpuOrTheCpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  pl::testing::TempDir dir;
  const auto uninterrupted = train_adam("gpu", 3, dir / "uninterrupted");
  train_adam("gpu", 2, dir / "first");
  const std::string last = dir / "first/last.ckpt";
  for (const char* accelerator : {"gpu", "cpu"}) {
    const auto resumed = train_adam(accelerator, 3, dir / accelerator, last);
    EXPECT_EQ(resumed.training_steps, 4) << accelerator << ": the third epoch's steps only";
    EXPECT_TRUE(resumed.weights.allclose(uninterrupted.weights, 1e-4, 1e-5))
        << accelerator << ": largest difference " << (resumed.weights - uninterrupted.weights).abs().max().item<double>();
  }
}

}  // namespace
