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
