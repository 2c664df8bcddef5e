// A checkpoint of PyTorch Lightning's Trainer (2.x) read as one of ours, so that a fit begun in
// Python continues here. What differs is the loops' progress (Lightning keeps counters of
// ready/started/processed/completed batches and epochs), PyTorch's scheduler states, the
// callbacks' state keys, and numbers kept as tensors; the weights and PyTorch's optimizer states
// are read as they are (checkpoint_io).
#include "trainer/connectors/checkpoint_connector.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

namespace lightning::detail {
namespace {

using GenericDict = c10::impl::GenericDict;
GenericDict string_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

/// Reads a Lightning checkpoint's whole numbers by their path of keys, noting each that is missing
/// or of another type.
class ProgressReader {
 public:
  explicit ProgressReader(const Checkpoint& checkpoint) : root_(checkpoint) {}

  int64_t integer(std::initializer_list<std::string_view> path) {
    const c10::IValue value = entry_at(root_, path);
    if (value.isInt()) return value.toInt();
    unfit_.push_back(fmt::format("{} is {}", fmt::join(path, "."), value.isNone() ? "missing" : value.type()->str()));
    return 0;
  }
  std::optional<int64_t> optional_integer(std::initializer_list<std::string_view> path) const {
    const c10::IValue value = entry_at(root_, path);
    return value.isInt() ? std::optional<int64_t>(value.toInt()) : std::nullopt;
  }
  std::vector<std::string> unfit() const { return unfit_; }

