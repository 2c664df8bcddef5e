#include "trainer/connectors/checkpoint_connector.h"

#include "strategies/process_group.h"

#include <lightning/callbacks/model_checkpoint.h>

#include "utilities/random_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

namespace lightning::detail {
namespace fs = std::filesystem;

namespace {

using GenericDict = c10::impl::GenericDict;
GenericDict string_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::IValue to_ivalue(const HyperValue& value) {
  return std::visit([](const auto& v) { return c10::IValue(v); }, value);
}

c10::IValue scheduler_state(const LRScheduler& scheduler) {
  GenericDict out = string_dict();
  for (const auto& [key, values] : scheduler.state_dict()) out.insert(key, c10::List<double>(values));
  out.insert("name", scheduler.name());
  return out;
}

SchedulerState to_scheduler_state(const c10::IValue& saved) {
  SchedulerState state;
  // Checkpoints keep lists untyped (pickle_for_python), as Python writes them: numbers may be ints.
  for (const auto& entry : saved.toGenericDict()) {
    if (!entry.value().isList()) continue;
    const auto numbers = entry.value().toList();
    std::vector<double> values;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      const c10::IValue number = numbers.get(i);
      if (!number.isInt() && !number.isDouble()) break;  // not a list of numbers: none of ours
      values.push_back(number.isInt() ? static_cast<double>(number.toInt()) : number.toDouble());
    }
    if (values.size() == numbers.size()) state[entry.key().toStringRef()] = std::move(values);
  }
  return state;
}

Diagnostic incomplete_checkpoint(const std::string& path, const std::string& missing) {
  return {.code = "LC0405",
          .message = fmt::format("\"{}\" cannot resume training: it has no \"{}\"", path, missing),
          .subject = {path},
          .received = "a checkpoint with the weights only (ModelCheckpoint save_weights_only, or a plain state dict)",
          .expected = "a full checkpoint with optimizer_states, lr_schedulers and loops",
          .help = "resume from a checkpoint saved with save_weights_only = false, or load only the weights with "
                  "pl::load_weights(model, path) and start a new fit"};
}

}  // namespace

c10::IValue entry_at(const c10::IValue& root, std::initializer_list<std::string_view> path) {
  c10::IValue value = root;
  for (std::string_view key : path) {
    if (!value.isGenericDict() || !value.toGenericDict().contains(std::string(key))) return {};
    value = value.toGenericDict().at(std::string(key));
  }
  return value;
}

