#pragma once
// Where a logged value goes (Lightning's logger connector): the result collection the running loop
// chose, combined over the ranks for sync_dist, and from there to the loggers and the progress bar.

#include <lightning/core/module.h>
#include <lightning/core/trainer_view.h>
#include <lightning/loggers/logger.h>

#include "loops/results.h"
#include "trainer/connectors/rank_agreement.h"
#include "trainer/connectors/settings.h"

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lightning::detail {

/// An error that every rank of a distributed run raises alike, having met it in the same
/// collective: rank 0 dismisses the ranks it started instead of blaming one of them.
class RanksParted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoggerConnector {
 public:
  LoggerConnector(const std::vector<std::shared_ptr<Logger>>& loggers, TrainerState& state, const Settings& settings)
      : loggers_(loggers), state_(state), settings_(settings) {}

  /// The module's `log`: into the collection of the loop that runs, with its defaults for the hook
  /// (LC0342 where no loop collects); with sync_dist in a distributed run, the ranks' combination.
  void log(const std::string& name, LoggedValue value, const LogOptions& options);
  /// Sends metrics to every logger (rank zero only) at `step`, adding "epoch" as Lightning does.
  void send_to_loggers(std::map<std::string, double> metrics, int64_t step);
  /// What callbacks send straight to the loggers (LearningRateMonitor), at `step`; not while probing.
  void log_metrics(const std::map<std::string, double>& metrics, int64_t step);
  /// Loggers are written on rank zero only, as in Lightning.
  bool loggers_active() const {
    return settings_.loggers_enabled && !loggers_.empty() && settings_.hardware.global_rank == 0;
  }
  /// Whether the optimizer step after `batches_that_stepped` is one the loggers record.
  bool should_update_logs(int64_t batches_that_stepped) const {
    return (batches_that_stepped + 1) % settings_.log_every_n_steps == 0;
  }
  /// The end of a stage: "success" saves and finalizes the loggers; "failed" finalizes them.
  void finalize(const std::string& status);
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }

  /// The sync_dist calls of the probed steps, in order (each is a collective in a real step).
  std::vector<SyncCall> probed_sync_calls;

 private:
  friend class LoggingTo;
  /// Where `log` records, and with which defaults and names.
  struct Target {
    ResultCollection* results = nullptr;
    LogScope scope = LogScope::kEvaluation;
    std::string dataloader_suffix;
    int64_t batch_size = 1;
  };

  /// Identifies a sync_dist call in its collective: each rank adds f and f² of its own call, and
  /// the sums equal the world size times this rank's only when every rank's f is the same (their
  /// variance is zero), so every rank notices a parting in the same collective.
  static double fingerprint(const SyncCall& call);
  /// A metric is logged under one name from one kind of loop (LC0809): one object's states for
  /// training and validation, or for two names, would mix.
  void check_metric_home(const metrics::Metric& metric, const std::string& key, LogScope scope);
  /// The ranks' sync_dist calls met different calls: every rank's, named, as RanksParted.
  [[noreturn]] void throw_sync_calls_parted(const SyncCall& call);

  const std::vector<std::shared_ptr<Logger>>& loggers_;
  TrainerState& state_;
  const Settings& settings_;
  Target target_;
  struct MetricHome {
    std::string key;
    bool training;
  };
  std::map<const metrics::Metric*, MetricHome> metric_homes_;
};

/// While it lives, `log` records into `results` with the defaults of `scope` and without a
/// dataloader suffix (the batch size stays the last batch's, as in Lightning); the loops set each
/// batch's size and suffix through it. The previous target comes back on every exit, exceptions
/// included. A null `results` makes `log` an error (LC0342), as in prediction.
class LoggingTo {
 public:
  LoggingTo(LoggerConnector& connector, ResultCollection* results, LogScope scope)
      : connector_(connector), previous_(connector.target_) {
    connector.target_.results = results;
    connector.target_.scope = scope;
    connector.target_.dataloader_suffix.clear();
  }
  ~LoggingTo() { connector_.target_ = std::move(previous_); }
  LoggingTo(const LoggingTo&) = delete;
  LoggingTo& operator=(const LoggingTo&) = delete;

  void set_scope(LogScope scope) { connector_.target_.scope = scope; }
  /// The batch now stepped: its size weighs epoch means; `dataloader_suffix` names the loader's keys.
  void set_batch(int64_t batch_size, std::string dataloader_suffix = {}) {
    connector_.target_.batch_size = batch_size;
    connector_.target_.dataloader_suffix = std::move(dataloader_suffix);
  }
  void clear_dataloader_suffix() { connector_.target_.dataloader_suffix.clear(); }

 private:
  LoggerConnector& connector_;
  LoggerConnector::Target previous_;
};

}  // namespace lightning::detail
