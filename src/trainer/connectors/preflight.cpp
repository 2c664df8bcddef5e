#include "trainer/connectors/preflight.h"

#include <torch/optim/optimizer.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace lightning::detail {

void check_dataloader(DiagnosticCollector& problems, const DataLoader& loader, const std::string& role) {
  const auto& options = loader.options();
  const std::string passed_as = fmt::format("passed as `{}`", role);
  if (options.batch_size < 1) {
    problems.error(out_of_range("LC0201", {"DataLoader", {"batch_size"}, {}, passed_as}, fmt::format(">= 1 ({})", role),
                                std::to_string(options.batch_size), "an integer >= 1", "use a batch size such as 32"));
  }
  if (options.num_workers < 0) {
    problems.error(out_of_range("LC0202", {"DataLoader", {"num_workers"}, {}, passed_as}, fmt::format(">= 0 ({})", role),
                                std::to_string(options.num_workers),
                                "an integer >= 0 (0 loads batches on the training thread)",
                                "use 0, or a small number of worker threads such as 2"));
  }
  if (options.prefetch_factor < 1) {
    problems.error(out_of_range("LC0202", {"DataLoader", {"prefetch_factor"}, {}, passed_as},
                                fmt::format(">= 1 ({})", role), std::to_string(options.prefetch_factor),
                                "an integer >= 1", "use the default, 2"));
  }
  if (options.batch_size >= 1 && loader.size() == 0) {
    const int64_t samples = loader.dataset().size();
    problems.error({.code = "LC0203",
                    .message = fmt::format("the DataLoader passed as `{}` yields no batch", role),
                    .subject = {"DataLoader", {}, {}, passed_as},
                    .received = fmt::format("{} samples, batch_size = {}, drop_last = {}", samples,
                                            options.batch_size, options.drop_last),
                    .expected = "at least one batch",
                    .help = samples == 0 ? "the dataset is empty: check how it is built and split"
                                         : "set drop_last = false, or a batch_size <= the number of "
                                           "samples"});
  }
}

