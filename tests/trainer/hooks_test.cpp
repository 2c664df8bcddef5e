// The order of hook calls over one small fit, compared with Lightning 2.x's order: callbacks first,
// then the module; zero_grad after training_step and before backward.

#include "support/support.h"

#include <gtest/gtest.h>

namespace lightning {
namespace {

using Calls = std::vector<std::string>;

struct RecordingModel : testing::BoringModel {
  Calls* calls;
  explicit RecordingModel(Calls* c) : calls(c) {}
  void add(const char* name) { calls->push_back(trainer().probing() ? std::string("probe:") + name : name); }

  StepOutput training_step(const Batch& b, int64_t i) override { add("training_step"); return BoringModel::training_step(b, i); }
  StepOutput validation_step(const Batch& b, int64_t i) override { add("validation_step"); return BoringModel::validation_step(b, i); }
  StepOutput test_step(const Batch& b, int64_t i) override { add("test_step"); return BoringModel::test_step(b, i); }
  Batch predict_step(const Batch& b, int64_t i) override { add("predict_step"); return BoringModel::predict_step(b, i); }
  OptimizerConfig configure_optimizers() override { add("configure_optimizers"); return BoringModel::configure_optimizers(); }
  void setup(const std::string&) override { add("setup"); }
  void teardown(const std::string&) override { add("teardown"); }
  void on_fit_start() override { add("on_fit_start"); }
  void on_fit_end() override { add("on_fit_end"); }
  void on_train_start() override { add("on_train_start"); }
  void on_train_end() override { add("on_train_end"); }
  void on_train_epoch_start() override { add("on_train_epoch_start"); }
  void on_train_epoch_end() override { add("on_train_epoch_end"); }
  void on_train_batch_start(const Batch&, int64_t) override { add("on_train_batch_start"); }
  void on_train_batch_end(const StepOutput&, const Batch&, int64_t) override { add("on_train_batch_end"); }
  void on_validation_start() override { add("on_validation_start"); }
  void on_validation_end() override { add("on_validation_end"); }
  void on_validation_epoch_start() override { add("on_validation_epoch_start"); }
  void on_validation_epoch_end() override { add("on_validation_epoch_end"); }
  void on_validation_batch_start(const Batch&, int64_t, int64_t) override { add("on_validation_batch_start"); }
  void on_validation_batch_end(const StepOutput&, const Batch&, int64_t, int64_t) override { add("on_validation_batch_end"); }
  void on_test_start() override { add("on_test_start"); }
  void on_test_end() override { add("on_test_end"); }
  void on_test_epoch_start() override { add("on_test_epoch_start"); }
  void on_test_epoch_end() override { add("on_test_epoch_end"); }
  void on_test_batch_start(const Batch&, int64_t, int64_t) override { add("on_test_batch_start"); }
  void on_test_batch_end(const StepOutput&, const Batch&, int64_t, int64_t) override { add("on_test_batch_end"); }
  void on_predict_start() override { add("on_predict_start"); }
  void on_predict_end() override { add("on_predict_end"); }
  void on_predict_epoch_start() override { add("on_predict_epoch_start"); }
  void on_predict_epoch_end() override { add("on_predict_epoch_end"); }
  void on_predict_batch_start(const Batch&, int64_t, int64_t) override { add("on_predict_batch_start"); }
  void on_predict_batch_end(const Batch&, const Batch&, int64_t, int64_t) override { add("on_predict_batch_end"); }
  void on_before_zero_grad(torch::optim::Optimizer&) override { add("on_before_zero_grad"); }
  void on_before_backward(const at::Tensor&) override { add("on_before_backward"); }
  void on_after_backward() override { add("on_after_backward"); }
  void on_before_optimizer_step(torch::optim::Optimizer&) override { add("on_before_optimizer_step"); }
};

struct RecordingCallback : Callback {
  Calls* calls;
  explicit RecordingCallback(Calls* c) : calls(c) {}
  void add(const char* name) { calls->push_back(std::string("Callback.") + name); }
  using V = const TrainerView&;
  using M = LightningModule&;
  void setup(V, M, const std::string&) override { add("setup"); }
  void teardown(V, M, const std::string&) override { add("teardown"); }
  void on_fit_start(V, M) override { add("on_fit_start"); }
  void on_fit_end(V, M) override { add("on_fit_end"); }
  void on_sanity_check_start(V, M) override { add("on_sanity_check_start"); }
  void on_sanity_check_end(V, M) override { add("on_sanity_check_end"); }
  void on_train_start(V, M) override { add("on_train_start"); }
  void on_train_end(V, M) override { add("on_train_end"); }
  void on_train_epoch_start(V, M) override { add("on_train_epoch_start"); }
  void on_train_epoch_end(V, M) override { add("on_train_epoch_end"); }
  void on_train_batch_start(V, M, const Batch&, int64_t) override { add("on_train_batch_start"); }
  void on_train_batch_end(V, M, const StepOutput&, const Batch&, int64_t) override { add("on_train_batch_end"); }
  void on_validation_start(V, M) override { add("on_validation_start"); }
  void on_validation_end(V, M) override { add("on_validation_end"); }
  void on_validation_epoch_start(V, M) override { add("on_validation_epoch_start"); }
  void on_validation_epoch_end(V, M) override { add("on_validation_epoch_end"); }
  void on_validation_batch_start(V, M, const Batch&, int64_t, int64_t) override { add("on_validation_batch_start"); }
  void on_validation_batch_end(V, M, const StepOutput&, const Batch&, int64_t, int64_t) override { add("on_validation_batch_end"); }
  void on_test_start(V, M) override { add("on_test_start"); }
  void on_test_end(V, M) override { add("on_test_end"); }
  void on_test_epoch_start(V, M) override { add("on_test_epoch_start"); }
  void on_test_epoch_end(V, M) override { add("on_test_epoch_end"); }
  void on_test_batch_start(V, M, const Batch&, int64_t, int64_t) override { add("on_test_batch_start"); }
  void on_test_batch_end(V, M, const StepOutput&, const Batch&, int64_t, int64_t) override { add("on_test_batch_end"); }
  void on_predict_start(V, M) override { add("on_predict_start"); }
  void on_predict_end(V, M) override { add("on_predict_end"); }
  void on_predict_epoch_start(V, M) override { add("on_predict_epoch_start"); }
  void on_predict_epoch_end(V, M) override { add("on_predict_epoch_end"); }
  void on_predict_batch_start(V, M, const Batch&, int64_t, int64_t) override { add("on_predict_batch_start"); }
  void on_predict_batch_end(V, M, const Batch&, const Batch&, int64_t, int64_t) override { add("on_predict_batch_end"); }
  void on_before_zero_grad(V, M, torch::optim::Optimizer&) override { add("on_before_zero_grad"); }
  void on_before_backward(V, M, const at::Tensor&) override { add("on_before_backward"); }
  void on_after_backward(V, M) override { add("on_after_backward"); }
  void on_before_optimizer_step(V, M, torch::optim::Optimizer&) override { add("on_before_optimizer_step"); }
};

void both(Calls& calls, const std::string& hook) {
  calls.push_back("Callback." + hook);
  calls.push_back(hook);
}

void evaluation(Calls& calls, const std::string& stage, const std::string& step) {
  both(calls, "on_" + stage + "_start");
  both(calls, "on_" + stage + "_epoch_start");
  both(calls, "on_" + stage + "_batch_start");
  calls.push_back(step);
  both(calls, "on_" + stage + "_batch_end");
  both(calls, "on_" + stage + "_epoch_end");
  both(calls, "on_" + stage + "_end");
}

TEST(Hooks, FitCallsLightningsHooksInLightningsOrder) {
  Calls calls;
  RecordingModel model(&calls);
  Trainer trainer({.max_epochs = 1, .callbacks = {std::make_shared<RecordingCallback>(&calls)},
                   .limit_val_batches = 1, .num_sanity_val_steps = 1});
  trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(4, 4));

