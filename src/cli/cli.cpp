#include <lightning/cli/cli.h>

#include <lightning/callbacks/model_checkpoint.h>
#include <lightning/callbacks/on_exception_checkpoint.h>

#include "cli/build.h"
#include "cli/config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace lightning::cli {

extern const char* const kErrorsDoc;  // docs/errors.md, compiled in (errors_doc.cpp)

namespace {

const std::vector<std::string> kStages = {"fit", "validate", "test", "predict", "check"};

/// YAML text with `null` spelled out (yaml-cpp writes `~`).
std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out << node;
  return std::string(out.c_str()) + "\n";
}

/// LightningCLI's SaveConfigCallback: the effective config next to the logs, so that
/// `fit --config <log_dir>/config.yaml` repeats the run.
class SaveConfigCallback : public Callback {
 public:
  /// `config` must outlive the fit; it is read when training starts (after `seed_everything: true`
  /// became the drawn seed).
  explicit SaveConfigCallback(const Config& config) : config_(config) {}
  void on_train_start(const TrainerView& trainer, LightningModule&) override {
    if (!trainer.is_global_zero() || trainer.probing()) return;
    const auto folder = std::filesystem::path(trainer.log_dir().empty() ? "." : trainer.log_dir());
    std::filesystem::create_directories(folder);
    const auto path = folder / "config.yaml";
    std::ofstream file(path);
    file << yaml_text(effective_config(config_));
    if (!file) throw std::runtime_error(fmt::format("cannot write the run's config to {}", path.string()));
  }

 private:
  const Config& config_;
};

template <class Base>
void describe_classes(std::string& text, const std::string& title) {
  text += fmt::format("\n{}:\n", title);
  for (const auto& name : Registry<Base>::instance().names()) {
    const auto* entry = Registry<Base>::instance().find(name);
    text += fmt::format("  {}\n", name);
    const auto defaults = entry->defaults();
    for (const auto& a : entry->arguments) {
      text += fmt::format("      init_args.{:<24} {:<14} {:<12} {}\n", a.name, a.type,
                          a.required ? "(required)" : flow_yaml(defaults[a.name]), a.help);
    }
  }
}

/// Every key a config may hold, with its type and default: the footer of each subcommand's --help.
std::string options_help() {
  std::string text = "Config keys (in a --config file, or as --key=value; --print_config shows them all):\n";
  text += "  seed_everything              bool | int     true         seed of the run (true: draw one)\n";
  text += "  ckpt_path                    str | null     null         checkpoint to resume or evaluate (\"best\", \"last\", a path)\n";
  text += "  model / data                 class_path: a class below, init_args: its arguments\n";
  text += "\nTrainer options (trainer.<key>):\n";
  const TrainerOptions defaults;
  for (const auto& a : trainer_arguments()) {
    text += fmt::format("  trainer.{:<24} {:<14} {:<12} {}\n", a.name, a.type, flow_yaml(a.get(defaults)), a.help);
  }
  text += "  trainer.callbacks            list of classes []          e.g. --trainer.callbacks+=EarlyStopping\n";
  text += "  trainer.logger               bool | classes true         true: TensorBoard and CSV; false: none\n";
  describe_classes<LightningModule>(text, "Models (model.class_path)");
  describe_classes<DataModule>(text, "Data modules (data.class_path)");
  describe_classes<Callback>(text, "Callbacks (trainer.callbacks[i].class_path)");
  describe_classes<Logger>(text, "Loggers (trainer.logger[i].class_path)");
  describe_classes<OptimizerFactory>(text, "Optimizers (optimizer.class_path; replaces the model's configure_optimizers)");
  describe_classes<SchedulerFactory>(text, "Learning-rate schedulers (lr_scheduler.class_path; needs optimizer)");
  return text;
}

