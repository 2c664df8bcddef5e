#include <lightning/cli/registry.h>

#include <lightning/callbacks/timer.h>
#include <lightning/trainer/trainer.h>

#include "loggers/formatting.h"

#include <fmt/format.h>

#include <cmath>

namespace lightning::cli {
namespace {

/// yaml-cpp's scalar conversion, or nullopt; a null never converts to a value.
template <class T>
std::optional<T> scalar(const YAML::Node& node) {
  if (!node.IsScalar() || node.IsNull()) return std::nullopt;
  T value;
  if (!YAML::convert<T>::decode(node, value)) return std::nullopt;
  return value;
}

/// A plain (unquoted) scalar; quoted "5" is a string, not a number.
bool plain(const YAML::Node& node) { return node.Tag() != "!"; }

template <class T>
std::optional<std::vector<T>> list(const YAML::Node& node) {
  if (!node.IsSequence()) return std::nullopt;
  std::vector<T> values;
  for (const auto& item : node) {
    auto value = ValueTraits<T>::from_yaml(item);
    if (!value) return std::nullopt;
    values.push_back(std::move(*value));
  }
  return values;
}

template <class T>
YAML::Node list_node(const std::vector<T>& values) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& value : values) node.push_back(ValueTraits<T>::to_yaml(value));
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

/// std::optional<T>: null, or T. The outer optional is "converted or not".
template <class T>
std::optional<std::optional<T>> nullable(const YAML::Node& node) {
  std::optional<std::optional<T>> result;
  if (node.IsNull()) {
    result.emplace();  // converted: to "unset"
    return result;
  }
  auto value = ValueTraits<T>::from_yaml(node);
  if (!value) return std::nullopt;
  return std::optional<T>{std::move(*value)};
}

template <class T>
YAML::Node nullable_node(const std::optional<T>& value) {
  return value ? ValueTraits<T>::to_yaml(*value) : YAML::Node(YAML::NodeType::Null);
}

}  // namespace

std::string ValueTraits<bool>::type_name() { return "bool"; }
YAML::Node ValueTraits<bool>::to_yaml(const bool& value) { return YAML::Node(value); }
std::optional<bool> ValueTraits<bool>::from_yaml(const YAML::Node& node) {
  return plain(node) ? scalar<bool>(node) : std::nullopt;
}

std::string ValueTraits<int64_t>::type_name() { return "int"; }
YAML::Node ValueTraits<int64_t>::to_yaml(const int64_t& value) { return YAML::Node(value); }
std::optional<int64_t> ValueTraits<int64_t>::from_yaml(const YAML::Node& node) {
  return plain(node) ? scalar<int64_t>(node) : std::nullopt;
}

std::string ValueTraits<double>::type_name() { return "float"; }
// "1.0", not "1": a float must read back as a float (a limit of 1.0 is every batch, 1 is one batch).
YAML::Node ValueTraits<double>::to_yaml(const double& value) {
  if (std::isnan(value)) return YAML::Node(".nan");
  if (std::isinf(value)) return YAML::Node(value > 0 ? ".inf" : "-.inf");
  return YAML::Node(lightning::detail::python_float_text(value));
}
std::optional<double> ValueTraits<double>::from_yaml(const YAML::Node& node) {
  return plain(node) ? scalar<double>(node) : std::nullopt;
}

std::string ValueTraits<std::string>::type_name() { return "str"; }
YAML::Node ValueTraits<std::string>::to_yaml(const std::string& value) { return YAML::Node(value); }
std::optional<std::string> ValueTraits<std::string>::from_yaml(const YAML::Node& node) {
  return scalar<std::string>(node);
}

#define LIGHTNING_CLI_NULLABLE(T)                                                                    \
  std::string ValueTraits<std::optional<T>>::type_name() { return ValueTraits<T>::type_name() + " | null"; } \
  YAML::Node ValueTraits<std::optional<T>>::to_yaml(const std::optional<T>& value) { return nullable_node(value); } \
  std::optional<std::optional<T>> ValueTraits<std::optional<T>>::from_yaml(const YAML::Node& node) { \
    return nullable<T>(node);                                                                       \
  }
