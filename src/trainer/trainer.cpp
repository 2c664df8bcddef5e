#include <lightning/trainer/trainer.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/console.h>
#include <lightning/utilities/memory.h>

#include "loops/evaluation_loop.h"
#include "loops/fit_loop.h"
#include "loops/loop_context.h"
#include "loops/probe.h"
#include "trainer/connectors/callback_connector.h"
#include "trainer/connectors/checkpoint_connector.h"
#include "trainer/connectors/signal_connector.h"
#include "trainer/connectors/preflight.h"
#include "trainer/connectors/rank_agreement.h"
#include "trainer/connectors/settings.h"
#include "strategies/ddp.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <type_traits>

namespace lightning {

std::string CountOrFraction::to_string() const {
  return is_count() ? std::to_string(count()) : fmt::format("{}", fraction());
}

std::string Devices::to_string() const {
  if (const auto* n = std::get_if<int64_t>(&value_)) return std::to_string(*n);
  if (const auto* s = std::get_if<std::string>(&value_)) return fmt::format("\"{}\"", *s);
  return fmt::format("{{{}}}", fmt::join(std::get<std::vector<int64_t>>(value_), ", "));
}

namespace {

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kFit: return "fit";
    case Stage::kValidate: return "validate";
    case Stage::kTest: return "test";
    case Stage::kPredict: return "predict";
    default: return "";
  }
}

Diagnostic no_data(std::string_view entry, std::string_view argument) {
  return {
      .code = "LC0204",
      .message = fmt::format("`{}` was given no data", entry),
      .subject = {fmt::format("Trainer::{}", entry)},
      .received = "no loader",
      .expected = fmt::format("{} (or a DataModule that provides them)", argument),
      .help = fmt::format("pass loaders, e.g. trainer.{}(model, pl::DataLoader(dataset, {{.batch_size = 32}}))",
                          entry)};
}

[[noreturn]] void throw_no_data(std::string_view entry, std::string_view argument) {
  throw MisconfigurationException({no_data(entry, argument)});
}

/// How the user passed loader `k` of `count`: "val_dataloaders", or "val_dataloaders[1]" among several.
std::string role(std::string_view base, std::size_t count, std::size_t k) {
  return count == 1 ? std::string(base) : fmt::format("{}[{}]", base, k);
}

std::vector<int64_t> limits_for(const std::vector<DataLoader>& loaders, const CountOrFraction& limit) {
  std::vector<int64_t> out;
  for (const auto& loader : loaders) out.push_back(detail::limited_batches(limit, loader.size()));
  return out;
}

/// A distributed run's part of an entry point, before its stage: this process joins the run's
/// process group (rank 0 of a one-machine run first starts the other ranks), and each loader gets
/// this rank's share of the data. Returns the group (nullptr when the run is not distributed).
detail::ProcessGroup* join_run(const detail::Settings& settings, TrainerState& state, bool use_distributed_sampler,
                               const std::vector<DataLoader*>& loaders) {
  const auto& hardware = settings.hardware;
  if (!hardware.distributed()) return nullptr;
  auto& group = detail::join_process_group(
      {.master_addr = hardware.master_addr,
       .port = hardware.master_port,
       .rank = hardware.global_rank,
       .world_size = hardware.world_size,
       .timeout = hardware.timeout,
       .serve_store = hardware.global_rank == 0 && !hardware.launcher_serves_store,
       .backend = hardware.process_group_backend,
       .device = hardware.device()},
      hardware.launcher == detail::Launcher::kSubprocess);
  state.collectives = &group;
  if (use_distributed_sampler) {
    for (auto* loader : loaders) detail::distribute(*loader, group);
  }
  return &group;
}

std::vector<DataLoader*> loader_pointers(DataLoader& first, std::vector<DataLoader>& rest) {
  std::vector<DataLoader*> out{&first};
  for (auto& loader : rest) out.push_back(&loader);
  return out;
}

std::vector<DataLoader*> loader_pointers(std::vector<DataLoader>& loaders) {
  std::vector<DataLoader*> out;
  for (auto& loader : loaders) out.push_back(&loader);
  return out;
}

