#pragma once
// TensorBoard's Event messages, serialized. Built apart from the rest of the library, without
// LibTorch's headers: a LibTorch from pip carries protobuf headers of another version, which
// would shadow those our generated code needs.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace lightning::detail::tensorboard_events {

/// The first event of every file: its format version.
std::string file_version(double wall_time);

/// One event holding a scalar summary per tag, at `step`.
std::string scalars(const std::map<std::string, double>& values, int64_t step, double wall_time);

/// What torch.utils.tensorboard's hparams() writes: the experiment (names and types, and
/// "hp_metric" when `hp_metric`), the session's values, and its end, one event each, for the
/// "hparams" plugin.
using HParamValue = std::variant<bool, int64_t, double, std::string>;
std::vector<std::string> hparams(const std::map<std::string, HParamValue>& values, bool hp_metric, double wall_time);

}  // namespace lightning::detail::tensorboard_events
