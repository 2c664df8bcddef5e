// Precision: Lightning's aliases, and bfloat16 autocast on the CPU for "bf16-mixed".

#include <lightning/lightning.h>
#include <lightning/precision/precision.h>

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <ATen/CPUGeneratorImpl.h>

#include <limits>
#include <optional>

#include "support/support.h"

namespace pl = lightning;

TEST(Precision, AliasesResolveToLightningsNames) {
  EXPECT_EQ(pl::canonical_precision("32"), "32-true");
  EXPECT_EQ(pl::canonical_precision("64"), "64-true");
  EXPECT_EQ(pl::canonical_precision("16"), "16-mixed");
  EXPECT_EQ(pl::canonical_precision("bf16"), "bf16-mixed");
  EXPECT_EQ(pl::canonical_precision("bf16-true"), "bf16-true");
}

TEST(Precision, AutocastRunsListedOpsInBfloat16AndRestoresTheStateItFound) {
  torch::nn::Linear linear(4, 3);
  auto x = torch::randn({2, 4});
  {
    pl::AutocastScope autocast(pl::autocast_dtype("bf16", c10::DeviceType::CPU));
    auto y = linear(x);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);  // linear is on autocast's lower-precision list
    // cross_entropy is on autocast's float32 list for the CPU.
    EXPECT_EQ(torch::nn::functional::cross_entropy(y, torch::tensor({0, 2})).scalar_type(), at::kFloat);
    EXPECT_EQ(linear->weight.scalar_type(), at::kFloat);  // parameters stay float32
    {
      pl::AutocastScope nested(pl::autocast_dtype("32-true", c10::DeviceType::CPU));  // not mixed: changes nothing
      EXPECT_EQ(linear(x).scalar_type(), at::kBFloat16);
    }
  }
  EXPECT_EQ(linear(x).scalar_type(), at::kFloat);
  EXPECT_EQ(pl::autocast_dtype("bf16-mixed", c10::DeviceType::CUDA), at::kBFloat16);
  EXPECT_EQ(pl::autocast_dtype("16-mixed", c10::DeviceType::CUDA), at::kHalf);
  EXPECT_EQ(pl::autocast_dtype("16-mixed", c10::DeviceType::CPU), std::nullopt);
  // CUDA's autocast leaves CPU tensors alone.
  pl::AutocastScope cuda(pl::autocast_dtype("16-mixed", c10::DeviceType::CUDA), c10::DeviceType::CUDA);
  EXPECT_EQ(linear(x).scalar_type(), at::kFloat);
}

namespace {
/// Records the dtype of its forward output and its loss in training, and of its gradients.
struct DtypeProbe : pl::testing::BoringModel {
  std::vector<at::ScalarType> output_dtypes, loss_dtypes;
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto output = forward(batch[0]);
    auto loss = torch::nn::functional::cross_entropy(output, batch[1]);
    output_dtypes.push_back(output.scalar_type());
    loss_dtypes.push_back(loss.scalar_type());
    return loss;
  }
};
}  // namespace

TEST(Precision, Bf16MixedTrainsWithBfloat16ForwardAndFloat32Parameters) {
  DtypeProbe model;
  pl::Trainer trainer({.max_steps = 3, .precision = "bf16-mixed", .logger = false, .enable_progress_bar = false,
                       .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, pl::testing::random_loader(48, 16));
  ASSERT_EQ(model.output_dtypes.size(), 4u);  // the probe's step, then three
  for (auto dtype : model.output_dtypes) EXPECT_EQ(dtype, at::kBFloat16);
  for (auto dtype : model.loss_dtypes) EXPECT_EQ(dtype, at::kFloat);
  for (const auto& p : model.parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
  }
  // Nothing left switched on after fit: a forward is float32 again.
  EXPECT_EQ(model.forward(torch::randn({2, 32})).scalar_type(), at::kFloat);
}

namespace {
/// Records the dtype its training and validation steps receive and give.
struct InputDtypes : pl::testing::BoringModel {
  std::vector<at::ScalarType> inputs, labels, outputs;
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    inputs.push_back(batch[0].tensor().scalar_type());
    labels.push_back(batch[1].tensor().scalar_type());
    auto output = forward(batch[0]);
    outputs.push_back(output.scalar_type());
    return torch::nn::functional::cross_entropy(output, batch[1]);
  }
};
}  // namespace

