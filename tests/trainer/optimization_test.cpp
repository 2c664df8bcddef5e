// What the trainer does to the weights: accumulation, clipping, determinism, schedulers and
// manual optimization.

#include "support/support.h"

#include <torch/nn/modules/linear.h>
#include <torch/nn/utils/convert_parameters.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <fmt/format.h>

namespace lightning {
namespace {

using testing::BoringModel;
using testing::flat_parameters;
using testing::random_loader;

TEST(Optimization, AccumulatingFourBatchesOfSixteenEqualsOneBatchOfSixtyFour) {
  seed_everything(1);
  BoringModel accumulated;
  BoringModel whole;
  whole.layer->weight.data().copy_(accumulated.layer->weight.data());
  whole.layer->bias.data().copy_(accumulated.layer->bias.data());
  auto initial = flat_parameters(whole);

  Trainer four({.max_steps = 1, .accumulate_grad_batches = 4});
  four.fit(accumulated, random_loader(64, 16));
  Trainer one({.max_steps = 1});
  one.fit(whole, random_loader(64, 64));
  EXPECT_EQ(accumulated.training_steps, 4);
  EXPECT_EQ(whole.training_steps, 1);
  auto difference = (flat_parameters(accumulated) - flat_parameters(whole)).abs().max().item<double>();
  EXPECT_LT(difference, 1e-6);
  EXPECT_GT((flat_parameters(whole) - initial).abs().max().item<double>(), 1e-3) << "the step moved the weights";
}

/// Returns no loss for batch `skipped_batch` (or, with `zero_instead`, its loss times zero).
struct SkipsABatch : BoringModel {
  int64_t skipped_batch = -1;
  bool zero_instead = false;
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
    if (batch_idx != skipped_batch || trainer().probing()) return loss(batch);
    return zero_instead ? StepOutput(loss(batch) * 0.0) : StepOutput();
  }
};

TEST(Optimization, ASkippedFirstBatchOfAnAccumulationWindowStillClearsTheLastWindowsGradients) {
  // Two windows of two batches; the second window's first batch is skipped: its step must use
  // batch 3's gradient alone, as a zero loss for batch 2 gives, not window one's gradients again.
  seed_everything(3);
  const DataLoader data = random_loader(16, 4);
  SkipsABatch skipped, zeroed;
  skipped.skipped_batch = zeroed.skipped_batch = 2;
  zeroed.zero_instead = true;
  zeroed.layer->weight.data().copy_(skipped.layer->weight.data());
  zeroed.layer->bias.data().copy_(skipped.layer->bias.data());
  Trainer({.max_steps = 2, .accumulate_grad_batches = 2}).fit(skipped, data);
  Trainer({.max_steps = 2, .accumulate_grad_batches = 2}).fit(zeroed, data);
  EXPECT_LT((flat_parameters(skipped) - flat_parameters(zeroed)).abs().max().item<double>(), 1e-7);
}

/// SGD with lr 1 and no momentum: the change of the weights in one step is the clipped gradient.
struct BigGradients : BoringModel {
  StepOutput training_step(const Batch& batch, int64_t) override { return loss(batch) * 1000.0; }
  OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0));
  }
};

TEST(Optimization, GradientClippingByNormBoundsTheTotalNorm) {
  seed_everything(2);
  BigGradients model;
  auto before = flat_parameters(model);
  Trainer trainer({.max_steps = 1, .gradient_clip_val = 0.5, .gradient_clip_algorithm = "norm"});
  trainer.fit(model, random_loader(16, 16));
  auto step = before - flat_parameters(model);
  EXPECT_NEAR(step.norm().item<double>(), 0.5, 1e-5);
}

TEST(Optimization, GradientClippingByValueBoundsEachElement) {
  seed_everything(2);
  BigGradients model;
  auto before = flat_parameters(model);
  Trainer trainer({.max_steps = 1, .gradient_clip_val = 0.25, .gradient_clip_algorithm = "value"});
  trainer.fit(model, random_loader(16, 16));
  auto step = (before - flat_parameters(model)).abs();
  EXPECT_LE(step.max().item<double>(), 0.25 + 1e-6);
  EXPECT_NEAR(step.max().item<double>(), 0.25, 1e-6) << "the large gradients sit at the bound";
}

