// EarlyStopping stops at the epoch Lightning's rule predicts, and says why.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using testing::ScriptedMetricModel;

/// Fits up to 20 epochs of 2 steps with `early_stopping`; returns the epochs that ran.
int64_t epochs_run(ScriptedMetricModel& model, std::shared_ptr<EarlyStopping> early_stopping, int64_t min_epochs = 0) {
  Trainer trainer({.max_epochs = 20, .min_epochs = min_epochs, .callbacks = {std::move(early_stopping)}, .logger = false,
                   .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
  return trainer.current_epoch();
}

TEST(EarlyStopping, StopsAfterPatienceChecksWithoutImprovement) {
  ScriptedMetricModel model({5.0, 4.0, 4.5, 4.2, 3.0});
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 2});
  EXPECT_EQ(epochs_run(model, early_stopping), 4) << "epochs 2 and 3 did not improve on 4.0";
  EXPECT_EQ(early_stopping->stopped_epoch(), 3);
  EXPECT_EQ(early_stopping->wait_count(), 2);
  EXPECT_EQ(early_stopping->best_score(), 4.0);
  EXPECT_EQ(early_stopping->stopping_reason(),
            "monitored metric val_loss did not improve in the last 2 records. Best score: 4.000. Signaling Trainer to stop.");
}

TEST(EarlyStopping, AnImprovementSmallerThanMinDeltaDoesNotCount) {
  ScriptedMetricModel model({5.0, 4.95, 4.92, 4.85});
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .min_delta = 0.1, .patience = 2});
  EXPECT_EQ(epochs_run(model, early_stopping), 3);
  EXPECT_EQ(early_stopping->best_score(), 5.0);
}

TEST(EarlyStopping, ModeMaxWaitsForHigherValues) {
  ScriptedMetricModel model({0.5, 0.6, 0.7, 0.65, 0.6, 0.9});
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 2, .mode = "max"});
  EXPECT_EQ(epochs_run(model, early_stopping), 5);
  EXPECT_EQ(early_stopping->best_score(), 0.7);
}

TEST(EarlyStopping, ThresholdsAndNonFiniteValuesStopAtOnce) {
  ScriptedMetricModel reaches({5.0, 0.4, 0.3});
  auto threshold = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .stopping_threshold = 0.5});
  EXPECT_EQ(epochs_run(reaches, threshold), 2);
  EXPECT_EQ(threshold->stopping_reason(), "stopping threshold reached: val_loss = 0.4 < 0.5. Signaling Trainer to stop.");

  ScriptedMetricModel diverges({5.0, 50.0, 60.0});
  auto divergence = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .divergence_threshold = 10.0});
  EXPECT_EQ(epochs_run(diverges, divergence), 2);
  EXPECT_THAT(divergence->stopping_reason(), HasSubstr("divergence threshold reached: val_loss = 50 > 10"));

  ScriptedMetricModel nan({5.0, 4.0, std::numeric_limits<double>::quiet_NaN()});
  auto finite = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 10});
  EXPECT_EQ(epochs_run(nan, finite), 3);
  EXPECT_THAT(finite->stopping_reason(), HasSubstr("monitored metric val_loss = nan is not finite; previous best value was 4.000"));
}

TEST(EarlyStopping, MinEpochsKeepsTrainingPastTheStop) {
  ScriptedMetricModel model({5.0, 6.0, 7.0});
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 1});
  EXPECT_EQ(epochs_run(model, early_stopping, /*min_epochs=*/4), 4);
}

TEST(EarlyStopping, InvalidOptionsAreLC0511ToLC0513Together) {
  try {
    EarlyStopping({.patience = -1, .mode = "maximum"});
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0511"));
    EXPECT_TRUE(e.has("LC0512"));
    EXPECT_TRUE(e.has("LC0513"));
    EXPECT_THAT(e.what(), HasSubstr("did you mean \"max\"?"));
    EXPECT_THAT(e.what(), HasSubstr("error[LC0512]: EarlyStopping has no `monitor`"));
  }
}

TEST(EarlyStopping, AnUnloggedMonitorIsLC0514BeforeTrainingOrAWarningWhenNotStrict) {
  ScriptedMetricModel model({1.0});
  auto strict = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_acc"});
  Trainer trainer({.max_epochs = 3, .callbacks = {strict}, .logger = false, .enable_checkpointing = false});
  try {
    trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0514"));
    EXPECT_THAT(e.what(), HasSubstr("EarlyStopping monitors \"val_acc\", which the module does not log"));
  }
  EXPECT_EQ(model.training_steps, 0);

  auto lenient = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_acc", .strict = false});
  Trainer runs({.max_epochs = 3, .callbacks = {lenient}, .logger = false, .enable_checkpointing = false});
  runs.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
  EXPECT_EQ(runs.current_epoch(), 3);
}

TEST(EarlyStopping, ItsStateRoundTrips) {
  EarlyStopping a({.monitor = "val_loss", .patience = 4});
  ScriptedMetricModel model({5.0, 6.0});
  auto shared = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 4});
  epochs_run(model, shared);  // best 5.0, then waits
  a.load_state_dict(shared->state_dict());
  EXPECT_EQ(a.best_score(), 5.0);
  EXPECT_EQ(a.wait_count(), shared->wait_count());
  EXPECT_EQ(a.state_key(), "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}");
}

}  // namespace
}  // namespace lightning
