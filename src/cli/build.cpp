#include "cli/build.h"

#include <lightning/demos/datamodules.h>
#include <lightning/demos/models.h>
#include <lightning/utilities/seed.h>

#include <fmt/format.h>

#include <random>

namespace lightning::cli {
namespace {

const std::vector<std::string> kSections = {"seed_everything", "trainer",      "model",    "data",
                                           "optimizer",       "lr_scheduler", "ckpt_path"};

/// A value as a diagnostic quotes it: "ten" for a plain scalar, [1, 2] for a list.
std::string rendered(const YAML::Node& node) {
  const std::string text = flow_yaml(node);
  return node.IsScalar() && node.Tag() != "!" ? fmt::format("\"{}\"", text) : text;
}

class Builder {
 public:
  Builder(Config& config, DiagnosticCollector& problems) : config_(config), problems_(problems) {}

  void error(Diagnostic d, const std::string& key, bool at_key = false) {
    d.subject = {key};
    d.location = at_key ? config_.key_location(key) : config_.value_location(key);
    problems_.error(std::move(d));
  }

  void unknown_key(const std::string& parent, const std::string& name, const std::vector<std::string>& known,
                   const std::string& what) {
    const auto key = child_key(parent, name);
    auto d = unknown_choice("LC0703", fmt::format("unknown key `{}` in {}", key, what), {key}, name, known);
    d.received = fmt::format("\"{}\"", name);
    if (d.help.empty()) d.help = "remove it, or use one of the keys above";
    error(std::move(d), key, true);
  }

  void wrong_type(const std::string& key, const YAML::Node& value, const std::string& type) {
    error({.code = "LC0704",
           .message = fmt::format("`{}` must be {}", key, type),
           .received = rendered(value),
           .expected = type,
           .help = fmt::format("write a value of type {} (`--print_config` shows every default)", type)},
          key);
  }

  /// Reads one class section (`{class_path, init_args}` or a bare class name) and builds it.
  template <class Base>
  std::shared_ptr<Base> build_class(const YAML::Node& spec, const std::string& key, const std::string& kind) {
    YAML::Node class_path, init_args;
    if (spec.IsScalar() && !spec.IsNull()) {
      class_path.reset(spec);
    } else if (spec.IsMap()) {
      for (const auto& entry : spec) {
        const auto name = entry.first.as<std::string>();
        if (name == "class_path") {
          class_path.reset(entry.second);
        } else if (name == "init_args") {
          init_args.reset(entry.second);
        } else {
          unknown_key(key, name, {"class_path", "init_args"}, fmt::format("a {} section", kind));
        }
      }
    } else {
      wrong_type(key, spec, fmt::format("a {} (`class_path:` and `init_args:`, or a class name)", kind));
      return nullptr;
    }
    if (!class_path || class_path.IsNull()) {
      error({.code = "LC0708",
             .message = fmt::format("`{}` names no class", key),
             .expected = fmt::format("`class_path:` {}", one_of(Registry<Base>::instance().names())),
             .help = fmt::format("add `class_path: {}` under `{}`", first_or(Registry<Base>::instance().names()), key)},
            key);
      return nullptr;
    }
    const auto path_key = spec.IsMap() ? child_key(key, "class_path") : key;
    if (!class_path.IsScalar()) {
      wrong_type(path_key, class_path, "str (a registered class name)");
      return nullptr;
    }
    const auto name = class_path.Scalar();
    const auto* entry = Registry<Base>::instance().find(name);
    if (entry == nullptr) {
      auto d = unknown_choice("LC0705", fmt::format("`{}` names no registered {} class", path_key, kind), {path_key},
                              name, Registry<Base>::instance().names());
      d.received = fmt::format("\"{}\"", name);
      if (d.help.empty()) d.help = fmt::format("register it with LIGHTNING_REGISTER_{}(ClassName, ...)", macro_suffix(kind));
      error(std::move(d), path_key);
      return nullptr;
    }
    const auto args_key = child_key(key, "init_args");
    if (init_args && !init_args.IsMap() && !init_args.IsNull()) {
      wrong_type(args_key, init_args, "a map of init arguments");
      return nullptr;
    }
    std::vector<ArgumentProblem> argument_problems;
    std::shared_ptr<Base> built;
    try {
      built = entry->make(init_args ? init_args : YAML::Node(YAML::NodeType::Null), argument_problems);
    } catch (const MisconfigurationException& e) {
      auto diagnostics = e.diagnostics();
      relocate(diagnostics, config_, {{name, key}});
      for (auto& d : diagnostics) problems_.error(std::move(d));
      return nullptr;
    }
    std::vector<std::string> names;
    for (const auto& a : entry->arguments) names.push_back(a.name);
    for (const auto& problem : argument_problems) {
      const auto arg_key = child_key(args_key, problem.argument);
      const auto info = std::find_if(entry->arguments.begin(), entry->arguments.end(),
                                     [&](const auto& a) { return a.name == problem.argument; });
      switch (problem.kind) {
        case ArgumentProblem::Kind::kUnknown:
          unknown_key(args_key, problem.argument, names, fmt::format("the init arguments of {}", name));
          break;
        case ArgumentProblem::Kind::kWrongType:
          wrong_type(arg_key, init_args[problem.argument], info->type);
          break;
        case ArgumentProblem::Kind::kMissing:
          error({.code = "LC0706",
                 .message = fmt::format("{} needs the init argument `{}`", name, problem.argument),
                 .expected = fmt::format("{} ({})", info->type, info->help),
                 .help = fmt::format("add `{}: ...` under `{}`", problem.argument, args_key)},
                arg_key);
          break;
      }
    }
    if (built) origins_.push_back({name, key});
    return built;
  }

