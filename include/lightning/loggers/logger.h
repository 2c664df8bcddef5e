#pragma once

#include <lightning/core/module.h>

#include <cstdint>
#include <map>
#include <string>

namespace lightning {

/// Where metrics and hyperparameters go (Lightning's Logger). The trainer calls loggers on rank
/// zero only. CSVLogger and TensorBoardLogger implement it.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  /// The folder this run's files go to.
  virtual std::string log_dir() const = 0;
  /// Metrics of one step (`step` counts optimizer steps, as in Lightning).
  virtual void log_metrics(const std::map<std::string, double>& metrics, int64_t step) = 0;
  virtual void log_hyperparams(const HyperParameters& params) = 0;
  /// Flushes what is buffered.
  virtual void save() {}
  /// Called once at the end of a run with "success" or "failed".
  virtual void finalize(const std::string& status) {}
};

}  // namespace lightning