/// The facts TrainerView gives, from the resolved settings (loggers, checkpoint files and the
/// console act on rank zero only).
TrainerFacts facts_of(const detail::Settings& settings, const std::vector<std::shared_ptr<Logger>>& loggers) {
  TrainerFacts facts{.global_rank = settings.hardware.global_rank,
                     .world_size = settings.hardware.world_size,
                     .max_epochs = settings.max_epochs,
                     .max_steps = settings.max_steps,
                     .accumulate_grad_batches = settings.accumulate_grad_batches,
                     .default_root_dir = settings.default_root_dir,
                     .log_dir = loggers.empty() ? settings.default_root_dir : loggers.front()->log_dir(),
                     .fast_dev_run = settings.fast_dev_run,
                     .check_val_every_n_epoch = settings.check_val_every_n_epoch,
                     .val_check_interval_is_one_epoch = !settings.val_check_interval.is_count() &&
                                                        settings.val_check_interval.fraction() == 1.0};
  for (const auto& logger : loggers) facts.logger_names.push_back(logger->name());
  return facts;
}

}  // namespace

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)) {
  DiagnosticCollector problems;
  detail::check_options(options_, problems);
  const auto hardware = detail::resolve_devices(options_, Environment::detect(), problems);
  settings_ = std::make_unique<const detail::Settings>(detail::resolve_settings(options_, hardware));
  callbacks_ = detail::configure_callbacks(options_, problems);
  problems.throw_if_errors();
  loggers_ = detail::configure_loggers(options_, *settings_);
  facts_ = facts_of(*settings_, loggers_);
}

/// The module, optimizers and loop position of the last fit, for save_checkpoint after it.
struct Trainer::LastFit {
  LightningModule* model;
  OptimizerConfig optimizer_config;
  detail::FitProgress progress;
};

Trainer::~Trainer() = default;

namespace {

/// What a run that ends with `exception` owes the callbacks and loggers: on_exception, then
/// finalize("failed"). A failure while doing so is printed, never thrown: the caller must see the
/// exception that ended the run (an OnExceptionCheckpoint that cannot write must not hide it).
void end_with_exception(detail::LoopContext& context, const std::exception& exception) {
  try {
    context.hooks.callbacks_only(&Callback::on_exception, exception);
    context.logging.finalize("failed");
  } catch (const std::exception& secondary) {
    console::warn_once(fmt::format("while handling \"{}\": {}", exception.what(), secondary.what()));
  }
  context.state().stage = Stage::kNone;
}

/// Runs `loop`, the part of a stage after its checks: a misconfiguration found there (a monitored
/// metric missing at an epoch's end, a value logged two ways) says when, not "before training".
template <class Loop>
void found_while_running(detail::LoopContext& context, Loop&& loop) {
  try {
    loop();
  } catch (const MisconfigurationException& e) {
    if (e.stage() != MisconfigurationException::kBeforeTraining) throw;
    const auto& state = context.state();
    throw MisconfigurationException(
        e.diagnostics(), state.stage == Stage::kFit ? fmt::format("during fit, in epoch {} at global step {}",
                                                                  state.current_epoch, state.global_step)
                                                    : fmt::format("during {}", stage_name(state.stage)));
  }
}

/// Runs one entry point: setup hooks, the stage, teardown hooks; on an exception, tells the
/// callbacks and the loggers before it propagates.
void run_stage(detail::LoopContext& context, Stage stage,
               const std::function<void(detail::LoopContext&)>& body) {
  auto& state = context.state();
  state.stage = stage;
  state.should_stop = false;
  state.received_signal = 0;
  state.sanity_checking = false;  // a run that threw may have left it set
  state.training = false;
  if (context.settings().deterministic) at::globalContext().setDeterministicAlgorithms(true, false);
  tune_malloc_for_training();
  const std::string name = stage_name(stage);
  try {
    context.hooks(&Callback::setup, &LightningModule::setup, name);
    body(context);
    context.hooks(&Callback::teardown, &LightningModule::teardown, name);
  } catch (const Interrupted& interrupted) {
    // SIGTERM or SIGINT, at a batch boundary: callbacks may save a checkpoint, loggers finish,
    // and control returns to the caller, who decides what the signal means.
    state.received_signal = interrupted.signal();
    end_with_exception(context, interrupted);
    return;
  } catch (const std::exception& error) {
    end_with_exception(context, error);
    if (state.collectives != nullptr) {
      // The ranks this process started end with it. Every rank throws a misconfiguration (they
      // agreed on what they found) or a parting of sync_dist calls alike; otherwise another rank's
      // death shows here as a closed connection: name that rank when we started it.
      if (dynamic_cast<const MisconfigurationException*>(&error) != nullptr ||
          dynamic_cast<const detail::RanksParted*>(&error) != nullptr) {
        detail::dismiss_started_ranks();
      } else if (const auto failed = detail::stop_started_ranks()) {
        throw std::runtime_error(fmt::format("{}, so the run stopped: {}", *failed, error.what()));
      }
    }
    throw;
  }
  context.logging.finalize("success");
  state.stage = Stage::kNone;
}

}  // namespace

