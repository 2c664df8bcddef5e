#include "loops/results.h"

#include <lightning/diagnostics/diagnostic.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

namespace lightning::detail {

double ResultCollection::Entry::epoch_value() const {
  if (metric != nullptr) return metric->compute().item<double>();
  if (reduce_fx == "sum") return sum;
  if (reduce_fx == "max" || reduce_fx == "min") return extreme;
  return weight > 0 ? sum / weight : 0.0;
}

ResultCollection::Entry& ResultCollection::entry_for(const std::string& key, const LogOptions& options, LogScope scope,
                                                     metrics::Metric* metric) {
  const bool step_default = scope == LogScope::kTrainingStep;
  const bool on_step = options.on_step.value_or(step_default);
  const bool on_epoch = options.on_epoch.value_or(!step_default);
  Entry& entry = entries_[key];
  if (entry.count > 0 && (entry.on_step != on_step || entry.on_epoch != on_epoch || entry.prog_bar != options.prog_bar ||
                          entry.logger != options.logger || entry.reduce_fx != options.reduce_fx)) {
    auto describe = [](bool step, bool epoch, bool bar, bool logger, const std::string& fx) {
      return fmt::format("{{.prog_bar = {}, .logger = {}, .on_step = {}, .on_epoch = {}, .reduce_fx = \"{}\"}}", bar,
                         logger, step, epoch, fx);
    };
    throw MisconfigurationException({Diagnostic{
        .code = "LC0341",
        .message = fmt::format("\"{}\" is logged twice with different options", key),
        .subject = {fmt::format("log(\"{}\", ...)", key)},
        .received = describe(on_step, on_epoch, options.prog_bar, options.logger, options.reduce_fx),
        .expected = "the options of its first log: " +
                    describe(entry.on_step, entry.on_epoch, entry.prog_bar, entry.logger, entry.reduce_fx),
        .help = "log a key with the same options every time, or give the second value its own name"}});
  }
  if (entry.count > 0 && entry.metric != metric) {
    const auto what = [](const metrics::Metric* m) { return m ? "the metric " + m->name() : std::string("a number"); };
    throw MisconfigurationException({Diagnostic{
        .code = "LC0808",
        .message = fmt::format("\"{}\" is logged as two things: {} and {}", key, what(entry.metric), what(metric)),
        .subject = {fmt::format("log(\"{}\", ...)", key)},
        .received = fmt::format("{}, then {}", what(entry.metric), what(metric)),
        .expected = "one metric object, or numbers, under one name",
        .help = "log the metric object alone (log(name, metric) computes it at the epoch's end), or give the "
                "other value its own name"}});
  }
  entry.on_step = on_step;
  entry.on_epoch = on_epoch;
  entry.prog_bar = options.prog_bar;
  entry.logger = options.logger;
  entry.reduce_fx = options.reduce_fx;
  entry.sync_dist = options.sync_dist;
  entry.metric = metric;
  if (entry.count == 0) {
    if (const auto slash = key.find("/dataloader_idx_"); slash != std::string::npos) {
      entry.dataloader_suffix = key.substr(slash);
    }
  }
  entry.logged_in_step = step_;
  ++entry.count;
  return entry;
}

void ResultCollection::log(const std::string& key, double value, const LogOptions& options, LogScope scope,
                           int64_t batch_size) {
  Entry& entry = entry_for(key, options, scope, nullptr);
  entry.step_value = value;
  const double weight = static_cast<double>(options.batch_size.value_or(std::max<int64_t>(batch_size, 1)));
  if (entry.reduce_fx == "sum") {
    entry.sum += value;
  } else if (entry.reduce_fx == "max") {
    entry.extreme = entry.count == 1 ? value : std::max(entry.extreme, value);  // entry_for counted this log
  } else if (entry.reduce_fx == "min") {
    entry.extreme = entry.count == 1 ? value : std::min(entry.extreme, value);
  } else {
    entry.sum += value * weight;
    entry.weight += weight;
  }
}

void ResultCollection::log_metric(const std::string& key, metrics::Metric& metric, const LogOptions& options,
                                  LogScope scope) {
  const std::string subject = fmt::format("log(\"{}\", {})", key, metric.name());
  // Checked on the key's first log only: compute() of an exact AUROC concatenates the epoch so far.
  const auto known = entries_.find(key);
  if ((known == entries_.end() || known->second.count == 0) && metric.compute().numel() != 1) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0807",
        .message = fmt::format("\"{}\" logs the metric {}, which computes {} values; a logged value is one number",
                               key, metric.name(), metric.compute().numel()),
        .subject = {subject},
        .received = fmt::format("a {} of shape [{}]", metric.name(), fmt::join(metric.compute().sizes(), ", ")),
        .expected = "a metric that computes one number",
        .help = "average it (e.g. .average = \"macro\"), or log each class's value under its own name"}});
  }
  Entry& entry = entry_for(key, options, scope, &metric);
  if (!entry.on_step) return;
  if (!metric.last_batch_value().defined()) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0806",
        .message = fmt::format("\"{}\" is logged on_step, but its {} has no batch value: forward() was not called",
                               key, metric.name()),
        .subject = {subject},
        .received = fmt::format("a {} updated with update() only", metric.name()),
        .expected = "forward(preds, target) before the log, which gives the step's value",
        .help = "call metric.forward(preds, target) in the step, or log it with .on_step = false"}});
  }
  entry.step_value = metric.last_batch_value().item<double>();
}

