#include <lightning/callbacks/model_checkpoint.h>

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/utilities/console.h>
#include <lightning/utilities/paths.h>

#include "callbacks/monitor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>

namespace lightning {
namespace fs = std::filesystem;

namespace {

const std::regex& placeholder() {
  static const std::regex pattern(R"(\{([^{}]+)\})");
  return pattern;
}

/// One `{name:spec}` of a file name template, rendered as Python's str.format would.
std::string render_value(const std::string& name, const std::string& spec, double value) {
  const std::string format = spec.empty() ? "{}" : "{:" + spec + "}";
  if (name == "epoch" || name == "step") {  // counters are integers, as in Lightning
    try {
      return fmt::format(fmt::runtime(format), static_cast<int64_t>(value));
    } catch (const fmt::format_error&) {  // a float spec such as ".2f": Python formats the int as a float
    }
  }
  return fmt::format(fmt::runtime(format), value);
}

std::string render_template(const std::string& text, const std::map<std::string, double>& metrics,
                            bool insert_metric_name) {
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), placeholder());
  std::size_t position = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& match = *it;
    out += text.substr(position, static_cast<std::size_t>(match.position()) - position);
    const std::string inner = match[1].str();
    const auto colon = inner.find(':');
    const std::string name = inner.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : inner.substr(colon + 1);
    auto found = metrics.find(name);
    if (insert_metric_name) out += name + "=";
    out += render_value(name, spec, found == metrics.end() ? 0.0 : found->second);
    position = static_cast<std::size_t>(match.position() + match.length());
  }
  return out + text.substr(position);
}

std::string in_quotes(const std::string& s) { return fmt::format("\"{}\"", s); }

/// Deletes a file that a save replaced, unless it is one of the files `kept` or outside our folder
/// (a path restored from a checkpoint of another run is left alone). Whether it removed a file.
bool remove_replaced(const std::string& previous, std::initializer_list<std::string> kept, const std::string& dirpath) {
  if (previous.empty() || fs::path(previous).parent_path() != fs::path(dirpath)) return false;
  for (const auto& file : kept) {
    if (previous == file) return false;
  }
  std::error_code ignored;
  return fs::remove(previous, ignored);
}

}  // namespace

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  if (options_.filename.empty()) options_.filename = "{epoch}-{step}";
  DiagnosticCollector problems("while building ModelCheckpoint");
  if (options_.mode != "min" && options_.mode != "max") {
    problems.error(unknown_choice("LC0501", fmt::format("ModelCheckpoint option `mode` has an unknown value \"{}\"", options_.mode),
                                  {"ModelCheckpoint", {"mode"}}, options_.mode, {"min", "max"}));
  }
  if (options_.save_top_k < -1) {
    problems.error(out_of_range("LC0502", {"ModelCheckpoint", {"save_top_k"}}, ">= -1", std::to_string(options_.save_top_k),
                                "-1 (keep all), 0 (keep none) or a positive count", "use -1 to keep every checkpoint"));
  }
  if (options_.every_n_train_steps < 0 || options_.every_n_epochs.value_or(0) < 0) {
    const bool steps = options_.every_n_train_steps < 0;
    problems.error(out_of_range("LC0503", {"ModelCheckpoint", {steps ? "every_n_train_steps" : "every_n_epochs"}}, ">= 0",
                                std::to_string(steps ? options_.every_n_train_steps : *options_.every_n_epochs),
                                "0 (off) or a positive count",
                                "set a positive interval, or 0 to save only by the other trigger"));
  }
  if (options_.monitor.empty() && options_.save_top_k != 0 && options_.save_top_k != 1 && options_.save_top_k != -1) {
    problems.error({.code = "LC0504",
                    .message = fmt::format("ModelCheckpoint keeps the top {} checkpoints but has no `monitor` to rank them by",
                                           options_.save_top_k),
                    .subject = {"ModelCheckpoint", {"monitor", "save_top_k"}},
                    .received = fmt::format("save_top_k = {}, monitor = \"\"", options_.save_top_k),
                    .expected = "a monitor to rank by, or save_top_k of -1, 0 or 1",
                    .help = "set `.monitor = \"val_loss\"` (a metric the module logs), or save_top_k = -1 to keep all"});
  }
  if (options_.every_n_train_steps > 0 && options_.every_n_epochs.value_or(0) > 0) {
    problems.error({.code = "LC0505",
                    .message = "ModelCheckpoint options `every_n_train_steps` and `every_n_epochs` are both set",
                    .subject = {"ModelCheckpoint", {"every_n_train_steps", "every_n_epochs"}},
                    .received = fmt::format("every_n_train_steps = {}, every_n_epochs = {}", options_.every_n_train_steps,
                                            *options_.every_n_epochs),
                    .expected = "one trigger: steps or epochs",
                    .help = "use two ModelCheckpoint callbacks to save by both (give them distinct dirpath or filename)"});
  }
  std::string template_error;
  const std::string rest = std::regex_replace(options_.filename, placeholder(), "");
  if (rest.find_first_of("{}") != std::string::npos) {
    template_error = "unbalanced braces";
  } else {
    try {
      render_template(options_.filename, {}, true);
    } catch (const fmt::format_error& e) {
      template_error = e.what();
    }
  }
  if (!template_error.empty()) {
    problems.error({.code = "LC0506",
                    .message = fmt::format("ModelCheckpoint option `filename` is not a valid template: {}", template_error),
                    .subject = {"ModelCheckpoint", {"filename"}},
                    .received = in_quotes(options_.filename),
                    .expected = "text with {metric} or {metric:format} placeholders, e.g. \"{epoch}-{val_loss:.2f}\"",
                    .help = "format specs follow Python's: {val_loss:.3f}, {epoch:03d}"});
  }
  problems.throw_if_errors();
  every_n_epochs_ = options_.every_n_epochs.value_or(options_.every_n_train_steps > 0 ? 0 : 1);
}

