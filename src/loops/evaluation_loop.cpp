#include "loops/evaluation_loop.h"

#include "loops/step_diagnostics.h"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

namespace lightning::detail {
namespace {

/// Eval mode and no autograd for the scope; the module's previous mode comes back after.
class EvaluationMode {
 public:
  explicit EvaluationMode(LightningModule& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvaluationMode() { module_.train(was_training_); }
  EvaluationMode(const EvaluationMode&) = delete;
  EvaluationMode& operator=(const EvaluationMode&) = delete;

 private:
  LightningModule& module_;
  bool was_training_;
  c10::InferenceMode no_autograd_;
};

std::string dataloader_suffix(std::size_t loaders, std::size_t index) {
  return loaders > 1 ? fmt::format("/dataloader_idx_{}", index) : std::string();
}

}  // namespace

std::vector<Metrics> run_evaluation(LoopContext& context, EvaluationKind kind,
                                    std::vector<DataLoader>& loaders,
                                    const std::vector<int64_t>& limits) {
  auto& module = context.module();
  auto& state = context.state();
  const bool validation = kind == EvaluationKind::kValidation;
  const bool sanity = state.sanity_checking;
  const char* step_name = validation ? "validation_step" : "test_step";
  const char* entry = validation ? (state.stage == Stage::kFit || sanity ? "fit with validation loaders" : "validate")
                                 : "test";

  const auto& hooks = context.hooks;
  const auto& strategy = context.strategy;
  ResultCollection results;
  LoggingTo logging_to(context.logging, &results, LogScope::kEvaluation);
  const bool was_training = state.training;
  state.training = false;
  EvaluationMode evaluation_mode(module);

  if (validation) {
    hooks(&Callback::on_validation_start, &LightningModule::on_validation_start);
    hooks(&Callback::on_validation_epoch_start, &LightningModule::on_validation_epoch_start);
  } else {
    hooks(&Callback::on_test_start, &LightningModule::on_test_start);
    hooks(&Callback::on_test_epoch_start, &LightningModule::on_test_epoch_start);
  }
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    const auto dataloader_idx = static_cast<int64_t>(k);
    loaders[k].set_epoch(state.current_epoch);
    int64_t batch_idx = 0;
    for (auto it = loaders[k].begin(); it != loaders[k].end() && batch_idx < limits[k]; ++it, ++batch_idx) {
      const Batch& batch = *it;
      logging_to.set_batch(batch.batch_size(), dataloader_suffix(loaders.size(), k));
      if (validation) {
        hooks(&Callback::on_validation_batch_start, &LightningModule::on_validation_batch_start,
                     batch, batch_idx, dataloader_idx);
        StepOutput out = strategy.run_step(
            batch, [&](const Batch& input) { return module.validation_step(input, batch_idx, dataloader_idx); });
        if (module.step_is_missing(step_name)) throw MisconfigurationException({missing_step(step_name, entry)});
        hooks(&Callback::on_validation_batch_end, &LightningModule::on_validation_batch_end,
                     out, batch, batch_idx, dataloader_idx);
      } else {
        hooks(&Callback::on_test_batch_start, &LightningModule::on_test_batch_start, batch,
                     batch_idx, dataloader_idx);
        StepOutput out = strategy.run_step(
            batch, [&](const Batch& input) { return module.test_step(input, batch_idx, dataloader_idx); });
        if (module.step_is_missing(step_name)) throw MisconfigurationException({missing_step(step_name, entry)});
        hooks(&Callback::on_test_batch_end, &LightningModule::on_test_batch_end, out, batch,
                     batch_idx, dataloader_idx);
      }
    }
  }
  logging_to.clear_dataloader_suffix();  // the epoch-end hooks log across the loaders
  if (validation) {
    hooks(&Callback::on_validation_epoch_end, &LightningModule::on_validation_epoch_end);
  } else {
    hooks(&Callback::on_test_epoch_end, &LightningModule::on_test_epoch_end);
  }

  std::vector<Metrics> per_loader;
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    per_loader.push_back(results.epoch_metrics_for_dataloader(dataloader_suffix(loaders.size(), k)));
  }
  if (!sanity) {
    results.update_callback_metrics(state.callback_metrics, /*epoch_ended=*/true);
    results.update_progress_bar_metrics(state.progress_bar_metrics, /*epoch_ended=*/true);
    context.logging.send_to_loggers(results.epoch_metrics(/*for_logger=*/true),
                            std::max<int64_t>(context.progress.batches_that_stepped - 1, 0));
  }
  results.reset();  // the logged metrics start the next evaluation afresh
  if (validation) {
    hooks(&Callback::on_validation_end, &LightningModule::on_validation_end);
  } else {
    hooks(&Callback::on_test_end, &LightningModule::on_test_end);
  }
  state.training = was_training;
  return per_loader;
}

std::vector<std::vector<Batch>> run_prediction(LoopContext& context, std::vector<DataLoader>& loaders,
                                               const std::vector<int64_t>& limits) {
  auto& module = context.module();
  const auto& hooks = context.hooks;
  LoggingTo no_logging(context.logging, nullptr, LogScope::kEvaluation);  // Lightning does not log while predicting
  EvaluationMode evaluation_mode(module);
  hooks(&Callback::on_predict_start, &LightningModule::on_predict_start);
  hooks(&Callback::on_predict_epoch_start, &LightningModule::on_predict_epoch_start);
  std::vector<std::vector<Batch>> outputs(loaders.size());
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    const auto dataloader_idx = static_cast<int64_t>(k);
    int64_t batch_idx = 0;
    for (auto it = loaders[k].begin(); it != loaders[k].end() && batch_idx < limits[k]; ++it, ++batch_idx) {
      const Batch& batch = *it;
      context.state().current_batch_indices = it.sample_indices();
      hooks(&Callback::on_predict_batch_start, &LightningModule::on_predict_batch_start, batch,
                   batch_idx, dataloader_idx);
      Batch out = context.strategy.run_step(
          batch, [&](const Batch& input) { return module.predict_step(input, batch_idx, dataloader_idx); });
      if (module.step_is_missing("predict_step")) throw MisconfigurationException({missing_step("predict_step", "predict")});
      hooks(&Callback::on_predict_batch_end, &LightningModule::on_predict_batch_end, out, batch,
                   batch_idx, dataloader_idx);
      outputs[k].push_back(std::move(out));
    }
  }
  context.state().current_batch_indices.clear();
  hooks(&Callback::on_predict_epoch_end, &LightningModule::on_predict_epoch_end);
  hooks(&Callback::on_predict_end, &LightningModule::on_predict_end);
  return outputs;
}

}  // namespace lightning::detail
