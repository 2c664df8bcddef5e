#pragma once

#include <lightning/callbacks/callback.h>

#include <map>
#include <string>
#include <vector>

namespace lightning {

struct LearningRateMonitorOptions {
  /// "" logs step schedulers at each logging step and epoch schedulers at each epoch; "step" or
  /// "epoch" logs every learning rate at that interval only.
  std::string logging_interval = "";
  /// Also log the momentum (SGD's momentum, Adam's beta1) as "<name>-momentum".
  bool log_momentum = false;
};

/// Logs each optimizer's learning rate, per parameter group, to the loggers (Lightning's
/// LearningRateMonitor): "lr-Adam", "lr-SGD/pg1" and "lr-SGD/pg2" for two groups, "lr-Adam-1" for a
/// second Adam, or the scheduler's `name`.
///
/// Throws MisconfigurationException for an unknown `logging_interval` (LC0516); fit reports a
/// trainer without loggers before its first step (LC0515).
class LearningRateMonitor : public Callback {
 public:
  explicit LearningRateMonitor(LearningRateMonitorOptions options = {});

  /// The last values logged, by name.
  const std::map<std::string, double>& last_logged() const { return last_logged_; }

  void preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                 DiagnosticCollector& problems) const override;
  void on_train_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch,
                            int64_t batch_idx) override;
  void on_train_epoch_start(const TrainerView& trainer, LightningModule& module) override;

 private:
  /// The learning rates of the schedulers stepping at `interval` ("step", "epoch", or "any"), and of
  /// the optimizers without a scheduler.
  std::map<std::string, double> stats(const TrainerView& trainer, const std::string& interval) const;

  LearningRateMonitorOptions options_;
  std::map<std::string, double> last_logged_;
};

}  // namespace lightning
