// The trainer's own GradScaler ("16-mixed", which needs CUDA) driven through the fit loop on the
// CPU in float32: the loop is the same on both devices, and a power-of-two scale changes no bit.
// The settings are resolved for the CPU and the scaler switched on by hand, as "16-mixed" does on a GPU.

#include "loops/fit_loop.h"
#include "support/support.h"
#include "trainer/connectors/accelerator_connector.h"
#include "trainer/connectors/checkpoint_connector.h"
#include "trainer/connectors/settings.h"

#include <lightning/utilities/seed.h>

#include <gtest/gtest.h>

#include <limits>

namespace lightning::detail {
namespace {

/// BoringModel whose loss is infinite at one global batch, as a float16 overflow would make it.
struct OverflowingModel : testing::BoringModel {
  int64_t overflow_at = -1;
  int64_t batches = 0;
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
    auto loss = testing::BoringModel::training_step(batch, batch_idx).loss;
    if (!trainer().probing() && batches++ == overflow_at) loss = loss * std::numeric_limits<float>::infinity();
    return loss;
  }
};

struct FitResult {
  at::Tensor weight;
  std::optional<double> scale;
  std::optional<int64_t> tracker;
  int64_t global_step = 0;
  bool checkpoint_has_scaler_state = false;
};

FitResult fit(bool scaled, int64_t overflow_at, const char* accelerator = "cpu") {
  seed_everything(3);
  OverflowingModel model;
  model.overflow_at = overflow_at;
  std::vector<std::shared_ptr<Callback>> callbacks;
  std::vector<std::shared_ptr<Logger>> loggers;
  TrainerState state;
  TrainerFacts facts;
  TrainerView view(facts, state);
  const TrainerOptions options{.max_epochs = 2, .accelerator = accelerator, .devices = 1};
  DiagnosticCollector found;
  Settings settings = resolve_settings(options, resolve_devices(options, Environment::detect(), found));
  EXPECT_TRUE(found.diagnostics().empty());
  settings.strategy.grad_scaler = scaled;
  settings.num_sanity_val_steps = 0;
  LoopContext context(model, callbacks, loggers, state, view, settings);
  context.optimizer_config = model.make_optimizer_config();
  auto train = testing::random_loader(32, 8);
  std::vector<DataLoader> val;
  run_fit(context, train, val);
  FitResult result{.weight = model.layer->weight.detach().cpu(), .global_step = state.global_step};
  if (const auto* scaler = context.strategy.scaler()) {
    result.scale = scaler->get_scale();
    result.tracker = scaler->growth_tracker();
  }
  result.checkpoint_has_scaler_state = dump_checkpoint(context.checkpoint_parts(), false).contains("MixedPrecision");
  return result;
}

TEST(GradScalerInTheLoop, TrainsBitForBitLikeFloat32WithoutOverflow) {
  const auto plain = fit(false, -1), scaled = fit(true, -1);
  EXPECT_TRUE(plain.weight.equal(scaled.weight));
  EXPECT_EQ(scaled.scale, 65536.0);
  EXPECT_EQ(scaled.tracker, 8) << "8 good steps";
  EXPECT_TRUE(scaled.checkpoint_has_scaler_state);
  EXPECT_FALSE(plain.checkpoint_has_scaler_state);
}

TEST(GradScalerInTheLoop, AnOverflowSkipsThatStepAndHalvesTheScale) {
  const auto skipped = fit(true, 2), plain = fit(false, -1);
  EXPECT_EQ(skipped.scale, 32768.0);
  EXPECT_EQ(skipped.tracker, 5) << "the 5 good steps after the overflow";
  EXPECT_EQ(skipped.global_step, 8) << "the loop still counts the step, as Lightning does";
  EXPECT_FALSE(skipped.weight.equal(plain.weight));
  EXPECT_TRUE(skipped.weight.isfinite().all().item<bool>()) << "no inf reached the weights";
}

// The same loop on the GPU, where the scaler's fused ATen kernels run: the same skipped step and
// scale as on the CPU, and weights within float32 rounding of the CPU's.
TEST(GradScalerInTheLoop, OnTheGpuAnOverflowSkipsThatStepAsOnTheCpu_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  const auto cpu = fit(true, 2), gpu = fit(true, 2, "gpu");
  EXPECT_EQ(gpu.scale, 32768.0);
  EXPECT_EQ(gpu.tracker, 5);
  EXPECT_EQ(gpu.global_step, 8);
  EXPECT_TRUE(gpu.checkpoint_has_scaler_state);
  EXPECT_TRUE(gpu.weight.allclose(cpu.weight, 1e-4, 1e-6))
      << "largest difference " << (gpu.weight - cpu.weight).abs().max().item<double>();
}

}  // namespace
}  // namespace lightning::detail
