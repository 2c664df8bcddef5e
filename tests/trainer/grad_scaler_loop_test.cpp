// The trainer's own GradScaler ("16-mixed", which needs CUDA) driven through the fit loop on the
// CPU in float32: the loop is the same on both devices, and a power-of-two scale changes no bit.
// The settings are built by hand, as the accelerator connector would on a GPU machine.

#include "loops/loop_context.h"
#include "support/support.h"
#include "trainer/connectors/checkpoint_connector.h"

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

FitResult fit(bool scaled, int64_t overflow_at) {
  seed_everything(3);
  OverflowingModel model;
  model.overflow_at = overflow_at;
  std::vector<std::shared_ptr<Callback>> callbacks;
  std::vector<std::shared_ptr<Logger>> loggers;
  TrainerState state;
  TrainerView view(state);
  Settings settings = resolve_settings({.max_epochs = 2});
  settings.grad_scaler = scaled;
  settings.num_sanity_val_steps = 0;
  LoopContext context(model, callbacks, loggers, state, view, settings);
  context.optimizer_config = model.make_optimizer_config();
  auto train = testing::random_loader(32, 8);
  std::vector<DataLoader> val;
  run_fit(context, train, val);
  FitResult result{.weight = model.layer->weight.detach().clone(), .global_step = state.global_step};
  if (context.scaler) {
    result.scale = context.scaler->get_scale();
    result.tracker = context.scaler->growth_tracker();
  }
  result.checkpoint_has_scaler_state = dump_checkpoint(context, false).contains("MixedPrecision");
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

}  // namespace
}  // namespace lightning::detail