class Reporter {
 public:
  Reporter(bool json, std::ostream& out, std::ostream& err) : json_(json), out_(out), err_(err) {}
  /// Diagnostics with a location in file order, files as they were given; the others after them.
  int misconfiguration(std::vector<Diagnostic> diagnostics,
                        std::string stage = std::string(MisconfigurationException::kBeforeTraining)) {
    std::vector<std::string> files;
    const auto in_file = [](const Diagnostic& d) { return d.location && !d.location->file.empty(); };
    for (const auto& d : diagnostics) {
      if (in_file(d) && std::find(files.begin(), files.end(), d.location->file) == files.end()) files.push_back(d.location->file);
    }
    auto order = [&](const Diagnostic& d) {
      if (!in_file(d)) return std::tuple<std::size_t, int64_t, int64_t>(files.size(), 0, 0);
      const auto file = std::find(files.begin(), files.end(), d.location->file) - files.begin();
      return std::tuple<std::size_t, int64_t, int64_t>(static_cast<std::size_t>(file), d.location->line, d.location->column);
    };
    std::stable_sort(diagnostics.begin(), diagnostics.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return order(a) < order(b); });
    const MisconfigurationException e(std::move(diagnostics), std::move(stage));
    if (json_) {
      out_ << e.to_json() << "\n";
    } else {
      err_ << e.what() << "\n";
    }
    return kExitMisconfiguration;
  }
  /// A stage a signal stopped: its line on stderr (or as {"interrupted": line} with --errors=json).
  void interrupted(const std::string& line) {
    if (json_) {
      out_ << nlohmann::json{{"interrupted", line}}.dump() << "\n";
    } else {
      err_ << line << "\n";
    }
  }
  int failure(const std::exception& e) {
    if (json_) {
      out_ << nlohmann::json{{"failure", e.what()}}.dump() << "\n";
    } else {
      err_ << "error: " << e.what() << "\n";
    }
    return kExitFailure;
  }

 private:
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

void print_metrics(std::ostream& out, const std::string& stage, const std::vector<Metrics>& results) {
  for (std::size_t k = 0; k < results.size(); ++k) {
    out << fmt::format("{} results{}:\n", stage, results.size() > 1 ? fmt::format(" (dataloader {})", k) : "");
    for (const auto& [name, value] : results[k]) out << fmt::format("  {:<20} {:.6g}\n", name, value);
  }
}

void print_fit_summary(std::ostream& out, const Trainer& trainer) {
  out << fmt::format("fit: {} epochs, {} optimizer steps\n", trainer.current_epoch(), trainer.global_step());
  for (const auto& [name, value] : trainer.callback_metrics()) out << fmt::format("  {:<20} {:.6g}\n", name, value);
  if (!trainer.view().log_dir().empty()) out << fmt::format("logs: {}\n", trainer.view().log_dir());
  for (const auto& callback : trainer.callbacks()) {
    const auto* checkpoint = dynamic_cast<const ModelCheckpoint*>(callback.get());
    if (checkpoint == nullptr) continue;
    if (!checkpoint->best_model_path().empty()) {
      out << fmt::format("best checkpoint: {}{}\n", checkpoint->best_model_path(),
                         checkpoint->best_model_score()
                             ? fmt::format(" ({} {:.6g})", checkpoint->options().monitor, *checkpoint->best_model_score())
                             : "");
    }
    if (!checkpoint->last_model_path().empty()) out << fmt::format("last checkpoint: {}\n", checkpoint->last_model_path());
  }
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return fmt::format("signal {}", signal);
  }
}