TEST(Optimization, TwoFitsWithTheSameSeedGiveBitwiseIdenticalWeights) {
  auto train = [] {
    seed_everything(1234);
    BoringModel model;
    Trainer trainer({.max_epochs = 3});
    trainer.fit(model, DataLoader(testing::random_dataset(40), {.batch_size = 8, .shuffle = true}),
                random_loader(16, 8));
    return flat_parameters(model);
  };
  auto first = train();
  auto second = train();
  EXPECT_TRUE(first.equal(second));
}

/// The first scheduler's learning rate when training ends.
struct LrAtEnd : Callback {
  double lr = 0;
  void on_train_end(const TrainerView&, LightningModule& module) override {
    lr = module.lr_schedulers().at(0)->get_last_lr().at(0);
  }
};

TEST(Optimization, EpochAndStepSchedulersFollowTheirIntervalAndFrequency) {
  struct Scheduled : BoringModel {
    std::string interval;
    int64_t frequency;
    Scheduled(std::string i, int64_t f) : interval(std::move(i)), frequency(f) {}
    OptimizerConfig configure_optimizers() override {
      OptimizerConfig config;
      auto& sgd = config.add(std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0)));
      config.add_scheduler(std::make_unique<StepLR>(sgd, StepLROptions{.step_size = 1, .gamma = 0.5}),
                           {.interval = interval, .frequency = frequency});
      return config;
    }
  };
  Scheduled per_epoch("epoch", 1);
  auto epoch_probe = std::make_shared<LrAtEnd>();
  Trainer three_epochs({.max_epochs = 3, .callbacks = {epoch_probe}});
  three_epochs.fit(per_epoch, random_loader(16, 4));
  EXPECT_DOUBLE_EQ(epoch_probe->lr, 0.125);

  Scheduled every_second_step("step", 2);
  auto step_probe = std::make_shared<LrAtEnd>();
  Trainer ten_steps({.max_steps = 10, .callbacks = {step_probe}});
  ten_steps.fit(every_second_step, random_loader(40, 4));
  EXPECT_DOUBLE_EQ(step_probe->lr, 1.0 / 32);
}

// Lightning steps an epoch's schedulers (but ReduceLROnPlateau) with the epoch's last batch: its
// on_train_batch_end, the validation at the epoch's end and on_train_epoch_end see the next
// epoch's learning rate, as does a checkpoint saved there.
TEST(Optimization, AnEpochSchedulerStepsWithTheEpochsLastBatchBeforeItsHooks) {
  struct Halving : BoringModel {
    OptimizerConfig configure_optimizers() override {
      OptimizerConfig config;
      auto& sgd = config.add(std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0)));
      config.add_scheduler(std::make_unique<StepLR>(sgd, StepLROptions{.step_size = 1, .gamma = 0.5}));
      return config;
    }
  };
  struct Seen : Callback {
    std::vector<std::string> events;
    void record(const char* hook, LightningModule& module) {
      events.push_back(fmt::format("{} {}", hook, module.lr_schedulers().at(0)->get_last_lr().at(0)));
    }
    void on_train_batch_end(const TrainerView&, LightningModule& m, const StepOutput&, const Batch&, int64_t i) override {
      record(i == 0 ? "batch 0" : "batch 1", m);
    }
    void on_validation_end(const TrainerView& t, LightningModule& m) override {
      if (!t.sanity_checking()) record("validation", m);
    }
    void on_train_epoch_end(const TrainerView&, LightningModule& m) override { record("epoch end", m); }
  };
  Halving model;
  auto seen = std::make_shared<Seen>();
  Trainer({.max_epochs = 2, .callbacks = {seen}, .logger = false}).fit(model, random_loader(8, 4), random_loader(4, 4));
  EXPECT_EQ(seen->events, (std::vector<std::string>{"batch 0 1", "batch 1 0.5", "validation 0.5", "epoch end 0.5",
                                                    "batch 0 0.5", "batch 1 0.25", "validation 0.25", "epoch end 0.25"}));
}

struct PlateauModel : BoringModel {
  std::string monitor;
  bool strict = true;
  explicit PlateauModel(std::string m) : monitor(std::move(m)) {}
  StepOutput validation_step(const Batch&, int64_t) override {
    log("val_metric", 1.0);  // never improves after the first epoch
    return {};
  }
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config;
    auto& sgd = config.add(std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0)));
    config.add_scheduler(std::make_unique<ReduceLROnPlateau>(sgd, ReduceLROnPlateauOptions{.factor = 0.5, .patience = 1}),
                         {.monitor = monitor, .strict = strict});
    return config;
  }
};

