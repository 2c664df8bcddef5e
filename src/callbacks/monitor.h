#pragma once
// What the callbacks that watch a metric (ModelCheckpoint, EarlyStopping) share.

#include <lightning/core/trainer_view.h>
#include <lightning/diagnostics/diagnostic.h>

#include <map>
#include <set>
#include <string>

namespace lightning::detail {

/// The values a monitor may name: the callback metrics, plus "epoch" and "step" (Lightning's
/// `_monitor_candidates`).
std::map<std::string, double> monitor_candidates(const TrainerView& trainer);

/// `owner` ("ModelCheckpoint") monitors a metric the module does not log.
Diagnostic unlogged_monitor_diagnostic(std::string code, const std::string& owner, const std::string& monitor,
                                       const std::set<std::string>& logged_keys);

}  // namespace lightning::detail