LIGHTNING_CLI_NULLABLE(bool)
LIGHTNING_CLI_NULLABLE(int64_t)
LIGHTNING_CLI_NULLABLE(double)
LIGHTNING_CLI_NULLABLE(std::string)
#undef LIGHTNING_CLI_NULLABLE

#define LIGHTNING_CLI_LIST(T)                                                                        \
  std::string ValueTraits<std::vector<T>>::type_name() { return "list[" + ValueTraits<T>::type_name() + "]"; } \
  YAML::Node ValueTraits<std::vector<T>>::to_yaml(const std::vector<T>& value) { return list_node(value); } \
  std::optional<std::vector<T>> ValueTraits<std::vector<T>>::from_yaml(const YAML::Node& node) { return list<T>(node); }
LIGHTNING_CLI_LIST(int64_t)
LIGHTNING_CLI_LIST(double)
LIGHTNING_CLI_LIST(std::string)
#undef LIGHTNING_CLI_LIST

using IntOrString = std::variant<int64_t, std::string>;
std::string ValueTraits<std::optional<IntOrString>>::type_name() { return "int | str | null"; }
YAML::Node ValueTraits<std::optional<IntOrString>>::to_yaml(const std::optional<IntOrString>& value) {
  if (!value) return YAML::Node(YAML::NodeType::Null);
  return std::visit([](const auto& v) { return YAML::Node(v); }, *value);
}
std::optional<std::optional<IntOrString>> ValueTraits<std::optional<IntOrString>>::from_yaml(const YAML::Node& node) {
  if (node.IsNull()) return std::optional<IntOrString>{};
  if (auto count = ValueTraits<int64_t>::from_yaml(node)) return std::optional<IntOrString>{*count};
  if (auto text = scalar<std::string>(node)) return std::optional<IntOrString>{*text};
  return std::nullopt;
}

using Seconds = std::chrono::duration<double>;
std::string ValueTraits<std::optional<Seconds>>::type_name() { return "str (\"DD:HH:MM:SS\") | float (seconds) | null"; }
YAML::Node ValueTraits<std::optional<Seconds>>::to_yaml(const std::optional<Seconds>& value) {
  return value ? ValueTraits<double>::to_yaml(value->count()) : YAML::Node(YAML::NodeType::Null);
}
std::optional<std::optional<Seconds>> ValueTraits<std::optional<Seconds>>::from_yaml(const YAML::Node& node) {
  if (node.IsNull()) return std::optional<Seconds>{};
  if (auto seconds = ValueTraits<double>::from_yaml(node)) return std::optional<Seconds>{Seconds(*seconds)};
  if (auto text = scalar<std::string>(node)) {
    if (auto duration = parse_duration(*text)) return std::optional<Seconds>{*duration};
  }
  return std::nullopt;
}

std::string ValueTraits<CountOrFraction>::type_name() { return "int (batches) | float (fraction)"; }
YAML::Node ValueTraits<CountOrFraction>::to_yaml(const CountOrFraction& value) {
  return value.is_count() ? YAML::Node(value.count()) : ValueTraits<double>::to_yaml(value.fraction());
}
std::optional<CountOrFraction> ValueTraits<CountOrFraction>::from_yaml(const YAML::Node& node) {
  if (auto count = ValueTraits<int64_t>::from_yaml(node)) return CountOrFraction(*count);
  if (auto fraction = ValueTraits<double>::from_yaml(node)) return CountOrFraction(*fraction);
  return std::nullopt;
}

std::string ValueTraits<Devices>::type_name() { return "int | str | list[int]"; }
YAML::Node ValueTraits<Devices>::to_yaml(const Devices& value) {
  return std::visit(
      [](const auto& v) -> YAML::Node {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<int64_t>>) {
          return ValueTraits<std::vector<int64_t>>::to_yaml(v);
        } else {
          return YAML::Node(v);
        }
      },
      value.value());
}
std::optional<Devices> ValueTraits<Devices>::from_yaml(const YAML::Node& node) {
  if (auto count = ValueTraits<int64_t>::from_yaml(node)) return Devices(static_cast<int>(*count));
  if (auto ids = ValueTraits<std::vector<int64_t>>::from_yaml(node)) return Devices(*ids);
  if (auto spec = scalar<std::string>(node)) return Devices(*spec);
  return std::nullopt;
}

