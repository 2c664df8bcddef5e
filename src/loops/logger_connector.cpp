#include "loops/logger_connector.h"

#include <lightning/diagnostics/diagnostic.h>

#include "strategies/process_group.h"

#include <ATen/ops/tensor.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

namespace lightning::detail {

void LoggerConnector::log(const std::string& name, LoggedValue logged, const LogOptions& options) {
  if (!target_.results) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0342",
        .message = fmt::format("log(\"{}\") was called from a hook that cannot log", name),
        .subject = {fmt::format("log(\"{}\", ...)", name)},
        .received = "a call outside the training, validation and test steps and their batch and epoch hooks",
        .expected = "log from training_step, validation_step, test_step, or their on_*_batch_* and "
                    "on_*_epoch_* hooks",
        .help = "setup, configure_optimizers, on_fit_start/end, on_train_start/end, teardown and prediction "
                "cannot log: move the call into a step or an epoch hook"}});
  }
  const Target& to = target_;
  const std::string key = to.dataloader_suffix.empty() ? name : name + to.dataloader_suffix;
  if (auto* const* metric = std::get_if<metrics::Metric*>(&logged)) {
    check_metric_home(**metric, key, to.scope);
    // A metric combines its own states, across ranks too: no sync_dist collective here.
    to.results->log_metric(key, **metric, options, to.scope);
    return;
  }
  const double value = std::get<double>(logged);
  if (options.sync_dist && state_.probing) probed_sync_calls.push_back(SyncCall{key, options.reduce_fx});
  if (!options.sync_dist || state_.collectives == nullptr || state_.probing) {
    to.results->log(key, value, options, to.scope, to.batch_size);
    return;
  }
  // Lightning's sync_dist: every rank records the ranks' combination. A mean is weighted by batch
  // size, so that epoch means stay the means over every rank's samples. The same collective
  // carries the call's fingerprint, so that ranks whose calls part notice it here.
  const double f = fingerprint(SyncCall{key, options.reduce_fx});
  LogOptions synced = options;
  double combined = value;
  bool same_call = false;
  const double world = settings_.hardware.world_size;
  if (options.reduce_fx == "mean" || options.reduce_fx == "sum") {
    const bool mean = options.reduce_fx == "mean";
    const auto weight = static_cast<double>(options.batch_size.value_or(to.batch_size));
    at::Tensor sums = at::tensor({mean ? value * weight : value, weight, f, f * f}, at::kDouble);
    state_.collectives->all_reduce(sums, ReduceOp::kSum);
    combined = mean ? sums[0].item<double>() / sums[1].item<double>() : sums[0].item<double>();
    if (mean) synced.batch_size = static_cast<int64_t>(sums[1].item<double>());
    same_call = sums[2].item<double>() == world * f && sums[3].item<double>() == world * f * f;
  } else {
    // max and min both reduce with MAX (min is minus the max of minus the values), so that a max
    // call met by a min call is one reduction whose result every rank reads alike: with two
    // reductions Gloo would combine the elements one way on one rank and the other way on
    // another, and only some ranks would notice. (mean and sum send four values, max and min
    // three: Gloo refuses a SUM met by a MAX for their sizes.)
    const double sign = options.reduce_fx == "max" ? 1.0 : -1.0;
    at::Tensor one = at::tensor({sign * value, f, -f}, at::kDouble);
    state_.collectives->all_reduce(one, ReduceOp::kMax);
    combined = sign * one[0].item<double>();
    same_call = one[1].item<double>() == f && one[2].item<double>() == -f;
  }
  if (!same_call) throw_sync_calls_parted(SyncCall{key, options.reduce_fx});
  to.results->log(key, combined, synced, to.scope, to.batch_size);
}

void LoggerConnector::check_metric_home(const metrics::Metric& metric, const std::string& key, LogScope scope) {
  const bool training = scope != LogScope::kEvaluation;
  const auto [home, first] = metric_homes_.try_emplace(&metric, MetricHome{key, training});
  if (first || (home->second.key == key && home->second.training == training)) return;
  const auto where = [](const MetricHome& h) {
    return fmt::format("\"{}\" in {}", h.key, h.training ? "training" : "an evaluation");
  };
  throw MisconfigurationException({Diagnostic{
      .code = "LC0809",
      .message = fmt::format("one {} is logged as {} and as {}: its states would mix both", metric.name(),
                             where(home->second), where({key, training})),
      .subject = {fmt::format("log(\"{}\", {})", key, metric.name())},
      .received = fmt::format("the same {} object twice", metric.name()),
      .expected = "one metric object per name and per loop (torchmetrics' first pitfall)",
      .help = "register one metric for each: e.g. train_acc and val_acc, each its own Accuracy"}});
}

double LoggerConnector::fingerprint(const SyncCall& call) {
  // 20 bits: its square summed over up to 8192 ranks stays exact in a double.
  return static_cast<double>(std::hash<std::string>{}(call.key + '\0' + call.reduce_fx) & 0xFFFFF);
}

void LoggerConnector::throw_sync_calls_parted(const SyncCall& call) {
  const auto calls = all_gather_strings(*state_.collectives, fmt::format("\"{}\" ({})", call.key, call.reduce_fx));
  std::vector<std::string> made;
  for (std::size_t r = 0; r < calls.size(); ++r) made.push_back(fmt::format("rank {} logged {}", r, calls[r]));
  throw RanksParted(fmt::format(
      "the ranks' sync_dist log calls parted at global step {}: {}. Each is a collective that every rank "
      "joins in the same order, so the values cannot be combined: log the value on every rank, or without "
      "sync_dist where only some ranks have one (LC0344 compares the ranks' calls on their first batch only)",
      state_.global_step, fmt::join(made, ", ")));
}

void LoggerConnector::send_to_loggers(std::map<std::string, double> metrics, int64_t step) {
  if (metrics.empty()) return;
  metrics["epoch"] = static_cast<double>(state_.current_epoch);
  for (const auto& [key, value] : metrics) state_.logged_metrics[key] = value;
  if (!loggers_active()) return;
  for (const auto& logger : loggers_) logger->log_metrics(metrics, step);
}

void LoggerConnector::log_metrics(const std::map<std::string, double>& metrics, int64_t step) {
  if (metrics.empty() || !loggers_active() || state_.probing) return;
  for (const auto& logger : loggers_) logger->log_metrics(metrics, step);
}

void LoggerConnector::finalize(const std::string& status) {
  if (!loggers_active()) return;
  for (const auto& logger : loggers_) {
    if (status == "success") logger->save();
    logger->finalize(status);
  }
}

}  // namespace lightning::detail