namespace {

/// A checkpoint to resume from, read and checked against the model before anything runs.
struct Resume {
  std::string path;
  std::optional<Checkpoint> checkpoint;
};

/// Stage 2 for `ckpt_path`: the file exists, is a checkpoint, and its weights fit the model (then
/// they are loaded). Collects into `problems`.
Resume load_resume_checkpoint(detail::LoopContext& context, const std::string& ckpt_path, DiagnosticCollector& problems) {
  Resume resume;
  if (ckpt_path.empty()) return resume;
  try {
    resume.path = detail::resolve_ckpt_path(ckpt_path, context.callbacks(), context.view(), context.state().collectives,
                                            &problems)
                      .string();
    if (resume.path.empty()) return resume;  // "last" before the first save: a fresh start
    resume.checkpoint = load_checkpoint_file(resume.path);
    detail::check_writer_version(*resume.checkpoint, resume.path, problems);
    detail::restore_module(context.module(), *resume.checkpoint, resume.path);
    detail::adopt_pytorch_lightning_layout(*resume.checkpoint);
  } catch (const MisconfigurationException& e) {
    for (const auto& d : e.diagnostics()) problems.error(d);
    resume.checkpoint.reset();
  }
  return resume;
}

/// Adds what `callback` found to `problems`; when the user gave that callback (rather than the
/// Trainer adding it), its diagnostics say which of the given ones it is.
void add_for_callback(const DiagnosticCollector& found, const std::vector<std::shared_ptr<Callback>>& given,
                      const std::shared_ptr<Callback>& callback, DiagnosticCollector& problems) {
  const auto position = std::find(given.begin(), given.end(), callback);
  for (Diagnostic d : found.diagnostics()) {
    if (position != given.end()) d.subject.index = static_cast<std::size_t>(position - given.begin());
    d.severity == Severity::kError ? problems.error(std::move(d)) : problems.warn(std::move(d));
  }
}

/// Stages 2 and 3 of a fit: the optimizer configuration (and its state when resuming), then the
/// probe, then what callbacks and schedulers monitor; in a distributed run the ranks then agree on
/// what they found. Collects into `problems`; the caller decides whether to throw.
void check_fit(detail::LoopContext& context, const std::vector<std::shared_ptr<Callback>>& given_callbacks,
               DataLoader& train, std::vector<DataLoader>& val, const Resume& resume, DiagnosticCollector& problems) {
  auto& model = context.module();
  const auto& settings = context.settings();
  context.optimizer_config = model.make_optimizer_config();
  detail::check_optimizer_config(problems, context.optimizer_config, model, settings);
  if (resume.checkpoint && !problems.has_errors()) detail::check_resumable(*resume.checkpoint, resume.path, problems);
  if (resume.checkpoint && !problems.has_errors()) detail::restore_optimizers(context.optimizer_config, *resume.checkpoint, resume.path, problems);
  const std::size_t found_before_probe = problems.diagnostics().size();
  auto report = detail::probe_fit(context, train, val, problems);
  // The logged keys are complete only when the probed steps ran through.
  if (problems.diagnostics().size() == found_before_probe) {
    detail::check_monitors(context.optimizer_config, report.logged_keys, problems);
    detail::check_sync_dist(report, settings.hardware.world_size, problems);
    report.logged_keys.insert({"epoch", "step"});
    for (const auto& callback : context.callbacks()) {
      DiagnosticCollector found;
      callback->preflight(context.view(), report.logged_keys, found);
      add_for_callback(found, given_callbacks, callback, problems);
    }
  }
  if (auto* group = context.state().collectives) {
    auto shared = detail::shared_fit_options(settings);
    detail::add_shared_batch_counts(shared, "train_dataloaders",
                                    {detail::limited_batches(settings.limit_train_batches, train.size())});
    detail::add_shared_batch_counts(shared, "val_dataloaders", limits_for(val, settings.limit_val_batches));
    detail::add_shared_module_shapes(shared, model);
    detail::agree_across_ranks(*group, context.logging.probed_sync_calls, shared, problems);
  }
}

/// Stage 2 checks of the loaders of a fit.
void check_fit_loaders(const detail::Settings& settings, const DataLoader& train, const std::vector<DataLoader>& val,
                       DiagnosticCollector& problems) {
  detail::check_dataloader(problems, train, "train_dataloaders");
  for (std::size_t k = 0; k < val.size(); ++k) {
    detail::check_dataloader(problems, val[k], role("val_dataloaders", val.size(), k));
  }
  if (problems.has_errors()) return;
  const int64_t num_training_batches = detail::limited_batches(settings.limit_train_batches, train.size());
  const auto val_limits = limits_for(val, settings.limit_val_batches);
  const bool has_validation = std::any_of(val_limits.begin(), val_limits.end(), [](int64_t n) { return n > 0; });
  detail::check_val_check_interval(problems, settings, num_training_batches, has_validation);
}

}  // namespace

