#pragma once
// The class registry of config files: every class a config may name in `class_path`, with its init
// arguments declared once (name, type, default, help), so that a config is checked, completed and
// explained before anything is built.
//
//   struct ClassifierOptions { int64_t hidden = 64; double lr = 1e-3; };
//   struct Classifier : pl::LightningModule { explicit Classifier(ClassifierOptions options); ... };
//   LIGHTNING_REGISTER_MODEL(Classifier,
//                            pl::cli::arg("hidden", &ClassifierOptions::hidden, "units in the hidden layer"),
//                            pl::cli::arg("lr", &ClassifierOptions::lr, "Adam's learning rate"));

#include <lightning/callbacks/callback.h>
#include <lightning/core/datamodule.h>
#include <lightning/core/lr_scheduler.h>
#include <lightning/core/module.h>
#include <lightning/loggers/logger.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lightning {
class CountOrFraction;
class Devices;
class StrategyOption;
}  // namespace lightning

namespace lightning::cli {

/// What an `optimizer:` section builds: an optimizer over the model's parameters, made when the
/// trainer asks the model for its optimizers (LightningCLI replaces `configure_optimizers`).
class OptimizerFactory {
 public:
  virtual ~OptimizerFactory() = default;
  virtual std::unique_ptr<torch::optim::Optimizer> make(std::vector<at::Tensor> parameters) const = 0;
};

/// What an `lr_scheduler:` section builds: a scheduler over that optimizer, with its settings.
class SchedulerFactory {
 public:
  virtual ~SchedulerFactory() = default;
  virtual std::unique_ptr<LRScheduler> make(torch::optim::Optimizer& optimizer) const = 0;
  virtual SchedulerOptions options() const { return {}; }
};

/// How values of one C++ type are read from and written to a config. Defined for bool, int64_t,
/// double, std::string, std::optional of those, lists of int64_t, double and std::string, and the
/// Trainer's CountOrFraction, Devices and StrategyOption (by name).
template <class T>
struct ValueTraits;

#define LIGHTNING_CLI_VALUE(...)                                          \
  template <>                                                             \
  struct ValueTraits<__VA_ARGS__> {                                       \
    static std::string type_name();                                       \
    static YAML::Node to_yaml(const __VA_ARGS__& value);                  \
    /** nullopt when the node does not hold this type. */                \
    static std::optional<__VA_ARGS__> from_yaml(const YAML::Node& node);  \
  }
LIGHTNING_CLI_VALUE(bool);
LIGHTNING_CLI_VALUE(int64_t);
LIGHTNING_CLI_VALUE(double);
LIGHTNING_CLI_VALUE(std::string);
LIGHTNING_CLI_VALUE(std::optional<bool>);
LIGHTNING_CLI_VALUE(std::optional<int64_t>);
LIGHTNING_CLI_VALUE(std::optional<double>);
LIGHTNING_CLI_VALUE(std::optional<std::string>);
LIGHTNING_CLI_VALUE(std::vector<int64_t>);
LIGHTNING_CLI_VALUE(std::vector<double>);
LIGHTNING_CLI_VALUE(std::vector<std::string>);
LIGHTNING_CLI_VALUE(std::optional<std::variant<int64_t, std::string>>);
LIGHTNING_CLI_VALUE(std::optional<std::chrono::duration<double>>);
LIGHTNING_CLI_VALUE(CountOrFraction);
LIGHTNING_CLI_VALUE(Devices);
LIGHTNING_CLI_VALUE(StrategyOption);
#undef LIGHTNING_CLI_VALUE

template <class T>
concept ConfigValue = requires { ValueTraits<T>::type_name(); };

/// One init argument, type-erased: what `--help` and `--print_config` show, and how a config value
/// lands in the options struct.
template <class Options>
struct Argument {
  std::string name;
  std::string type;       ///< "int", "float", "bool", "str", "int | null", "list[int]", ...
  std::string help;
  bool required = false;
  std::function<YAML::Node(const Options&)> get;
  /// False when the node does not hold the argument's type (the options are left untouched).
  std::function<bool(const YAML::Node&, Options&)> set;
};

/// `arg("hidden", &Options::hidden, "units")`: an init argument whose default is the member's
/// default in a value-initialized `Options`.
template <class Options, class V>
Argument<Options> arg(std::string name, V Options::*member, std::string help = "") {
  static_assert(ConfigValue<V>,
                "lightning::cli::arg: this member's type cannot be read from a config; use bool, int64_t, "
                "double, std::string, std::optional of those, or std::vector<int64_t/double/std::string>");
  return {.name = std::move(name),
          .type = ValueTraits<V>::type_name(),
          .help = std::move(help),
          .required = false,
          .get = [member](const Options& options) { return ValueTraits<V>::to_yaml(options.*member); },
          .set = [member](const YAML::Node& node, Options& options) {
            auto value = ValueTraits<V>::from_yaml(node);
            if (value) options.*member = std::move(*value);
            return value.has_value();
          }};
}

/// An init argument the config must give (it has no useful default).
template <class Options, class V>
Argument<Options> required_arg(std::string name, V Options::*member, std::string help = "") {
  auto argument = arg(std::move(name), member, std::move(help));
  argument.required = true;
  return argument;
}

/// An init argument as `--help` shows it.
struct ArgumentInfo {
  std::string name;
  std::string type;
  std::string help;
  bool required = false;
};

/// Problems found while filling init arguments, by argument name; the config layer turns them into
/// diagnostics with file locations.
struct ArgumentProblem {
  enum class Kind { kUnknown, kWrongType, kMissing };
  Kind kind;
  std::string argument;
};

/// A registered class, whatever its options struct.
template <class Base>
struct ClassEntry {
  std::string name;
  std::vector<ArgumentInfo> arguments;
  /// Every argument with its default, as a YAML map (what `--print_config` fills in).
  std::function<YAML::Node()> defaults;
  /// Reads `init_args` (a map or null); returns the problems, or builds the instance when there are
  /// none. Construction may throw MisconfigurationException (the class checks its options).
  std::function<std::shared_ptr<Base>(const YAML::Node& init_args, std::vector<ArgumentProblem>& problems)> make;
};

/// The classes one kind of section may name, in registration order.
template <class Base>
class Registry {
 public:
  static Registry& instance();
  /// Registers a class; a name registered before is kept and `add` returns false (a program's own
  /// registrations run before `main` and so win over the built-ins of the same name).
  bool add(ClassEntry<Base> entry);
  const ClassEntry<Base>* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<ClassEntry<Base>> entries_;
};

extern template class Registry<LightningModule>;
extern template class Registry<DataModule>;
extern template class Registry<Callback>;
extern template class Registry<Logger>;
extern template class Registry<OptimizerFactory>;
extern template class Registry<SchedulerFactory>;

namespace detail {
template <class Base, class Options>
ClassEntry<Base> make_entry(std::string name, std::vector<Argument<Options>> arguments,
                            std::function<std::shared_ptr<Base>(Options)> factory) {
  ClassEntry<Base> entry;
  entry.name = std::move(name);
  for (const auto& a : arguments) entry.arguments.push_back({a.name, a.type, a.help, a.required});
  entry.defaults = [arguments] {
    YAML::Node map(YAML::NodeType::Map);
    const Options defaults{};
    for (const auto& a : arguments) map[a.name] = a.get(defaults);
    return map;
  };
  entry.make = [arguments, factory](const YAML::Node& init_args, std::vector<ArgumentProblem>& problems)
      -> std::shared_ptr<Base> {
    Options options{};
    std::vector<std::string> given;
    if (init_args.IsMap()) {  // the config layer has checked that it is a map or null
      for (const auto& entry : init_args) {
        const auto key = entry.first.as<std::string>();
        given.push_back(key);
        auto a = std::find_if(arguments.begin(), arguments.end(), [&](const auto& x) { return x.name == key; });
        if (a == arguments.end()) {
          problems.push_back({ArgumentProblem::Kind::kUnknown, key});
        } else if (!a->set(entry.second, options)) {
          problems.push_back({ArgumentProblem::Kind::kWrongType, key});
        }
      }
    }
    for (const auto& a : arguments) {
      if (a.required && std::find(given.begin(), given.end(), a.name) == given.end()) {
        problems.push_back({ArgumentProblem::Kind::kMissing, a.name});
      }
    }
    if (!problems.empty()) return nullptr;
    return factory(std::move(options));
  };
  return entry;
}
}  // namespace detail

/// Registers a class built by `factory` from its filled options struct.
template <class Base, class Options>
bool register_factory(std::string name, std::vector<Argument<Options>> arguments,
                      std::function<std::shared_ptr<Base>(Options)> factory) {
  return Registry<Base>::instance().add(
      detail::make_entry<Base, Options>(std::move(name), std::move(arguments), std::move(factory)));
}

/// Registers `T`, built as `T(options)` from the arguments given.
template <class Base, class T, class Options>
bool register_class(std::string name, std::vector<Argument<Options>> arguments) {
  static_assert(std::is_base_of_v<Base, T>, "lightning::cli::register_class: T must derive from the section's base");
  return register_factory<Base, Options>(std::move(name), std::move(arguments), [](Options options) -> std::shared_ptr<Base> {
    return std::make_shared<T>(std::move(options));
  });
}

/// `register_class<LightningModule, Classifier>("Classifier", arg(...), arg(...))`.
template <class Base, class T, class Options, class... More>
bool register_class(std::string name, Argument<Options> first, More... more) {
  return register_class<Base, T, Options>(std::move(name), std::vector<Argument<Options>>{std::move(first), std::move(more)...});
}

/// Registers `T`, built as `T()`: a class without init arguments.
template <class Base, class T>
bool register_class(std::string name) {
  static_assert(std::is_base_of_v<Base, T>, "lightning::cli::register_class: T must derive from the section's base");
  return register_factory<Base, std::monostate>(std::move(name), {},
                                                [](std::monostate) -> std::shared_ptr<Base> { return std::make_shared<T>(); });
}

}  // namespace lightning::cli