Checkpoint dump_checkpoint(const CheckpointParts& parts, bool weights_only) {
  const TrainerState& state = parts.state;
  LightningModule& module = parts.module;
  Checkpoint checkpoint = make_checkpoint();
  checkpoint.insert("epoch", state.current_epoch);
  checkpoint.insert("global_step", state.global_step);
  checkpoint.insert("lightning_cpp_version", LIGHTNING_CPP_VERSION);
  checkpoint.insert("state_dict", module_state_dict(module));

  const FitProgress& progress = parts.progress;
  GenericDict fit_loop = string_dict();
  fit_loop.insert("epoch", state.current_epoch);
  fit_loop.insert("batches_done_in_epoch", progress.batches_done_in_epoch);
  fit_loop.insert("epoch_finished", progress.epoch_finished);
  fit_loop.insert("total_batches_done", progress.total_batches_done);
  fit_loop.insert("batches_that_stepped", progress.batches_that_stepped);
  fit_loop.insert("global_step", state.global_step);
  c10::Dict<std::string, double> metrics;
  for (const auto& [key, value] : state.callback_metrics) metrics.insert(key, value);
  fit_loop.insert("callback_metrics", metrics);
  GenericDict loops = string_dict();
  loops.insert("fit_loop", fit_loop);
  checkpoint.insert("loops", loops);

  if (!weights_only) {
    c10::impl::GenericList optimizers(c10::AnyType::get());
    for (const auto& optimizer : parts.optimizer_config.optimizers()) optimizers.push_back(optimizer_state_dict(*optimizer));
    checkpoint.insert("optimizer_states", optimizers);
    c10::impl::GenericList schedulers(c10::AnyType::get());
    for (const auto& config : parts.optimizer_config.schedulers()) schedulers.push_back(scheduler_state(*config.scheduler));
    checkpoint.insert("lr_schedulers", schedulers);
    GenericDict callbacks = string_dict();
    for (const auto& callback : parts.callbacks) {
      c10::IValue callback_state = callback->state_dict();
      if (!callback_state.isNone()) callbacks.insert(callback->state_key(), callback_state);
    }
    checkpoint.insert("callbacks", callbacks);
    GenericDict rng = string_dict();
    rng.insert("torch", cpu_generator_state());
    // As Lightning's: torch.cuda.get_rng_state_all(), one state per GPU (none without CUDA).
    c10::impl::GenericList cuda_states(c10::AnyType::get());
    for (const auto& state : cuda_generator_states()) cuda_states.push_back(state);
    rng.insert("torch.cuda", cuda_states);
    checkpoint.insert("rng_states", rng);
    // Lightning keeps the precision plugin's state under its class name.
    if (parts.scaler) checkpoint.insert("MixedPrecision", parts.scaler->state_dict());
  }
  GenericDict hparams = string_dict();
  for (const auto& [key, value] : module.hparams()) hparams.insert(key, to_ivalue(value));
  checkpoint.insert("hyper_parameters", hparams);
  return checkpoint;
}

fs::path resolve_ckpt_path(const std::string& ckpt_path, const std::vector<std::shared_ptr<Callback>>& callbacks,
                           const TrainerView& view, Collectives* collectives, DiagnosticCollector* fresh_start_warnings) {
  if (ckpt_path != "last" && ckpt_path != "best") return ckpt_path;
  std::vector<const ModelCheckpoint*> checkpointers;
  for (const auto& callback : callbacks) {
    if (const auto* found = dynamic_cast<const ModelCheckpoint*>(callback.get())) checkpointers.push_back(found);
  }
  fs::path chosen;
  if (ckpt_path == "best") {
    for (const auto* checkpointer : checkpointers) {
      if (!checkpointer->best_model_path().empty()) {
        chosen = checkpointer->best_model_path();
        break;
      }
    }
  } else {
    // The newest last*.ckpt: this trainer's, or one a previous process left in the same folder.
    fs::file_time_type newest{};
    std::error_code error;
    for (const auto* checkpointer : checkpointers) {
      const fs::path folder = checkpointer->dirpath().empty() ? fs::path(checkpointer->resolve_dirpath(view))
                                                              : fs::path(checkpointer->dirpath());
      for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with("last") || it->path().extension() != ".ckpt") continue;
        const auto time = fs::last_write_time(it->path(), error);
        if (chosen.empty() || time > newest) chosen = it->path(), newest = time;
      }
    }
  }
  // Each rank's ModelCheckpoint ranks by its own metrics, but only rank 0 wrote files: its choice holds.
  if (collectives != nullptr) chosen = broadcast_string(*collectives, chosen.string());
  if (chosen.empty() && ckpt_path == "last" && fresh_start_warnings != nullptr) {
    fresh_start_warnings->warn({.code = "LC0407",
                                .severity = Severity::kWarning,
                                .message = "ckpt_path = \"last\" found no checkpoint: the fit starts from the beginning",
                                .subject = {"Trainer::fit(..., ckpt_path)"},
                                .received = fmt::format("\"last\" with {} ModelCheckpoint callback{} and no last*.ckpt",
                                                        checkpointers.size(), checkpointers.size() == 1 ? "" : "s"),
                                .expected = "a last*.ckpt file in a ModelCheckpoint's folder, once the run has saved one",
                                .help = checkpointers.empty() ? "add a ModelCheckpoint(save_last = true), or nothing will resume"
                                                              : "nothing to do on a first start; set save_last = true if no "
                                                                "last.ckpt is ever written"});
    return {};
  }
  if (chosen.empty()) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0404",
        .message = fmt::format("ckpt_path = \"{}\" found no checkpoint", ckpt_path),
        .subject = {"Trainer::fit(..., ckpt_path)"},
        .received = fmt::format("\"{}\" with {} ModelCheckpoint callback{}", ckpt_path, checkpointers.size(),
                                checkpointers.size() == 1 ? "" : "s"),
        .expected = ckpt_path == "best" ? "a ModelCheckpoint that saved a best checkpoint in this process"
                                        : "a last*.ckpt file in a ModelCheckpoint's folder (save_last = true)",
        .help = checkpointers.empty() ? "add a ModelCheckpoint callback, or pass the checkpoint's path"
                                      : "pass the checkpoint's path, or set ModelCheckpoint's save_last = true"}});
  }
  return chosen;
}

