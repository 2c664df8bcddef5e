#include "loops/loop_context.h"

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

  ResultCollection results;
  ResultCollection* previous_results = context.results;
  const bool was_training = state.training;
  context.results = &results;
  context.scope = LogScope::kEvaluation;
  state.training = false;
  EvaluationMode evaluation_mode(module);

  if (validation) {
    context.hook(&Callback::on_validation_start, &LightningModule::on_validation_start);
    context.hook(&Callback::on_validation_epoch_start, &LightningModule::on_validation_epoch_start);
  } else {
    context.hook(&Callback::on_test_start, &LightningModule::on_test_start);
    context.hook(&Callback::on_test_epoch_start, &LightningModule::on_test_epoch_start);
  }
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    const auto dataloader_idx = static_cast<int64_t>(k);
    loaders[k].set_epoch(state.current_epoch);
    int64_t batch_idx = 0;
    for (auto it = loaders[k].begin(); it != loaders[k].end() && batch_idx < limits[k]; ++it, ++batch_idx) {
      const Batch& batch = *it;
      context.dataloader_suffix = dataloader_suffix(loaders.size(), k);
      context.batch_size = batch.batch_size();
      if (validation) {
        context.hook(&Callback::on_validation_batch_start, &LightningModule::on_validation_batch_start,
                     batch, batch_idx, dataloader_idx);
        StepOutput out = [&] {
          auto autocast = context.autocast();
          Batch converted;
          return module.validation_step(context.step_input(batch, converted), batch_idx, dataloader_idx);
        }();
        if (module.step_is_missing(step_name)) throw MisconfigurationException({missing_step(step_name, entry)});
        context.hook(&Callback::on_validation_batch_end, &LightningModule::on_validation_batch_end,
                     out, batch, batch_idx, dataloader_idx);
      } else {
        context.hook(&Callback::on_test_batch_start, &LightningModule::on_test_batch_start, batch,
                     batch_idx, dataloader_idx);
        StepOutput out = [&] {
          auto autocast = context.autocast();
          Batch converted;
          return module.test_step(context.step_input(batch, converted), batch_idx, dataloader_idx);
        }();
        if (module.step_is_missing(step_name)) throw MisconfigurationException({missing_step(step_name, entry)});
        context.hook(&Callback::on_test_batch_end, &LightningModule::on_test_batch_end, out, batch,
                     batch_idx, dataloader_idx);
      }
    }
  }
  context.dataloader_suffix.clear();
  if (validation) {
    context.hook(&Callback::on_validation_epoch_end, &LightningModule::on_validation_epoch_end);
  } else {
    context.hook(&Callback::on_test_epoch_end, &LightningModule::on_test_epoch_end);
  }

  std::vector<Metrics> per_loader;
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    per_loader.push_back(results.epoch_metrics_for_dataloader(dataloader_suffix(loaders.size(), k)));
  }
  if (!sanity) {
    results.update_callback_metrics(state.callback_metrics, /*epoch_ended=*/true);
    results.update_progress_bar_metrics(state.progress_bar_metrics, /*epoch_ended=*/true);
    context.send_to_loggers(results.epoch_metrics(/*for_logger=*/true),
                            std::max<int64_t>(context.progress.batches_that_stepped - 1, 0));
  }
  if (validation) {
    context.hook(&Callback::on_validation_end, &LightningModule::on_validation_end);
  } else {
    context.hook(&Callback::on_test_end, &LightningModule::on_test_end);
  }
  context.results = previous_results;
  state.training = was_training;
  return per_loader;
}

std::vector<std::vector<Batch>> run_prediction(LoopContext& context, std::vector<DataLoader>& loaders,
                                               const std::vector<int64_t>& limits) {
  auto& module = context.module();
  context.results = nullptr;  // Lightning does not log while predicting
  EvaluationMode evaluation_mode(module);
  context.hook(&Callback::on_predict_start, &LightningModule::on_predict_start);
  context.hook(&Callback::on_predict_epoch_start, &LightningModule::on_predict_epoch_start);
  std::vector<std::vector<Batch>> outputs(loaders.size());
  for (std::size_t k = 0; k < loaders.size(); ++k) {
    const auto dataloader_idx = static_cast<int64_t>(k);
    int64_t batch_idx = 0;
    for (auto it = loaders[k].begin(); it != loaders[k].end() && batch_idx < limits[k]; ++it, ++batch_idx) {
      const Batch& batch = *it;
      context.state().current_batch_indices = it.sample_indices();
      context.hook(&Callback::on_predict_batch_start, &LightningModule::on_predict_batch_start, batch,
                   batch_idx, dataloader_idx);
      Batch out = [&] {
        auto autocast = context.autocast();
        Batch converted;
        return module.predict_step(context.step_input(batch, converted), batch_idx, dataloader_idx);
      }();
      if (module.step_is_missing("predict_step")) throw MisconfigurationException({missing_step("predict_step", "predict")});
      context.hook(&Callback::on_predict_batch_end, &LightningModule::on_predict_batch_end, out, batch,
                   batch_idx, dataloader_idx);
      outputs[k].push_back(std::move(out));
    }
  }
  context.state().current_batch_indices.clear();
  context.hook(&Callback::on_predict_epoch_end, &LightningModule::on_predict_epoch_end);
  context.hook(&Callback::on_predict_end, &LightningModule::on_predict_end);
  return outputs;
}

}  // namespace lightning::detail
