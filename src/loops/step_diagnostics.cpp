#include "loops/step_diagnostics.h"

#include <fmt/format.h>

namespace lightning::detail {

Diagnostic missing_step(std::string_view step, std::string_view entry) {
  const char* code = step == "training_step"     ? "LC0301"
                     : step == "validation_step" ? "LC0303"
                     : step == "test_step"       ? "LC0304"
                                                 : "LC0305";
  const std::string fix = step == "training_step" ? "returning the loss"
                          : step == "validation_step"
                              ? "or do not pass validation loaders"
                              : fmt::format("or do not call `{}`", entry);
  return {.code = code,
          .message = fmt::format("the module has no `{}`, which `{}` needs", step, entry),
          .subject = {std::string(step)},
          .received = fmt::format("the default LightningModule::{}", step),
          .expected = fmt::format("an override of `{}(const pl::Batch& batch, int64_t batch_idx)`", step),
          .help = fmt::format("define `{}` in your LightningModule, {}", step, fix)};
}

Diagnostic unlogged_monitor(const LRScheduler& scheduler, const SchedulerOptions& options,
                            const std::vector<std::string>& available) {
  Diagnostic d{.code = "LC0314",
               .message = fmt::format("{} is conditioned on metric \"{}\", which the module does not log",
                                      scheduler.name(), options.monitor),
               .subject = {"SchedulerOptions", {"monitor"}, std::nullopt, "in configure_optimizers"},
               .received = fmt::format("\"{}\"", options.monitor),
               .expected = available.empty() ? "a logged metric (none was logged)" : one_of(available)};
  if (auto suggestion = did_you_mean(options.monitor, available)) {
    d.help = fmt::format("did you mean \"{}\"?", *suggestion);
  } else {
    d.help = fmt::format("log it with log(\"{}\", value), or monitor one of the logged metrics", options.monitor);
  }
  if (!options.strict) {
    d.severity = Severity::kWarning;
    d.help += " (strict = false: the scheduler is not stepped)";
  }
  return d;
}

}  // namespace lightning::detail