void check_writer_version(const Checkpoint& checkpoint, const std::string& path, DiagnosticCollector& problems) {
  if (!checkpoint.contains("lightning_cpp_version") || !checkpoint.at("lightning_cpp_version").isString()) return;
  const std::string written = checkpoint.at("lightning_cpp_version").toStringRef();
  // "0.1.0" as numbers, for the comparison; what is not a number counts as 0.
  const auto parts = [](const std::string& version) {
    std::vector<int64_t> numbers;
    for (std::size_t begin = 0; begin <= version.size();) {
      const std::size_t end = std::min(version.find('.', begin), version.size());
      int64_t number = 0;
      std::from_chars(version.data() + begin, version.data() + end, number);
      numbers.push_back(number);
      begin = end + 1;
    }
    return numbers;
  };
  if (!(parts(LIGHTNING_CPP_VERSION) < parts(written))) return;
  problems.warn({.code = "LC0408",
                 .severity = Severity::kWarning,
                 .message = fmt::format("\"{}\" was written by lightning-cpp {}, newer than this {}", path, written,
                                        LIGHTNING_CPP_VERSION),
                 .subject = {path},
                 .received = fmt::format("lightning_cpp_version \"{}\"", written),
                 .expected = fmt::format("a checkpoint of lightning-cpp {} or earlier", LIGHTNING_CPP_VERSION),
                 .help = "entries this version does not know are ignored: use the newer lightning-cpp to resume "
                         "exactly"});
}

void restore_module(LightningModule& module, const Checkpoint& checkpoint, const std::string& path) {
  const c10::IValue weights = checkpoint.contains("state_dict") ? checkpoint.at("state_dict") : c10::IValue(checkpoint);
  load_module_state_dict(module, weights, path);
}

