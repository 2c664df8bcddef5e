#include <lightning/callbacks/lr_monitor.h>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <c10/util/Type.h>
#include <fmt/format.h>

#include <optional>
#include <typeinfo>

namespace lightning {
namespace {

/// "torch::optim::Adam" -> "Adam".
std::string class_name(const torch::optim::Optimizer& optimizer) {
  std::string name = c10::demangle(typeid(optimizer).name());
  if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  return name;
}

std::optional<double> momentum_of(const torch::optim::OptimizerOptions& options) {
  using namespace torch::optim;
  if (const auto* sgd = dynamic_cast<const SGDOptions*>(&options)) return sgd->momentum();
  if (const auto* adam = dynamic_cast<const AdamOptions*>(&options)) return std::get<0>(adam->betas());
  if (const auto* adamw = dynamic_cast<const AdamWOptions*>(&options)) return std::get<0>(adamw->betas());
  if (const auto* rmsprop = dynamic_cast<const RMSpropOptions*>(&options)) return rmsprop->momentum();
  return std::nullopt;
}

/// Logs `values` and remembers them as the last logged.
void send(const TrainerView& trainer, const std::map<std::string, double>& values, std::map<std::string, double>& last) {
  if (values.empty()) return;
  trainer.log_metrics(values);
  for (const auto& [key, value] : values) last[key] = value;
}

}  // namespace

LearningRateMonitor::LearningRateMonitor(LearningRateMonitorOptions options) : options_(std::move(options)) {
  if (options_.logging_interval != "" && options_.logging_interval != "step" && options_.logging_interval != "epoch") {
    throw MisconfigurationException({unknown_choice(
        "LC0516", fmt::format("LearningRateMonitor option `logging_interval` has an unknown value \"{}\"", options_.logging_interval),
        {"LearningRateMonitor", {"logging_interval"}}, options_.logging_interval, {"", "step", "epoch"})});
  }
}

void LearningRateMonitor::preflight(const TrainerView& trainer, const std::set<std::string>&,
                                    DiagnosticCollector& problems) const {
  if (!trainer.logger_names().empty()) return;
  problems.error({.code = "LC0515",
                  .message = "LearningRateMonitor has no logger to write to",
                  .subject = {"Trainer", {"logger"}},
                  .received = "logger = false (or fast_dev_run, which turns loggers off)",
                  .expected = "at least one logger",
                  .help = "keep the default logger (logger = true) or pass one, e.g. .logger = "
                          "std::make_shared<pl::CSVLogger>()"});
}

std::map<std::string, double> LearningRateMonitor::stats(const TrainerView& trainer, const std::string& interval) const {
  std::map<std::string, double> out;
  std::map<std::string, int> seen;  // default names already used, for "-1", "-2" suffixes
  auto record = [&](torch::optim::Optimizer& optimizer, std::string name) {
    if (seen[name]++ > 0) name = fmt::format("{}-{}", name, seen[name] - 1);
    auto& groups = optimizer.param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::string key = groups.size() == 1 ? name : fmt::format("{}/pg{}", name, g + 1);
      out[key] = groups[g].options().get_lr();
      if (options_.log_momentum) {
        if (auto momentum = momentum_of(groups[g].options())) out[key + "-momentum"] = *momentum;
      }
    }
  };
  std::set<const torch::optim::Optimizer*> scheduled;
  for (const auto& config : trainer.lr_scheduler_configs()) {
    auto& optimizer = config.scheduler->optimizer();
    scheduled.insert(&optimizer);
    if (interval != "any" && config.options.interval != interval) continue;
    record(optimizer, config.options.name.empty() ? "lr-" + class_name(optimizer) : config.options.name);
  }
  for (auto* optimizer : trainer.optimizers()) {
    if (!scheduled.contains(optimizer)) record(*optimizer, "lr-" + class_name(*optimizer));
  }
  return out;
}

void LearningRateMonitor::on_train_batch_start(const TrainerView& trainer, LightningModule&, const Batch&, int64_t) {
  if (options_.logging_interval == "epoch" || !trainer.should_update_logs()) return;
  send(trainer, stats(trainer, options_.logging_interval.empty() ? "step" : "any"), last_logged_);
}

void LearningRateMonitor::on_train_epoch_start(const TrainerView& trainer, LightningModule&) {
  if (options_.logging_interval == "step") return;
  send(trainer, stats(trainer, options_.logging_interval.empty() ? "epoch" : "any"), last_logged_);
}

}  // namespace lightning
