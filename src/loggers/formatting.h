#pragma once
// What the loggers share: version folders, numbers written as Python writes them, hparams.yaml.

#include <lightning/core/module.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

namespace lightning::detail {

/// The version folder's name: "version_<N>" for a number, the text as given, or unset the next
/// free "version_<N>" under `root` (0 when there is none), as Lightning numbers them.
std::string version_folder(const std::filesystem::path& root,
                           const std::optional<std::variant<int64_t, std::string>>& version);

/// A number as Python's `str(float)` writes it: "0.1", "2.0", "1e-05", "nan".
std::string python_float_text(double value);

/// A logged value as Lightning writes it: "epoch" and "step" as integers, others as floats.
std::string metric_text(const std::string& name, double value);

/// Writes `hparams` as YAML (what Lightning's save_hparams_to_yaml writes; "{}" when empty).
void write_hparams_yaml(const std::filesystem::path& file, const HyperParameters& hparams);

}  // namespace lightning::detail
