#pragma once

#include <lightning/callbacks/callback.h>

#include <cstdint>
#include <optional>
#include <string>

namespace lightning {

/// Options of EarlyStopping, with Lightning's names and defaults.
struct EarlyStoppingOptions {
  /// The logged metric to watch (required).
  std::string monitor = "";
  /// The smallest change that counts as an improvement.
  double min_delta = 0.0;
  /// Checks without improvement before stopping (checks happen after each validation).
  int64_t patience = 3;
  /// Print each improvement too, not only why it stopped.
  bool verbose = false;
  /// "min" or "max": whether a lower or a higher `monitor` is better.
  std::string mode = "min";
  /// A `monitor` the module does not log is an error (false: a warning, and no check).
  bool strict = true;
  /// Stop when the metric becomes NaN or infinite.
  bool check_finite = true;
  /// Stop as soon as the metric is better than this.
  std::optional<double> stopping_threshold = std::nullopt;
  /// Stop as soon as the metric is worse than this.
  std::optional<double> divergence_threshold = std::nullopt;
  /// Check at the end of the training epoch instead of after validation; unset decides as Lightning.
  std::optional<bool> check_on_train_epoch_end = std::nullopt;
};

/// Stops fit when a monitored metric stops improving (Lightning's EarlyStopping).
///
///   auto early_stopping = std::make_shared<pl::EarlyStopping>(
///       pl::EarlyStoppingOptions{.monitor = "val_loss", .patience = 5});
///
/// Throws MisconfigurationException from the constructor for invalid options (LC0511-LC0513); fit
/// reports a monitor the module never logs before its first step (LC0514).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options);

  int64_t wait_count() const { return wait_count_; }
  /// The epoch it stopped in (0 when it has not stopped).
  int64_t stopped_epoch() const { return stopped_epoch_; }
  double best_score() const { return best_score_; }
  /// Why it stopped, or "" while it has not.
  const std::string& stopping_reason() const { return stopping_reason_; }
  const EarlyStoppingOptions& options() const { return options_; }

  std::string state_key() const override;
  /// Monitors what the module logs in its on_train_epoch_end, so runs after it.
  bool runs_after_module_epoch_end() const override { return true; }
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;
  void preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                 DiagnosticCollector& problems) const override;

  void setup(const TrainerView& trainer, LightningModule& module, const std::string& stage) override;
  void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_end(const TrainerView& trainer, LightningModule& module) override;

 private:
  void check(const TrainerView& trainer);
  /// Whether to stop after seeing `current`, and why (Lightning's `_evaluate_stopping_criteria`).
  bool evaluate(double current, std::string& reason);
  bool better(double a, double b) const { return options_.mode == "min" ? a < b : a > b; }

  EarlyStoppingOptions options_;
  bool check_on_train_epoch_end_ = true;
  int64_t wait_count_ = 0;
  int64_t stopped_epoch_ = 0;
  double best_score_;
  std::string stopping_reason_;
};

}  // namespace lightning
