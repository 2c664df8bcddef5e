// Precision: Lightning's aliases, and bfloat16 autocast on the CPU for "bf16-mixed".

#include <lightning/lightning.h>
#include <lightning/precision/precision.h>

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>

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
  pl::AutocastScope other_device(pl::autocast_dtype("bf16-mixed", c10::DeviceType::CUDA));  // comes with CUDA training
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
  EXPECT_FALSE(at::autocast::is_cpu_enabled());  // nothing left switched on after fit
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