/// Where a resume finds the state of an interrupted fit: OnExceptionCheckpoint's file when one
/// saved it; otherwise `last-interrupted.ckpt`, written now in the first ModelCheckpoint's folder
/// (where `ckpt_path: last` looks first: it is the newest last*.ckpt there), or in the log folder.
std::string checkpoint_of_interrupted_fit(Trainer& trainer) {
  const ModelCheckpoint* checkpointer = nullptr;
  for (const auto& callback : trainer.callbacks()) {
    if (const auto* saved = dynamic_cast<const OnExceptionCheckpoint*>(callback.get())) return saved->ckpt_path();
    if (checkpointer == nullptr) checkpointer = dynamic_cast<const ModelCheckpoint*>(callback.get());
  }
  std::filesystem::path folder = trainer.view().log_dir().empty() ? "." : trainer.view().log_dir();
  if (checkpointer != nullptr) {
    folder = checkpointer->dirpath().empty() ? checkpointer->resolve_dirpath(trainer.view()) : checkpointer->dirpath();
  }
  const auto path = (folder / "last-interrupted.ckpt").string();
  trainer.save_checkpoint(path);
  return path;
}

/// What `scontrol requeue` said of this SLURM job (SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID for an
/// array task, else SLURM_JOB_ID), as Lightning's SLURM environment requeues on SIGUSR1.
std::string requeue_slurm_job() {
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr && array_job == nullptr) return "not requeued: SLURM_JOB_ID is not set";
  const std::string id = array_job != nullptr && array_task != nullptr ? fmt::format("{}_{}", array_job, array_task) : job;
  std::string command = "scontrol";
  std::vector<char*> argv{command.data(), const_cast<char*>("requeue"), const_cast<char*>(id.c_str()), nullptr};
  pid_t child = 0;
  if (::posix_spawnp(&child, "scontrol", nullptr, nullptr, argv.data(), environ) != 0) {
    return fmt::format("not requeued: scontrol cannot be started ({})", std::strerror(errno));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return fmt::format("requeued SLURM job {}", id);
  return fmt::format("not requeued: `scontrol requeue {}` failed (status {})", id, status);
}

/// A fit that a signal stopped: a resumable checkpoint, one line saying so, and the exit code
/// 128 + signal, as a shell reports a process the signal ended, so that a wrapper or a scheduler
/// can tell an interrupted run from a finished one.
int report_interruption(Trainer& trainer, Reporter& report) {
  const int signal = trainer.view().received_signal();
  const std::string checkpoint = checkpoint_of_interrupted_fit(trainer);
  if (trainer.view().is_global_zero()) {
    // Under SLURM, SIGUSR1 asks for a requeue once the state is saved (sbatch --signal=USR1@90).
    const std::string requeue = signal == SIGUSR1 ? "; " + requeue_slurm_job() : "";
    report.interrupted(fmt::format("fit: interrupted by {} in epoch {} after {} optimizer steps; checkpoint: {} "
                                   "(resume with --ckpt_path=last or that path){}",
                                   signal_name(signal), trainer.current_epoch(), trainer.global_step(), checkpoint,
                                   requeue));
  }
  return 128 + signal;
}

int run_check(Run& run, std::ostream& out, Reporter& report, const Config& config) {
  auto found = run.trainer->check(*run.model, *run.data);
  relocate(found, config, run.origins);
  const bool errors = std::any_of(found.begin(), found.end(), [](const auto& d) { return d.severity == Severity::kError; });
  if (errors) return report.misconfiguration(std::move(found));
  for (const auto& d : found) out << d.render() << "\n\n";
  out << fmt::format("check: no error found ({} warning{}); `fit` can start\n", found.size(), found.size() == 1 ? "" : "s");
  return kExitOk;
}

