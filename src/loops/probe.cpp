#include "loops/probe.h"

#include "loops/step_diagnostics.h"
#include "utilities/random_state.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace lightning::detail {
namespace {

/// Everything a probed step can change, copied before and put back after.
class Snapshot {
 public:
  Snapshot(LightningModule& module, TrainerState& state)
      : module_(module), state_(state), training_(module.is_training()), metrics_(state.callback_metrics) {
    for (const auto& p : module.parameters()) {
      parameters_.push_back(p.detach().clone());
      gradients_.push_back(p.grad().defined() ? p.grad().detach().clone() : at::Tensor());
    }
    for (const auto& b : module.buffers()) buffers_.push_back(b.detach().clone());
    for (const auto& [name, metric] : module.named_metrics()) metrics_states_.push_back(metric->clone());
  }

  ~Snapshot() {
    at::NoGradGuard no_grad;
    auto parameters = module_.parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      parameters[i].detach().copy_(parameters_[i]);
      parameters[i].mutable_grad() = gradients_[i];
    }
    auto buffers = module_.buffers();
    for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].detach().copy_(buffers_[i]);
    const auto& metrics = module_.named_metrics();
    for (std::size_t i = 0; i < metrics.size(); ++i) *metrics[i].second = *metrics_states_[i];
    set_cpu_generator_state(cpu_generator_state_);
    set_cuda_generator_states(cuda_generator_states_);
    module_.train(training_);
    state_.callback_metrics = metrics_;
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  LightningModule& module_;
  TrainerState& state_;
  bool training_;
  std::map<std::string, double> metrics_;
  std::vector<at::Tensor> parameters_, gradients_, buffers_;
  std::vector<std::unique_ptr<metrics::Metric>> metrics_states_;
  at::Tensor cpu_generator_state_ = cpu_generator_state();
  std::vector<at::Tensor> cuda_generator_states_ = cuda_generator_states();
};

std::string describe(const at::Tensor& t) {
  return fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
}

std::string describe_batch(const Batch& batch) {
  std::vector<std::string> parts;
  batch.for_each_tensor([&](const at::Tensor& t) { parts.push_back(describe(t)); });
  return fmt::format("batch tensors: {}", fmt::join(parts, ", "));
}

std::string describe_parameters(LightningModule& module) {
  std::vector<std::string> parts;
  for (const auto& item : module.named_parameters()) parts.push_back(item.key() + " " + describe(item.value()));
  if (parts.empty()) return "the module has no parameters";
  return fmt::format("module parameters: {}", fmt::join(parts, ", "));
}

/// Floating tensors of the batch should have the dtype of the module's floating parameters:
/// double data into a float model fails deep inside the first matmul otherwise.
void check_dtypes(const Batch& batch, LightningModule& module, const std::string& step, DiagnosticCollector& problems) {
  std::optional<at::ScalarType> parameter_type;
  for (const auto& p : module.parameters()) {
    if (at::isFloatingType(p.scalar_type())) {
      parameter_type = p.scalar_type();
      break;
    }
  }
  if (!parameter_type) return;
  std::optional<at::ScalarType> mismatch;
  batch.for_each_tensor([&](const at::Tensor& t) {
    if (!mismatch && at::isFloatingType(t.scalar_type()) && t.scalar_type() != *parameter_type) mismatch = t.scalar_type();
  });
  if (!mismatch) return;
  problems.error({.code = "LC0331",
                  .message = fmt::format("the batch holds {} tensors but the module's parameters are {}",
                                         c10::toString(*mismatch), c10::toString(*parameter_type)),
                  .subject = {fmt::format("{}, batch 0", step)},
                  .received = describe_batch(batch),
                  .expected = fmt::format("floating tensors of {} ({})", c10::toString(*parameter_type),
                                          describe_parameters(module)),
                  .help = fmt::format("convert the data once when building the dataset, e.g. "
                                      "features.to(torch::k{})",
                                      *parameter_type == at::kFloat ? "Float" : c10::toString(*parameter_type))});
}

/// The batch's tensors should sit where the module's parameters are (the trainer moves batches to
/// the accelerator's device itself; a dataset built on another device defeats it).
void check_devices(const Batch& batch, LightningModule& module, const std::string& step, DiagnosticCollector& problems) {
  const auto parameters = module.parameters();
  if (parameters.empty()) return;
  const at::Device device = parameters.front().device();
  std::optional<at::Device> elsewhere;
  batch.for_each_tensor([&](const at::Tensor& t) {
    if (!elsewhere && t.device() != device) elsewhere = t.device();
  });
  if (!elsewhere) return;
  problems.error({.code = "LC0332",
                  .message = fmt::format("the batch holds tensors on {} but the module's parameters are on {}",
                                         elsewhere->str(), device.str()),
                  .subject = {fmt::format("{}, batch 0", step)},
                  .received = fmt::format("{} on {}", describe_batch(batch), elsewhere->str()),
                  .expected = fmt::format("tensors on {}, the device the trainer's accelerator resolved to", device.str()),
                  .help = "build the dataset on the CPU: the trainer moves each batch to the accelerator's device "
                          "itself"});
}

