#include <lightning/callbacks/prediction_writer.h>

#include <lightning/utilities/paths.h>

#include "checkpoint/python_pickle.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace lightning {
namespace {

/// A prediction as Python holds it: a tensor, a tuple, a dict of strings, or None.
c10::IValue to_python(const Batch& batch) {
  if (batch.is_tensor()) return batch.tensor();
  if (batch.is_tuple()) {
    std::vector<c10::IValue> items;
    for (std::size_t i = 0; i < batch.size(); ++i) items.push_back(to_python(batch.at(i)));
    return c10::ivalue::Tuple::create(std::move(items));
  }
  if (batch.is_dict()) {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (const auto& [key, value] : batch.dict()) dict.insert(key, to_python(value));
    return dict;
  }
  return {};
}

c10::IValue to_python(const std::vector<int64_t>& indices) { return c10::List<int64_t>(indices); }

/// One DataLoader's entries as a list; several DataLoaders' as a list of lists, as trainer.predict
/// returns them.
template <class Entry>
c10::IValue to_python(const std::vector<std::vector<Entry>>& per_loader) {
  const auto list_of = [](const std::vector<Entry>& entries) {
    c10::impl::GenericList list(c10::AnyType::get());
    for (const Entry& entry : entries) list.push_back(to_python(entry));
    return list;
  };
  if (per_loader.size() == 1) return list_of(per_loader.front());
  c10::impl::GenericList lists(c10::AnyType::get());
  for (const auto& entries : per_loader) lists.push_back(list_of(entries));
  return lists;
}

Diagnostic unusable_output_dir(const std::string& output_dir, const std::string& problem) {
  return {.code = "LC0520",
          .message = output_dir.empty() ? "PredictionWriter has no `output_dir`"
                                        : fmt::format("PredictionWriter cannot write to \"{}\": {}", output_dir, problem),
          .subject = {"PredictionWriter", {"output_dir"}},
          .received = fmt::format("\"{}\"", output_dir),
          .expected = "a folder that exists or can be created, writable",
          .help = output_dir.empty() ? "e.g. .output_dir = \"predictions\"" : "choose an output_dir you can write to"};
}

}  // namespace

BasePredictionWriter::BasePredictionWriter(std::string write_interval) : write_interval_(std::move(write_interval)) {
  if (write_interval_ != "batch" && write_interval_ != "epoch" && write_interval_ != "batch_and_epoch") {
    throw MisconfigurationException({unknown_choice(
        "LC0519", fmt::format("prediction writer option `write_interval` has an unknown value \"{}\"", write_interval_),
        {"BasePredictionWriter", {"write_interval"}}, write_interval_, {"batch", "epoch", "batch_and_epoch"})});
  }
}

void BasePredictionWriter::on_predict_epoch_start(const TrainerView&, LightningModule&) {
  predictions_.clear();
  batch_indices_.clear();
}

void BasePredictionWriter::on_predict_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& outputs,
                                                const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
  const std::vector<int64_t>& indices = trainer.current_batch_indices();
  if (writes_batches()) write_on_batch_end(trainer, module, outputs, indices, batch, batch_idx, dataloader_idx);
  if (!writes_epoch()) return;
  const auto loaders = std::max(predictions_.size(), static_cast<std::size_t>(dataloader_idx) + 1);
  predictions_.resize(loaders);
  batch_indices_.resize(loaders);
  predictions_[dataloader_idx].push_back(outputs);
  batch_indices_[dataloader_idx].push_back(indices);
}

void BasePredictionWriter::on_predict_epoch_end(const TrainerView& trainer, LightningModule& module) {
  if (!writes_epoch()) return;
  // Every DataLoader has its list, also one that had no batch.
  const auto loaders = std::max(predictions_.size(), trainer.num_predict_batches().size());
  predictions_.resize(loaders);
  batch_indices_.resize(loaders);
  write_on_epoch_end(trainer, module, predictions_, batch_indices_);
  predictions_.clear();
  batch_indices_.clear();
}

PredictionWriter::PredictionWriter(PredictionWriterOptions options)
    : BasePredictionWriter(options.write_interval), options_(std::move(options)) {
  if (options_.output_dir.empty()) throw MisconfigurationException({unusable_output_dir("", "")});
}

void PredictionWriter::setup(const TrainerView&, LightningModule&, const std::string& stage) {
  if (stage != "predict") return;
  if (const auto problem = unusable_folder(options_.output_dir)) {
    throw MisconfigurationException({unusable_output_dir(options_.output_dir, *problem)});
  }
}

std::string PredictionWriter::path_for(const TrainerView& trainer, const std::string& stem) const {
  const std::string rank = trainer.world_size() > 1 ? fmt::format("_rank{}", trainer.global_rank()) : "";
  return (std::filesystem::path(options_.output_dir) / fmt::format("{}{}.pt", stem, rank)).string();
}

void PredictionWriter::write_on_batch_end(const TrainerView& trainer, LightningModule&, const Batch& prediction,
                                          const std::vector<int64_t>&, const Batch&, int64_t batch_idx,
                                          int64_t dataloader_idx) {
  const std::string path = path_for(trainer, fmt::format("predictions_dataloader{}_batch{}", dataloader_idx, batch_idx));
  detail::save_python_file(to_python(prediction), path);
  written_.push_back(path);
}

void PredictionWriter::write_on_epoch_end(const TrainerView& trainer, LightningModule&,
                                          const std::vector<std::vector<Batch>>& predictions,
                                          const std::vector<std::vector<std::vector<int64_t>>>& batch_indices) {
  for (const auto& [stem, value] : {std::pair{"predictions", to_python(predictions)}, {"batch_indices", to_python(batch_indices)}}) {
    const std::string path = path_for(trainer, stem);
    detail::save_python_file(value, path);
    written_.push_back(path);
  }
}

}  // namespace lightning