int run_stage(const std::string& stage, Run& run, const Config& config, std::ostream& out, Reporter& report) {
  try {
    if (stage == "check") return run_check(run, out, report, config);
    // In a distributed run every rank runs this; only rank zero prints what came out.
    std::ostringstream results;
    if (stage == "fit") {
      run.trainer->fit(*run.model, *run.data, run.ckpt_path);
      if (run.trainer->interrupted()) return report_interruption(*run.trainer, report);
      print_fit_summary(results, *run.trainer);
    } else if (stage == "validate") {
      print_metrics(results, "validate", run.trainer->validate(*run.model, *run.data, run.ckpt_path));
    } else if (stage == "test") {
      print_metrics(results, "test", run.trainer->test(*run.model, *run.data, run.ckpt_path));
    } else {
      const auto outputs = run.trainer->predict(*run.model, *run.data, run.ckpt_path);
      for (std::size_t k = 0; k < outputs.size(); ++k) {
        results << fmt::format("predict: dataloader {}: {} batches\n", k, outputs[k].size());
      }
    }
    if (run.trainer->view().is_global_zero()) out << results.str();
    return kExitOk;
  } catch (const MisconfigurationException& e) {
    // The ranks of a distributed run agreed on what they found: rank zero reports it. A rank that
    // could not join them (LC0131: rendezvous) agreed with no one, so it speaks for itself.
    if (run.trainer && !run.trainer->view().is_global_zero() && !e.has("LC0131")) return kExitMisconfiguration;
    auto diagnostics = e.diagnostics();
    relocate(diagnostics, config, run.origins);
    return report.misconfiguration(std::move(diagnostics), e.stage());
  } catch (const std::exception& e) {
    return report.failure(e);
  }
}

/// `--a.b=value`, `--a.b value` and `--a.b+=value` from what CLI11 left over.
struct Override {
  std::string key, value, argument;
  bool append = false;
};

std::vector<Override> overrides_from(const std::vector<std::string>& extras, DiagnosticCollector& problems) {
  std::vector<Override> overrides;
  for (std::size_t i = 0; i < extras.size(); ++i) {
    const auto& argument = extras[i];
    if (!argument.starts_with("--") || argument.size() == 2) {
      problems.error({.code = "LC0707",
                      .message = fmt::format("unexpected command-line argument `{}`", argument),
                      .subject = {"command line"},
                      .received = fmt::format("\"{}\"", argument),
                      .expected = "--config FILE, or config keys as --section.key=value",
                      .help = "e.g. --trainer.max_epochs=5 or --model.init_args.hidden=[64]"});
      continue;
    }
    Override o{.argument = argument};
    auto body = argument.substr(2);
    if (const auto eq = body.find('='); eq != std::string::npos) {
      o.key = body.substr(0, eq);
      o.value = body.substr(eq + 1);
      if (o.key.ends_with("+")) {
        o.key.pop_back();
        o.append = true;
      }
    } else if (i + 1 < extras.size() && !extras[i + 1].starts_with("--")) {
      o.key = body;
      o.value = extras[++i];
      o.argument += " " + o.value;
    } else {
      problems.error({.code = "LC0707",
                      .message = fmt::format("command-line option `{}` has no value", argument),
                      .subject = {"command line"},
                      .received = fmt::format("\"{}\"", argument),
                      .expected = "--section.key=value",
                      .help = fmt::format("write {}=VALUE", argument)});
      continue;
    }
    overrides.push_back(std::move(o));
  }
  return overrides;
}

int explain_command(const std::string& code, std::ostream& out, std::ostream& err) {
  auto text = explain(code);
  if (!text.empty()) {
    out << text;
    return kExitOk;
  }
  // The codes with an entry in docs/errors.md: each heading is "### LC" and four digits.
  std::vector<std::string> codes;
  const std::string_view doc = kErrorsDoc;
  for (auto at = doc.find("### LC"); at != std::string_view::npos; at = doc.find("### LC", at + 1)) {
    codes.emplace_back(doc.substr(at + 4, 6));
  }
  auto d = unknown_choice("LC0712", fmt::format("no diagnostic has the code \"{}\"", code), {"explain"}, code, codes);
  d.received = fmt::format("\"{}\"", code);
  err << MisconfigurationException({d}).what() << "\n";
  return kExitMisconfiguration;
}

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace

