// LearningRateMonitor, Timer, LambdaCallback and OnExceptionCheckpoint.

#include "support/support.h"

#include <torch/optim/adam.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using testing::BoringModel;
using testing::MemoryLogger;

/// Every value logged under `key`, in order.
std::vector<std::pair<int64_t, double>> series(const MemoryLogger& logger, const std::string& key) {
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& [step, row] : logger.rows) {
    if (auto it = row.find(key); it != row.end()) out.emplace_back(step, it->second);
  }
  return out;
}

struct StepScheduled : BoringModel {
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config;
    auto& sgd = config.add(std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1)));
    config.add_scheduler(std::make_unique<StepLR>(sgd, StepLROptions{.step_size = 2, .gamma = 0.5}), {.interval = "step"});
    return config;
  }
};

TEST(LearningRateMonitor, LogsTheSchedulersValueBeforeEachLoggedStep) {
  StepScheduled model;
  auto logger = std::make_shared<MemoryLogger>();
  auto monitor = std::make_shared<LearningRateMonitor>();
  Trainer trainer({.max_epochs = 1, .callbacks = {monitor}, .logger = logger, .log_every_n_steps = 1,
                   .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(24, 4));  // 6 steps
  EXPECT_EQ(series(*logger, "lr-SGD"), (std::vector<std::pair<int64_t, double>>{
                                           {0, 0.1}, {1, 0.1}, {2, 0.05}, {3, 0.05}, {4, 0.025}, {5, 0.025}}));
}

TEST(LearningRateMonitor, NamesParameterGroupsAndSecondOptimizersOfAClass) {
  struct TwoGroups : BoringModel {
    OptimizerConfig configure_optimizers() override {
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(std::vector<at::Tensor>{layer->weight}, std::make_unique<torch::optim::AdamOptions>(0.01));
      groups.emplace_back(std::vector<at::Tensor>{layer->bias}, std::make_unique<torch::optim::AdamOptions>(0.02));
      return std::make_unique<torch::optim::Adam>(std::move(groups), torch::optim::AdamOptions(0.01));
    }
  } model;
  auto logger = std::make_shared<MemoryLogger>();
  auto monitor = std::make_shared<LearningRateMonitor>(LearningRateMonitorOptions{.log_momentum = true});
  Trainer trainer({.max_epochs = 1, .callbacks = {monitor}, .logger = logger, .enable_progress_bar = false,
                   .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(8, 4));
  EXPECT_EQ(monitor->last_logged(), (std::map<std::string, double>{{"lr-Adam/pg1", 0.01},
                                                                    {"lr-Adam/pg1-momentum", 0.9},
                                                                    {"lr-Adam/pg2", 0.02},
                                                                    {"lr-Adam/pg2-momentum", 0.9}}));
  EXPECT_EQ(series(*logger, "lr-Adam/pg2").front(), (std::pair<int64_t, double>{0, 0.02})) << "logged at the epoch's start";
}

TEST(LearningRateMonitor, WithoutALoggerIsLC0515AndAnUnknownIntervalLC0516) {
  BoringModel model;
  Trainer trainer({.max_epochs = 1, .callbacks = {std::make_shared<LearningRateMonitor>()}, .logger = false});
  try {
    trainer.fit(model, testing::random_loader(8, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0515"));
    EXPECT_THAT(e.what(), HasSubstr("LearningRateMonitor has no logger to write to"));
  }
  try {
    LearningRateMonitor monitor({.logging_interval = "epochs"});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0516"));
    EXPECT_THAT(e.what(), HasSubstr("did you mean \"epoch\"?"));
  }
}

TEST(Timer, StopsFitWhenTheTimeIsUp) {
  BoringModel model;
  auto timer = std::make_shared<Timer>(TimerOptions{.duration = std::chrono::seconds(0), .verbose = false});
  Trainer trainer({.max_epochs = 5, .callbacks = {timer}, .logger = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(40, 4));
  EXPECT_EQ(trainer.global_step(), 1) << "checked after every step";
  EXPECT_GT(timer->time_elapsed(), 0.0);
  Timer resumed;
  resumed.load_state_dict(timer->state_dict());
  EXPECT_EQ(resumed.time_elapsed(), timer->time_elapsed()) << "the time spent travels in checkpoints";
}

TEST(Timer, MaxTimeAddsATimerAndAMalformedOneIsLC0122) {
  BoringModel model;
  Trainer trainer({.max_epochs = 5, .max_time = "00:00:00:00", .logger = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(40, 4));
  EXPECT_EQ(trainer.global_step(), 1);
  EXPECT_EQ(parse_duration("01:02:03:04")->count(), ((24.0 + 2) * 60 + 3) * 60 + 4);
  try {
    Trainer wrong({.max_time = "12h"});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0122"));
    EXPECT_THAT(e.what(), HasSubstr("Trainer option `max_time` is not a duration"));
  }
  EXPECT_TRUE([] {
    try {
      Timer timer({.interval = "batch"});
    } catch (const MisconfigurationException& e) {
      return e.has("LC0517");
    }
    return false;
  }());
}

TEST(LambdaCallback, RunsTheFunctionsGivenAtTheirHooks) {
  BoringModel model;
  int epochs = 0, batches = 0;
  auto lambda = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_train_epoch_end = [&](const TrainerView&, LightningModule&) { ++epochs; },
      .on_train_batch_end = [&](const TrainerView&, LightningModule&, const StepOutput&, const Batch&, int64_t) { ++batches; }});
  Trainer trainer({.max_epochs = 3, .callbacks = {lambda}, .logger = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(8, 4));
  EXPECT_EQ(epochs, 3);
  EXPECT_EQ(batches, 6);
}

TEST(OnExceptionCheckpoint, SavesWhenFitFailsAndNeedsADirpathLC0518) {
  testing::TempDir dir;
  struct Fails : BoringModel {
    StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
      if (!trainer().probing() && global_step() == 3) throw std::runtime_error("out of memory");
      return BoringModel::training_step(batch, batch_idx);
    }
  } model;
  auto on_exception = std::make_shared<OnExceptionCheckpoint>(OnExceptionCheckpointOptions{.dirpath = dir.path().string()});
  Trainer trainer({.max_epochs = 2, .callbacks = {on_exception}, .logger = false, .enable_checkpointing = false});
  EXPECT_THROW(trainer.fit(model, testing::random_loader(16, 4)), std::runtime_error);
  EXPECT_EQ(on_exception->ckpt_path(), dir / "on_exception.ckpt");
  EXPECT_EQ(load_checkpoint_file(on_exception->ckpt_path()).at("global_step").toInt(), 3);
  try {
    OnExceptionCheckpoint missing({});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0518"));
  }
  // A folder that is a file: found before the first step, not when the exception comes.
  std::ofstream(dir / "taken") << "a file";
  auto unusable = std::make_shared<OnExceptionCheckpoint>(OnExceptionCheckpointOptions{.dirpath = dir / "taken"});
  BoringModel fresh;
  Trainer preflight({.max_epochs = 1, .callbacks = {unusable}, .logger = false, .enable_checkpointing = false});
  try {
    preflight.fit(fresh, testing::random_loader(8, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0518"));
    EXPECT_THAT(e.what(), HasSubstr("OnExceptionCheckpoint cannot save to"));
  }
  EXPECT_EQ(preflight.global_step(), 0);
}

TEST(OnException, AFailingHandlerDoesNotHideTheExceptionThatEndedFit) {
  struct Fails : BoringModel {
    StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
      if (!trainer().probing()) throw std::runtime_error("the original failure");
      return BoringModel::training_step(batch, batch_idx);
    }
  } model;
  auto broken = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_exception = [](const TrainerView&, LightningModule&, const std::exception&) {
        throw std::runtime_error("disk full");
      }});
  Trainer trainer({.max_epochs = 1, .callbacks = {broken}, .logger = false, .enable_checkpointing = false});
  try {
    trainer.fit(model, testing::random_loader(8, 4));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the original failure");
  }
}

}  // namespace
}  // namespace lightning
