#pragma once

#include <lightning/loggers/logger.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace lightning {

/// Options of TensorBoardLogger, with Lightning's names and defaults.
struct TensorBoardLoggerOptions {
  std::string save_dir = ".";
  std::string name = "lightning_logs";
  /// Unset: the next free `version_<N>`; a number N: `version_<N>`; a text: that folder name.
  std::optional<std::variant<int64_t, std::string>> version = std::nullopt;
  /// Log "hp_metric" = -1 with the hyperparameters, as Lightning does, so TensorBoard's HParams
  /// tab shows the run.
  bool default_hp_metric = true;
  /// Prepended to every metric name, joined with "-".
  std::string prefix = "";
};

/// Writes TensorBoard event files (`events.out.tfevents.*`) in Lightning's layout
/// (`<save_dir>/<name>/version_<N>/`): scalars, and hyperparameters for the HParams tab, plus
/// `hparams.yaml`. Records are framed as TensorBoard reads them (length, masked CRC32C, a protobuf
/// Event, masked CRC32C).
///
///   auto tensorboard = std::make_shared<pl::TensorBoardLogger>();
///   pl::Trainer trainer({.logger = tensorboard});   // then: tensorboard --logdir lightning_logs
///
/// Throws MisconfigurationException from the constructor when `save_dir` cannot hold the logs
/// (LC0603).
class TensorBoardLogger : public Logger {
 public:
  explicit TensorBoardLogger(TensorBoardLoggerOptions options = {});
  ~TensorBoardLogger() override;

  std::string name() const override { return options_.name; }
  std::string version() const override { return version_; }
  std::string log_dir() const override;
  /// The event file, once something was written ("" before).
  std::string event_file() const;
  void log_metrics(const std::map<std::string, double>& metrics, int64_t step) override;
  void log_hyperparams(const HyperParameters& params) override;
  void save() override;
  void finalize(const std::string& status) override;

 private:
  class EventWriter;
  EventWriter& writer();

  TensorBoardLoggerOptions options_;
  std::string version_;
  HyperParameters hparams_;
  std::unique_ptr<EventWriter> writer_;
};

}  // namespace lightning
