#pragma once
// What modules log during a loop, and the step and epoch values Lightning derives from it.

#include <lightning/core/module.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lightning::detail {

/// Lightning's defaults for `on_step`/`on_epoch` depend on the hook that logs.
enum class LogScope { kTrainingStep, kTrainingEpoch, kEvaluation };

class ResultCollection {
 public:
  /// Records one value. `key` already carries the "/dataloader_idx_k" suffix where one applies.
  void log(const std::string& key, double value, const LogOptions& options, LogScope scope,
           int64_t batch_size);
  /// Records a metric: its step value is its last forward()'s, its epoch value its compute().
  void log_metric(const std::string& key, metrics::Metric& metric, const LogOptions& options, LogScope scope);
  /// Starts a new step: `step_metrics` then returns only what is logged from here on. O(1), so the
  /// training loop can call it every batch and build the map only when the loggers want it.
  void begin_step() { ++step_; }
  /// Values logged in the current step, named as the loggers see them ("loss" or "loss_step").
  std::map<std::string, double> step_metrics(bool for_logger) const;
  /// Epoch values of everything logged with on_epoch ("loss" or "loss_epoch").
  std::map<std::string, double> epoch_metrics(bool for_logger) const;
  /// Lightning's callback_metrics forms: "name", and "name_step"/"name_epoch" when both apply.
  void update_callback_metrics(std::map<std::string, double>& out, bool epoch_ended) const;
  /// Metrics for the progress bar.
  void update_progress_bar_metrics(std::map<std::string, double>& out, bool epoch_ended) const;
  /// Epoch values of keys logged while `dataloader_suffix` applied, or with no suffix at all.
  std::map<std::string, double> epoch_metrics_for_dataloader(const std::string& suffix) const;
  /// Forgets everything logged, and resets the metrics logged: a new epoch starts.
  void reset();
  bool empty() const { return entries_.empty(); }
  /// Keys logged with on_epoch but without sync_dist (in a distributed run, each rank's own value).
  std::vector<std::string> unsynced_epoch_keys() const;

 private:
  struct Entry {
    bool on_step = false;
    bool on_epoch = false;
    bool prog_bar = false;
    bool logger = true;
    std::string reduce_fx = "mean";
    bool sync_dist = false;
    std::string dataloader_suffix;
    double step_value = 0;
    int64_t logged_in_step = -1;  // the collection's step when last logged
    double sum = 0;         // of value * weight for "mean", of value for "sum"
    double weight = 0;
    double extreme = 0;     // for "max" and "min"
    int64_t count = 0;
    metrics::Metric* metric = nullptr;  // a logged metric, which keeps its own epoch states
    double epoch_value() const;
  };
  /// The entry of `key` with `options`, checked against its earlier logs (LC0341, LC0808).
  Entry& entry_for(const std::string& key, const LogOptions& options, LogScope scope, metrics::Metric* metric);
  std::map<std::string, Entry> entries_;
  int64_t step_ = 0;
};

}  // namespace lightning::detail
