#pragma once

#include <lightning/callbacks/callback.h>

#include <chrono>
#include <optional>
#include <string>

namespace lightning {

struct TimerOptions {
  /// Stop fit once training has run this long; unset only measures.
  std::optional<std::chrono::duration<double>> duration = std::nullopt;
  /// Check after every "step" or every "epoch".
  std::string interval = "step";
  /// Say when the time is up.
  bool verbose = true;
};

/// Measures training time and stops fit at a time limit (Lightning's Timer; Trainer's `max_time`
/// adds one). The time already spent travels in checkpoints, so a resumed run keeps the budget.
///
///   auto timer = std::make_shared<pl::Timer>(pl::TimerOptions{.duration = std::chrono::hours(12)});
///
/// Throws MisconfigurationException for an unknown `interval` or a negative duration (LC0517).
class Timer : public Callback {
 public:
  explicit Timer(TimerOptions options = {});

  /// Seconds of training so far, with the time of the run this one resumed.
  double time_elapsed() const;
  /// Seconds left of `duration` (unset without one).
  std::optional<double> time_remaining() const;

  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;
  void on_train_start(const TrainerView& trainer, LightningModule& module) override;
  void on_train_end(const TrainerView& trainer, LightningModule& module) override;
  void on_train_batch_end(const TrainerView& trainer, LightningModule& module, const StepOutput& outputs,
                          const Batch& batch, int64_t batch_idx) override;
  void on_train_epoch_end(const TrainerView& trainer, LightningModule& module) override;

 private:
  using Clock = std::chrono::steady_clock;
  void check(const TrainerView& trainer);

  TimerOptions options_;
  std::optional<Clock::time_point> start_;
  std::optional<Clock::time_point> end_;
  double offset_ = 0.0;  ///< seconds trained before a resume
};

/// Parses Lightning's "DD:HH:MM:SS" (`max_time`); unset when malformed.
std::optional<std::chrono::duration<double>> parse_duration(const std::string& text);

}  // namespace lightning