void Trainer::fit(LightningModule& model, DataLoader train_dataloader,
                  std::vector<DataLoader> val_dataloaders, const std::string& ckpt_path) {
  const auto& settings = *settings_;
  auto* group = join_run(settings, state_, options_.use_distributed_sampler, loader_pointers(train_dataloader, val_dataloaders));
  DiagnosticCollector problems;
  check_fit_loaders(settings, train_dataloader, val_dataloaders, problems);
  problems.throw_if_errors();

  state_.current_epoch = 0;
  state_.global_step = 0;
  state_.ckpt_path.clear();
  state_.callback_metrics.clear();
  state_.logged_metrics.clear();
  state_.progress_bar_metrics.clear();
  detail::LoopContext context(model, callbacks_, loggers_, state_, view_, settings, group);
  const detail::SignalConnector signals(settings.hardware.launcher == detail::Launcher::kSlurm);
  run_stage(context, Stage::kFit, [&](detail::LoopContext& ctx) {
    const Resume resume = load_resume_checkpoint(ctx, ckpt_path, problems);
    check_fit(ctx, options_.callbacks, train_dataloader, val_dataloaders, resume, problems);
    problems.throw_if_errors();
    if (resume.checkpoint) {
      ctx.state().ckpt_path = resume.path;
      detail::restore_training_state(ctx.checkpoint_parts(), *resume.checkpoint);
      ctx.resumed = true;
      ctx.hooks(&Callback::on_load_checkpoint, &LightningModule::on_load_checkpoint, *resume.checkpoint);
    }
    ctx.strategy.setup_for_training(model);
    if (ctx.logging.loggers_active() && !model.hparams().empty()) {
      for (const auto& logger : loggers_) logger->log_hyperparams(model.hparams());
    }
    found_while_running(ctx, [&] { detail::run_fit(ctx, train_dataloader, val_dataloaders); });
  });
  // What Trainer::save_checkpoint needs once fit has returned (finished or interrupted), on the CPU.
  context.release_device();
  last_fit_ = std::make_unique<LastFit>(LastFit{&model, std::move(context.optimizer_config), context.progress});
}

void Trainer::save_checkpoint(const std::string& filepath, bool weights_only) {
  if (!last_fit_) {
    throw std::logic_error("Trainer::save_checkpoint: no fit has returned yet; call it after fit, or from a callback "
                           "through TrainerView::save_checkpoint");
  }
  const auto& settings = *settings_;
  detail::LoopContext context(*last_fit_->model, callbacks_, loggers_, state_, view_, settings);
  context.optimizer_config = std::move(last_fit_->optimizer_config);
  context.progress = last_fit_->progress;
  struct GiveBack {  // the optimizers stay with the trainer, for the next save
    detail::LoopContext& context;
    LastFit& last_fit;
    ~GiveBack() { last_fit.optimizer_config = std::move(context.optimizer_config); }
  } give_back{context, *last_fit_};
  context.save_checkpoint(filepath, weights_only);
}

