#pragma once

#include <lightning/callbacks/callback.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace lightning {

struct ProgressBarOptions {
  /// On a terminal, redraw every this many batches.
  int64_t refresh_rate = 1;
  /// In a pipe or a CI log, print a line every this many batches; 0 means every quarter of a loop.
  int64_t plain_every_n_batches = 0;
};

/// Shows progress on stderr (Lightning's TQDMProgressBar; `enable_progress_bar` adds one). On a
/// terminal, one line per loop redrawn in place:
///
///   Epoch 3:  50%|█████     | 16/32 [00:01<00:01, 25.31it/s, train_loss=0.123]
///
/// In a pipe or a CI log, a plain line every quarter of a loop (validation inside fit: its last
/// line only) instead of control characters:
///
///   Epoch 3: 16/32 (50%) [00:01<00:01, 25.31it/s] train_loss=0.123
///
/// Metrics are those logged with `prog_bar = true`.
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(ProgressBarOptions options = {});

  /// The text of a bar: `label`, `done` of `total` batches after `elapsed` seconds, and metrics.
  static std::string render(const std::string& label, int64_t done, int64_t total, double elapsed,
                            const std::map<std::string, double>& metrics, bool interactive);

  void on_train_epoch_start(const TrainerView& trainer, LightningModule& module) override;
  void on_train_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs,
                          const Batch& batch, int64_t batch_idx) override;
  void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) override;
  void on_validation_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch,
                                 int64_t batch_idx, int64_t dataloader_idx) override;
  void on_test_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch, int64_t batch_idx,
                           int64_t dataloader_idx) override;
  void on_predict_batch_start(const TrainerView& trainer, LightningModule& module, const Batch& batch,
                              int64_t batch_idx, int64_t dataloader_idx) override;
  void on_validation_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs,
                               const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_validation_end(const TrainerView& trainer, LightningModule& module) override;
  void on_test_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs,
                         const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_test_end(const TrainerView& trainer, LightningModule& module) override;
  void on_predict_batch_end(const TrainerView& trainer, LightningModule& module, const Batch& outputs,
                            const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) override;
  void on_predict_end(const TrainerView& trainer, LightningModule& module) override;
  void on_exception(const TrainerView& trainer, LightningModule& module, const std::exception& exception) override;

 private:
  using Clock = std::chrono::steady_clock;
  /// Shows `done` of `total` for the loop that began at `start`; `last` forces a line.
  void show(const TrainerView& trainer, const std::string& label, int64_t done, int64_t total, bool last,
            Clock::time_point start);
  void evaluation_batch(const TrainerView& trainer, const std::string& label, int64_t batch_idx,
                        int64_t dataloader_idx, int64_t total);

  ProgressBarOptions options_;
  bool interactive_;
  Clock::time_point train_start_;
  Clock::time_point evaluation_start_;
  int64_t train_done_ = 0;
};

}  // namespace lightning