std::string ModelCheckpoint::state_key() const {
  return fmt::format("ModelCheckpoint{{'monitor': {}, 'mode': '{}', 'every_n_train_steps': {}, 'every_n_epochs': {}}}",
                     options_.monitor.empty() ? "None" : "'" + options_.monitor + "'", options_.mode,
                     options_.every_n_train_steps, every_n_epochs_);
}

std::string ModelCheckpoint::format_checkpoint_name(const std::map<std::string, double>& metrics) const {
  return render_template(options_.filename, metrics, options_.auto_insert_metric_name) + ".ckpt";
}

std::string ModelCheckpoint::resolve_dirpath(const TrainerView& trainer) const {
  if (!options_.dirpath.empty()) return options_.dirpath;
  const std::string& base = trainer.logger_names().empty() ? trainer.default_root_dir() : trainer.log_dir();
  return (fs::path(base) / "checkpoints").string();
}

void ModelCheckpoint::preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                                DiagnosticCollector& problems) const {
  if (!options_.monitor.empty() && options_.save_top_k != 0 && !logged_keys.contains(options_.monitor)) {
    problems.error(detail::unlogged_monitor_diagnostic("LC0508", "ModelCheckpoint", options_.monitor, logged_keys));
  }
  const std::string folder = resolve_dirpath(trainer);
  if (const auto problem = unusable_folder(folder)) {
    problems.error({.code = "LC0507",
                    .message = fmt::format("ModelCheckpoint cannot save to \"{}\": {}", folder, *problem),
                    .subject = {"ModelCheckpoint", {"dirpath"}},
                    .received = in_quotes(folder),
                    .expected = "a folder that exists or can be created, writable",
                    .help = "choose a dirpath you can write to (or fix the folder's permissions)"});
  }
}

void ModelCheckpoint::setup(const TrainerView& trainer, LightningModule&, const std::string& stage) {
  dirpath_ = resolve_dirpath(trainer);
  std::error_code error;
  if (stage == "fit" && trainer.is_global_zero() && fs::is_directory(dirpath_, error) && !fs::is_empty(dirpath_, error)) {
    console::warn_once(fmt::format("ModelCheckpoint: checkpoint folder \"{}\" exists and is not empty", dirpath_));
  }
}

bool ModelCheckpoint::should_skip(const TrainerView& trainer) const {
  return trainer.fast_dev_run() || trainer.stage() != Stage::kFit || trainer.sanity_checking() ||
         trainer.probing() || last_global_step_saved_ == trainer.global_step();
}

bool ModelCheckpoint::save_on_train_epoch_end(const TrainerView& trainer) const {
  if (options_.save_on_train_epoch_end) return *options_.save_on_train_epoch_end;
  int64_t val_batches = 0;
  for (int64_t n : trainer.num_val_batches()) val_batches += n;
  // Without validation, the end of the training epoch is the only place. Validation once at each
  // epoch's end runs before on_train_epoch_end, so its metrics are there; validation at other
  // intervals saves after each validation, as in Lightning.
  if (val_batches == 0) return true;
  return trainer.check_val_every_n_epoch() == 1 && trainer.val_check_interval_is_one_epoch();
}

void ModelCheckpoint::on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&,
                                         int64_t) {
  if (should_skip(trainer) || options_.every_n_train_steps < 1 ||
      trainer.global_step() % options_.every_n_train_steps != 0) {
    return;
  }
  save_files(trainer, /*rank_top_k=*/true);
}

void ModelCheckpoint::on_train_epoch_end(const TrainerView& trainer, LightningModule&) {
  if (!should_skip(trainer) && save_on_train_epoch_end(trainer)) save_at_epoch(trainer);
}