  template <class Base>
  std::vector<std::shared_ptr<Base>> build_list(const YAML::Node& node, const std::string& key, const std::string& kind) {
    std::vector<std::shared_ptr<Base>> built;
    if (!node.IsSequence()) {
      if (auto one = build_class<Base>(node, key, kind)) {
        origins_.back().index = 0;
        built.push_back(one);
      }
      return built;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto one = build_class<Base>(node[i], item_key(key, i), kind)) {
        origins_.back().index = built.size();  // its place in the list the Trainer is given
        built.push_back(one);
      }
    }
    return built;
  }

  TrainerOptions trainer_options(const YAML::Node& section) {
    TrainerOptions options;
    if (!section || section.IsNull()) return options;
    if (!section.IsMap()) {
      wrong_type("trainer", section, "a map of Trainer options");
      return options;
    }
    std::vector<std::string> names{"callbacks", "logger"};
    for (const auto& a : trainer_arguments()) names.push_back(a.name);
    for (const auto& entry : section) {
      const auto name = entry.first.as<std::string>();
      const auto key = child_key("trainer", name);
      if (name == "callbacks") {
        if (!entry.second.IsNull()) options.callbacks = build_list<Callback>(entry.second, key, "callback");
      } else if (name == "logger") {
        if (auto enabled = ValueTraits<bool>::from_yaml(entry.second)) {
          options.logger = *enabled;
        } else if (!entry.second.IsNull()) {
          options.logger = build_list<Logger>(entry.second, key, "logger");
        }
      } else if (const auto* a = find_argument(name)) {
        if (!a->set(entry.second, options)) wrong_type(key, entry.second, a->type);
      } else {
        unknown_key("trainer", name, names, "the Trainer's options");
      }
    }
    return options;
  }

  Run build(std::vector<std::shared_ptr<Callback>> extra_callbacks) {
    Run run;
    const auto& root = config_.root();
    for (const auto& entry : root) {
      const auto name = entry.first.as<std::string>();
      if (std::find(kSections.begin(), kSections.end(), name) == kSections.end()) {
        unknown_key("", name, kSections, "the config's top level");
      }
    }
    // Seeded before anything is built, as Lightning does: the model's initial weights follow the seed.
    run.seed = seed(root["seed_everything"]);
    if (run.seed) seed_everything(static_cast<uint64_t>(*run.seed));
    if (const auto& ckpt = root["ckpt_path"]; ckpt && !ckpt.IsNull()) {
      if (auto path = ValueTraits<std::string>::from_yaml(ckpt)) {
        run.ckpt_path = *path;
      } else {
        wrong_type("ckpt_path", ckpt, "str | null");
      }
    }
    auto options = trainer_options(root["trainer"]);
    for (auto& callback : extra_callbacks) options.callbacks.push_back(std::move(callback));
    run.model = required_section<LightningModule>(root["model"], "model", "model");
    run.data = required_section<DataModule>(root["data"], "data", "data module");
    optimizers(root["optimizer"], root["lr_scheduler"], run.model);
    link_num_classes(run);
    // The Trainer checks a DDPStrategy's settings: they point back at trainer.strategy.init_args.
    const std::vector<Origin> trainer_origins = {{"Trainer", "trainer"}, {"DDPStrategy", "trainer.strategy"}};
    try {
      run.trainer = std::make_unique<Trainer>(std::move(options));
      origins_.insert(origins_.begin(), trainer_origins.begin(), trainer_origins.end());
    } catch (const MisconfigurationException& e) {
      auto diagnostics = e.diagnostics();
      auto origins = origins_;
      origins.insert(origins.begin(), trainer_origins.begin(), trainer_origins.end());
      relocate(diagnostics, config_, origins);
      for (auto& d : diagnostics) problems_.error(std::move(d));
    }
    run.origins = origins_;
    return run;
  }

