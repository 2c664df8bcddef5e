#include "trainer/connectors/settings.h"

#include <lightning/callbacks/timer.h>
#include <lightning/precision/precision.h>
#include <lightning/utilities/paths.h>

#include <fmt/format.h>


#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lightning::detail {
namespace {

Subject trainer_option(std::string_view name) { return {"Trainer", {std::string(name)}}; }

void check_limit(DiagnosticCollector& problems, std::string_view name, const CountOrFraction& limit) {
  const bool bad = limit.is_count() ? limit.count() < 0
                                    : !(limit.fraction() >= 0.0 && limit.fraction() <= 1.0);
  if (!bad) return;
  problems.error(out_of_range("LC0108", trainer_option(name), "a batch count >= 0 or a fraction in [0.0, 1.0]",
                              limit.to_string(), "an integer >= 0 (batches) or a floating-point value in [0.0, 1.0]",
                              fmt::format("use .{} = 1.0 for every batch, or a count such as 10", name)));
}

/// `default_root_dir` must be a writable folder, or a path one can be created at.
void check_root_dir(DiagnosticCollector& problems, const std::string& dir) {
  if (dir.empty()) return;
  const auto problem = unusable_folder(dir);
  if (!problem) return;
  problems.error({.code = "LC0120",
                  .message = fmt::format("Trainer option `default_root_dir` cannot hold logs and checkpoints: {}", *problem),
                  .subject = trainer_option("default_root_dir"),
                  .received = fmt::format("\"{}\"", dir),
                  .expected = "a writable folder, or a path where one can be created",
                  .help = "choose a folder you can write to, e.g. .default_root_dir = \"runs\""});
}

}  // namespace

void check_options(const TrainerOptions& o, DiagnosticCollector& problems) {
  if (o.max_epochs) {
    check_at_least(problems, "LC0101", trainer_option("max_epochs"), *o.max_epochs, -1,
                   "use -1 for no limit, or leave it unset for Lightning's default of 1000");
  }
  check_at_least(problems, "LC0106", trainer_option("max_steps"), o.max_steps, -1, "use -1 for no limit");
  if (o.max_time && !parse_duration(*o.max_time)) {
    problems.error({.code = "LC0122",
                    .message = "Trainer option `max_time` is not a duration",
                    .subject = trainer_option("max_time"),
                    .received = fmt::format("\"{}\"", *o.max_time),
                    .expected = "\"DD:HH:MM:SS\" (days, then hours below 24, minutes and seconds below 60)",
                    .help = "e.g. .max_time = \"00:12:00:00\" for twelve hours"});
  }
  if (o.min_epochs) {
    check_at_least(problems, "LC0107", trainer_option("min_epochs"), *o.min_epochs, 0, "use 0 or leave it unset");
    if (o.max_epochs && *o.max_epochs >= 0 && *o.min_epochs > *o.max_epochs) {
      problems.error({.code = "LC0107",
                      .message = "Trainer option `min_epochs` is larger than `max_epochs`",
                      .subject = trainer_option("min_epochs"),
                      .received = fmt::format("min_epochs = {}, max_epochs = {}", *o.min_epochs,
                                              *o.max_epochs),
                      .expected = "min_epochs <= max_epochs",
                      .help = "lower min_epochs or raise max_epochs"});
    }
  }
  if (o.min_steps) {
    check_at_least(problems, "LC0107", trainer_option("min_steps"), *o.min_steps, 0, "use 0 or leave it unset");
    if (o.max_steps >= 0 && *o.min_steps > o.max_steps) {
      problems.error({.code = "LC0107",
                      .message = "Trainer option `min_steps` is larger than `max_steps`",
                      .subject = trainer_option("min_steps"),
                      .received = fmt::format("min_steps = {}, max_steps = {}", *o.min_steps, o.max_steps),
                      .expected = "min_steps <= max_steps",
                      .help = "lower min_steps or raise max_steps"});
    }
  }
  check_limit(problems, "limit_train_batches", o.limit_train_batches);
  check_limit(problems, "limit_val_batches", o.limit_val_batches);
  check_limit(problems, "limit_test_batches", o.limit_test_batches);
  check_limit(problems, "limit_predict_batches", o.limit_predict_batches);
  const auto& interval = o.val_check_interval;
  if (interval.is_count() ? interval.count() < 1
                          : !(interval.fraction() > 0.0 && interval.fraction() <= 1.0)) {
    problems.error(out_of_range("LC0109", trainer_option("val_check_interval"),
                                "a batch count >= 1 or a fraction of an epoch in (0.0, 1.0]", interval.to_string(),
                                "an integer >= 1 (batches) or a floating-point value in (0.0, 1.0]",
                                "use 0.25 to validate four times per epoch, or 100 for every 100 batches"));
  }
  if (o.check_val_every_n_epoch) {
    check_at_least(problems, "LC0110", trainer_option("check_val_every_n_epoch"), *o.check_val_every_n_epoch, 1,
                   "use 1 to validate every epoch, or std::nullopt to count val_check_interval "
                   "batches across epochs");
  }
  check_at_least(problems, "LC0111", trainer_option("num_sanity_val_steps"), o.num_sanity_val_steps, -1,
                 "use 0 to skip the sanity check, or -1 to run every validation batch");
  check_at_least(problems, "LC0112", trainer_option("accumulate_grad_batches"), o.accumulate_grad_batches, 1,
                 "use 1 to step the optimizer after every batch");
  if (o.gradient_clip_val && !(*o.gradient_clip_val >= 0.0)) {
    problems.error(out_of_range("LC0113", trainer_option("gradient_clip_val"), ">= 0",
                                fmt::format("{}", *o.gradient_clip_val), "a value >= 0.0",
                                "leave it unset (or 0.0) for no clipping"));
  }
  if (o.gradient_clip_algorithm != "norm" && o.gradient_clip_algorithm != "value") {
    problems.error(unknown_choice(
        "LC0114",
        fmt::format("Trainer option `gradient_clip_algorithm` has an unknown value \"{}\"",
                    o.gradient_clip_algorithm),
        trainer_option("gradient_clip_algorithm"), o.gradient_clip_algorithm, {"norm", "value"}));
  }
  check_at_least(problems, "LC0115", trainer_option("log_every_n_steps"), o.log_every_n_steps, 1,
                 "use 1 to log every step, or .logger = false to log nothing");
  check_at_least(problems, "LC0116", trainer_option("fast_dev_run"), o.fast_dev_run, 0,
                 "use true (one batch), a number of batches, or false");
  check_root_dir(problems, o.default_root_dir);
}

