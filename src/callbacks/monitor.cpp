#include "callbacks/monitor.h"

#include <fmt/format.h>

#include <vector>

namespace lightning::detail {

std::map<std::string, double> monitor_candidates(const TrainerView& trainer) {
  std::map<std::string, double> candidates = trainer.callback_metrics();
  candidates.try_emplace("epoch", static_cast<double>(trainer.current_epoch()));
  candidates["step"] = static_cast<double>(trainer.global_step());
  return candidates;
}

Diagnostic unlogged_monitor_diagnostic(std::string code, const std::string& owner, const std::string& monitor,
                                       const std::set<std::string>& logged_keys) {
  const std::vector<std::string> available(logged_keys.begin(), logged_keys.end());
  Diagnostic d{.code = std::move(code),
               .message = fmt::format("{} monitors \"{}\", which the module does not log", owner, monitor),
               .subject = {std::string(owner), {"monitor"}},
               .received = fmt::format("\"{}\"", monitor),
               .expected = available.empty() ? "a logged metric (none was logged)" : one_of(available)};
  if (auto suggestion = did_you_mean(monitor, available)) {
    d.help = fmt::format("did you mean \"{}\"?", *suggestion);
  } else {
    d.help = fmt::format("log it, e.g. log(\"{}\", value) in validation_step, or monitor one of the logged metrics",
                         monitor);
  }
  return d;
}

}  // namespace lightning::detail
