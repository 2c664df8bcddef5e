#include <lightning/callbacks/progress_bar.h>

#include <lightning/utilities/console.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lightning {
namespace {

std::string clock(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "??:??";
  const auto total = static_cast<int64_t>(seconds);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

std::string metrics_text(const std::map<std::string, double>& metrics) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : metrics) parts.push_back(fmt::format("{}={:.3g}", key, value));
  return fmt::format("{}", fmt::join(parts, ", "));
}

int64_t at(const std::vector<int64_t>& counts, int64_t k) {
  return k < static_cast<int64_t>(counts.size()) ? counts[static_cast<std::size_t>(k)] : 0;
}

}  // namespace

ProgressBar::ProgressBar(ProgressBarOptions options) : options_(options), interactive_(console::interactive()) {}

std::string ProgressBar::render(const std::string& label, int64_t done, int64_t total, double elapsed,
                                const std::map<std::string, double>& metrics, bool interactive) {
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double remaining = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
  const int percent = total > 0 ? static_cast<int>(100 * done / total) : 0;
  const std::string timing = fmt::format("{}<{}, {:.2f}it/s", clock(elapsed), clock(remaining), rate);
  const std::string shown = metrics_text(metrics);
  if (!interactive) {
    return fmt::format("{}: {}/{} ({}%) [{}]{}{}", label, done, total, percent, timing, shown.empty() ? "" : " ", shown);
  }
  constexpr int kWidth = 10;
  const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
  std::string bar;
  for (int i = 0; i < kWidth; ++i) bar += i < filled ? "\u2588" : " ";
  return fmt::format("{}: {:3}%|{}| {}/{} [{}{}{}]", label, percent, bar, done, total, timing, shown.empty() ? "" : ", ", shown);
}

void ProgressBar::show(const TrainerView& trainer, const std::string& label, int64_t done, int64_t total, bool last,
                       Clock::time_point start) {
  if (!trainer.is_global_zero()) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (interactive_) {
    if (last || done % std::max<int64_t>(1, options_.refresh_rate) == 0) {
      console::status(render(label, done, total, elapsed, trainer.progress_bar_metrics(), true));
    }
    return;
  }
  // A log gets a line every quarter of a loop, and validation inside fit only its last line.
  const bool inside_fit = trainer.stage() == Stage::kFit && !trainer.training();
  const int64_t every = options_.plain_every_n_batches > 0 ? options_.plain_every_n_batches : std::max<int64_t>(1, total / 4);
  if (last || (!inside_fit && done % every == 0)) {
    console::info(render(label, done, total, elapsed, trainer.progress_bar_metrics(), false));
  }
}

void ProgressBar::on_train_epoch_start(const TrainerView&, LightningModule&) {
  train_done_ = 0;
  train_start_ = Clock::now();
}

void ProgressBar::on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&,
                                     int64_t batch_idx) {
  train_done_ = batch_idx + 1;
  const int64_t total = trainer.num_training_batches();
  // The last batch is shown with the epoch's final metrics in on_train_epoch_end.
  if (train_done_ < total) show(trainer, fmt::format("Epoch {}", trainer.current_epoch()), train_done_, total, false, train_start_);
}

void ProgressBar::on_train_epoch_end(const TrainerView& trainer, LightningModule&) {
  show(trainer, fmt::format("Epoch {}", trainer.current_epoch()), train_done_, trainer.num_training_batches(), true,
       train_start_);
  if (interactive_) console::end_status();
}

void ProgressBar::evaluation_batch(const TrainerView& trainer, const std::string& label, int64_t batch_idx,
                                   int64_t dataloader_idx, int64_t total) {
  show(trainer, fmt::format("{} DataLoader {}", label, dataloader_idx), batch_idx + 1, total, batch_idx + 1 == total,
       evaluation_start_);
}

void ProgressBar::on_validation_batch_start(const TrainerView&, LightningModule&, const Batch&, int64_t batch_idx,
                                            int64_t) {
  if (batch_idx == 0) evaluation_start_ = Clock::now();
}

void ProgressBar::on_test_batch_start(const TrainerView&, LightningModule&, const Batch&, int64_t batch_idx, int64_t) {
  if (batch_idx == 0) evaluation_start_ = Clock::now();
}

void ProgressBar::on_predict_batch_start(const TrainerView&, LightningModule&, const Batch&, int64_t batch_idx, int64_t) {
  if (batch_idx == 0) evaluation_start_ = Clock::now();
}

void ProgressBar::on_validation_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&,
                                          int64_t batch_idx, int64_t dataloader_idx) {
  const char* label = trainer.sanity_checking() ? "Sanity Checking" : "Validation";
  evaluation_batch(trainer, label, batch_idx, dataloader_idx, at(trainer.num_val_batches(), dataloader_idx));
}

void ProgressBar::on_validation_end(const TrainerView& trainer, LightningModule&) {
  if (!interactive_) return;
  if (trainer.stage() == Stage::kFit) {
    console::clear_status();  // the training bar comes back at its next batch
  } else {
    console::end_status();
  }
}

void ProgressBar::on_test_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&,
                                    int64_t batch_idx, int64_t dataloader_idx) {
  evaluation_batch(trainer, "Testing", batch_idx, dataloader_idx, at(trainer.num_test_batches(), dataloader_idx));
}

void ProgressBar::on_test_end(const TrainerView&, LightningModule&) {
  if (interactive_) console::end_status();
}

void ProgressBar::on_predict_batch_end(const TrainerView& trainer, LightningModule&, const Batch&, const Batch&,
                                       int64_t batch_idx, int64_t dataloader_idx) {
  evaluation_batch(trainer, "Predicting", batch_idx, dataloader_idx, at(trainer.num_predict_batches(), dataloader_idx));
}

void ProgressBar::on_predict_end(const TrainerView&, LightningModule&) {
  if (interactive_) console::end_status();
}

void ProgressBar::on_exception(const TrainerView&, LightningModule&, const std::exception&) {
  if (interactive_) console::end_status();
}

}  // namespace lightning