std::vector<Diagnostic> Trainer::check(LightningModule& model, DataLoader train_dataloader,
                                       std::vector<DataLoader> val_dataloaders) {
  const auto& settings = *settings_;
  DiagnosticCollector problems;
  check_fit_loaders(settings, train_dataloader, val_dataloaders, problems);
  if (!problems.has_errors()) {
    detail::LoopContext context(model, callbacks_, loggers_, state_, view_, settings);
    try {
      check_fit(context, options_.callbacks, train_dataloader, val_dataloaders, Resume{}, problems);
    } catch (const MisconfigurationException& e) {
      for (const auto& d : e.diagnostics()) problems.error(d);
    }
  }
  return problems.diagnostics();
}

void Trainer::fit(LightningModule& model, DataLoader train_dataloader, DataLoader val_dataloader,
                  const std::string& ckpt_path) {
  fit(model, std::move(train_dataloader), std::vector<DataLoader>{std::move(val_dataloader)}, ckpt_path);
}

namespace {

/// The preflight of validate, test and predict: some data, and every loader readable. Returns each
/// loader's batch count under `limit`.
std::vector<int64_t> check_evaluation_loaders(std::string_view entry, std::string_view what,
                                              const std::vector<DataLoader>& loaders, const CountOrFraction& limit) {
  if (loaders.empty()) throw_no_data(entry, what);
  DiagnosticCollector problems;
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    detail::check_dataloader(problems, loaders[k], role("dataloaders", loaders.size(), k));
  }
  problems.throw_if_errors();
  return limits_for(loaders, limit);
}

/// A DataModule's part of an entry point: prepare_data, setup(stage), the run, teardown(stage).
template <class Run>
auto with_datamodule(DataModule& datamodule, const std::string& stage, Run&& run) {
  datamodule.prepare_data();
  datamodule.setup(stage);
  if constexpr (std::is_void_v<decltype(run())>) {
    run();
    datamodule.teardown(stage);
  } else {
    auto result = run();
    datamodule.teardown(stage);
    return result;
  }
}

/// In a distributed validate, test or predict, before the first batch: the ranks' batch counts,
/// precision and modules agree (LC0133, LC0134), so that no rank waits at a collective for a
/// batch another rank does not have.
void agree_on_evaluation(detail::LoopContext& context, const std::vector<int64_t>& batches) {
  auto* group = context.state().collectives;
  if (group == nullptr) return;
  std::vector<detail::SharedValue> shared{detail::shared_option("precision", context.settings().hardware.precision)};
  detail::add_shared_batch_counts(shared, "dataloaders", batches);
  detail::add_shared_module_shapes(shared, context.module());
  DiagnosticCollector problems;
  detail::agree_across_ranks(*group, {}, shared, problems);
  problems.throw_if_errors();
}

/// The weights of `ckpt_path` ("" for none), loaded before an evaluation starts.
void load_evaluation_weights(detail::LoopContext& context, const std::string& ckpt_path) {
  context.state().ckpt_path.clear();
  if (ckpt_path.empty()) return;
  const std::string path =
      detail::resolve_ckpt_path(ckpt_path, context.callbacks(), context.view(), context.state().collectives).string();
  context.state().ckpt_path = path;
  const Checkpoint checkpoint = load_checkpoint_file(path);
  DiagnosticCollector warnings;
  detail::check_writer_version(checkpoint, path, warnings);
  warnings.throw_if_errors();
  detail::restore_module(context.module(), checkpoint, path);
}

}  // namespace

std::vector<Diagnostic> Trainer::check(LightningModule& model, DataModule& datamodule) {
  return with_datamodule(datamodule, "fit", [&]() -> std::vector<Diagnostic> {
    auto train = datamodule.train_dataloader();
    if (!train) return {no_data("fit", "a training DataLoader")};
    return check(model, std::move(*train), datamodule.val_dataloader());
  });
}

void Trainer::fit(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path) {
  with_datamodule(datamodule, "fit", [&] {
    auto train = datamodule.train_dataloader();
    if (!train) throw_no_data("fit", "a training DataLoader");
    fit(model, std::move(*train), datamodule.val_dataloader(), ckpt_path);
  });
}