// A strategy by name, or Lightning's DDPStrategy with its init_args:
//   strategy: {class_path: DDPStrategy, init_args: {timeout: 300, bucket_cap_mb: 50, process_group_backend: gloo}}
std::string ValueTraits<StrategyOption>::type_name() {
  return "str | {class_path: DDPStrategy, init_args: {timeout: float (seconds) | str (\"DD:HH:MM:SS\"), "
         "bucket_cap_mb: float, process_group_backend: str, find_unused_parameters: bool (always handled)}}";
}
YAML::Node ValueTraits<StrategyOption>::to_yaml(const StrategyOption& value) {
  const DDPStrategy& ddp = value.ddp();
  const DDPStrategy defaults;
  if (value.name() != "ddp" || (ddp.timeout == defaults.timeout && ddp.bucket_cap_mb == defaults.bucket_cap_mb &&
                                ddp.process_group_backend == defaults.process_group_backend)) {
    return YAML::Node(value.name());
  }
  YAML::Node node;
  node["class_path"] = "DDPStrategy";
  node["init_args"]["timeout"] = ValueTraits<double>::to_yaml(std::chrono::duration<double>(ddp.timeout).count());
  node["init_args"]["bucket_cap_mb"] = ValueTraits<double>::to_yaml(ddp.bucket_cap_mb);
  node["init_args"]["process_group_backend"] = ddp.process_group_backend;
  return node;
}
std::optional<StrategyOption> ValueTraits<StrategyOption>::from_yaml(const YAML::Node& node) {
  if (auto name = scalar<std::string>(node)) return StrategyOption(*name);
  if (!node.IsMap()) return std::nullopt;
  const auto class_path = node["class_path"] ? scalar<std::string>(node["class_path"]) : std::nullopt;
  if (class_path != "DDPStrategy" && class_path != "lightning.pytorch.strategies.DDPStrategy") return std::nullopt;
  for (const auto& item : node) {
    const auto key = item.first.as<std::string>();
    if (key != "class_path" && key != "init_args") return std::nullopt;
  }
  DDPStrategy ddp;
  if (const YAML::Node args = node["init_args"]; args && !args.IsNull()) {
    if (!args.IsMap()) return std::nullopt;
    for (const auto& item : args) {
      const auto key = item.first.as<std::string>();
      if (key == "timeout") {
        auto seconds = ValueTraits<std::optional<std::chrono::duration<double>>>::from_yaml(item.second);
        if (!seconds || !*seconds) return std::nullopt;
        ddp.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(**seconds);
      } else if (key == "bucket_cap_mb") {
        auto megabytes = ValueTraits<double>::from_yaml(item.second);
        if (!megabytes) return std::nullopt;
        ddp.bucket_cap_mb = *megabytes;
      } else if (key == "process_group_backend") {
        auto backend = item.second.IsNull() ? std::optional<std::string>("") : scalar<std::string>(item.second);
        if (!backend) return std::nullopt;
        ddp.process_group_backend = *backend;
      } else if (key == "find_unused_parameters") {
        // Lightning's configs carry it; parameters unused on some ranks are always handled here.
        if (!ValueTraits<bool>::from_yaml(item.second)) return std::nullopt;
      } else {
        return std::nullopt;
      }
    }
  }
  return StrategyOption(ddp);
}

template <class Base>
Registry<Base>& Registry<Base>::instance() {
  static Registry registry;
  return registry;
}

template <class Base>
bool Registry<Base>::add(ClassEntry<Base> entry) {
  if (find(entry.name) != nullptr) return false;
  entries_.push_back(std::move(entry));
  return true;
}

template <class Base>
const ClassEntry<Base>* Registry<Base>::find(const std::string& name) const {
  for (const auto& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

template <class Base>
std::vector<std::string> Registry<Base>::names() const {
  std::vector<std::string> names;
  for (const auto& entry : entries_) names.push_back(entry.name);
  return names;
}

template class Registry<LightningModule>;
template class Registry<DataModule>;
template class Registry<Callback>;
template class Registry<Logger>;
template class Registry<OptimizerFactory>;
template class Registry<SchedulerFactory>;

}  // namespace lightning::cli
