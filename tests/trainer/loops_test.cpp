// Step counts and results of Lightning's loops under each option that shapes them.

#include "support/support.h"
#include "trainer/connectors/settings.h"

#include <gtest/gtest.h>

namespace lightning {
namespace {

using testing::BoringModel;
using testing::random_loader;

struct ValidationCounter : Callback {
  int64_t runs = 0;
  int64_t sanity_runs = 0;
  std::vector<int64_t> at_global_step;
  void on_validation_start(const TrainerView& trainer, LightningModule&) override {
    if (trainer.sanity_checking()) {
      ++sanity_runs;
    } else {
      ++runs;
      at_global_step.push_back(trainer.global_step());
    }
  }
};

TEST(Loops, MaxStepsStopsInsideAnEpoch) {
  BoringModel model;
  Trainer trainer({.max_steps = 5});
  trainer.fit(model, random_loader(40, 4));  // 10 batches per epoch
  EXPECT_EQ(trainer.global_step(), 5);
  EXPECT_EQ(model.training_steps, 5);
  EXPECT_EQ(trainer.current_epoch(), 1) << "the interrupted epoch still ends";
}

TEST(Loops, MaxEpochsRunsWholeEpochs) {
  BoringModel model;
  Trainer trainer({.max_epochs = 3});
  trainer.fit(model, random_loader(10, 4));  // 3 batches: 4, 4, 2
  EXPECT_EQ(trainer.global_step(), 9);
  EXPECT_EQ(trainer.current_epoch(), 3);
  EXPECT_EQ(trainer.view().num_training_batches(), 3);
}

TEST(Loops, UnsetMaxEpochsMeansAThousandUnlessMaxStepsIsSet) {
  EXPECT_EQ(detail::resolve_settings({}).max_epochs, 1000);
  EXPECT_EQ(detail::resolve_settings({.max_steps = 10}).max_epochs, -1);
  EXPECT_EQ(detail::resolve_settings({.max_epochs = -1}).max_epochs, -1);
}

TEST(Loops, LimitTrainBatchesTakesACountOrAFraction) {
  BoringModel by_count;
  Trainer count({.max_epochs = 2, .limit_train_batches = 3});
  count.fit(by_count, random_loader(40, 4));
  EXPECT_EQ(by_count.training_steps, 6);
  EXPECT_EQ(count.global_step(), 6);

  BoringModel by_fraction;
  Trainer fraction({.max_epochs = 2, .limit_train_batches = 0.5});
  fraction.fit(by_fraction, random_loader(40, 4));
  EXPECT_EQ(by_fraction.training_steps, 10);

  BoringModel none;
  Trainer zero({.max_epochs = 2, .limit_train_batches = 0});
  zero.fit(none, random_loader(40, 4));
  EXPECT_EQ(none.training_steps, 0);
  EXPECT_EQ(zero.global_step(), 0);
}

TEST(Loops, AccumulateGradBatchesStepsAtWindowEndsAndAtTheLastBatch) {
  BoringModel model;
  Trainer trainer({.max_epochs = 1, .accumulate_grad_batches = 3});
  trainer.fit(model, random_loader(40, 4));  // 10 batches: steps after 3, 6, 9 and the last
  EXPECT_EQ(model.training_steps, 10);
  EXPECT_EQ(trainer.global_step(), 4);
}

TEST(Loops, ValCheckIntervalAsAFractionOfAnEpoch) {
  BoringModel model;
  auto counter = std::make_shared<ValidationCounter>();
  Trainer trainer({.max_epochs = 1, .callbacks = {counter}, .val_check_interval = 0.25,
                   .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(32, 4), random_loader(8, 4));  // 8 train, 2 val batches
  EXPECT_EQ(counter->runs, 4);
  EXPECT_EQ(counter->at_global_step, (std::vector<int64_t>{2, 4, 6, 8}));
  EXPECT_EQ(model.validation_steps, 8);
}

TEST(Loops, ValCheckIntervalAsABatchCount) {
  BoringModel model;
  auto counter = std::make_shared<ValidationCounter>();
  Trainer trainer({.max_epochs = 2, .callbacks = {counter}, .val_check_interval = 3,
                   .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(32, 4), random_loader(8, 4));
  EXPECT_EQ(counter->at_global_step, (std::vector<int64_t>{3, 6, 11, 14}));
}

TEST(Loops, ValCheckIntervalCountsAcrossEpochsWithoutCheckValEveryNEpoch) {
  BoringModel model;
  auto counter = std::make_shared<ValidationCounter>();
  Trainer trainer({.max_epochs = 2, .callbacks = {counter}, .val_check_interval = 5,
                   .check_val_every_n_epoch = std::nullopt, .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(24, 4), random_loader(8, 4));  // 6 batches per epoch
  EXPECT_EQ(counter->at_global_step, (std::vector<int64_t>{5, 10}));
}

TEST(Loops, CheckValEveryNEpoch) {
  BoringModel model;
  auto counter = std::make_shared<ValidationCounter>();
  Trainer trainer({.max_epochs = 4, .callbacks = {counter}, .check_val_every_n_epoch = 2,
                   .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(8, 4), random_loader(8, 4));
  EXPECT_EQ(counter->at_global_step, (std::vector<int64_t>{4, 8}));
}

TEST(Loops, NumSanityValStepsRunsThatManyBatchesBeforeTraining) {
  for (auto [sanity, expected] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {2, 2}, {-1, 5}}) {
    BoringModel model;
    auto counter = std::make_shared<ValidationCounter>();
    Trainer trainer({.max_epochs = 1, .callbacks = {counter}, .num_sanity_val_steps = sanity});
    trainer.fit(model, random_loader(8, 4), random_loader(20, 4));  // 5 val batches
    EXPECT_EQ(counter->sanity_runs, expected == 0 ? 0 : 1);
    EXPECT_EQ(model.validation_steps, expected + 5) << "sanity " << sanity;
  }
}

TEST(Loops, SanityCheckResultsDoNotReachMetricsOrLoggers) {
  BoringModel model;
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_epochs = 1, .logger = logger, .limit_train_batches = 0});
  trainer.fit(model, random_loader(8, 4), random_loader(8, 4));
  EXPECT_EQ(model.validation_steps, 2);
  EXPECT_FALSE(trainer.callback_metrics().contains("val_loss"));
  EXPECT_TRUE(logger->rows.empty());
}

TEST(Loops, FastDevRunRunsOneBatchOfEachAndNoLoggers) {
  BoringModel model;
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_epochs = 10, .logger = logger, .log_every_n_steps = 1, .fast_dev_run = true});
  trainer.fit(model, random_loader(40, 4), random_loader(40, 4));
  EXPECT_EQ(model.training_steps, 1);
  EXPECT_EQ(model.validation_steps, 1);
  EXPECT_EQ(trainer.global_step(), 1);
  EXPECT_EQ(trainer.current_epoch(), 1);
  EXPECT_TRUE(logger->rows.empty());