TEST(Precision, TruePrecisionsConvertTheParametersAndTheFloatingInputs) {
  EXPECT_EQ(pl::parameter_dtype("64"), at::kDouble);
  EXPECT_EQ(pl::parameter_dtype("bf16-true"), at::kBFloat16);
  EXPECT_EQ(pl::parameter_dtype("bf16-mixed"), std::nullopt);
  for (auto [precision, dtype] : {std::pair{"64-true", at::kDouble}, std::pair{"bf16-true", at::kBFloat16}}) {
    InputDtypes model;
    pl::Trainer trainer({.max_steps = 2, .precision = precision, .logger = false, .enable_progress_bar = false,
                         .enable_model_summary = false, .enable_checkpointing = false});
    trainer.fit(model, pl::testing::random_loader(32, 16));
    ASSERT_EQ(model.inputs.size(), 3u) << precision;  // the probe's step, then two
    for (std::size_t i = 0; i < model.inputs.size(); ++i) {
      EXPECT_EQ(model.inputs[i], dtype) << precision;
      EXPECT_EQ(model.labels[i], at::kLong) << precision;  // labels stay labels
      EXPECT_EQ(model.outputs[i], dtype) << precision;
    }
    for (const auto& p : model.parameters()) EXPECT_EQ(p.scalar_type(), dtype) << precision;
    EXPECT_EQ(trainer.global_step(), 2);
  }
}

TEST(Batch, ToFloatingConvertsOnlyFloatingTensors) {
  pl::Batch batch{torch::ones({2, 3}), torch::tensor({1, 0})};
  auto converted = batch.to_floating(at::kDouble);
  EXPECT_EQ(converted[0].tensor().scalar_type(), at::kDouble);
  EXPECT_EQ(converted[1].tensor().scalar_type(), at::kLong);
  EXPECT_TRUE(converted[0].tensor().equal(torch::ones({2, 3}, at::kDouble)));
}

namespace {

/// One parameter p = 1 and plain SGD with learning rate 1: a step subtracts the gradient.
struct OneParameter {
  at::Tensor p = torch::ones({1}).requires_grad_(true);
  torch::optim::SGD sgd{std::vector<at::Tensor>{p}, torch::optim::SGDOptions(1.0)};
};

}  // namespace

TEST(GradScaler, ScalesTheLossThenUnscalesTheGradientBeforeTheStep) {
  pl::GradScaler scaler;
  OneParameter one;
  const auto scaled = scaler.scale(one.p * 3.0);
  EXPECT_FLOAT_EQ(scaled.item<float>(), 3.0F * 65536.0F);
  scaled.backward();
  EXPECT_FLOAT_EQ(one.p.grad().item<float>(), 3.0F * 65536.0F);
  scaler.unscale_(one.sgd);
  EXPECT_FLOAT_EQ(one.p.grad().item<float>(), 3.0F) << "clipping sees the true gradient";
  EXPECT_TRUE(scaler.step(one.sgd));
  EXPECT_FLOAT_EQ(one.p.item<float>(), -2.0F);
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  EXPECT_EQ(scaler.growth_tracker(), 1);
  EXPECT_THROW({ scaler.unscale_(one.sgd); scaler.unscale_(one.sgd); }, std::logic_error);
}

TEST(GradScaler, AnInfiniteGradientSkipsTheStepAndBacksTheScaleOff) {
  pl::GradScaler scaler;
  OneParameter one;
  scaler.scale(one.p * std::numeric_limits<float>::infinity()).backward();
  EXPECT_FALSE(scaler.step(one.sgd));
  EXPECT_FLOAT_EQ(one.p.item<float>(), 1.0F) << "the step was skipped";
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 32768.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  one.p.grad().zero_();
  scaler.scale(one.p * std::numeric_limits<float>::quiet_NaN()).backward();
  EXPECT_FALSE(scaler.step(one.sgd));
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 16384.0);
}

