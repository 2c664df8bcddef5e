#include "loggers/formatting.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <regex>

namespace lightning::detail {
namespace fs = std::filesystem;

std::string version_folder(const fs::path& root, const std::optional<std::variant<int64_t, std::string>>& version) {
  if (version) {
    if (const auto* number = std::get_if<int64_t>(&*version)) return fmt::format("version_{}", *number);
    return std::get<std::string>(*version);
  }
  static const std::regex pattern(R"(version_(\d+))");
  int64_t next = 0;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    std::smatch match;
    const std::string name = it->path().filename().string();
    if (it->is_directory(error) && std::regex_match(name, match, pattern)) {
      next = std::max<int64_t>(next, std::stoll(match[1].str()) + 1);
    }
  }
  return fmt::format("version_{}", next);
}

std::string metric_text(const std::string& name, double value) {
  if ((name == "epoch" || name == "step") && std::isfinite(value)) return fmt::format("{}", static_cast<int64_t>(value));
  return python_float_text(value);
}

std::string python_float_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string text = fmt::format("{}", value);  // shortest round trip, as Python's repr
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

void write_hparams_yaml(const fs::path& file, const HyperParameters& hparams) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [key, value] : hparams) {
    out << YAML::Key << key << YAML::Value;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            out << python_float_text(v);  // "0.1", not yaml-cpp's 17 digits
          } else {
            out << v;
          }
        },
        value);
  }
  out << YAML::EndMap;
  std::ofstream stream(file, std::ios::trunc);
  stream << out.c_str() << "\n";
  if (!stream) throw fs::filesystem_error("cannot write", file, std::make_error_code(std::errc::io_error));
}

}  // namespace lightning::detail