std::string explain(const std::string& code) {
  const std::string doc = kErrorsDoc;
  const auto start = doc.find("### " + code + " ");
  if (start == std::string::npos || code.empty()) return "";
  auto end = doc.find("\n#", start + 1);
  if (end == std::string::npos) end = doc.size();
  return doc.substr(start, end - start) + "\n";
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  // Whatever escapes (an error of a user's component, a LibTorch error outside a stage) ends the
  // command with its message and exit code 1, never with std::terminate.
  try {
    return run_command(args, out, err);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
  } catch (...) {
    err << "error: an exception that is no std::exception ended lightning-cpp\n";
  }
  return kExitFailure;
}

namespace {

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  register_builtins();
  CLI::App app{"lightning-cpp: Lightning's Trainer in C++, driven by YAML configs (LightningCLI's schema)",
               "lightning-cpp"};
  app.require_subcommand(1);
  std::vector<std::string> configs;
  bool print_config = false;
  std::string errors_format = "text";
  std::string code;
  for (const auto& stage : kStages) {
    auto* sub = app.add_subcommand(stage, stage == "check" ? "run every check of `fit`, train nothing"
                                                          : fmt::format("run Trainer::{}", stage));
    sub->add_option("-c,--config", configs, "YAML config file; several merge in order, later ones win")
        ->type_name("FILE");
    sub->add_flag("--print_config", print_config, "print the effective config (every default filled in) and exit");
    sub->add_option("--errors", errors_format, "how diagnostics are printed")->check(CLI::IsMember({"text", "json"}));
    sub->allow_extras();
    sub->footer([] { return options_help(); });
  }
  auto* explain_sub = app.add_subcommand("explain", "print the documentation of a diagnostic code");
  explain_sub->add_option("code", code, "e.g. LC0102")->required();

  // CLI11 would say only "A subcommand is required" for `fitt`.
  if (!args.empty() && !args[0].starts_with("-")) {
    std::vector<std::string> commands = kStages;
    commands.push_back("explain");
    if (std::find(commands.begin(), commands.end(), args[0]) == commands.end()) {
      auto d = unknown_choice("LC0716", fmt::format("unknown subcommand \"{}\"", args[0]), {"command line"}, args[0], commands);
      d.received = fmt::format("\"{}\"", args[0]);
      if (d.help.empty()) d.help = "`--help` lists the subcommands";
      err << MisconfigurationException({d}).what() << "\n";
      return kExitMisconfiguration;
    }
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help
    err << MisconfigurationException({Diagnostic{
               .code = "LC0707",
               .message = fmt::format("the command line cannot be read: {}", e.what()),
               .subject = {"command line"},
               .received = fmt::format("\"{}\"", fmt::join(args, " ")),
               .expected = "SUBCOMMAND [--config FILE ...] [--section.key=value ...]",
               .help = "write each override as --section.key=value; `fit --help` lists every key"}})
               .what()
        << "\n";
    return kExitMisconfiguration;
  }
  if (explain_sub->parsed()) return explain_command(code, out, err);

  const auto* sub = app.get_subcommands().front();
  const std::string stage = sub->get_name();
  Reporter report(errors_format == "json", out, err);

  DiagnosticCollector problems;
  Config config;
  for (const auto& path : configs) config.merge_file(path, problems);
  for (const auto& o : overrides_from(sub->remaining(), problems)) {
    config.apply_override(o.key, o.value, o.append, o.argument, problems);
  }
  if (problems.has_errors()) return report.misconfiguration(problems.diagnostics());
  if (print_config) {
    out << yaml_text(effective_config(config));
    return kExitOk;
  }
  std::vector<std::shared_ptr<Callback>> extra;
  if (stage == "fit") extra.push_back(std::make_shared<SaveConfigCallback>(config));
  auto run = build_run(config, problems, std::move(extra));
  if (problems.has_errors()) return report.misconfiguration(problems.diagnostics());
  return run_stage(stage, run, config, out, report);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return run(args, std::cout, std::cerr);
}

}  // namespace lightning::cli