  BoringModel three;
  Trainer fast3({.fast_dev_run = 3});
  fast3.fit(three, random_loader(40, 4), random_loader(40, 4));
  EXPECT_EQ(three.training_steps, 3);
  EXPECT_EQ(three.validation_steps, 3);
  EXPECT_EQ(fast3.test(three, random_loader(40, 4)).size(), 1u);
  EXPECT_EQ(three.test_steps, 3);
}

TEST(Loops, MinEpochsOutlastsARequestToStop) {
  struct StopAtOnce : Callback {
    void on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&,
                            int64_t) override {
      trainer.request_stop();
    }
  };
  BoringModel model;
  Trainer trainer({.max_epochs = 10, .min_epochs = 2, .callbacks = {std::make_shared<StopAtOnce>()}});
  trainer.fit(model, random_loader(16, 4));
  EXPECT_EQ(trainer.current_epoch(), 2);
  // min_epochs counts finished epochs, as in Lightning: neither epoch 0 nor epoch 1 may stop early.
  EXPECT_EQ(model.training_steps, 8);
}

TEST(Loops, EpochValuesAreMeansWeightedByBatchSize) {
  struct Recording : BoringModel {
    std::vector<std::pair<double, int64_t>> train_values;
    std::vector<std::pair<double, int64_t>> val_values;
    StepOutput training_step(const Batch& batch, int64_t) override {
      auto value = loss(batch);
      if (!trainer().probing()) train_values.emplace_back(value.item<double>(), batch.batch_size());
      log("loss", value, {.on_step = true, .on_epoch = true});
      log("max_seen", value, {.on_epoch = true, .reduce_fx = "max"});
      return value;
    }
    StepOutput validation_step(const Batch& batch, int64_t) override {
      auto value = loss(batch);
      if (!trainer().probing()) val_values.emplace_back(value.item<double>(), batch.batch_size());
      log("val_loss", value);
      return value;
    }
  };
  auto weighted_mean = [](const std::vector<std::pair<double, int64_t>>& values) {
    double sum = 0, weight = 0;
    for (auto [value, size] : values) {
      sum += value * static_cast<double>(size);
      weight += static_cast<double>(size);
    }
    return sum / weight;
  };
  Recording model;
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_epochs = 1, .logger = logger, .num_sanity_val_steps = 0, .log_every_n_steps = 1});
  trainer.fit(model, random_loader(10, 4), random_loader(7, 3));  // train 4, 4, 2; val 3, 3, 1
  const auto& metrics = trainer.callback_metrics();
  ASSERT_EQ(model.train_values.size(), 3u);
  EXPECT_DOUBLE_EQ(metrics.at("loss_epoch"), weighted_mean(model.train_values));
  EXPECT_DOUBLE_EQ(metrics.at("loss"), weighted_mean(model.train_values));
  EXPECT_DOUBLE_EQ(metrics.at("loss_step"), model.train_values.back().first);
  EXPECT_DOUBLE_EQ(metrics.at("val_loss"), weighted_mean(model.val_values));
  double max_seen = 0;
  for (auto [value, size] : model.train_values) max_seen = std::max(max_seen, value);
  EXPECT_DOUBLE_EQ(metrics.at("max_seen"), max_seen);

  // Loggers: one row per step with loss_step, then the validation and training epoch rows.
  ASSERT_EQ(logger->rows.size(), 5u);
  for (int64_t step = 0; step < 3; ++step) {
    EXPECT_EQ(logger->rows[step].first, step);
    EXPECT_DOUBLE_EQ(logger->rows[step].second.at("loss_step"), model.train_values[step].first);
    EXPECT_EQ(logger->rows[step].second.at("epoch"), 0.0);
  }
  EXPECT_DOUBLE_EQ(logger->rows[3].second.at("val_loss"), weighted_mean(model.val_values));
  EXPECT_DOUBLE_EQ(logger->rows[4].second.at("loss_epoch"), weighted_mean(model.train_values));
  EXPECT_EQ(logger->rows[4].first, 2);
}

