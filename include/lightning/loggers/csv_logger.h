#pragma once

#include <lightning/loggers/logger.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace lightning {

/// Options of CSVLogger, with Lightning's names and defaults.
struct CSVLoggerOptions {
  /// Root folder of the logs.
  std::string save_dir = ".";
  /// Experiment name: the folder under `save_dir`.
  std::string name = "lightning_logs";
  /// Unset: the next free `version_<N>`; a number N: `version_<N>`; a text: that folder name.
  std::optional<std::variant<int64_t, std::string>> version = std::nullopt;
  /// Prepended to every metric name, joined with "-".
  std::string prefix = "";
  /// Write the buffered rows every this many steps (and at the end of the run).
  int64_t flush_logs_every_n_steps = 100;
};

/// Logs to a CSV file in Lightning's layout: `<save_dir>/<name>/version_<N>/metrics.csv` (one row
/// per logging step, a column per metric, sorted, with "step") and `hparams.yaml`.
///
///   auto csv = std::make_shared<pl::CSVLogger>(pl::CSVLoggerOptions{.save_dir = "runs"});
///   pl::Trainer trainer({.logger = csv});
///
/// Throws MisconfigurationException from the constructor when `save_dir` cannot hold the logs
/// (LC0601) or `flush_logs_every_n_steps` is below 1 (LC0602).
class CSVLogger : public Logger {
 public:
  explicit CSVLogger(CSVLoggerOptions options = {});
  ~CSVLogger() override;

  std::string name() const override { return options_.name; }
  /// "version_3", or the text given as version.
  std::string version() const override { return version_; }
  std::string log_dir() const override;
  void log_metrics(const std::map<std::string, double>& metrics, int64_t step) override;
  void log_hyperparams(const HyperParameters& params) override;
  /// Writes the buffered rows (rewriting the file when new columns appeared) and hparams.yaml.
  void save() override;
  void finalize(const std::string& status) override;

 private:
  CSVLoggerOptions options_;
  std::string version_;
  std::vector<std::map<std::string, double>> pending_rows_;
  /// Rows already in the file, kept to write it again when a new column appears.
  std::vector<std::map<std::string, double>> written_rows_;
  std::vector<std::string> columns_;  ///< sorted, as written in the file's header
  HyperParameters hparams_;
  bool created_ = false;
};

}  // namespace lightning