void ModelCheckpoint::on_validation_end(const TrainerView& trainer, LightningModule&) {
  if (!should_skip(trainer) && !save_on_train_epoch_end(trainer)) save_at_epoch(trainer);
}

void ModelCheckpoint::save_at_epoch(const TrainerView& trainer) {
  save_files(trainer, every_n_epochs_ >= 1 && (trainer.current_epoch() + 1) % every_n_epochs_ == 0);
}

bool ModelCheckpoint::better(double current, double reference) const {
  return options_.mode == "min" ? current < reference : current > reference;
}

std::string ModelCheckpoint::new_file_path(const std::string& name, const std::string& replaceable) const {
  auto path_for = [&](const std::string& file) { return (fs::path(dirpath_) / file).string(); };
  std::string path = path_for(name + ".ckpt");
  std::error_code error;
  for (int version = 1; options_.enable_version_counter && fs::exists(path, error) && path != replaceable; ++version) {
    path = path_for(fmt::format("{}-v{}.ckpt", name, version));
  }
  return path;
}

void ModelCheckpoint::save_files(const TrainerView& trainer, bool rank_top_k) {
  const auto candidates = detail::monitor_candidates(trainer);
  std::vector<std::string> replaced;
  const std::string top_k = rank_top_k ? rank_in_top_k(candidates, replaced) : "";
  std::string last;
  if (options_.save_last) {
    last = new_file_path("last", last_model_path_);
    replaced.push_back(std::exchange(last_model_path_, last));
  }
  if (top_k.empty() && last.empty()) return;
  // Recorded before writing, so that the file holds the whole save and a resume from it can finish
  // what a kill interrupted (finish_interrupted_save).
  saved_with_last_ = last.empty() ? "" : top_k;
  replaced_by_last_save_ = replaced;

  // last.ckpt first, the top-k file then a second name of the same file: a kill between the two
  // leaves a last.ckpt whose state names the top-k file, never a top-k file newer than last.ckpt.
  save(trainer, last.empty() ? top_k : last);
  if (!trainer.is_global_zero()) return;  // rank zero writes the files, and alone removes them
  if (!saved_with_last_.empty()) link_checkpoint_file(last, top_k);
  for (const auto& file : replaced) remove_replaced(file, {top_k, last}, dirpath_);
}

void ModelCheckpoint::save(const TrainerView& trainer, const std::string& path) {
  last_global_step_saved_ = trainer.global_step();  // before the write: the file's state holds it
  trainer.save_checkpoint(path, options_.save_weights_only);
  if (options_.verbose) console::info(fmt::format("Epoch {}, global step {}: saved \"{}\"", trainer.current_epoch(), trainer.global_step(), path));
}

std::string ModelCheckpoint::rank_in_top_k(const std::map<std::string, double>& candidates, std::vector<std::string>& replaced) {
  if (options_.save_top_k == 0) return "";
  const std::string name = render_template(options_.filename, candidates, options_.auto_insert_metric_name);
  if (options_.monitor.empty()) {  // keep the latest (or all, with -1)
    const std::string path = new_file_path(name, "");
    const std::string previous = std::exchange(best_model_path_, path);
    if (options_.save_top_k == 1) replaced.push_back(previous);
    return path;
  }
  auto found = candidates.find(options_.monitor);
  if (found == candidates.end()) {
    std::set<std::string> keys;
    for (const auto& [key, value] : candidates) keys.insert(key);
    throw MisconfigurationException({detail::unlogged_monitor_diagnostic("LC0508", "ModelCheckpoint", options_.monitor, keys)});
  }
  double current = found->second;
  const bool has_room = options_.save_top_k == -1 || static_cast<int64_t>(best_k_models_.size()) < options_.save_top_k;
  if (!has_room && !(kth_value_ && better(current, *kth_value_))) return "";

  const std::size_t k = options_.save_top_k == -1 ? best_k_models_.size() + 1 : static_cast<std::size_t>(options_.save_top_k);
  std::string to_delete;
  if (best_k_models_.size() == k) {
    to_delete = kth_best_model_path_;
    best_k_models_.erase(to_delete);
    replaced.push_back(to_delete);
  }
  if (std::isnan(current)) current = options_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  const std::string path = new_file_path(name, to_delete);
  best_k_models_[path] = current;
  auto worst = [&](const auto& a, const auto& b) { return better(a.second, b.second); };  // ascending "goodness" reversed
  if (best_k_models_.size() == k) {
    auto it = std::max_element(best_k_models_.begin(), best_k_models_.end(), worst);
    kth_best_model_path_ = it->first;
    kth_value_ = it->second;
  }
  auto best = std::min_element(best_k_models_.begin(), best_k_models_.end(), worst);
  best_model_path_ = best->first;
  best_model_score_ = best->second;
  return path;
}

