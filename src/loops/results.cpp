#include "loops/results.h"

#include <lightning/diagnostics/diagnostic.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace lightning::detail {

double ResultCollection::Entry::epoch_value() const {
  if (reduce_fx == "sum") return sum;
  if (reduce_fx == "max" || reduce_fx == "min") return extreme;
  return weight > 0 ? sum / weight : 0.0;
}

void ResultCollection::log(const std::string& key, double value, const LogOptions& options,
                           LogScope scope, int64_t batch_size) {
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
  entry.on_step = on_step;
  entry.on_epoch = on_epoch;
  entry.prog_bar = options.prog_bar;
  entry.logger = options.logger;
  entry.reduce_fx = options.reduce_fx;
  entry.sync_dist = options.sync_dist;
  if (entry.count == 0) {
    if (const auto slash = key.find("/dataloader_idx_"); slash != std::string::npos) {
      entry.dataloader_suffix = key.substr(slash);
    }
  }
  entry.step_value = value;
  entry.logged_in_step = step_;
  const double weight = static_cast<double>(options.batch_size.value_or(std::max<int64_t>(batch_size, 1)));
  if (entry.reduce_fx == "sum") {
    entry.sum += value;
  } else if (entry.reduce_fx == "max") {
    entry.extreme = entry.count == 0 ? value : std::max(entry.extreme, value);
  } else if (entry.reduce_fx == "min") {
    entry.extreme = entry.count == 0 ? value : std::min(entry.extreme, value);
  } else {
    entry.sum += value * weight;
    entry.weight += weight;
  }
  ++entry.count;
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