#define LIGHTNING_CLI_REGISTER_(Base, Class, ...)                                 \
  [[maybe_unused]] static const bool lightning_cli_registered_##Class =          \
      ::lightning::cli::register_class<Base, Class>(#Class __VA_OPT__(, ) __VA_ARGS__)
/// Makes a LightningModule nameable as `model: {class_path: Class}`; the arguments come from
/// `lightning::cli::arg` over the members of the options struct its constructor takes.
#define LIGHTNING_REGISTER_MODEL(Class, ...) LIGHTNING_CLI_REGISTER_(::lightning::LightningModule, Class, __VA_ARGS__)
#define LIGHTNING_REGISTER_DATAMODULE(Class, ...) LIGHTNING_CLI_REGISTER_(::lightning::DataModule, Class, __VA_ARGS__)
#define LIGHTNING_REGISTER_CALLBACK(Class, ...) LIGHTNING_CLI_REGISTER_(::lightning::Callback, Class, __VA_ARGS__)
#define LIGHTNING_REGISTER_LOGGER(Class, ...) LIGHTNING_CLI_REGISTER_(::lightning::Logger, Class, __VA_ARGS__)
/// `Class` derives from OptimizerFactory (or SchedulerFactory) and takes its options struct.
#define LIGHTNING_REGISTER_OPTIMIZER(Class, ...) \
  LIGHTNING_CLI_REGISTER_(::lightning::cli::OptimizerFactory, Class, __VA_ARGS__)
#define LIGHTNING_REGISTER_LR_SCHEDULER(Class, ...) \
  LIGHTNING_CLI_REGISTER_(::lightning::cli::SchedulerFactory, Class, __VA_ARGS__)