TEST(Loops, LogEveryNStepsSpacesTheLoggersRows) {
  BoringModel model;
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_epochs = 1, .logger = logger, .log_every_n_steps = 3});
  trainer.fit(model, random_loader(40, 4));  // 10 steps
  std::vector<int64_t> steps;
  for (const auto& [step, metrics] : logger->rows) {
    if (metrics.contains("train_loss")) steps.push_back(step);
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(logger->finalized, (std::vector<std::string>{"success"}));
}

TEST(Loops, SaveHyperparametersReachesTheLoggers) {
  BoringModel model;
  model.save_hyperparameters({{"lr", 0.1}, {"hidden", int64_t{32}}});
  auto logger = std::make_shared<testing::MemoryLogger>();
  Trainer trainer({.max_steps = 1, .logger = logger});
  trainer.fit(model, random_loader(8, 4));
  ASSERT_EQ(logger->hparams.size(), 1u);
  EXPECT_EQ(std::get<double>(logger->hparams[0].at("lr")), 0.1);
  EXPECT_EQ(std::get<int64_t>(logger->hparams[0].at("hidden")), 32);
}

TEST(Loops, TestReturnsMetricsPerLoaderWithLightningsSuffixes) {
  BoringModel model;
  Trainer trainer;
  auto single = trainer.test(model, random_loader(8, 4));
  ASSERT_EQ(single.size(), 1u);
  EXPECT_TRUE(single[0].contains("test_loss"));

  auto several = trainer.test(model, std::vector<DataLoader>{random_loader(8, 4), random_loader(12, 4)});
  ASSERT_EQ(several.size(), 2u);
  EXPECT_TRUE(several[0].contains("test_loss/dataloader_idx_0"));
  EXPECT_FALSE(several[0].contains("test_loss/dataloader_idx_1"));
  EXPECT_TRUE(several[1].contains("test_loss/dataloader_idx_1"));
  EXPECT_EQ(model.test_steps, 2 + 2 + 3);
}

TEST(Loops, SeveralValidationLoadersDuringFitKeepTheirMetricsApart) {
  struct PerLoader : BoringModel {
    StepOutput validation_step(const Batch&, int64_t, int64_t dataloader_idx) override {
      if (!trainer().probing()) ++validation_steps;
      log("val_id", static_cast<double>(dataloader_idx));
      return {};
    }
  };
  PerLoader model;
  Trainer trainer({.max_epochs = 1, .num_sanity_val_steps = 0});
  trainer.fit(model, random_loader(8, 4), std::vector<DataLoader>{random_loader(8, 4), random_loader(12, 4)});
  EXPECT_EQ(model.validation_steps, 5);
  EXPECT_EQ(trainer.callback_metrics().at("val_id/dataloader_idx_0"), 0.0);
  EXPECT_EQ(trainer.callback_metrics().at("val_id/dataloader_idx_1"), 1.0);
  EXPECT_EQ(trainer.view().num_val_batches(), (std::vector<int64_t>{2, 3}));
}