void check_resumable(const Checkpoint& checkpoint, const std::string& path, DiagnosticCollector& problems) {
  for (const char* key : {"optimizer_states", "lr_schedulers", "loops"}) {
    if (!checkpoint.contains(key)) {
      problems.error(incomplete_checkpoint(path, key));
      return;
    }
  }
  // What restore_optimizers and restore_training_state read, and of which type.
  std::vector<std::string> unfit;
  const auto expect = [&](const std::string& name, const c10::IValue& value, bool fits) {
    if (!fits) unfit.push_back(fmt::format("{} is {}", name, value.isNone() ? "missing" : value.type()->str()));
  };
  const auto entry = [](const c10::IValue& dict, const char* key) { return entry_at(dict, {key}); };
  expect("optimizer_states", checkpoint.at("optimizer_states"), checkpoint.at("optimizer_states").isList());
  expect("lr_schedulers", checkpoint.at("lr_schedulers"), checkpoint.at("lr_schedulers").isList());
  const c10::IValue fit_loop = entry(checkpoint.at("loops"), "fit_loop");
  expect("loops.fit_loop", fit_loop, fit_loop.isGenericDict());
  if (fit_loop.isGenericDict()) {
    for (const char* name : {"epoch", "global_step", "batches_done_in_epoch", "total_batches_done", "batches_that_stepped"}) {
      expect(fmt::format("loops.fit_loop.{}", name), entry(fit_loop, name), entry(fit_loop, name).isInt());
    }
    expect("loops.fit_loop.epoch_finished", entry(fit_loop, "epoch_finished"), entry(fit_loop, "epoch_finished").isBool());
    expect("loops.fit_loop.callback_metrics", entry(fit_loop, "callback_metrics"),
           entry(fit_loop, "callback_metrics").isGenericDict());
  }
  if (checkpoint.contains("rng_states")) {
    const c10::IValue rng = checkpoint.at("rng_states");
    expect("rng_states.torch", entry(rng, "torch"), entry(rng, "torch").isTensor());
    if (const c10::IValue cuda = entry(rng, "torch.cuda"); !cuda.isNone()) {
      expect("rng_states[\"torch.cuda\"]", cuda, cuda.isList());
      if (cuda.isList()) {
        const auto& states = cuda.toListRef();
        const auto odd = std::find_if(states.begin(), states.end(), [](const c10::IValue& state) { return !state.isTensor(); });
        if (odd != states.end()) unfit.push_back(fmt::format("rng_states[\"torch.cuda\"] holds {}", odd->type()->str()));
      }
    }
  }
  if (unfit.empty()) return;
  // A Lightning checkpoint whose progress could not be adopted: what it lacks, in Lightning's terms.
  std::string writer;
  if (written_by_pytorch_lightning(checkpoint)) {
    if (auto lightning_unfit = pytorch_lightning_layout_problems(checkpoint); !lightning_unfit.empty()) unfit = std::move(lightning_unfit);
    const c10::IValue version = checkpoint.at("pytorch-lightning_version");
    writer = fmt::format(" (written by PyTorch Lightning {}; lightning-cpp reads the loops of Lightning 2.x)",
                         version.isString() ? version.toStringRef() : version.type()->str());
  }
  problems.error({.code = "LC0406",
                  .message = fmt::format("\"{}\" cannot resume training here: its training state is not in lightning-cpp's layout", path),
                  .subject = {path},
                  .received = fmt::format("{}{}", fmt::join(unfit, ", "), writer),
                  .expected = "the optimizer_states and lr_schedulers lists, loops.fit_loop (epoch, global_step, "
                              "batches_done_in_epoch, total_batches_done, batches_that_stepped, epoch_finished, "
                              "callback_metrics) and rng_states that lightning-cpp writes, or the loops of "
                              "PyTorch Lightning 2.x (fit_loop.epoch_progress, fit_loop.epoch_loop.batch_progress, "
                              "fit_loop.epoch_loop.state_dict) and global_step",
                  .help = "start a new fit from its weights: pl::load_weights(model, path) before fit; validate, test "
                          "and predict read only the weights of a ckpt_path"});
}