template <class Body>
void Trainer::run_evaluation_stage(LightningModule& model, Stage stage, const detail::Settings& settings,
                                   const std::string& ckpt_path, Body&& body) {
  detail::LoopContext context(model, callbacks_, loggers_, state_, view_, settings);
  load_evaluation_weights(context, ckpt_path);
  run_stage(context, stage, body);
}

std::vector<Metrics> Trainer::validate(LightningModule& model, std::vector<DataLoader> dataloaders,
                                       const std::string& ckpt_path) {
  const auto& settings = *settings_;
  join_run(settings, state_, options_.use_distributed_sampler, loader_pointers(dataloaders));
  state_.num_val_batches =
      check_evaluation_loaders("validate", "validation DataLoaders", dataloaders, settings.limit_val_batches);
  std::vector<Metrics> metrics;
  run_evaluation_stage(model, Stage::kValidate, settings, ckpt_path, [&](detail::LoopContext& ctx) {
    agree_on_evaluation(ctx, state_.num_val_batches);
    found_while_running(ctx, [&] {
      metrics = detail::run_evaluation(ctx, detail::EvaluationKind::kValidation, dataloaders, state_.num_val_batches);
    });
  });
  return metrics;
}

std::vector<Metrics> Trainer::validate(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path) {
  return validate(model, std::vector<DataLoader>{std::move(dataloader)}, ckpt_path);
}

std::vector<Metrics> Trainer::validate(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path) {
  return with_datamodule(datamodule, "validate", [&] { return validate(model, datamodule.val_dataloader(), ckpt_path); });
}

std::vector<Metrics> Trainer::test(LightningModule& model, std::vector<DataLoader> dataloaders, const std::string& ckpt_path) {
  const auto& settings = *settings_;
  join_run(settings, state_, options_.use_distributed_sampler, loader_pointers(dataloaders));
  state_.num_test_batches = check_evaluation_loaders("test", "test DataLoaders", dataloaders, settings.limit_test_batches);
  std::vector<Metrics> metrics;
  run_evaluation_stage(model, Stage::kTest, settings, ckpt_path, [&](detail::LoopContext& ctx) {
    agree_on_evaluation(ctx, state_.num_test_batches);
    found_while_running(ctx, [&] {
      metrics = detail::run_evaluation(ctx, detail::EvaluationKind::kTest, dataloaders, state_.num_test_batches);
    });
  });
  return metrics;
}

std::vector<Metrics> Trainer::test(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path) {
  return test(model, std::vector<DataLoader>{std::move(dataloader)}, ckpt_path);
}

std::vector<Metrics> Trainer::test(LightningModule& model, DataModule& datamodule, const std::string& ckpt_path) {
  return with_datamodule(datamodule, "test", [&] { return test(model, datamodule.test_dataloader(), ckpt_path); });
}

std::vector<std::vector<Batch>> Trainer::predict(LightningModule& model, std::vector<DataLoader> dataloaders,
                                                 const std::string& ckpt_path) {
  const auto& settings = *settings_;
  join_run(settings, state_, options_.use_distributed_sampler, loader_pointers(dataloaders));
  state_.num_predict_batches =
      check_evaluation_loaders("predict", "prediction DataLoaders", dataloaders, settings.limit_predict_batches);
  std::vector<std::vector<Batch>> outputs;
  run_evaluation_stage(model, Stage::kPredict, settings, ckpt_path, [&](detail::LoopContext& ctx) {
    agree_on_evaluation(ctx, state_.num_predict_batches);
    found_while_running(ctx, [&] { outputs = detail::run_prediction(ctx, dataloaders, state_.num_predict_batches); });
  });
  return outputs;
}

std::vector<Batch> Trainer::predict(LightningModule& model, DataLoader dataloader, const std::string& ckpt_path) {
  auto outputs = predict(model, std::vector<DataLoader>{std::move(dataloader)}, ckpt_path);
  return std::move(outputs.front());
}

std::vector<std::vector<Batch>> Trainer::predict(LightningModule& model, DataModule& datamodule,
                                                 const std::string& ckpt_path) {
  return with_datamodule(datamodule, "predict", [&] { return predict(model, datamodule.predict_dataloader(), ckpt_path); });
}

}  // namespace lightning