TEST(Loops, EvaluationRunsInEvalModeWithoutAutogradAndRestoresTrainingMode) {
  struct Probe : BoringModel {
    bool saw_training = true;
    bool saw_grad = true;
    StepOutput validation_step(const Batch& batch, int64_t) override {
      saw_training = is_training();
      auto value = loss(batch);
      saw_grad = value.requires_grad();
      return value;
    }
  };
  Probe model;
  model.train();
  Trainer trainer;
  trainer.validate(model, random_loader(8, 4));
  EXPECT_FALSE(model.saw_training);
  EXPECT_FALSE(model.saw_grad);
  EXPECT_TRUE(model.is_training());
}

TEST(Loops, PredictReturnsOneOutputPerBatch) {
  BoringModel model;
  Trainer trainer;
  auto outputs = trainer.predict(model, random_loader(10, 4));
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].tensor().sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(outputs[2].tensor().sizes(), (std::vector<int64_t>{2, 2}));
  auto per_loader = trainer.predict(model, std::vector<DataLoader>{random_loader(4, 4), random_loader(8, 4)});
  ASSERT_EQ(per_loader.size(), 2u);
  EXPECT_EQ(per_loader[1].size(), 2u);
}

TEST(Loops, DataModuleProvidesTheLoadersPerStage) {
  struct Data : DataModule {
    std::vector<std::string> calls;
    void prepare_data() override { calls.push_back("prepare_data"); }
    void setup(const std::string& stage) override { calls.push_back("setup:" + stage); }
    void teardown(const std::string& stage) override { calls.push_back("teardown:" + stage); }
    std::optional<DataLoader> train_dataloader() override { return random_loader(8, 4); }
    std::vector<DataLoader> val_dataloader() override { return {random_loader(4, 4)}; }
    std::vector<DataLoader> test_dataloader() override { return {random_loader(4, 4)}; }
  };
  Data data;
  BoringModel model;
  Trainer trainer({.max_epochs = 1, .num_sanity_val_steps = 0});
  trainer.fit(model, data);
  trainer.test(model, data);
  EXPECT_EQ(model.training_steps, 2);
  EXPECT_EQ(model.validation_steps, 1);
  EXPECT_EQ(model.test_steps, 1);
  EXPECT_EQ(data.calls, (std::vector<std::string>{"prepare_data", "setup:fit", "teardown:fit",
                                                  "prepare_data", "setup:test", "teardown:test"}));
}

TEST(Loops, AModuleWithoutTheStepAStageNeedsIsAMisconfiguration) {
  struct Empty : LightningModule {};
  struct NoValidation : BoringModel {
    StepOutput validation_step(const Batch& batch, int64_t idx) override {
      return LightningModule::validation_step(batch, idx);
    }
  };
  auto expect_code = [](auto&& run, const char* code, const char* text) {
    try {
      run();
      FAIL() << "expected " << code;
    } catch (const MisconfigurationException& e) {
      EXPECT_TRUE(e.has(code)) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  Empty empty;
  Trainer trainer({.max_epochs = 1});
  expect_code([&] { trainer.fit(empty, random_loader(8, 4)); }, "LC0301",
              "the module has no `training_step`, which `fit` needs");
  NoValidation no_validation;
  expect_code([&] { trainer.fit(no_validation, random_loader(8, 4), random_loader(8, 4)); }, "LC0303",
              "the module has no `validation_step`, which `fit with validation loaders` needs");
  expect_code([&] { trainer.validate(empty, random_loader(8, 4)); }, "LC0303",
              "the module has no `validation_step`, which `validate` needs");
  expect_code([&] { trainer.test(empty, random_loader(8, 4)); }, "LC0304",
              "the module has no `test_step`, which `test` needs");
  expect_code([&] { trainer.predict(empty, random_loader(8, 4)); }, "LC0305",
              "the module has no `predict_step`, which `predict` needs");
  expect_code([&] { trainer.test(empty, std::vector<DataLoader>{}); }, "LC0204", "`test` was given no data");
  DataModule no_loaders;
  expect_code([&] { trainer.fit(empty, no_loaders); }, "LC0204", "`fit` was given no data");
}

}  // namespace
}  // namespace lightning
