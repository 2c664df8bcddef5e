#include "loops/fit_loop.h"

#include <lightning/utilities/console.h>

#include "loops/evaluation_loop.h"
#include "loops/step_diagnostics.h"
#include "trainer/connectors/signal_connector.h"

#include <ATen/ops/tensor.h>
#include <torch/optim/optimizer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace lightning::detail {
namespace {

/// Which schedulers a call steps: those that monitor a metric (ReduceLROnPlateau), the others, or all.
enum class Monitoring { kAny, kMetric, kNoMetric };

/// Steps the schedulers of one interval whose frequency divides `count`.
void step_schedulers(LoopContext& context, std::string_view interval, int64_t count,
                     Monitoring which = Monitoring::kAny) {
  auto& state = context.state();
  for (auto& [scheduler, options] : context.optimizer_config.schedulers()) {
    if (options.interval != interval || count % options.frequency != 0) continue;
    if (which != Monitoring::kAny && scheduler->requires_metric() != (which == Monitoring::kMetric)) continue;
    if (!scheduler->requires_metric()) {
      scheduler->step();
      continue;
    }
    auto found = state.callback_metrics.find(options.monitor);
    if (found != state.callback_metrics.end()) {
      scheduler->step(found->second);
      continue;
    }
    std::vector<std::string> available;
    for (const auto& [key, value] : state.callback_metrics) available.push_back(key);
    Diagnostic d = unlogged_monitor(*scheduler, options, available);
    if (options.strict) throw MisconfigurationException({std::move(d)});
    console::warn_once(d.render());
  }
}

/// In a distributed run, makes the ranks agree on stopping: if one was asked to stop (by a
/// callback or a signal), all stop at the same batch. Returns the signal received, or 0.
int agree_on_stopping(TrainerState& state) {
  const int signal = SignalConnector::received();
  if (state.collectives == nullptr) return signal;
  at::Tensor votes = at::tensor({static_cast<int64_t>(state.should_stop), static_cast<int64_t>(signal)}, at::kLong);
  state.collectives->all_reduce(votes, ReduceOp::kMax);
  state.should_stop = votes[0].item<int64_t>() != 0;
  return static_cast<int>(votes[1].item<int64_t>());
}

class FitLoop {
 public:
  FitLoop(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val)
      : context_(context),
        state_(context.state()),
        module_(context.module()),
        hooks_(context.hooks),
        logging_(context.logging),
        settings_(context.settings()),
        train_(train),
        val_(val) {
    state_.num_training_batches = limited_batches(settings_.limit_train_batches, train_.size());
    state_.num_val_batches.clear();
    for (auto& loader : val_) {
      state_.num_val_batches.push_back(limited_batches(settings_.limit_val_batches, loader.size()));
    }
    has_validation_ = std::any_of(state_.num_val_batches.begin(), state_.num_val_batches.end(),
                                  [](int64_t n) { return n > 0; });
    const auto& interval = settings_.val_check_interval;
    val_check_batch_ = interval.is_count()
                           ? interval.count()
                           : std::max<int64_t>(1, static_cast<int64_t>(std::floor(
                                                      static_cast<double>(state_.num_training_batches) *
                                                      interval.fraction())));
    for (const auto& optimizer : context_.optimizer_config.optimizers()) optimizers_.push_back(optimizer.get());
  }

  void run() {
    hooks_(&Callback::on_fit_start, &LightningModule::on_fit_start);
    sanity_check();
    state_.training = true;
    module_.train();
    hooks_(&Callback::on_train_start, &LightningModule::on_train_start);
    if (context_.resumed && context_.progress.epoch_finished) finish_epoch();
    while (!done()) run_epoch();
    state_.training = false;
    hooks_(&Callback::on_train_end, &LightningModule::on_train_end);
    hooks_(&Callback::on_fit_end, &LightningModule::on_fit_end);
  }

 private:
  bool can_stop_early() const {
    return state_.current_epoch >= settings_.min_epochs && state_.global_step >= settings_.min_steps;
  }
  bool max_steps_reached() const {
    return settings_.max_steps != -1 && state_.global_step >= settings_.max_steps;
  }