 private:
  c10::IValue root_;
  std::vector<std::string> unfit_;
};

/// Lightning's fit-loop progress as lightning-cpp's loops.fit_loop; the fields it lacks otherwise.
std::variant<GenericDict, std::vector<std::string>> fit_loop_of(const Checkpoint& checkpoint) {
  ProgressReader read(checkpoint);
  const int64_t epochs_ready = read.integer({"loops", "fit_loop", "epoch_progress", "current", "ready"});
  const int64_t epochs_processed = read.integer({"loops", "fit_loop", "epoch_progress", "current", "processed"});
  const int64_t epochs_completed = read.integer({"loops", "fit_loop", "epoch_progress", "current", "completed"});
  const int64_t epoch_batches = read.integer({"loops", "fit_loop", "epoch_loop.batch_progress", "current", "processed"});
  const int64_t batches_processed = read.integer({"loops", "fit_loop", "epoch_loop.batch_progress", "total", "processed"});
  const int64_t batches_completed = read.integer({"loops", "fit_loop", "epoch_loop.batch_progress", "total", "completed"});
  const int64_t batches_that_stepped = read.integer({"loops", "fit_loop", "epoch_loop.state_dict", "_batches_that_stepped"});
  const int64_t global_step = read.integer({"global_step"});
  if (!read.unfit().empty()) return read.unfit();
  const int64_t optimizer_steps =
      read.optional_integer({"loops", "fit_loop", "epoch_loop.automatic_optimization.optim_progress", "optimizer",
                             "step", "total", "completed"})
          .value_or(batches_that_stepped);

  GenericDict fit_loop = string_dict();
  // An epoch is counted processed when its batches are done and completed after on_train_epoch_end:
  // a checkpoint saved by that hook has one more processed than completed (our epoch_finished).
  // Between epochs, ready equals completed and the batch counters still hold the last epoch's.
  fit_loop.insert("epoch", epochs_completed);
  fit_loop.insert("epoch_finished", epochs_processed > epochs_completed);
  fit_loop.insert("batches_done_in_epoch", epochs_ready > epochs_completed ? epoch_batches : 0);
  fit_loop.insert("total_batches_done", batches_processed);
  // A checkpoint saved in on_train_batch_end counts that batch processed, not completed, and has
  // not yet counted its optimizer step among the batches that stepped.
  const bool batch_in_flight = batches_processed > batches_completed;
  fit_loop.insert("batches_that_stepped",
                  batches_that_stepped + (batch_in_flight && optimizer_steps > batches_that_stepped ? 1 : 0));
  fit_loop.insert("global_step", global_step);
  fit_loop.insert("callback_metrics", c10::Dict<std::string, double>());  // Lightning keeps none
  return fit_loop;
}

/// The class of a scheduler state PyTorch wrote (which names none), by the options it keeps; ""
/// for a class lightning-cpp does not have.
std::string python_scheduler_name(const GenericDict& saved) {
  for (const auto& [option, name] : {std::pair{"step_size", "StepLR"}, {"milestones", "MultiStepLR"}, {"T_max", "CosineAnnealingLR"},
                                     {"start_factor", "LinearLR"}, {"total_steps", "OneCycleLR"}, {"patience", "ReduceLROnPlateau"},
                                     {"gamma", "ExponentialLR"}}) {
    if (saved.contains(option)) return name;
  }
  return "";
}

/// PyTorch's scheduler state (last_epoch an int, _last_lr) as ours (every number a list, last_lr,
/// the class's name).
GenericDict scheduler_state_of(const GenericDict& saved) {
  GenericDict state = string_dict();
  if (const std::string name = python_scheduler_name(saved); !name.empty()) state.insert("name", name);
  for (const auto& entry : saved) {
    const std::string key = entry.key().toStringRef() == "_last_lr" ? "last_lr" : entry.key().toStringRef();
    const c10::IValue& value = entry.value();
    if (value.isInt()) state.insert(key, c10::List<double>({static_cast<double>(value.toInt())}));
    if (value.isDouble()) state.insert(key, c10::List<double>({value.toDouble()}));
    if (value.isList()) state.insert(key, value);
  }
  return state;
}

/// A callback's state with Lightning's one-element tensors (scores) as numbers, ours.
c10::IValue numbers_for_scalar_tensors(const c10::IValue& value) {
  if (value.isTensor() && value.toTensor().numel() == 1) return value.toTensor().item<double>();
  if (!value.isGenericDict()) return value;
  GenericDict converted(value.toGenericDict().keyType(), c10::AnyType::get());
  for (const auto& entry : value.toGenericDict()) converted.insert(entry.key(), numbers_for_scalar_tensors(entry.value()));
  return converted;
}

/// Lightning's ModelCheckpoint state key names train_time_interval, which ours does not have.
std::string our_state_key(std::string key) {
  constexpr std::string_view kNoTimeInterval = ", 'train_time_interval': None}";
  if (key.starts_with("ModelCheckpoint{") && key.ends_with(kNoTimeInterval)) {
    key.replace(key.size() - kNoTimeInterval.size(), kNoTimeInterval.size(), "}");
  }
  return key;
}

}  // namespace

bool written_by_pytorch_lightning(const Checkpoint& checkpoint) {
  return checkpoint.contains("pytorch-lightning_version") && !checkpoint.contains("lightning_cpp_version");
}

std::vector<std::string> pytorch_lightning_layout_problems(const Checkpoint& checkpoint) {
  auto fit_loop = fit_loop_of(checkpoint);
  if (auto* unfit = std::get_if<std::vector<std::string>>(&fit_loop)) return std::move(*unfit);
  return {};
}

void adopt_pytorch_lightning_layout(Checkpoint& checkpoint) {
  if (!written_by_pytorch_lightning(checkpoint)) return;
  auto fit_loop = fit_loop_of(checkpoint);
  if (!std::holds_alternative<GenericDict>(fit_loop)) return;  // check_resumable names what is missing
  GenericDict loops = string_dict();
  loops.insert("fit_loop", std::get<GenericDict>(fit_loop));
  checkpoint.insert_or_assign("loops", loops);

  if (checkpoint.contains("lr_schedulers") && checkpoint.at("lr_schedulers").isList()) {
    c10::impl::GenericList schedulers(c10::AnyType::get());
    for (const c10::IValue& saved : checkpoint.at("lr_schedulers").toListRef()) {
      schedulers.push_back(saved.isGenericDict() ? c10::IValue(scheduler_state_of(saved.toGenericDict())) : saved);
    }
    checkpoint.insert_or_assign("lr_schedulers", schedulers);
  }
  if (checkpoint.contains("callbacks") && checkpoint.at("callbacks").isGenericDict()) {
    GenericDict callbacks = string_dict();
    for (const auto& entry : checkpoint.at("callbacks").toGenericDict()) {
      if (entry.key().isString()) callbacks.insert(our_state_key(entry.key().toStringRef()), numbers_for_scalar_tensors(entry.value()));
    }
    checkpoint.insert_or_assign("callbacks", callbacks);
  }
}

}  // namespace lightning::detail