Settings resolve_settings(const TrainerOptions& o, const ResolvedDevices& hardware) {
  Settings s;
  s.hardware = hardware;
  s.max_steps = o.max_steps;
  s.max_epochs = o.max_epochs.value_or(o.max_steps == -1 ? 1000 : -1);
  s.min_epochs = o.min_epochs.value_or(0);
  s.min_steps = o.min_steps.value_or(0);
  s.limit_train_batches = o.limit_train_batches;
  s.limit_val_batches = o.limit_val_batches;
  s.limit_test_batches = o.limit_test_batches;
  s.limit_predict_batches = o.limit_predict_batches;
  s.val_check_interval = o.val_check_interval;
  s.check_val_every_n_epoch = o.check_val_every_n_epoch;
  s.num_sanity_val_steps = o.num_sanity_val_steps;
  s.accumulate_grad_batches = o.accumulate_grad_batches;
  if (o.gradient_clip_val && *o.gradient_clip_val > 0.0) s.strategy.gradient_clip_val = o.gradient_clip_val;
  s.strategy.clip_by_norm = o.gradient_clip_algorithm != "value";
  s.log_every_n_steps = o.log_every_n_steps;
  s.loggers_enabled = o.logger.enabled();
  s.deterministic = o.deterministic;
  s.default_root_dir = o.default_root_dir.empty() ? "." : o.default_root_dir;
  s.strategy.autocast_dtype = autocast_dtype(o.precision, hardware.accelerator);
  s.strategy.parameter_dtype = parameter_dtype(o.precision);
  s.strategy.grad_scaler = canonical_precision(o.precision) == "16-mixed" && hardware.accelerator == c10::DeviceType::CUDA;
  if (o.fast_dev_run > 0) {
    const int64_t n = o.fast_dev_run;
    s.fast_dev_run = true;
    s.limit_train_batches = s.limit_val_batches = s.limit_test_batches = s.limit_predict_batches = n;
    s.max_epochs = 1;
    s.max_steps = n;
    s.num_sanity_val_steps = 0;
    s.val_check_interval = 1.0;
    s.check_val_every_n_epoch = 1;
    s.loggers_enabled = false;
  }
  return s;
}

int64_t limited_batches(const CountOrFraction& limit, int64_t available) {
  if (limit.is_count()) return std::min(limit.count(), available);
  return static_cast<int64_t>(std::floor(static_cast<double>(available) * limit.fraction()));
}

}  // namespace lightning::detail