Diagnostic step_failed(const std::string& step, const Batch& batch, LightningModule& module, const std::string& error) {
  // LibTorch's messages end with a C++ backtrace; its first line says what went wrong.
  const std::string first_line = error.substr(0, error.find('\n'));
  return {.code = "LC0330",
          .message = fmt::format("`{}` failed on the first batch, before training: {}", step, first_line),
          .subject = {fmt::format("{}, batch 0", step)},
          .received = describe_batch(batch),
          .expected = describe_parameters(module),
          .help = "make the batch's shapes and dtypes fit the module's layers (the first layer's input "
                  "size is the last dimension of the features)"};
}

/// Runs `body`, turning what LibTorch or the user's code throws into a diagnostic with context.
/// Returns false when it failed.
template <class Body>
bool guarded(const std::string& step, const Batch& batch, LightningModule& module, DiagnosticCollector& problems,
             Body&& body) {
  try {
    body();
    return true;
  } catch (const MisconfigurationException& e) {
    for (const auto& d : e.diagnostics()) problems.error(d);
  } catch (const c10::Error& e) {
    problems.error(step_failed(step, batch, module, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    problems.error(step_failed(step, batch, module, e.what()));
  }
  return false;
}

void check_loss(const StepOutput& output, DiagnosticCollector& problems) {
  const Subject first_batch{"training_step, batch 0"};
  if (!output.loss.defined()) {
    if (output.extras.empty()) {
      problems.error({.code = "LC0320",
                      .message = "`training_step` returned no loss under automatic optimization",
                      .subject = first_batch,
                      .received = "an empty StepOutput",
                      .expected = "the loss tensor, or a map with a \"loss\" entry",
                      .help = "return the loss; to step optimizers yourself, set "
                              "`automatic_optimization = false`"});
    } else {
      std::vector<std::string> keys;
      for (const auto& [key, value] : output.extras) keys.push_back(key);
      problems.error({.code = "LC0321",
                      .message = "`training_step` returned a map without a \"loss\" entry",
                      .subject = first_batch,
                      .received = fmt::format("a map with keys \"{}\"", fmt::join(keys, "\", \"")),
                      .expected = "a map with a \"loss\" entry",
                      .help = "name the loss \"loss\": return {{\"loss\", loss}, ...}"});
    }
    return;
  }
  const at::Tensor& loss = output.loss;
  if (loss.numel() != 1) {
    problems.error({.code = "LC0322",
                    .message = "`training_step` returned a loss that is not a scalar",
                    .subject = first_batch,
                    .received = fmt::format("a tensor of shape [{}]", fmt::join(loss.sizes(), ", ")),
                    .expected = "a tensor with one element",
                    .help = "reduce it, e.g. loss.mean() or a loss function's default reduction"});
  }
  if (!loss.requires_grad()) {
    problems.error({.code = "LC0323",
                    .message = "`training_step` returned a loss that does not require grad",
                    .subject = first_batch,
                    .received = "a loss detached from the module's parameters",
                    .expected = "a loss computed from the module's parameters with autograd on",
                    .help = "do not detach the loss, call .item() on it or compute it under torch::NoGradGuard"});
  }
  if (loss.numel() == 1 && !std::isfinite(loss.item<double>())) {
    problems.error({.code = "LC0324",
                    .message = "`training_step` returned a non-finite loss on the first batch",
                    .subject = first_batch,
                    .received = fmt::format("{}", loss.item<double>()),
                    .expected = "a finite loss",
                    .help = "check the data for NaN or infinite values, and the loss for log(0) or division by zero"});
  }
}

/// Lightning's callback_metrics names of everything a result collection holds.
void add_keys(const ResultCollection& results, ProbeReport& report) {
  std::map<std::string, double> forms;
  results.update_callback_metrics(forms, /*epoch_ended=*/true);
  for (const auto& [key, value] : forms) report.logged_keys.insert(key);
  for (const auto& key : results.unsynced_epoch_keys()) report.unsynced_epoch_keys.insert(key);
}

}  // namespace

ProbeReport probe_fit(LoopContext& context, DataLoader& train, std::vector<DataLoader>& val,
                      DiagnosticCollector& problems) {
  ProbeReport report;
  auto& module = context.module();
  auto& state = context.state();
  if (detail::limited_batches(context.settings().limit_train_batches, train.size()) == 0) return report;

  Snapshot snapshot(module, state);
  auto& logging = context.logging;
  logging.probed_sync_calls.clear();
  state.probing = true;
  struct EndProbing {
    TrainerState& state;
    ~EndProbing() { state.probing = false; }
  } end_probing{state};

  ResultCollection results;
  LoggingTo logging_to(logging, &results, LogScope::kTrainingStep);
  const auto& strategy = context.strategy;
  train.set_epoch(state.current_epoch);
  const Batch batch = train.batch(0);
  const std::size_t found_before = problems.diagnostics().size();
  auto found_something = [&] { return problems.diagnostics().size() > found_before; };
  Batch converted_for_check;  // what the step will receive (a "true" precision converts it)
  const Batch& step_input = strategy.step_input(batch, converted_for_check);
  check_devices(step_input, module, "training_step", problems);
  if (found_something()) return report;
  check_dtypes(step_input, module, "training_step", problems);
  if (found_something()) return report;

  module.train();
  logging_to.set_batch(batch.batch_size());
  StepOutput output;
  const bool stepped = guarded("training_step", batch, module, problems, [&] {
    output = strategy.run_step(batch, [&](const Batch& input) { return module.training_step(input, 0); });
  });
  if (stepped && module.step_is_missing("training_step")) {
    problems.error(missing_step("training_step", "fit"));
  } else if (stepped && module.automatic_optimization) {
    check_loss(output, problems);
    if (!found_something()) {
      guarded("training_step (backward)", batch, module, problems, [&] { output.loss.backward(); });
    }
  }
  // The module's epoch-end hook too: metrics computed there (Lightning's pattern of collecting
  // step outputs and reducing them in on_train_epoch_end) are monitored as often as step metrics,
  // and the hook empties what the probed step collected.
  if (!found_something()) {
    logging_to.set_scope(LogScope::kTrainingEpoch);
    guarded("on_train_epoch_end", batch, module, problems, [&] { module.on_train_epoch_end(); });
  }
  add_keys(results, report);

  // One batch of each validation loader, as the sanity check would run it, then the module's
  // on_validation_epoch_end.
  module.eval();
  bool validated = false;
  for (std::size_t k = 0; k < val.size() && !found_something(); ++k) {
    if (detail::limited_batches(context.settings().limit_val_batches, val[k].size()) == 0) continue;
    val[k].set_epoch(state.current_epoch);
    const Batch val_batch = val[k].batch(0);
    ResultCollection val_results;
    LoggingTo val_logging_to(logging, &val_results, LogScope::kEvaluation);
    val_logging_to.set_batch(val_batch.batch_size(), val.size() > 1 ? fmt::format("/dataloader_idx_{}", k) : "");
    c10::InferenceMode no_autograd;
    const bool ran = guarded("validation_step", val_batch, module, problems, [&] {
      strategy.run_step(val_batch,
                        [&](const Batch& input) { return module.validation_step(input, 0, static_cast<int64_t>(k)); });
    });
    if (ran && module.step_is_missing("validation_step")) {
      problems.error(missing_step("validation_step", "fit with validation loaders"));
    }
    add_keys(val_results, report);
    validated = true;
  }
  if (validated && !found_something()) {
    ResultCollection epoch_results;
    LoggingTo epoch_logging_to(logging, &epoch_results, LogScope::kEvaluation);
    c10::InferenceMode no_autograd;
    guarded("on_validation_epoch_end", Batch(), module, problems, [&] { module.on_validation_epoch_end(); });
    add_keys(epoch_results, report);
  }
  return report;
}

void check_sync_dist(const ProbeReport& report, int world_size, DiagnosticCollector& problems) {
  if (world_size < 2 || report.unsynced_epoch_keys.empty()) return;
  const std::vector<std::string> keys(report.unsynced_epoch_keys.begin(), report.unsynced_epoch_keys.end());
  std::vector<std::string> quoted;
  for (const auto& key : keys) quoted.push_back(fmt::format("\"{}\"", key));
  problems.warn({.code = "LC0343",
                 .message = fmt::format("{} logged on epoch level without sync_dist in a run of {} processes: each "
                                        "rank keeps the value of its own share of the data",
                                        fmt::join(quoted, ", "), world_size),
                 .subject = {fmt::format("log(\"{}\", ...)", keys.front())},
                 .received = "sync_dist = false",
                 .expected = "sync_dist = true for values that callbacks monitor or that should be global",
                 .help = fmt::format("log(\"{}\", value, {{.sync_dist = true}}); ModelCheckpoint and "
                                     "EarlyStopping then decide by the whole data set",
                                     keys.front())});
}

void check_monitors(const OptimizerConfig& config, const std::set<std::string>& logged_keys,
                    DiagnosticCollector& problems) {
  const std::vector<std::string> available(logged_keys.begin(), logged_keys.end());
  for (const auto& [scheduler, options] : config.schedulers()) {
    if (!scheduler->requires_metric() || options.monitor.empty() || logged_keys.contains(options.monitor)) continue;
    Diagnostic d = unlogged_monitor(*scheduler, options, available);
    if (d.severity == Severity::kError) {
      problems.error(std::move(d));
    } else {
      problems.warn(std::move(d));
    }
  }
}

}  // namespace lightning::detail
