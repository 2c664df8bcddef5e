#pragma once
// The Trainer's options (Lightning's Trainer arguments) and their small value types, apart from
// the Trainer so that the code resolving them needs nothing of the Trainer itself.

#include <lightning/callbacks/callback.h>
#include <lightning/loggers/logger.h>
#include <lightning/strategies/strategy.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lightning {

/// A number of batches, or a fraction of them: `10` means ten batches, `0.25` a quarter.
class CountOrFraction {
 public:
  template <std::integral I>
  CountOrFraction(I count) : value_(static_cast<int64_t>(count)) {}  // NOLINT: implicit
  template <std::floating_point F>
  CountOrFraction(F fraction) : value_(static_cast<double>(fraction)) {}  // NOLINT: implicit

  bool is_count() const { return std::holds_alternative<int64_t>(value_); }
  int64_t count() const { return std::get<int64_t>(value_); }
  double fraction() const { return std::get<double>(value_); }
  /// `10` or `0.25`, as the user wrote it.
  std::string to_string() const;

 private:
  std::variant<int64_t, double> value_;
};

/// Lightning's `devices`: a count (`2`, `-1` for all), `"auto"`, a list (`{0, 2}`) or `"0,2"`.
class Devices {
 public:
  Devices(int count) : value_(static_cast<int64_t>(count)) {}                 // NOLINT: implicit
  Devices(const char* spec) : value_(std::string(spec)) {}                    // NOLINT: implicit
  Devices(std::string spec) : value_(std::move(spec)) {}                      // NOLINT: implicit
  Devices(std::initializer_list<int64_t> ids) : value_(std::vector<int64_t>(ids)) {}
  Devices(std::vector<int64_t> ids) : value_(std::move(ids)) {}               // NOLINT: implicit

  const std::variant<int64_t, std::string, std::vector<int64_t>>& value() const { return value_; }
  std::string to_string() const;

 private:
  std::variant<int64_t, std::string, std::vector<int64_t>> value_;
};

/// Lightning's `logger`: `true` for the default loggers, `false` for none, or your own.
class LoggerOption {
 public:
  LoggerOption(bool enabled = true) : enabled_(enabled) {}  // NOLINT: implicit
  template <std::derived_from<Logger> L>
  LoggerOption(std::shared_ptr<L> logger) : enabled_(true), loggers_{std::move(logger)} {}  // NOLINT
  LoggerOption(std::vector<std::shared_ptr<Logger>> loggers)  // NOLINT: implicit
      : enabled_(true), loggers_(std::move(loggers)) {}

  bool enabled() const { return enabled_; }
  /// The loggers given; empty with `true` means "the defaults".
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }

 private:
  bool enabled_;
  std::vector<std::shared_ptr<Logger>> loggers_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

/// The Trainer's options, with Lightning's names, meanings and defaults. Fill them with designated
/// initializers, in this order: `pl::Trainer({.max_epochs = 10, .accelerator = "cpu"})`.
struct TrainerOptions {
  /// Stop after this many epochs; unset with max_steps = -1 means 1000, -1 means no limit.
  std::optional<int64_t> max_epochs = std::nullopt;
  /// Keep training at least this many epochs, even when asked to stop.
  std::optional<int64_t> min_epochs = std::nullopt;
  /// Stop after this many optimizer steps; -1 means no limit.
  int64_t max_steps = -1;
  std::optional<int64_t> min_steps = std::nullopt;
  /// Stop after this much training time, "DD:HH:MM:SS" (adds a Timer).
  std::optional<std::string> max_time = std::nullopt;

  /// "auto", "cpu", "cuda", "gpu" or "mps".
  std::string accelerator = "auto";
  Devices devices = "auto";
  /// "auto", "single_device", "ddp" (one process per device; `devices = 2` on the CPU is two
  /// processes), or a DDPStrategy with its timeout.
  StrategyOption strategy = "auto";
  /// "32-true" (or "32"), "64-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true"; on the CPU
  /// all but the "16" ones.
  std::string precision = "32-true";
  int64_t num_nodes = 1;

  std::vector<std::shared_ptr<Callback>> callbacks = {};
  LoggerOption logger = true;

  CountOrFraction limit_train_batches = 1.0;
  CountOrFraction limit_val_batches = 1.0;
  CountOrFraction limit_test_batches = 1.0;
  CountOrFraction limit_predict_batches = 1.0;
  /// Validate every this fraction of an epoch (0.25), or every this many batches (100).
  CountOrFraction val_check_interval = 1.0;
  /// Validate every n epochs; unset counts `val_check_interval` batches across epochs.
  std::optional<int64_t> check_val_every_n_epoch = 1;
  /// Validation batches run before training to catch bugs early; -1 runs them all.
  int64_t num_sanity_val_steps = 2;

  int64_t accumulate_grad_batches = 1;
  std::optional<double> gradient_clip_val = std::nullopt;
  /// "norm" (total 2-norm of all gradients) or "value" (each element).
  std::string gradient_clip_algorithm = "norm";
  int64_t log_every_n_steps = 50;
  /// Run n batches of train, val and test (true means 1) to find bugs; no loggers, no checkpoints.
  int64_t fast_dev_run = 0;
  /// Use deterministic algorithms only.
  bool deterministic = false;
  /// In a distributed run, give each rank its own share of every loader's samples (a
  /// DistributedSampler around the loader's sampler), as Lightning does.
  bool use_distributed_sampler = true;

  bool enable_progress_bar = true;
  bool enable_model_summary = true;
  bool enable_checkpointing = true;
  /// Where logs and checkpoints go when no logger or callback says otherwise; "" is the working
  /// directory.
  std::string default_root_dir = "";
};

/// Metrics of one evaluation loader, by name (what `validate` and `test` return per loader).
using Metrics = std::map<std::string, double>;

}  // namespace lightning