  Calls expected;
  both(expected, "setup");
  expected.push_back("configure_optimizers");
  // The diagnostics probe: the steps and the module's epoch-end hooks, no callback, undone before
  // training.
  expected.push_back("probe:training_step");
  expected.push_back("probe:on_train_epoch_end");
  expected.push_back("probe:validation_step");
  expected.push_back("probe:on_validation_epoch_end");
  both(expected, "on_fit_start");
  expected.push_back("Callback.on_sanity_check_start");
  evaluation(expected, "validation", "validation_step");
  expected.push_back("Callback.on_sanity_check_end");
  both(expected, "on_train_start");
  both(expected, "on_train_epoch_start");
  for (int batch = 0; batch < 2; ++batch) {
    both(expected, "on_train_batch_start");
    expected.push_back("training_step");
    both(expected, "on_before_zero_grad");
    both(expected, "on_before_backward");
    both(expected, "on_after_backward");
    both(expected, "on_before_optimizer_step");
    both(expected, "on_train_batch_end");
  }
  evaluation(expected, "validation", "validation_step");
  both(expected, "on_train_epoch_end");
  both(expected, "on_train_end");
  both(expected, "on_fit_end");
  both(expected, "teardown");
  EXPECT_EQ(calls, expected);
}

TEST(Hooks, TestAndPredictCallTheirHooksInOrder) {
  Calls calls;
  RecordingModel model(&calls);
  Trainer trainer({.callbacks = {std::make_shared<RecordingCallback>(&calls)}});
  trainer.test(model, testing::random_loader(4, 4));
  Calls expected;
  both(expected, "setup");
  evaluation(expected, "test", "test_step");
  both(expected, "teardown");
  EXPECT_EQ(calls, expected);

  calls.clear();
  trainer.predict(model, testing::random_loader(4, 4));
  expected.clear();
  both(expected, "setup");
  evaluation(expected, "predict", "predict_step");
  both(expected, "teardown");
  EXPECT_EQ(calls, expected);
}

TEST(Hooks, ExceptionsReachCallbacksBeforePropagating) {
  struct Exploding : testing::BoringModel {
    StepOutput training_step(const Batch& batch, int64_t idx) override {
      if (!trainer().probing()) throw std::runtime_error("boom");
      return BoringModel::training_step(batch, idx);
    }
  };
  struct Catcher : Callback {
    std::string seen;
    void on_exception(const TrainerView&, LightningModule&, const std::exception& e) override { seen = e.what(); }
  };
  auto catcher = std::make_shared<Catcher>();
  auto logger = std::make_shared<testing::MemoryLogger>();
  Exploding model;
  Trainer trainer({.max_epochs = 1, .callbacks = {catcher}, .logger = logger});
  EXPECT_THROW(trainer.fit(model, testing::random_loader(8, 4)), std::runtime_error);
  EXPECT_EQ(catcher->seen, "boom");
  EXPECT_EQ(logger->finalized, (std::vector<std::string>{"failed"}));
}

}  // namespace
}  // namespace lightning
