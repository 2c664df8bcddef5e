// The defaults `enable_*` add, their order, the summary table and the progress lines.

#include "support/support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

template <class C>
bool is(const std::shared_ptr<Callback>& callback) {
  return dynamic_cast<const C*>(callback.get()) != nullptr;
}

TEST(DefaultCallbacks, ProgressBarSummaryAndCheckpointComeAfterTheUsersWithCheckpointsLast) {
  auto early_stopping = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss"});
  auto checkpoint = std::make_shared<ModelCheckpoint>();
  Trainer trainer({.callbacks = {checkpoint, early_stopping}});
  const auto& callbacks = trainer.callbacks();
  ASSERT_EQ(callbacks.size(), 4u);
  EXPECT_EQ(callbacks[0], early_stopping);
  EXPECT_TRUE(is<ProgressBar>(callbacks[1]));
  EXPECT_TRUE(is<ModelSummary>(callbacks[2]));
  EXPECT_EQ(callbacks[3], checkpoint) << "the user's ModelCheckpoint replaces the default, and runs last";

  Trainer defaults;
  ASSERT_EQ(defaults.callbacks().size(), 3u);
  EXPECT_TRUE(is<ModelCheckpoint>(defaults.callbacks()[2]));
  EXPECT_TRUE(Trainer({.enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false})
                  .callbacks()
                  .empty());
}

TEST(DefaultCallbacks, ACallbackThatADisabledOptionContradictsIsLC0121) {
  try {
    Trainer trainer({.callbacks = {std::make_shared<ModelCheckpoint>()}, .enable_checkpointing = false});
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0121"));
    EXPECT_THAT(e.what(), HasSubstr("Trainer option `enable_checkpointing` is false, but `callbacks` holds a ModelCheckpoint"));
  }
}

TEST(DefaultCallbacks, TwoCallbacksWithOneStateKeyAreLC0509) {
  try {
    Trainer trainer({.callbacks = {std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = "a"}),
                                   std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = "b"})}});
    FAIL();
  } catch (const MisconfigurationException& e) {
    ASSERT_TRUE(e.has("LC0509"));
    EXPECT_THAT(e.what(), HasSubstr("two callbacks keep their state under the same key \"ModelCheckpoint{'monitor': None"));
  }
}

TEST(ModelSummary, CountsTrainableAndFrozenParameters) {
  struct Net : LightningModule {
    torch::nn::Linear encoder{nullptr}, head{nullptr};
    Net() {
      encoder = register_module("encoder", torch::nn::Linear(100, 20));  // 2020 parameters
      head = register_module("head", torch::nn::Linear(20, 2));          // 42
      for (auto& p : encoder->parameters()) p.requires_grad_(false);
    }
  } net;
  EXPECT_EQ(summarize(net),
            "  | Name    | Type   | Params\n"
            "-----------------------------\n"
            "0 | encoder | Linear | 2.0 K \n"
            "1 | head    | Linear | 42    \n"
            "-----------------------------\n"
            "42        Trainable params\n"
            "2.0 K     Non-trainable params\n"
            "2.1 K     Total params\n"
            "0.008     Total estimated model params size (MB)");
}

TEST(ProgressBar, RendersPlainLinesForLogsAndABarForTerminals) {
  const std::map<std::string, double> metrics{{"train_loss", 0.12345}};
  EXPECT_EQ(ProgressBar::render("Epoch 3", 16, 32, 2.0, metrics, false),
            "Epoch 3: 16/32 (50%) [00:02<00:02, 8.00it/s] train_loss=0.123");
  EXPECT_EQ(ProgressBar::render("Epoch 3", 16, 32, 2.0, metrics, true),
            "Epoch 3:  50%|\u2588\u2588\u2588\u2588\u2588     | 16/32 [00:02<00:02, 8.00it/s, train_loss=0.123]");
  EXPECT_EQ(ProgressBar::render("Validation DataLoader 0", 0, 8, 0.0, {}, false),
            "Validation DataLoader 0: 0/8 (0%) [00:00<??:??, 0.00it/s]");
}

TEST(ProgressBar, InALogPrintsALineEveryNBatchesAndAtTheEnd) {
  struct ProgBarModel : testing::BoringModel {
    StepOutput training_step(const Batch& batch, int64_t) override {
      auto value = loss(batch);
      log("loss", value, {.prog_bar = true});
      return value;
    }
  } model;
  auto bar = std::make_shared<ProgressBar>(ProgressBarOptions{.plain_every_n_batches = 2});
  Trainer trainer({.max_epochs = 1, .callbacks = {bar}, .logger = false, .enable_model_summary = false,
                   .enable_checkpointing = false});
  ::testing::internal::CaptureStderr();
  trainer.fit(model, testing::random_loader(20, 4));  // 5 batches
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(output, HasSubstr("Epoch 0: 2/5 (40%)"));
  EXPECT_THAT(output, HasSubstr("Epoch 0: 4/5 (80%)"));
  EXPECT_THAT(output, HasSubstr("Epoch 0: 5/5 (100%)"));
  EXPECT_THAT(output, HasSubstr("loss="));
  EXPECT_THAT(output, Not(HasSubstr("Epoch 0: 3/5")));
  EXPECT_THAT(output, Not(HasSubstr("\r"))) << "no control characters in a log";
}

}  // namespace
}  // namespace lightning