void ModelCheckpoint::on_load_checkpoint(const TrainerView& trainer, LightningModule&, const Checkpoint&) {
  finish_interrupted_save(trainer);
}

void ModelCheckpoint::finish_interrupted_save(const TrainerView& trainer) {
  const std::string top_k = std::exchange(restored_saved_with_last_, "");
  const auto replaced = std::exchange(restored_replaced_, {});
  if (!trainer.is_global_zero() || trainer.ckpt_path().empty()) return;
  std::error_code error;
  std::vector<std::string> done;
  // A file of that save's step is the one it wrote first (or its copy): the top-k file it names
  // is the same file. A file saved later (OnExceptionCheckpoint's) holds other weights.
  if (!top_k.empty() && restored_saved_at_step_ == trainer.global_step() && !fs::exists(top_k, error) &&
      fs::path(top_k).parent_path() == fs::path(dirpath_)) {
    link_checkpoint_file(trainer.ckpt_path(), top_k);
    done.push_back(fmt::format("wrote \"{}\"", top_k));
  }
  for (const auto& file : replaced) {
    if (best_k_models_.contains(file) || file == best_model_path_) continue;  // the restored ranking keeps it
    if (remove_replaced(file, {top_k, trainer.ckpt_path(), last_model_path_}, dirpath_)) {
      done.push_back(fmt::format("removed \"{}\"", file));
    }
  }
  if (!done.empty()) {
    console::info(fmt::format("ModelCheckpoint: finished the save that wrote \"{}\", which the end of its run "
                              "interrupted: {}",
                              trainer.ckpt_path(), fmt::join(done, ", ")));
  }
}

c10::IValue ModelCheckpoint::state_dict() const {
  c10::impl::GenericDict state(c10::StringType::get(), c10::AnyType::get());
  c10::Dict<std::string, double> best_k;
  for (const auto& [path, value] : best_k_models_) best_k.insert(path, value);
  state.insert("monitor", options_.monitor);
  state.insert("best_model_score", best_model_score_ ? c10::IValue(*best_model_score_) : c10::IValue());
  state.insert("best_model_path", best_model_path_);
  state.insert("dirpath", dirpath_);
  state.insert("best_k_models", best_k);
  state.insert("kth_best_model_path", kth_best_model_path_);
  state.insert("kth_value", kth_value_ ? c10::IValue(*kth_value_) : c10::IValue());
  state.insert("last_model_path", last_model_path_);
  // Beyond Lightning's keys: what the save holding this state wrote and replaced, for a resume to
  // finish it when a kill came between its files.
  state.insert("saved_with_last", saved_with_last_);
  state.insert("saved_at_step", last_global_step_saved_);
  c10::List<std::string> replaced;
  for (const auto& file : replaced_by_last_save_) replaced.push_back(file);
  state.insert("replaced_by_save", replaced);
  return state;
}

void ModelCheckpoint::load_state_dict(const c10::IValue& saved) {
  const auto state = saved.toGenericDict();
  auto optional_number = [&](const char* key) -> std::optional<double> {
    auto it = state.find(key);
    if (it == state.end() || it->value().isNone()) return std::nullopt;
    return it->value().toDouble();
  };
  // Lightning's rule: the ranking carries over only into the same folder; elsewhere only the best.
  if (state.at("dirpath").toStringRef() == dirpath_) {
    best_k_models_.clear();
    for (const auto& entry : state.at("best_k_models").toGenericDict()) {
      best_k_models_[entry.key().toStringRef()] = entry.value().toDouble();
    }
    kth_best_model_path_ = state.at("kth_best_model_path").toStringRef();
    kth_value_ = optional_number("kth_value");
    last_model_path_ = state.at("last_model_path").toStringRef();
    auto saved_at = state.find("saved_at_step");
    if (auto it = state.find("saved_with_last"); it != state.end() && it->value().isString() && saved_at != state.end() &&
                                                 saved_at->value().isInt()) {
      restored_saved_with_last_ = it->value().toStringRef();
      restored_saved_at_step_ = saved_at->value().toInt();
    }
    if (auto it = state.find("replaced_by_save"); it != state.end() && it->value().isList()) {
      for (const c10::IValue& file : it->value().toListRef()) {
        if (file.isString()) restored_replaced_.push_back(file.toStringRef());
      }
    }
  } else {
    console::warn_once(fmt::format("ModelCheckpoint: the checkpoint was saved to \"{}\", this run saves to \"{}\": "
                                   "only best_model_path is restored",
                                   state.at("dirpath").toStringRef(), dirpath_));
  }
  best_model_path_ = state.at("best_model_path").toStringRef();
  best_model_score_ = optional_number("best_model_score");
}

}  // namespace lightning