void ResultCollection::reset() {
  // A logged metric's epoch ends with the collection's: its states start again.
  for (auto& [key, entry] : entries_) {
    if (entry.metric != nullptr) entry.metric->reset();
  }
  entries_.clear();
}

namespace {
// "loss/dataloader_idx_1" with suffix "_step" is "loss_step/dataloader_idx_1", as in Lightning.
std::string with_suffix(const std::string& key, const char* suffix) {
  const auto slash = key.find("/dataloader_idx_");
  if (slash == std::string::npos) return key + suffix;
  return key.substr(0, slash) + suffix + key.substr(slash);
}
}  // namespace

std::map<std::string, double> ResultCollection::step_metrics(bool for_logger) const {
  std::map<std::string, double> out;
  for (const auto& [key, entry] : entries_) {
    if (entry.logged_in_step != step_ || !entry.on_step) continue;
    if (for_logger && !entry.logger) continue;
    out[entry.on_epoch ? with_suffix(key, "_step") : key] = entry.step_value;
  }
  return out;
}

std::map<std::string, double> ResultCollection::epoch_metrics(bool for_logger) const {
  std::map<std::string, double> out;
  for (const auto& [key, entry] : entries_) {
    if (!entry.on_epoch || (for_logger && !entry.logger)) continue;
    out[entry.on_step ? with_suffix(key, "_epoch") : key] = entry.epoch_value();
  }
  return out;
}

void ResultCollection::update_callback_metrics(std::map<std::string, double>& out,
                                               bool epoch_ended) const {
  for (const auto& [key, entry] : entries_) {
    if (entry.on_step && entry.on_epoch) {
      out[with_suffix(key, "_step")] = entry.step_value;
      if (epoch_ended) out[with_suffix(key, "_epoch")] = entry.epoch_value();
      out[key] = epoch_ended ? entry.epoch_value() : entry.step_value;
    } else if (entry.on_step) {
      out[key] = entry.step_value;
    } else if (epoch_ended) {
      out[key] = entry.epoch_value();
    }
  }
}

void ResultCollection::update_progress_bar_metrics(std::map<std::string, double>& out,
                                                   bool epoch_ended) const {
  for (const auto& [key, entry] : entries_) {
    if (!entry.prog_bar) continue;
    if (entry.on_step && entry.on_epoch) {
      out[with_suffix(key, "_step")] = entry.step_value;
      if (epoch_ended) out[with_suffix(key, "_epoch")] = entry.epoch_value();
    } else if (entry.on_step) {
      out[key] = entry.step_value;
    } else if (epoch_ended) {
      out[key] = entry.epoch_value();
    }
  }
}

std::map<std::string, double> ResultCollection::epoch_metrics_for_dataloader(
    const std::string& suffix) const {
  std::map<std::string, double> out;
  for (const auto& [key, entry] : entries_) {
    if (!entry.on_epoch) continue;
    if (!entry.dataloader_suffix.empty() && entry.dataloader_suffix != suffix) continue;
    out[entry.on_step ? with_suffix(key, "_epoch") : key] = entry.epoch_value();
  }
  return out;
}

std::vector<std::string> ResultCollection::unsynced_epoch_keys() const {
  std::vector<std::string> out;
  for (const auto& [key, entry] : entries_) {
    if (entry.on_epoch && !entry.sync_dist) out.push_back(key);
  }
  return out;
}

}  // namespace lightning::detail