void restore_optimizers(OptimizerConfig& optimizer_config, const Checkpoint& checkpoint, const std::string& path,
                        DiagnosticCollector& problems) {
  const auto& optimizers = optimizer_config.optimizers();
  auto& schedulers = optimizer_config.schedulers();
  const auto saved_optimizers = checkpoint.at("optimizer_states").toList();
  const auto saved_schedulers = checkpoint.at("lr_schedulers").toList();
  if (saved_optimizers.size() != optimizers.size() || saved_schedulers.size() != schedulers.size()) {
    problems.error({.code = "LC0405",
                    .message = fmt::format("the optimizer state in \"{}\" does not fit the optimizers of configure_optimizers", path),
                    .subject = {path},
                    .received = fmt::format("{} optimizers and {} schedulers", saved_optimizers.size(), saved_schedulers.size()),
                    .expected = fmt::format("{} optimizers and {} schedulers, as configure_optimizers returns",
                                            optimizers.size(), schedulers.size()),
                    .help = "resume with the optimizers the checkpoint was trained with, or load only the weights "
                            "(pl::load_weights) to start a new optimization"});
    return;
  }
  try {
    for (std::size_t i = 0; i < optimizers.size(); ++i) load_optimizer_state_dict(*optimizers[i], saved_optimizers.get(i), path);
  } catch (const MisconfigurationException& e) {
    for (const auto& d : e.diagnostics()) problems.error(d);
  }
  for (std::size_t i = 0; i < schedulers.size(); ++i) {
    LRScheduler& scheduler = *schedulers[i].scheduler;
    const auto mismatch = [&](std::string received) {
      problems.error({.code = "LC0405",
                      .message = fmt::format("the state of lr_schedulers[{}] in \"{}\" does not fit {}", i, path, scheduler.name()),
                      .subject = {path},
                      .received = std::move(received),
                      .expected = fmt::format("the state of a {}, as configure_optimizers returns", scheduler.name()),
                      .help = "resume with the schedulers the checkpoint was trained with, or load only the weights "
                              "(pl::load_weights) to start a new optimization"});
    };
    const c10::IValue saved = saved_schedulers.get(i);
    const c10::IValue saved_name = saved.isGenericDict() && saved.toGenericDict().contains("name") ? saved.toGenericDict().at("name")
                                                                                                    : c10::IValue();
    if (saved_name.isString() && saved_name.toStringRef() != scheduler.name()) {
      mismatch(fmt::format("the state of {} given to {}", saved_name.toStringRef(), scheduler.name()));
      continue;
    }
    try {
      scheduler.load_state_dict(to_scheduler_state(saved));
    } catch (const std::invalid_argument& e) {  // a state without the numbers this scheduler keeps
      mismatch(e.what());
    }
  }
}

void restore_training_state(const CheckpointParts& parts, const Checkpoint& checkpoint) {
  TrainerState& state = parts.state;
  const auto fit_loop = checkpoint.at("loops").toGenericDict().at("fit_loop").toGenericDict();
  state.current_epoch = fit_loop.at("epoch").toInt();
  state.global_step = fit_loop.at("global_step").toInt();
  FitProgress& progress = parts.progress;
  progress.batches_done_in_epoch = fit_loop.at("batches_done_in_epoch").toInt();
  progress.epoch_finished = fit_loop.at("epoch_finished").toBool();
  progress.total_batches_done = fit_loop.at("total_batches_done").toInt();
  progress.batches_that_stepped = fit_loop.at("batches_that_stepped").toInt();
  state.callback_metrics.clear();
  for (const auto& entry : fit_loop.at("callback_metrics").toGenericDict()) {
    state.callback_metrics[entry.key().toStringRef()] = entry.value().toDouble();
  }

  if (checkpoint.contains("rng_states")) {
    const auto rng = checkpoint.at("rng_states").toGenericDict();
    set_cpu_generator_state(rng.at("torch").toTensor());
    if (rng.contains("torch.cuda")) {
      std::vector<at::Tensor> cuda_states;
      for (const c10::IValue& state : rng.at("torch.cuda").toListRef()) cuda_states.push_back(state.toTensor());
      set_cuda_generator_states(cuda_states);
    }
  }
  if (parts.scaler && checkpoint.contains("MixedPrecision")) {
    parts.scaler->load_state_dict(checkpoint.at("MixedPrecision").toGenericDict());
  }
  if (checkpoint.contains("callbacks")) {
    const auto saved = checkpoint.at("callbacks").toGenericDict();
    for (const auto& callback : parts.callbacks) {
      auto found = saved.find(callback->state_key());
      if (found != saved.end()) callback->load_state_dict(found->value());
    }
  }
}

}  // namespace lightning::detail