void check_optimizer_config(DiagnosticCollector& problems, const OptimizerConfig& config,
                            const LightningModule& module, const Settings& settings) {
  const bool automatic_optimization = module.automatic_optimization;
  const auto& optimizers = config.optimizers();
  if (module.step_is_missing("configure_optimizers")) {
    problems.error({.code = "LC0316",
                    .message = "the module has no `configure_optimizers`, which `fit` needs",
                    .subject = {"configure_optimizers"},
                    .received = "the default LightningModule::configure_optimizers",
                    .expected = "an override returning the optimizer(s) that train the module",
                    .help = "define `pl::OptimizerConfig configure_optimizers() override { return "
                            "std::make_unique<torch::optim::Adam>(parameters()); }`"});
  } else if (automatic_optimization && optimizers.empty()) {
    problems.warn({.code = "LC0306",
                   .message = "`configure_optimizers` returned no optimizer: this fit runs no "
                              "optimizer step",
                   .subject = {"configure_optimizers"},
                   .received = "no optimizer",
                   .expected = "an optimizer, e.g. std::make_unique<torch::optim::Adam>(parameters())",
                   .help = "return an optimizer from configure_optimizers"});
  }
  if (automatic_optimization && optimizers.size() > 1) {
    problems.error({.code = "LC0312",
                    .message = "several optimizers need manual optimization",
                    .subject = {"configure_optimizers"},
                    .received = fmt::format("{} optimizers with automatic_optimization = true",
                                            optimizers.size()),
                    .expected = "one optimizer, or automatic_optimization = false",
                    .help = "set `automatic_optimization = false` in the module's constructor and "
                            "step each optimizer in training_step (see examples/gan)"});
  }
  if (!automatic_optimization && settings.accumulate_grad_batches > 1) {
    problems.error({.code = "LC0311",
                    .message = "`accumulate_grad_batches` does not apply to manual optimization",
                    .subject = {"Trainer", {"accumulate_grad_batches"}},
                    .received = std::to_string(settings.accumulate_grad_batches),
                    .expected = "1 with automatic_optimization = false",
                    .help = "accumulate in training_step: step the optimizer every N batches yourself"});
  }
  if (!automatic_optimization && settings.strategy.gradient_clip_val) {
    problems.error({.code = "LC0313",
                    .message = "`gradient_clip_val` does not apply to manual optimization",
                    .subject = {"Trainer", {"gradient_clip_val"}},
                    .received = fmt::format("{}", *settings.strategy.gradient_clip_val),
                    .expected = "no gradient_clip_val with automatic_optimization = false",
                    .help = "clip in training_step, between manual_backward and step, with "
                            "torch::nn::utils::clip_grad_norm_"});
  }
  std::set<const void*> own;
  for (const auto& p : module.parameters()) own.insert(p.unsafeGetTensorImpl());
  for (std::size_t i = 0; i < optimizers.size(); ++i) {
    bool trains_module = false;
    std::size_t count = 0;
    for (const auto& group : optimizers[i]->param_groups()) {
      for (const auto& p : group.params()) {
        ++count;
        trains_module = trains_module || own.contains(p.unsafeGetTensorImpl());
      }
    }
    if (trains_module) continue;
    problems.error({.code = "LC0315",
                    .message = fmt::format("optimizer {} holds no parameter of the module", i),
                    .subject = {"configure_optimizers"},
                    .received = fmt::format("an optimizer of {} tensors, none of them the module's {} parameters", count,
                                            own.size()),
                    .expected = "an optimizer built on this module's parameters",
                    .help = "build it on `parameters()` of the module being trained (not a copy, nor another "
                            "module)"});
  }
  for (std::size_t i = 0; i < config.schedulers().size(); ++i) {
    const auto& [scheduler, options] = config.schedulers()[i];
    // SchedulerOptions' own fields are options (a config sets them under lr_scheduler); the
    // scheduler itself is a place in configure_optimizers.
    const std::string which = fmt::format("of scheduler {} ({}) in configure_optimizers", i, scheduler->name());
    const auto scheduler_option = [&](const char* name) { return Subject{"SchedulerOptions", {name}, i, which}; };
    const Subject returned{fmt::format("configure_optimizers: scheduler {} ({})", i, scheduler->name())};
    if (options.interval != "step" && options.interval != "epoch") {
      auto d = unknown_choice("LC0308",
                              fmt::format("scheduler option `interval` has an unknown value \"{}\"",
                                          options.interval),
                              scheduler_option("interval"), options.interval, {"epoch", "step"});
      problems.error(std::move(d));
    }
    if (options.frequency < 1) {
      problems.error({.code = "LC0309",
                      .message = "scheduler option `frequency` must be >= 1",
                      .subject = scheduler_option("frequency"),
                      .received = std::to_string(options.frequency),
                      .expected = "an integer >= 1",
                      .help = "use 1 to step every interval"});
    }
    if (scheduler->requires_metric() && options.monitor.empty()) {
      problems.error({.code = "LC0307",
                      .message = fmt::format("{} needs a metric to monitor", scheduler->name()),
                      .subject = scheduler_option("monitor"),
                      .received = "monitor = \"\"",
                      .expected = "the name of a logged metric",
                      .help = "add_scheduler(..., {.monitor = \"val_loss\"})"});
    }
    const bool owned = std::any_of(optimizers.begin(), optimizers.end(), [&](const auto& optimizer) {
      return optimizer.get() == &scheduler->optimizer();
    });
    if (!owned) {
      problems.error({.code = "LC0310",
                      .message = fmt::format("{} schedules an optimizer that configure_optimizers "
                                             "did not return",
                                             scheduler->name()),
                      .subject = returned,
                      .received = "a scheduler built on another optimizer",
                      .expected = "a scheduler built on an optimizer added to the same OptimizerConfig",
                      .help = "build the scheduler on the reference that OptimizerConfig::add returns"});
    }
  }
}

void check_val_check_interval(DiagnosticCollector& problems, const Settings& settings,
                              int64_t num_training_batches, bool has_validation) {
  const auto& interval = settings.val_check_interval;
  if (!has_validation || !interval.is_count() || !settings.check_val_every_n_epoch) return;
  if (interval.count() <= num_training_batches) return;
  problems.error({.code = "LC0117",
                  .message = "`val_check_interval` is larger than the number of training batches, "
                             "so validation would never run",
                  .subject = {"Trainer", {"val_check_interval"}},
                  .received = fmt::format("{} with {} training batches per epoch", interval.count(),
                                          num_training_batches),
                  .expected = fmt::format("at most {} batches, or a fraction of an epoch", num_training_batches),
                  .help = "use a smaller count, a fraction such as 0.5, or .check_val_every_n_epoch = "
                          "std::nullopt to count batches across epochs"});
}

}  // namespace lightning::detail
