#pragma once

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/data/batch.h>
#include <lightning/core/module.h>
#include <lightning/core/trainer_view.h>
#include <lightning/diagnostics/diagnostic.h>

#include <exception>
#include <set>
#include <string>

namespace lightning {

/// Code that runs at Lightning's hook points, with Lightning's names and arguments
/// (`on_train_batch_end(trainer, module, outputs, batch, batch_idx)`). Every hook is empty by
/// default; override the ones you need. The trainer calls callbacks in the order given, then the
/// module.
class Callback {
 public:
  virtual ~Callback() = default;

  /// Identifies this callback's state in a checkpoint's "callbacks" (Lightning's `state_key`): the
  /// class name by default. Two callbacks of one class that keep state need distinct keys.
  virtual std::string state_key() const;
  /// What the callback must remember across a resume; None (the default) saves nothing.
  virtual c10::IValue state_dict() const { return {}; }
  virtual void load_state_dict(const c10::IValue& state) {}

  /// lightning-cpp's preflight, before fit's first step: add to `problems` whatever cannot work in
  /// this run. `logged_keys` holds every metric the module logs (as the probe saw it, in each form
  /// a callback can monitor, plus "epoch" and "step").
  virtual void preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                         DiagnosticCollector& problems) const {}

  /// Whether this callback's on_train_epoch_end runs after the module's, so that it sees what the
  /// module logs there: true for callbacks that monitor a metric (ModelCheckpoint and
  /// EarlyStopping, as in Lightning); false (the default) runs it before the module's, with the
  /// other callbacks.
  virtual bool runs_after_module_epoch_end() const { return false; }

  virtual void setup(const TrainerView& trainer, LightningModule& module, const std::string& stage) {}
  virtual void teardown(const TrainerView& trainer, LightningModule& module, const std::string& stage) {}
  virtual void on_fit_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_fit_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_sanity_check_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_sanity_check_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_train_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_train_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_train_epoch_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_train_batch_start(const TrainerView& trainer, LightningModule& module,
                                    const Batch& batch, int64_t batch_idx) {}
  virtual void on_train_batch_end(const TrainerView& trainer, LightningModule& module,
                                  const StepOutput& outputs, const Batch& batch, int64_t batch_idx) {}
  virtual void on_validation_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_validation_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_validation_epoch_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_validation_epoch_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_validation_batch_start(const TrainerView& trainer, LightningModule& module,
                                         const Batch& batch, int64_t batch_idx,
                                         int64_t dataloader_idx) {}
  virtual void on_validation_batch_end(const TrainerView& trainer, LightningModule& module,
                                       const StepOutput& outputs, const Batch& batch,
                                       int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_test_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_test_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_test_epoch_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_test_epoch_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_test_batch_start(const TrainerView& trainer, LightningModule& module,
                                   const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_test_batch_end(const TrainerView& trainer, LightningModule& module,
                                 const StepOutput& outputs, const Batch& batch, int64_t batch_idx,
                                 int64_t dataloader_idx) {}
  virtual void on_predict_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_predict_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_predict_epoch_start(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_predict_epoch_end(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_predict_batch_start(const TrainerView& trainer, LightningModule& module,
                                      const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_predict_batch_end(const TrainerView& trainer, LightningModule& module,
                                    const Batch& outputs, const Batch& batch, int64_t batch_idx,
                                    int64_t dataloader_idx) {}
  virtual void on_before_zero_grad(const TrainerView& trainer, LightningModule& module,
                                   torch::optim::Optimizer& optimizer) {}
  virtual void on_before_backward(const TrainerView& trainer, LightningModule& module,
                                  const at::Tensor& loss) {}
  virtual void on_after_backward(const TrainerView& trainer, LightningModule& module) {}
  virtual void on_before_optimizer_step(const TrainerView& trainer, LightningModule& module,
                                        torch::optim::Optimizer& optimizer) {}
  /// Called while a checkpoint is written; may add entries to it.
  virtual void on_save_checkpoint(const TrainerView& trainer, LightningModule& module, Checkpoint& checkpoint) {}
  /// Called when fit resumes from a checkpoint, after this callback's state was loaded.
  virtual void on_load_checkpoint(const TrainerView& trainer, LightningModule& module,
                                  const Checkpoint& checkpoint) {}
  /// Called when a run ends with an exception, before it propagates.
  virtual void on_exception(const TrainerView& trainer, LightningModule& module,
                            const std::exception& exception) {}
};

}  // namespace lightning