 private:
  /// An MLPClassifier's classes are the labels a CSVDataModule without `num_classes` accepts: a
  /// label beyond them is found in the file, at its line, instead of failing the loss mid-training.
  static void link_num_classes(Run& run) {
    auto* data = dynamic_cast<demos::CSVDataModule*>(run.data.get());
    const auto* model = dynamic_cast<const demos::MLPClassifier*>(run.model.get());
    if (data != nullptr && model != nullptr) data->default_num_classes(model->options().out_features);
  }

  static const Argument<TrainerOptions>* find_argument(const std::string& name) {
    for (const auto& a : trainer_arguments()) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
  static std::string first_or(const std::vector<std::string>& names) { return names.empty() ? "MyClass" : names.front(); }
  static std::string macro_suffix(const std::string& kind) {
    if (kind == "data module") return "DATAMODULE";
    if (kind == "lr_scheduler") return "LR_SCHEDULER";
    std::string upper = kind;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper;
  }

  template <class Base>
  std::shared_ptr<Base> required_section(const YAML::Node& node, const std::string& key, const std::string& kind) {
    if (!node || node.IsNull()) {
      error({.code = "LC0708",
             .message = fmt::format("the config has no `{}:` section", key),
             .expected = fmt::format("a {} class, {}", kind, one_of(Registry<Base>::instance().names())),
             .help = fmt::format("add `{}:` with `class_path: {}`, or --{}={}", key,
                                 first_or(Registry<Base>::instance().names()), key,
                                 first_or(Registry<Base>::instance().names()))},
            key);
      return nullptr;
    }
    return build_class<Base>(node, key, kind);
  }

  /// LightningCLI's `optimizer:` and `lr_scheduler:`: they replace the model's configure_optimizers.
  void optimizers(const YAML::Node& optimizer_node, const YAML::Node& scheduler_node,
                  const std::shared_ptr<LightningModule>& model) {
    const bool has_optimizer = optimizer_node && !optimizer_node.IsNull();
    const bool has_scheduler = scheduler_node && !scheduler_node.IsNull();
    if (has_scheduler && !has_optimizer) {
      error({.code = "LC0709",
             .message = "an `lr_scheduler:` section needs an `optimizer:` section",
             .expected = "`optimizer:` with a class_path, e.g. Adam",
             .help = "add `optimizer: {class_path: Adam, init_args: {lr: 0.001}}`, or remove `lr_scheduler:` and "
                     "keep the model's configure_optimizers"},
            "lr_scheduler", true);
    }
    if (!has_optimizer) return;
    auto optimizer = build_class<OptimizerFactory>(optimizer_node, "optimizer", "optimizer");
    std::shared_ptr<SchedulerFactory> scheduler;
    if (has_scheduler) {
      scheduler = build_class<SchedulerFactory>(scheduler_node, "lr_scheduler", "lr_scheduler");
      if (scheduler) origins_.push_back({"SchedulerOptions", "lr_scheduler"});  // what the trainer checks of it
    }
    if (!optimizer || !model || (has_scheduler && !scheduler)) return;
    model->replace_configure_optimizers([optimizer, scheduler](LightningModule& module) {
      OptimizerConfig config;
      auto& made = config.add(optimizer->make(module.parameters()));
      if (scheduler) config.add_scheduler(scheduler->make(made), scheduler->options());
      return config;
    });
  }

  /// LightningCLI's `seed_everything`: true (the default) draws a seed and writes it into the config
  /// so that the saved config repeats the run; an int is the seed; false does not seed.
  std::optional<int64_t> seed(const YAML::Node& node) {
    if (!node || node.IsNull()) return draw_seed();
    if (auto enabled = ValueTraits<bool>::from_yaml(node)) return *enabled ? draw_seed() : std::nullopt;
    if (auto value = ValueTraits<int64_t>::from_yaml(node)) return *value;
    wrong_type("seed_everything", node, "bool | int");
    return std::nullopt;
  }
  std::optional<int64_t> draw_seed() {
    std::random_device device;
    const int64_t drawn = std::uniform_int_distribution<int64_t>(0, 4294967295LL)(device);
    config_.root()["seed_everything"] = drawn;
    return drawn;
  }

  Config& config_;
  DiagnosticCollector& problems_;
  std::vector<Origin> origins_;
};

template <class Base>
YAML::Node completed_class(const YAML::Node& spec) {
  const YAML::Node class_path = spec.IsMap() ? spec["class_path"] : spec;
  if (!class_path || !class_path.IsScalar()) return YAML::Clone(spec);
  const auto* entry = Registry<Base>::instance().find(class_path.Scalar());
  if (entry == nullptr) return YAML::Clone(spec);
  YAML::Node given = spec.IsMap() && spec["init_args"] && spec["init_args"].IsMap() ? spec["init_args"] : YAML::Node();
  YAML::Node init_args = entry->defaults();
  if (given) {
    for (const auto& item : given) init_args[item.first.as<std::string>()] = YAML::Clone(item.second);
  }
  YAML::Node completed(YAML::NodeType::Map);
  completed["class_path"] = class_path.Scalar();
  completed["init_args"] = init_args;
  return completed;
}

template <class Base>
YAML::Node completed_list(const YAML::Node& node) {
  if (!node.IsSequence()) {
    YAML::Node list(YAML::NodeType::Sequence);
    list.push_back(completed_class<Base>(node));
    return list;
  }
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& item : node) list.push_back(completed_class<Base>(item));
  return list;
}

}  // namespace

