#include <lightning/callbacks/early_stopping.h>

#include <lightning/utilities/console.h>

#include "callbacks/monitor.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace lightning {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  DiagnosticCollector problems("while building EarlyStopping");
  if (options_.mode != "min" && options_.mode != "max") {
    problems.error(unknown_choice("LC0511", fmt::format("EarlyStopping option `mode` has an unknown value \"{}\"", options_.mode),
                                  {"EarlyStopping", {"mode"}}, options_.mode, {"min", "max"}));
  }
  if (options_.monitor.empty()) {
    problems.error({.code = "LC0512",
                    .message = "EarlyStopping has no `monitor`",
                    .subject = {"EarlyStopping", {"monitor"}},
                    .received = "\"\"",
                    .expected = "the name of a metric the module logs",
                    .help = "set `.monitor = \"val_loss\"`, a metric logged with log(\"val_loss\", ...)"});
  }
  if (options_.patience < 0) {
    problems.error(out_of_range("LC0513", {"EarlyStopping", {"patience"}}, ">= 0", std::to_string(options_.patience),
                                "0 or more checks without improvement",
                                "use 0 to stop at the first check that does not improve"));
  }
  problems.throw_if_errors();
  // Lightning's convention: an improvement must beat the best by min_delta in the good direction.
  options_.min_delta = std::abs(options_.min_delta) * (options_.mode == "min" ? -1.0 : 1.0);
  best_score_ = options_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

std::string EarlyStopping::state_key() const {
  return fmt::format("EarlyStopping{{'monitor': '{}', 'mode': '{}'}}", options_.monitor, options_.mode);
}

c10::IValue EarlyStopping::state_dict() const {
  c10::impl::GenericDict state(c10::StringType::get(), c10::AnyType::get());
  state.insert("wait_count", wait_count_);
  state.insert("stopped_epoch", stopped_epoch_);
  state.insert("best_score", best_score_);
  state.insert("patience", options_.patience);
  return state;
}

void EarlyStopping::load_state_dict(const c10::IValue& saved) {
  const auto state = saved.toGenericDict();
  wait_count_ = state.at("wait_count").toInt();
  stopped_epoch_ = state.at("stopped_epoch").toInt();
  best_score_ = state.at("best_score").toDouble();
  options_.patience = state.at("patience").toInt();
}

void EarlyStopping::preflight(const TrainerView&, const std::set<std::string>& logged_keys,
                              DiagnosticCollector& problems) const {
  if (logged_keys.contains(options_.monitor)) return;
  Diagnostic d = detail::unlogged_monitor_diagnostic("LC0514", "EarlyStopping", options_.monitor, logged_keys);
  if (options_.strict) {
    problems.error(std::move(d));
  } else {
    d.severity = Severity::kWarning;
    d.help += " (strict = false: EarlyStopping never stops this run)";
    problems.warn(std::move(d));
  }
}

void EarlyStopping::setup(const TrainerView& trainer, LightningModule&, const std::string&) {
  check_on_train_epoch_end_ = options_.check_on_train_epoch_end.value_or(
      trainer.val_check_interval_is_one_epoch() && trainer.check_val_every_n_epoch() == 1);
}

void EarlyStopping::on_train_epoch_end(const TrainerView& trainer, LightningModule&) {
  if (check_on_train_epoch_end_) check(trainer);
}

void EarlyStopping::on_validation_end(const TrainerView& trainer, LightningModule&) {
  if (!check_on_train_epoch_end_) check(trainer);
}

void EarlyStopping::check(const TrainerView& trainer) {
  if (trainer.stage() != Stage::kFit || trainer.sanity_checking() || trainer.probing() || trainer.fast_dev_run()) return;
  const auto& metrics = trainer.callback_metrics();
  auto found = metrics.find(options_.monitor);
  if (found == metrics.end()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : metrics) keys.insert(key);
    Diagnostic d = detail::unlogged_monitor_diagnostic("LC0514", "EarlyStopping", options_.monitor, keys);
    if (options_.strict) throw MisconfigurationException({std::move(d)});
    return;
  }
  std::string reason;
  const bool stop = evaluate(found->second, reason);
  if (stop) {
    trainer.request_stop();
    stopped_epoch_ = trainer.current_epoch();
    stopping_reason_ = reason;
    console::info(fmt::format("EarlyStopping: {}", reason));
  } else if (options_.verbose && !reason.empty()) {
    console::info(fmt::format("EarlyStopping: {}", reason));
  }
}

bool EarlyStopping::evaluate(double current, std::string& reason) {
  const char* order = options_.mode == "min" ? "<" : ">";
  if (options_.check_finite && !std::isfinite(current)) {
    reason = fmt::format("monitored metric {} = {} is not finite; previous best value was {:.3f}. Signaling Trainer to stop.",
                         options_.monitor, current, best_score_);
    return true;
  }
  if (options_.stopping_threshold && better(current, *options_.stopping_threshold)) {
    reason = fmt::format("stopping threshold reached: {} = {} {} {}. Signaling Trainer to stop.", options_.monitor, current,
                         order, *options_.stopping_threshold);
    return true;
  }
  if (options_.divergence_threshold && better(-current, -*options_.divergence_threshold)) {
    reason = fmt::format("divergence threshold reached: {} = {} {} {}. Signaling Trainer to stop.", options_.monitor, current,
                         options_.mode == "min" ? ">" : "<", *options_.divergence_threshold);
    return true;
  }
  if (better(current - options_.min_delta, best_score_)) {
    reason = std::isfinite(best_score_)
                 ? fmt::format("metric {} improved by {:.3f} >= min_delta = {}. New best score: {:.3f}", options_.monitor,
                               std::abs(best_score_ - current), std::abs(options_.min_delta), current)
                 : fmt::format("metric {} improved. New best score: {:.3f}", options_.monitor, current);
    best_score_ = current;
    wait_count_ = 0;
    return false;
  }
  ++wait_count_;
  if (wait_count_ < options_.patience) return false;
  reason = fmt::format("monitored metric {} did not improve in the last {} records. Best score: {:.3f}. Signaling Trainer to stop.",
                       options_.monitor, wait_count_, best_score_);
  return true;
}

}  // namespace lightning