TEST(GradScaler, GrowsAfterGrowthIntervalGoodStepsInARow) {
  pl::GradScaler scaler({.init_scale = 8.0, .growth_interval = 3});
  OneParameter one;
  for (int step = 1; step <= 3; ++step) {
    one.sgd.zero_grad();
    scaler.scale(one.p * 1.0).backward();
    EXPECT_TRUE(scaler.step(one.sgd));
    scaler.update();
    EXPECT_EQ(scaler.growth_tracker(), step % 3);
  }
  EXPECT_EQ(scaler.get_scale(), 16.0);
}

TEST(GradScaler, StateDictUsesPyTorchsKeysAndRoundTrips) {
  pl::GradScaler scaler({.init_scale = 1024.0, .growth_interval = 7});
  OneParameter one;
  scaler.scale(one.p * 1.0).backward();
  scaler.step(one.sgd);
  scaler.update();
  const auto state = scaler.state_dict();
  EXPECT_EQ(state.at("scale").toDouble(), 1024.0);
  EXPECT_EQ(state.at("growth_factor").toDouble(), 2.0);
  EXPECT_EQ(state.at("backoff_factor").toDouble(), 0.5);
  EXPECT_EQ(state.at("growth_interval").toInt(), 7);
  EXPECT_EQ(state.at("_growth_tracker").toInt(), 1);
  pl::GradScaler restored;
  restored.load_state_dict(state);
  EXPECT_EQ(restored.get_scale(), 1024.0);
  EXPECT_EQ(restored.growth_tracker(), 1);
  EXPECT_EQ(restored.state_dict().at("growth_interval").toInt(), 7);
}

namespace {

/// Manual optimization with or without a scaler: a power-of-two scale changes no bit of the result.
struct ScaledRegression : pl::LightningModule {
  torch::nn::Linear linear{nullptr};
  std::optional<pl::GradScaler> scaler;
  explicit ScaledRegression(bool scaled) {
    automatic_optimization = false;
    linear = register_module("linear", torch::nn::Linear(3, 1));
    if (scaled) scaler.emplace();
  }
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto optimizer = optimizers().front();
    optimizer.zero_grad();
    auto loss = torch::nn::functional::mse_loss(linear(batch[0]), batch[1]);
    if (scaler) {
      manual_backward(scaler->scale(loss));
      scaler->step(optimizer);
      scaler->update();
    } else {
      manual_backward(loss);
      optimizer.step();
    }
    return loss;
  }
  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

}  // namespace

TEST(GradScaler, InManualOptimizationTrainsBitForBitLikeNoScaler) {
  auto x = torch::randn({32, 3}, at::make_generator<at::CPUGeneratorImpl>(1));
  auto y = x.sum(1, true);
  std::vector<at::Tensor> weights;
  for (bool scaled : {false, true}) {
    pl::seed_everything(5);
    ScaledRegression model(scaled);
    pl::Trainer trainer({.max_epochs = 3, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                         .enable_checkpointing = false});
    trainer.fit(model, pl::DataLoader(pl::TensorDataset(x, y), {.batch_size = 8}));
    weights.push_back(model.linear->weight.detach().clone());
    if (scaled) {
      // 12 good steps, and the probe's: a scaler the module holds is the module's own state,
      // which the probe does not restore (it restores weights, gradients and optimizers).
      EXPECT_EQ(model.scaler->growth_tracker(), 13);
    }
    EXPECT_EQ(trainer.global_step(), 12);
  }
  EXPECT_TRUE(weights[0].equal(weights[1]));
  EXPECT_FALSE(weights[0].equal(torch::zeros_like(weights[0])));
}

TEST(GradScaler, FusedCudaKernelsAgreeWithThePortablePath_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  for (const auto device : {at::Device(at::kCPU), at::Device(at::kCUDA, 0)}) {
    pl::GradScaler scaler({.init_scale = 4.0, .growth_interval = 1});
    auto p = torch::tensor({1.0F, -2.0F}, at::TensorOptions().device(device)).requires_grad_(true);
    torch::optim::SGD sgd({p}, torch::optim::SGDOptions(1.0));
    scaler.scale((p * p).sum()).backward();
    EXPECT_TRUE(scaler.step(sgd));
    scaler.update();
    EXPECT_EQ(scaler.get_scale(), 8.0) << device;
    EXPECT_TRUE(p.cpu().equal(torch::tensor({-1.0F, 2.0F}))) << device;
  }
}