  bool done() {
    if (state_.num_training_batches == 0 || max_steps_reached()) return true;
    if (settings_.max_epochs != -1 && state_.current_epoch >= settings_.max_epochs) return true;
    agree_on_stopping(state_);  // a stop asked for at the end of the epoch, on any rank
    if (state_.should_stop) {
      if (can_stop_early()) return true;
      console::warn_once(fmt::format(
          "Trainer was asked to stop, but min_epochs = {} or min_steps = {} has not been reached; "
          "training continues",
          settings_.min_epochs, settings_.min_steps));
      state_.should_stop = false;
    }
    return false;
  }

  void sanity_check() {
    if (!has_validation_ || settings_.num_sanity_val_steps == 0) return;
    std::vector<int64_t> limits;
    for (int64_t available : state_.num_val_batches) {
      limits.push_back(settings_.num_sanity_val_steps == -1
                           ? available
                           : std::min(settings_.num_sanity_val_steps, available));
    }
    state_.sanity_checking = true;
    hooks_.callbacks_only(&Callback::on_sanity_check_start);
    run_evaluation(context_, EvaluationKind::kValidation, val_, limits);
    hooks_.callbacks_only(&Callback::on_sanity_check_end);
    state_.sanity_checking = false;
  }

  bool should_validate(int64_t batch_idx, bool is_last_batch) const {
    if (!has_validation_) return false;
    const auto& every = settings_.check_val_every_n_epoch;
    if (every && (state_.current_epoch + 1) % *every != 0) return false;
    if (state_.should_stop && can_stop_early()) return true;
    if (!settings_.val_check_interval.is_count() && settings_.val_check_interval.fraction() == 1.0) {
      return is_last_batch;
    }
    const int64_t done = every ? batch_idx + 1 : context_.progress.total_batches_done;
    return done % val_check_batch_ == 0;
  }

  void validate() { run_evaluation(context_, EvaluationKind::kValidation, val_, state_.num_val_batches); }

  void run_epoch() {
    train_.set_epoch(state_.current_epoch);
    train_results_.reset();
    LoggingTo logging_to(logging_, &train_results_, LogScope::kTrainingEpoch);
    hooks_(&Callback::on_train_epoch_start, &LightningModule::on_train_epoch_start);
    // A resumed run starts after the batches its checkpoint had done; the data order is the
    // epoch's own, so the batches that follow are the ones the interrupted run would have seen.
    int64_t batch_idx = std::exchange(context_.progress.batches_done_in_epoch, 0);
    for (auto it = train_.begin(batch_idx); it != train_.end() && batch_idx < state_.num_training_batches;
         ++it, ++batch_idx) {
      const bool is_last_batch = batch_idx + 1 == state_.num_training_batches;
      logging_to.set_scope(LogScope::kTrainingStep);
      logging_to.set_batch((*it).batch_size());
      run_batch(*it, batch_idx, is_last_batch);
      if (should_validate(batch_idx, is_last_batch)) validate();
      if (const int signal = agree_on_stopping(state_)) throw Interrupted(signal, state_.global_step);
      if (max_steps_reached() || (state_.should_stop && can_stop_early())) break;
    }
    logging_to.set_scope(LogScope::kTrainingEpoch);
    context_.progress.epoch_finished = true;
    hooks_.on_train_epoch_end([&] {
      train_results_.update_callback_metrics(state_.callback_metrics, /*epoch_ended=*/true);
      train_results_.update_progress_bar_metrics(state_.progress_bar_metrics, /*epoch_ended=*/true);
    });
    logging_.send_to_loggers(train_results_.epoch_metrics(/*for_logger=*/true),
                             std::max<int64_t>(context_.progress.batches_that_stepped - 1, 0));
    finish_epoch();
  }

  /// What follows on_train_epoch_end: the epoch schedulers that monitor a metric and the epoch
  /// count. A run resumed from a checkpoint saved in on_train_epoch_end does only this before its
  /// next epoch.
  void finish_epoch() {
    if (module_.automatic_optimization) step_schedulers(context_, "epoch", state_.current_epoch + 1, Monitoring::kMetric);
    ++state_.current_epoch;
    context_.progress.epoch_finished = false;
    context_.progress.batches_done_in_epoch = 0;
  }

