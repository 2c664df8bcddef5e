#pragma once
// What the loops share while one run lasts: the module and its optimizers, the callbacks and
// loggers, the trainer's state, and what has been logged. It is the module's host for the run.

#include <lightning/callbacks/callback.h>
#include <lightning/core/module.h>
#include <lightning/loggers/logger.h>
#include <lightning/precision/grad_scaler.h>
#include <lightning/precision/precision.h>

#include "loops/results.h"
#include "strategies/gradient_reducer.h"
#include "trainer/connectors/rank_agreement.h"
#include "trainer/connectors/settings.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lightning::detail {

/// Where fit stands inside its epochs: what a checkpoint records so a resumed run continues with
/// the next batch. Each field is updated before the hooks that may save a checkpoint run.
struct FitProgress {
  /// Batches of the current epoch fully processed (optimizer and schedulers stepped).
  int64_t batches_done_in_epoch = 0;
  /// on_train_epoch_end has begun: a resumed run starts the next epoch.
  bool epoch_finished = false;
  /// Batches processed in all epochs (validation counts them when check_val_every_n_epoch is unset).
  int64_t total_batches_done = 0;
  /// Batches after which the optimizer stepped (Lightning's `_batches_that_stepped`): the step
  /// number the loggers see.
  int64_t batches_that_stepped = 0;
};

/// An error that every rank of a distributed run raises alike, having met it in the same
/// collective: rank 0 dismisses the ranks it started instead of blaming one of them.
class RanksParted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoopContext final : public ModuleHost, public TrainerActions {
 public:
  LoopContext(LightningModule& module, const std::vector<std::shared_ptr<Callback>>& callbacks,
              const std::vector<std::shared_ptr<Logger>>& loggers, TrainerState& state,
              TrainerView& view, const Settings& settings);
  ~LoopContext() override;
  /// As Lightning's Strategy.teardown: the module and its optimizers' state go back to the CPU
  /// (nothing to do on the CPU). Also done when the context ends, for the module.
  void release_device();
  LoopContext(const LoopContext&) = delete;
  LoopContext& operator=(const LoopContext&) = delete;

  // ModuleHost
  void log(const std::string& name, double value, const LogOptions& options) override;
  /// manual_backward: gradients are averaged over the ranks after every one, as DDP does.
  void backward(const at::Tensor& loss) override { backward(loss, /*average_gradients=*/true); }
  void step_optimizer(torch::optim::Optimizer& optimizer, std::size_t optimizer_index) override;
  std::vector<torch::optim::Optimizer*> optimizers() override;
  std::vector<LRScheduler*> lr_schedulers() override;
  TrainerView& view() override { return view_; }

  // TrainerActions
  void save_checkpoint(const std::string& filepath, bool weights_only) override;
  void log_metrics(const std::map<std::string, double>& metrics) override;
  bool should_update_logs() const override {
    return (progress.batches_that_stepped + 1) % settings_.log_every_n_steps == 0;
  }

  /// Calls a hook on every callback in order, then on the module: the one place hooks are called.
  template <class... CallbackArgs, class... ModuleArgs, class... Args>
  void hook(void (Callback::*on_callback)(const TrainerView&, LightningModule&, CallbackArgs...),
            void (LightningModule::*on_module)(ModuleArgs...), Args&&... args) {
    for (const auto& callback : callbacks_) ((*callback).*on_callback)(view_, module_, args...);
    (module_.*on_module)(args...);
  }
  /// A hook that only callbacks have (on_sanity_check_start, on_exception, ...).
  template <class... CallbackArgs, class... Args>
  void callback_hook(void (Callback::*on_callback)(const TrainerView&, LightningModule&, CallbackArgs...),
                     Args&&... args) {
    for (const auto& callback : callbacks_) ((*callback).*on_callback)(view_, module_, args...);
  }

  /// A callback-only hook on the callbacks `which` selects, in order.
  template <class Which, class... CallbackArgs, class... Args>
  void callback_hook_if(void (Callback::*on_callback)(const TrainerView&, LightningModule&, CallbackArgs...),
                        Which&& which, Args&&... args) {
    for (const auto& callback : callbacks_) {
      if (which(*callback)) ((*callback).*on_callback)(view_, module_, args...);
    }
  }

  /// Sends metrics to every logger (rank zero only), adding "epoch" as Lightning does.
  void send_to_loggers(std::map<std::string, double> metrics, int64_t step);
  /// Loggers are written on rank zero only, as in Lightning.
  bool loggers_active() const { return settings_.loggers_enabled && !loggers_.empty() && state_.global_rank == 0; }