const std::vector<Argument<TrainerOptions>>& trainer_arguments() {
  using O = TrainerOptions;
  static const std::vector<Argument<O>> arguments = {
      arg("max_epochs", &O::max_epochs, "stop after this many epochs (null: 1000 unless max_steps is set; -1: no limit)"),
      arg("min_epochs", &O::min_epochs, "train at least this many epochs"),
      arg("max_steps", &O::max_steps, "stop after this many optimizer steps (-1: no limit)"),
      arg("min_steps", &O::min_steps, "train at least this many optimizer steps"),
      arg("max_time", &O::max_time, "stop after this much time, \"DD:HH:MM:SS\""),
      arg("accelerator", &O::accelerator, "\"auto\", \"cpu\", \"cuda\", \"gpu\" or \"mps\""),
      arg("devices", &O::devices, "a count, -1 for all, \"auto\", a list of ids or \"0,2\""),
      arg("strategy", &O::strategy, "\"auto\", \"single_device\", \"ddp\" or \"ddp_spawn\""),
      arg("precision", &O::precision, "\"32-true\", \"64-true\", \"bf16-mixed\", \"bf16-true\", \"16-mixed\", \"16-true\""),
      arg("num_nodes", &O::num_nodes, "machines to train on"),
      arg("limit_train_batches", &O::limit_train_batches, "batches per training epoch: a count or a fraction"),
      arg("limit_val_batches", &O::limit_val_batches, "batches per validation: a count or a fraction"),
      arg("limit_test_batches", &O::limit_test_batches, "batches per test: a count or a fraction"),
      arg("limit_predict_batches", &O::limit_predict_batches, "batches per prediction: a count or a fraction"),
      arg("val_check_interval", &O::val_check_interval, "validate every this fraction of an epoch, or this many batches"),
      arg("check_val_every_n_epoch", &O::check_val_every_n_epoch, "validate every n epochs"),
      arg("num_sanity_val_steps", &O::num_sanity_val_steps, "validation batches run before training (-1: all)"),
      arg("accumulate_grad_batches", &O::accumulate_grad_batches, "batches whose gradients add up before a step"),
      arg("gradient_clip_val", &O::gradient_clip_val, "clip gradients at this value (null: no clipping)"),
      arg("gradient_clip_algorithm", &O::gradient_clip_algorithm, "\"norm\" or \"value\""),
      arg("log_every_n_steps", &O::log_every_n_steps, "send logged values to the loggers every n steps"),
      arg("fast_dev_run", &O::fast_dev_run, "run n batches of each stage to find bugs (no logs, no checkpoints)"),
      arg("deterministic", &O::deterministic, "use deterministic algorithms only"),
      arg("enable_progress_bar", &O::enable_progress_bar, "show a progress bar"),
      arg("enable_model_summary", &O::enable_model_summary, "print the model summary before training"),
      arg("enable_checkpointing", &O::enable_checkpointing, "add a ModelCheckpoint when none is given"),
      arg("default_root_dir", &O::default_root_dir, "where logs and checkpoints go (\"\": the working directory)"),
  };
  return arguments;
}