TEST(Optimization, ReduceLROnPlateauReactsToTheMonitoredMetric) {
  PlateauModel model("val_metric");
  auto probe = std::make_shared<LrAtEnd>();
  Trainer trainer({.max_epochs = 5, .callbacks = {probe}, .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(8, 4), random_loader(4, 4));
  // Epoch 0 sets the best; epochs 1 and 2 are bad (patience 1): halve after epoch 2, and again
  // after epoch 4.
  EXPECT_DOUBLE_EQ(probe->lr, 0.25);
}

TEST(Optimization, AMonitorThatIsNeverLoggedIsAMisconfigurationWithASuggestion) {
  PlateauModel model("val_metrc");
  Trainer trainer({.max_epochs = 2, .num_sanity_val_steps = 0});
  try {
    trainer.fit(model, random_loader(8, 4), random_loader(4, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0314"));
    EXPECT_NE(std::string(e.what()).find("ReduceLROnPlateau is conditioned on metric \"val_metrc\", which the module "
                                         "does not log"),
              std::string::npos);
    EXPECT_EQ(trainer.global_step(), 0) << "found by the probe, before training";
    EXPECT_NE(std::string(e.what()).find("did you mean \"val_metric\"?"), std::string::npos);
  }
  PlateauModel lenient("val_metrc");
  lenient.strict = false;
  Trainer again({.max_epochs = 2, .num_sanity_val_steps = 0});
  EXPECT_NO_THROW(again.fit(lenient, random_loader(8, 4), random_loader(4, 4)));
}

/// Lightning's GAN pattern: two optimizers stepped by hand in training_step.
struct TwoOptimizers : LightningModule {
  torch::nn::Linear generator{nullptr}, discriminator{nullptr};
  TwoOptimizers() {
    automatic_optimization = false;
    generator = register_module("generator", torch::nn::Linear(4, 4));
    discriminator = register_module("discriminator", torch::nn::Linear(4, 1));
  }
  StepOutput training_step(const Batch& batch, int64_t) override {
    auto optimizers = this->optimizers();
    auto& g = optimizers.at(0);
    auto& d = optimizers.at(1);
    const at::Tensor& real = batch;
    auto fake = generator->forward(at::randn_like(real));
    auto d_loss = discriminator->forward(fake.detach()).mean() - discriminator->forward(real).mean();
    d.zero_grad();
    manual_backward(d_loss);
    d.step();
    auto g_loss = -discriminator->forward(fake).mean();
    g.zero_grad();
    manual_backward(g_loss);
    g.step();
    log("g_loss", g_loss);
    return {};
  }
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config;
    config.add(std::make_unique<torch::optim::Adam>(generator->parameters(), torch::optim::AdamOptions(1e-3)));
    config.add(std::make_unique<torch::optim::Adam>(discriminator->parameters(), torch::optim::AdamOptions(1e-3)));
    return config;
  }
};

TEST(Optimization, ManualOptimizationStepsTwoOptimizersAndCountsEachStep) {
  TwoOptimizers model;
  auto g_before = torch::nn::utils::parameters_to_vector(model.generator->parameters()).detach().clone();
  auto d_before = torch::nn::utils::parameters_to_vector(model.discriminator->parameters()).detach().clone();
  struct BackwardCounter : Callback {
    int calls = 0;
    void on_after_backward(const TrainerView&, LightningModule&) override { ++calls; }
  };
  auto counter = std::make_shared<BackwardCounter>();
  Trainer trainer({.max_epochs = 1, .callbacks = {counter}});
  trainer.fit(model, DataLoader(TensorDataset(at::randn({12, 4})), {.batch_size = 4}));
  EXPECT_EQ(trainer.global_step(), 6) << "3 batches x 2 optimizer steps";
  EXPECT_EQ(counter->calls, 6) << "manual_backward runs the hooks, except inside the probe";
  EXPECT_FALSE(torch::nn::utils::parameters_to_vector(model.generator->parameters()).equal(g_before));
  EXPECT_FALSE(torch::nn::utils::parameters_to_vector(model.discriminator->parameters()).equal(d_before));
  EXPECT_TRUE(trainer.callback_metrics().contains("g_loss"));
}

}  // namespace
}  // namespace lightning