  LightningModule& module() { return module_; }
  TrainerState& state() { return state_; }
  const Settings& settings() const { return settings_; }
  /// Autocast for a step when the precision is mixed (around forward and loss, not backward).
  AutocastScope autocast() const { return AutocastScope(settings_.autocast_dtype, settings_.hardware.accelerator); }
  /// What a step receives: `batch`, or with a "true" precision its floating tensors converted
  /// (into `storage`). Hooks see the batch as the loader gave it, as in Lightning.
  const Batch& step_input(const Batch& batch, Batch& storage) const {
    const bool move = settings_.hardware.accelerator != c10::DeviceType::CPU;
    if (!settings_.parameter_dtype && !move) return batch;
    storage = move ? batch.to(settings_.hardware.device()) : batch;
    if (settings_.parameter_dtype) storage = storage.to_floating(*settings_.parameter_dtype);
    return storage;
  }
  /// A distributed window whose last step this rank skipped (no loss): the rank still joins the
  /// gradient exchange, adding no gradient of its own, so that the ranks' collectives stay in step.
  /// Returns whether any rank gave the parameters a gradient (then every rank steps alike); false
  /// in one process.
  bool average_without_backward();
  /// Backward of `loss` (scaled by the scaler of "16-mixed") between on_before_backward and
  /// on_after_backward; in a distributed run, with `average_gradients`, the gradients are then
  /// averaged over the ranks (automatic optimization does it at the end of an accumulation window,
  /// as DDP under `no_sync`).
  void backward(const at::Tensor& loss, bool average_gradients);
  /// Steps `optimizer`, through the scaler of "16-mixed" (which skips a step whose gradients
  /// overflowed).
  void optimizer_step(torch::optim::Optimizer& optimizer);
  /// In a distributed run, makes the ranks agree on stopping: if one was asked to stop (by a
  /// callback or a signal), all stop at the same batch. Returns the signal received, or 0.
  int agree_on_stopping();
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }

  OptimizerConfig optimizer_config;
  /// Where `log` records and with which defaults: set by the loops around each hook and step.
  ResultCollection* results = nullptr;
  LogScope scope = LogScope::kEvaluation;
  std::string dataloader_suffix;
  int64_t batch_size = 1;
  FitProgress progress;
  /// A fit resumed from a checkpoint: FitLoop continues from `progress`.
  bool resumed = false;
  /// "16-mixed": the loss scaler, owned by the run (its state goes into checkpoints).
  std::optional<GradScaler> scaler;
  /// A distributed fit: averages the gradients over the ranks during the backwards that ask for it.
  std::unique_ptr<GradientReducer> reducer;
  /// The sync_dist calls of the probed steps, in order (each is a collective in a real step).
  std::vector<SyncCall> probed_sync_calls;

 private:
  /// Identifies a sync_dist call in its collective: each rank adds f and f² of its own call, and
  /// the sums equal the world size times this rank's only when every rank's f is the same (their
  /// variance is zero), so every rank notices a parting in the same collective.
  static double fingerprint(const SyncCall& call);
  /// The ranks' sync_dist calls met different calls: every rank's, named, as RanksParted.
  [[noreturn]] void throw_sync_calls_parted(const SyncCall& call);

  LightningModule& module_;
  const std::vector<std::shared_ptr<Callback>>& callbacks_;
  const std::vector<std::shared_ptr<Logger>>& loggers_;
  TrainerState& state_;
  TrainerView& view_;
  const Settings& settings_;
};

/// ModelCheckpoint and EarlyStopping: Lightning calls their on_train_epoch_end after the module's.
bool monitors_metrics(const Callback& callback);

/// The module does not define `step` ("training_step", "validation_step", "test_step",
/// "predict_step"), which `entry` ("fit", "validate", ...) needs: LC0301, LC0303, LC0304, LC0305.
Diagnostic missing_step(std::string_view step, std::string_view entry);

/// A scheduler's `monitor` names no logged key (LC0314); `available` lists the logged keys.
Diagnostic unlogged_monitor(const LRScheduler& scheduler, const SchedulerOptions& options,
                            const std::vector<std::string>& available);

/// fit's loops: sanity check, epochs of training batches, validation at its interval.
void run_fit(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val);

/// The kind of evaluation, which names the hooks and steps used.
enum class EvaluationKind { kValidation, kTest };

/// One pass over evaluation loaders; returns each loader's epoch metrics. `limits` gives each
/// loader's batch count. During fit's sanity check nothing reaches callback metrics or loggers.
std::vector<Metrics> run_evaluation(LoopContext& context, EvaluationKind kind,
                                    std::vector<DataLoader>& loaders,
                                    const std::vector<int64_t>& limits);

/// One pass over prediction loaders; one output per batch, per loader.
std::vector<std::vector<Batch>> run_prediction(LoopContext& context, std::vector<DataLoader>& loaders,
                                               const std::vector<int64_t>& limits);

}  // namespace lightning::detail