Run build_run(Config& config, DiagnosticCollector& problems, std::vector<std::shared_ptr<Callback>> extra_callbacks) {
  return Builder(config, problems).build(std::move(extra_callbacks));
}

YAML::Node effective_config(const Config& config) {
  const auto& root = config.root();
  YAML::Node effective(YAML::NodeType::Map);
  effective["seed_everything"] = root["seed_everything"] ? YAML::Clone(root["seed_everything"]) : YAML::Node(true);

  YAML::Node trainer(YAML::NodeType::Map);
  const YAML::Node given = root["trainer"] && root["trainer"].IsMap() ? root["trainer"] : YAML::Node(YAML::NodeType::Map);
  const TrainerOptions defaults;
  for (const auto& a : trainer_arguments()) {
    trainer[a.name] = given[a.name] ? YAML::Clone(given[a.name]) : a.get(defaults);
    if (a.name == "num_nodes") {  // Lightning's order: callbacks and logger after the devices
      trainer["callbacks"] = given["callbacks"] && !given["callbacks"].IsNull() ? completed_list<Callback>(given["callbacks"])
                                                                              : YAML::Node(YAML::NodeType::Sequence);
      const YAML::Node logger = given["logger"];
      if (!logger || logger.IsNull()) {
        trainer["logger"] = true;
      } else if (ValueTraits<bool>::from_yaml(logger)) {
        trainer["logger"] = YAML::Clone(logger);
      } else {
        trainer["logger"] = completed_list<Logger>(logger);
      }
    }
  }
  for (const auto& item : given) {  // unknown keys stay visible
    if (!trainer[item.first.as<std::string>()]) trainer[item.first.as<std::string>()] = YAML::Clone(item.second);
  }
  effective["trainer"] = trainer;
  effective["model"] = root["model"] ? completed_class<LightningModule>(root["model"]) : YAML::Node(YAML::NodeType::Null);
  effective["data"] = root["data"] ? completed_class<DataModule>(root["data"]) : YAML::Node(YAML::NodeType::Null);
  if (root["optimizer"] && !root["optimizer"].IsNull()) effective["optimizer"] = completed_class<OptimizerFactory>(root["optimizer"]);
  if (root["lr_scheduler"] && !root["lr_scheduler"].IsNull()) {
    effective["lr_scheduler"] = completed_class<SchedulerFactory>(root["lr_scheduler"]);
  }
  effective["ckpt_path"] = root["ckpt_path"] ? YAML::Clone(root["ckpt_path"]) : YAML::Node(YAML::NodeType::Null);
  for (const auto& item : root) {
    if (!effective[item.first.as<std::string>()]) effective[item.first.as<std::string>()] = YAML::Clone(item.second);
  }
  return effective;
}

void relocate(std::vector<Diagnostic>& diagnostics, const Config& config, const std::vector<Origin>& origins) {
  for (auto& d : diagnostics) {
    if (d.location) continue;
    const Subject& subject = d.subject;
    const std::string option = subject.options.empty() ? std::string() : subject.options.front();
    // An option of the Trainer is a key of `trainer`; any other class's is one of its `init_args`;
    // with no option, the class's own section.
    auto key_of = [&](const Origin& origin) {
      if (option.empty()) return origin.key;
      return origin.class_name == "Trainer" ? child_key(origin.key, option)
                                            : child_key(child_key(origin.key, "init_args"), option);
    };
    const Origin* chosen = nullptr;
    for (const auto& origin : origins) {
      if (origin.class_name != subject.component) continue;
      if (subject.index && origin.index && *subject.index != *origin.index) continue;
      // Of several instances, the one whose config sets the option, else the first.
      if (chosen == nullptr || (!config.has_location(key_of(*chosen)) && config.has_location(key_of(origin)))) {
        chosen = &origin;
      }
    }
    if (chosen == nullptr) continue;
    const std::string key = key_of(*chosen);
    d.location = config.value_location(key).value_or(SourceLocation{});
    d.location->key = key;
  }
}

}  // namespace lightning::cli