  void run_batch(const Batch& batch, int64_t batch_idx, bool is_last_batch) {
    train_results_.begin_step();
    hooks_(&Callback::on_train_batch_start, &LightningModule::on_train_batch_start, batch, batch_idx);
    StepOutput output =
        context_.strategy.run_step(batch, [&](const Batch& input) { return module_.training_step(input, batch_idx); });
    if (module_.step_is_missing("training_step")) throw MisconfigurationException({missing_step("training_step", "fit")});
    bool stepped = true;
    if (module_.automatic_optimization) stepped = optimize(output, batch_idx, is_last_batch);
    if (output.loss.defined()) output.loss = output.loss.detach();
    // The batch is done before on_train_batch_end, as in Lightning: step schedulers have stepped,
    // and a checkpoint saved by the hook resumes with the next batch.
    auto& progress = context_.progress;
    if (stepped) {
      ++progress.batches_that_stepped;
      if (module_.automatic_optimization) step_schedulers(context_, "step", progress.batches_that_stepped);
    }
    // As in Lightning, the epoch's other schedulers step with its last batch, before
    // on_train_batch_end, the epoch's validation and on_train_epoch_end: what those hooks see and
    // what a checkpoint they save holds is the next epoch's learning rate.
    if (is_last_batch && module_.automatic_optimization) {
      step_schedulers(context_, "epoch", state_.current_epoch + 1, Monitoring::kNoMetric);
    }
    progress.batches_done_in_epoch = batch_idx + 1;
    ++progress.total_batches_done;
    // Callbacks see this step's metrics (ModelCheckpoint may monitor "train_loss"), and what the
    // hooks log reaches them too.
    train_results_.update_callback_metrics(state_.callback_metrics, /*epoch_ended=*/false);
    hooks_(&Callback::on_train_batch_end, &LightningModule::on_train_batch_end, output, batch,
                  batch_idx);
    train_results_.update_callback_metrics(state_.callback_metrics, /*epoch_ended=*/false);
    train_results_.update_progress_bar_metrics(state_.progress_bar_metrics, /*epoch_ended=*/false);
    if (stepped && progress.batches_that_stepped % settings_.log_every_n_steps == 0) {
      logging_.send_to_loggers(train_results_.step_metrics(/*for_logger=*/true), progress.batches_that_stepped - 1);
    }
  }

  /// Lightning's automatic optimization: zero_grad at the start of an accumulation window,
  /// backward of loss / accumulate_grad_batches, and a (clipped) optimizer step at its end.
  /// Returns whether the optimizer stepped.
  bool optimize(const StepOutput& output, int64_t batch_idx, bool is_last_batch) {
    const int64_t accumulate = settings_.accumulate_grad_batches;
    const bool window_end = (batch_idx + 1) % accumulate == 0 || is_last_batch;
    // Also when the step skips the batch, as in Lightning: a window's skipped first batch must not
    // leave the last window's gradients to be stepped again.
    if (batch_idx % accumulate == 0) {
      for (std::size_t i = 0; i < optimizers_.size(); ++i) {
        hooks_(&Callback::on_before_zero_grad, &LightningModule::on_before_zero_grad, *optimizers_[i]);
        LightningOptimizer(*optimizers_[i], i, context_).zero_grad();
      }
    }
    if (output.loss.defined()) {
      context_.backward(accumulate > 1 ? output.loss / static_cast<double>(accumulate) : output.loss, window_end);
    } else if (!window_end || !context_.strategy.average_without_backward(module_)) {
      return false;  // the step skipped this batch (on every rank)
    }
    if (!window_end) return false;
    auto& strategy = context_.strategy;
    for (auto* optimizer : optimizers_) {
      strategy.unscale(*optimizer);  // hooks and clipping see the true gradients
      hooks_(&Callback::on_before_optimizer_step, &LightningModule::on_before_optimizer_step, *optimizer);
      strategy.clip(*optimizer);
      strategy.optimizer_step(*optimizer);
      ++state_.global_step;
    }
    strategy.end_window();
    return true;
  }

  LoopContext& context_;
  TrainerState& state_;
  LightningModule& module_;
  const HookDispatcher& hooks_;
  LoggerConnector& logging_;
  const Settings& settings_;
  DataLoader& train_;
  std::vector<DataLoader>& val_;
  std::vector<torch::optim::Optimizer*> optimizers_;
  ResultCollection train_results_;
  bool has_validation_ = false;
  int64_t val_check_batch_ = 1;
};

}  // namespace

void run_fit(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val) {
  FitLoop(context, train, val).run();
}

}  // namespace lightning::detail
