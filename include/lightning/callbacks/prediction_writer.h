#pragma once

#include <lightning/callbacks/callback.h>

#include <string>
#include <vector>

namespace lightning {

/// Lightning's BasePredictionWriter: a callback that hands predict's outputs to
/// `write_on_batch_end` as each batch is predicted ("batch", the default), to `write_on_epoch_end`
/// once all are ("epoch"), or both ("batch_and_epoch"). Override the one you need:
///
///   struct CsvWriter : pl::BasePredictionWriter {
///     CsvWriter() : BasePredictionWriter("batch") {}
///     void write_on_batch_end(const pl::TrainerView&, pl::LightningModule&, const pl::Batch& prediction,
///                             const std::vector<int64_t>& batch_indices, const pl::Batch& batch,
///                             int64_t batch_idx, int64_t dataloader_idx) override;
///   };
///
/// Throws MisconfigurationException for another `write_interval` (LC0519).
class BasePredictionWriter : public Callback {
 public:
  explicit BasePredictionWriter(std::string write_interval = "batch");

  const std::string& write_interval() const { return write_interval_; }

  /// `batch_indices`: the dataset indices of the batch's samples (the sampler's, so a distributed
  /// run's predictions can be put back in the dataset's order).
  virtual void write_on_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& prediction,
                                  const std::vector<int64_t>& batch_indices, const Batch& batch, int64_t batch_idx,
                                  int64_t dataloader_idx) {}
  /// Every prediction of the run and its samples' dataset indices: one list per prediction
  /// DataLoader, one entry per batch.
  virtual void write_on_epoch_end(const TrainerView& trainer, LightningModule& module,
                                  const std::vector<std::vector<Batch>>& predictions,
                                  const std::vector<std::vector<std::vector<int64_t>>>& batch_indices) {}

  void on_predict_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& outputs,
                            const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_predict_epoch_end(const TrainerView& trainer, LightningModule& module) override;

 private:
  bool writes_batches() const { return write_interval_ != "epoch"; }
  bool writes_epoch() const { return write_interval_ != "batch"; }

  std::string write_interval_;
  // Kept for write_on_epoch_end.
  std::vector<std::vector<Batch>> predictions_;
  std::vector<std::vector<std::vector<int64_t>>> batch_indices_;
};

struct PredictionWriterOptions {
  /// The folder the files go to (required); created when missing.
  std::string output_dir = "";
  /// "epoch": one file of every prediction; "batch": a file per batch; "batch_and_epoch": both.
  std::string write_interval = "epoch";
};

/// Writes predict's outputs as PyTorch files (`torch.load` reads them; a config's `predict` needs no
/// C++): "epoch" writes `predictions.pt`, the list of the batches' predictions (a list of such
/// lists with several DataLoaders), and `batch_indices.pt`, each batch's dataset indices in the same
/// layout; "batch" writes `predictions_dataloader<d>_batch<i>.pt`. A
/// prediction is a tensor, a tuple or a dict of them, as predict_step returns it. In a distributed
/// run each rank writes its own, `_rank<r>` before `.pt`. Files are written whole or not at all.
///
/// Throws MisconfigurationException for an empty `output_dir` (LC0520) or another
/// `write_interval` (LC0519); predict reports a folder it cannot write to before its first batch
/// (LC0520).
class PredictionWriter : public BasePredictionWriter {
 public:
  explicit PredictionWriter(PredictionWriterOptions options);

  /// The files this writer has written, in order.
  const std::vector<std::string>& written() const { return written_; }

  void setup(const TrainerView& trainer, LightningModule& module, const std::string& stage) override;
  void write_on_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& prediction,
                          const std::vector<int64_t>& batch_indices, const Batch& batch, int64_t batch_idx,
                          int64_t dataloader_idx) override;
  void write_on_epoch_end(const TrainerView& trainer, LightningModule& module,
                          const std::vector<std::vector<Batch>>& predictions,
                          const std::vector<std::vector<std::vector<int64_t>>>& batch_indices) override;

 private:
  /// `<output_dir>/<stem>[_rank<r>].pt`.
  std::string path_for(const TrainerView& trainer, const std::string& stem) const;

  PredictionWriterOptions options_;
  std::vector<std::string> written_;
};

}  // namespace lightning
