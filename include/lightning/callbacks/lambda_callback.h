#pragma once

#include <lightning/callbacks/callback.h>

#include <functional>

namespace lightning {

/// Functions to run at hook points, one per Lightning hook; unset ones do nothing. Set them in
/// the order declared, which is Callback's.
struct LambdaCallbackOptions {
  std::function<void(const TrainerView&, LightningModule&, const std::string&)> setup;
  std::function<void(const TrainerView&, LightningModule&, const std::string&)> teardown;
  std::function<void(const TrainerView&, LightningModule&)> on_fit_start;
  std::function<void(const TrainerView&, LightningModule&)> on_fit_end;
  std::function<void(const TrainerView&, LightningModule&)> on_sanity_check_start;
  std::function<void(const TrainerView&, LightningModule&)> on_sanity_check_end;
  std::function<void(const TrainerView&, LightningModule&)> on_train_start;
  std::function<void(const TrainerView&, LightningModule&)> on_train_end;
  std::function<void(const TrainerView&, LightningModule&)> on_train_epoch_start;
  std::function<void(const TrainerView&, LightningModule&)> on_train_epoch_end;
  std::function<void(const TrainerView&, LightningModule&, const Batch&, int64_t)> on_train_batch_start;
  std::function<void(const TrainerView&, LightningModule&, const StepOutput&, const Batch&, int64_t)> on_train_batch_end;
  std::function<void(const TrainerView&, LightningModule&)> on_validation_start;
  std::function<void(const TrainerView&, LightningModule&)> on_validation_end;
  std::function<void(const TrainerView&, LightningModule&)> on_validation_epoch_start;
  std::function<void(const TrainerView&, LightningModule&)> on_validation_epoch_end;
  std::function<void(const TrainerView&, LightningModule&, const Batch&, int64_t, int64_t)> on_validation_batch_start;
  std::function<void(const TrainerView&, LightningModule&, const StepOutput&, const Batch&, int64_t, int64_t)> on_validation_batch_end;
  std::function<void(const TrainerView&, LightningModule&)> on_test_start;
  std::function<void(const TrainerView&, LightningModule&)> on_test_end;
  std::function<void(const TrainerView&, LightningModule&)> on_test_epoch_start;
  std::function<void(const TrainerView&, LightningModule&)> on_test_epoch_end;
  std::function<void(const TrainerView&, LightningModule&, const Batch&, int64_t, int64_t)> on_test_batch_start;
  std::function<void(const TrainerView&, LightningModule&, const StepOutput&, const Batch&, int64_t, int64_t)> on_test_batch_end;
  std::function<void(const TrainerView&, LightningModule&)> on_predict_start;
  std::function<void(const TrainerView&, LightningModule&)> on_predict_end;
  std::function<void(const TrainerView&, LightningModule&)> on_predict_epoch_start;
  std::function<void(const TrainerView&, LightningModule&)> on_predict_epoch_end;
  std::function<void(const TrainerView&, LightningModule&, const Batch&, int64_t, int64_t)> on_predict_batch_start;
  std::function<void(const TrainerView&, LightningModule&, const Batch&, const Batch&, int64_t, int64_t)> on_predict_batch_end;
  std::function<void(const TrainerView&, LightningModule&, torch::optim::Optimizer&)> on_before_zero_grad;
  std::function<void(const TrainerView&, LightningModule&, const at::Tensor&)> on_before_backward;
  std::function<void(const TrainerView&, LightningModule&)> on_after_backward;
  std::function<void(const TrainerView&, LightningModule&, torch::optim::Optimizer&)> on_before_optimizer_step;
  std::function<void(const TrainerView&, LightningModule&, Checkpoint&)> on_save_checkpoint;
  std::function<void(const TrainerView&, LightningModule&, const Checkpoint&)> on_load_checkpoint;
  std::function<void(const TrainerView&, LightningModule&, const std::exception&)> on_exception;
};

/// A callback made of functions (Lightning's LambdaCallback), for the one-off hook:
///
///   auto print_epochs = std::make_shared<pl::LambdaCallback>(pl::LambdaCallbackOptions{
///       .on_train_epoch_end = [](const pl::TrainerView& trainer, pl::LightningModule&) {
///         std::printf("epoch %lld done\n", static_cast<long long>(trainer.current_epoch()));
///       }});
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions hooks) : hooks_(std::move(hooks)) {}

  void setup(const TrainerView& trainer, LightningModule& module, const std::string& stage) override;
  void teardown(const TrainerView& trainer, LightningModule& module, const std::string& stage) override;
  void on_fit_start(const TrainerView& trainer, LightningModule& module) override;
  void on_fit_end(const TrainerView& trainer, LightningModule& module) override;
  void on_sanity_check_start(const TrainerView& trainer, LightningModule& module) override;
  void on_sanity_check_end(const TrainerView& trainer, LightningModule& module) override;
  void on_train_start(const TrainerView& trainer, LightningModule& module) override;
  void on_train_end(const TrainerView& trainer, LightningModule& module) override;
  void on_train_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_train_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx) override;
  void on_train_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs, const Batch& batch, int64_t batch_idx) override;
  void on_validation_start(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_end(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_validation_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_test_start(const TrainerView& trainer, LightningModule& module) override;
  void on_test_end(const TrainerView& trainer, LightningModule& module) override;
  void on_test_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_test_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_test_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_test_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_predict_start(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_end(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_predict_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& outputs, const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_before_zero_grad(const TrainerView& trainer, LightningModule& module, torch::optim::Optimizer& optimizer) override;
  void on_before_backward(const TrainerView& trainer, LightningModule& module, const at::Tensor& loss) override;
  void on_after_backward(const TrainerView& trainer, LightningModule& module) override;
  void on_before_optimizer_step(const TrainerView& trainer, LightningModule& module, torch::optim::Optimizer& optimizer) override;
  void on_save_checkpoint(const TrainerView& trainer, LightningModule& module, Checkpoint& checkpoint) override;
  void on_load_checkpoint(const TrainerView& trainer, LightningModule& module, const Checkpoint& checkpoint) override;
  void on_exception(const TrainerView& trainer, LightningModule& module, const std::exception& exception) override;

 private:
  LambdaCallbackOptions hooks_;
};

}  // namespace lightning
