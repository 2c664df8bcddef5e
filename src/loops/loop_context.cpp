#include "loops/loop_context.h"

#include <lightning/callbacks/early_stopping.h>
#include <lightning/callbacks/model_checkpoint.h>
#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/diagnostics/diagnostic.h>

#include "trainer/connectors/checkpoint_connector.h"
#include "trainer/connectors/signal_connector.h"
#include "strategies/process_group.h"

#include <torch/optim/optimizer.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>

namespace lightning::detail {

namespace {

/// The module's parameters and buffers, and its gradients (which LibTorch's Module::to leaves where
/// they were, unlike PyTorch's), on `device`.
void move_module(torch::nn::Module& module, const c10::Device& device) {
  module.to(device);
  for (auto& parameter : module.parameters()) {
    if (parameter.grad().defined() && parameter.grad().device() != device) {
      parameter.mutable_grad() = parameter.grad().to(device);
    }
  }
}

}  // namespace

LoopContext::LoopContext(LightningModule& module,
                         const std::vector<std::shared_ptr<Callback>>& callbacks,
                         const std::vector<std::shared_ptr<Logger>>& loggers, TrainerState& state,
                         TrainerView& view, const Settings& settings)
    : module_(module),
      callbacks_(callbacks),
      loggers_(loggers),
      state_(state),
      view_(view),
      settings_(settings) {
  module_.attach_host(this);
  // A "true" precision trains the parameters themselves in its dtype (Lightning converts the
  // module at setup too); a float32 checkpoint restored afterwards is converted as it is copied in.
  if (settings_.parameter_dtype) module_.to(*settings_.parameter_dtype);
  if (settings_.hardware.accelerator != c10::DeviceType::CPU) move_module(module_, settings_.hardware.device());
  if (settings_.grad_scaler) scaler.emplace();
  state_.actions = this;
  state_.optimizer_config = &optimizer_config;
}

LoopContext::~LoopContext() {
  // The caller's own code after fit or test finds the module where it built it. A CUDA failure
  // here would already have stopped the stage, whose error is the one to report.
  try {
    release_device();
  } catch (const std::exception&) {
  }
  module_.attach_host(nullptr);
  state_.actions = nullptr;
  state_.optimizer_config = nullptr;
}

void LoopContext::release_device() {
  if (settings_.hardware.accelerator == c10::DeviceType::CPU) return;
  move_module(module_, c10::Device(c10::DeviceType::CPU));
  // Each optimizer state goes where its parameter now is (the parameters moved in place, so the
  // optimizers still hold them): the state dict's round trip puts it there.
  for (const auto& optimizer : optimizer_config.optimizers()) {
    load_optimizer_state_dict(*optimizer, optimizer_state_dict(*optimizer), "the optimizer's state at teardown");
  }
}

void LoopContext::save_checkpoint(const std::string& filepath, bool weights_only) {
  // The probe leaves no trace, files included; other ranks hold the same state as rank zero.
  if (state_.probing || state_.global_rank != 0) return;
  save_checkpoint_file(dump_checkpoint(*this, weights_only), filepath);
}

void LoopContext::log_metrics(const std::map<std::string, double>& metrics) {
  if (metrics.empty() || !loggers_active() || state_.probing) return;
  for (const auto& logger : loggers_) logger->log_metrics(metrics, progress.batches_that_stepped);
}

void LoopContext::log(const std::string& name, double value, const LogOptions& options) {
  if (!results) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0342",
        .message = fmt::format("log(\"{}\") was called from a hook that cannot log", name),
        .where = fmt::format("log(\"{}\", ...)", name),
        .received = "a call outside the training, validation and test steps and their batch and epoch hooks",
        .expected = "log from training_step, validation_step, test_step, or their on_*_batch_* and "
                    "on_*_epoch_* hooks",
        .help = "setup, configure_optimizers, on_fit_start/end, on_train_start/end, teardown and prediction "
                "cannot log: move the call into a step or an epoch hook"}});
  }
  const std::string key = dataloader_suffix.empty() ? name : name + dataloader_suffix;
  if (options.sync_dist && state_.probing) probed_sync_calls.push_back(SyncCall{key, options.reduce_fx});
  if (!options.sync_dist || state_.collectives == nullptr || state_.probing) {
    results->log(key, value, options, scope, batch_size);
    return;
  }
  // Lightning's sync_dist: every rank records the ranks' combination. A mean is weighted by batch
  // size, so that epoch means stay the means over every rank's samples. The same collective
  // carries the call's fingerprint, so that ranks whose calls part notice it here.
  const double f = fingerprint(SyncCall{key, options.reduce_fx});
  LogOptions synced = options;
  double combined = value;
  bool same_call = false;
  const double world = state_.world_size;
  if (options.reduce_fx == "mean" || options.reduce_fx == "sum") {
    const bool mean = options.reduce_fx == "mean";
    const auto weight = static_cast<double>(options.batch_size.value_or(batch_size));
    at::Tensor sums = at::tensor({mean ? value * weight : value, weight, f, f * f}, at::kDouble);
    state_.collectives->all_reduce(sums, ReduceOp::kSum);
    combined = mean ? sums[0].item<double>() / sums[1].item<double>() : sums[0].item<double>();
    if (mean) synced.batch_size = static_cast<int64_t>(sums[1].item<double>());
    same_call = sums[2].item<double>() == world * f && sums[3].item<double>() == world * f * f;
  } else {
    // max and min both reduce with MAX (min is minus the max of minus the values), so that a max
    // call met by a min call is one reduction whose result every rank reads alike: with two
    // reductions Gloo would combine the elements one way on one rank and the other way on
    // another, and only some ranks would notice. (mean and sum send four values, max and min
    // three: Gloo refuses a SUM met by a MAX for their sizes.)
    const double sign = options.reduce_fx == "max" ? 1.0 : -1.0;
    at::Tensor one = at::tensor({sign * value, f, -f}, at::kDouble);
    state_.collectives->all_reduce(one, ReduceOp::kMax);
    combined = sign * one[0].item<double>();
    same_call = one[1].item<double>() == f && one[2].item<double>() == -f;
  }
  if (!same_call) throw_sync_calls_parted(SyncCall{key, options.reduce_fx});
  results->log(key, combined, synced, scope, batch_size);
}

double LoopContext::fingerprint(const SyncCall& call) {
  // 20 bits: its square summed over up to 8192 ranks stays exact in a double.
  return static_cast<double>(std::hash<std::string>{}(call.key + '\0' + call.reduce_fx) & 0xFFFFF);
}

void LoopContext::throw_sync_calls_parted(const SyncCall& call) {
  const auto calls = all_gather_strings(*state_.collectives, fmt::format("\"{}\" ({})", call.key, call.reduce_fx));
  std::vector<std::string> made;
  for (std::size_t r = 0; r < calls.size(); ++r) made.push_back(fmt::format("rank {} logged {}", r, calls[r]));
  throw RanksParted(fmt::format(
      "the ranks' sync_dist log calls parted at global step {}: {}. Each is a collective that every rank "
      "joins in the same order, so the values cannot be combined: log the value on every rank, or without "
      "sync_dist where only some ranks have one (LC0344 compares the ranks' calls on their first batch only)",
      state_.global_step, fmt::join(made, ", ")));
}

int LoopContext::agree_on_stopping() {
  int signal = SignalConnector::received();
  if (state_.collectives == nullptr) return signal;
  at::Tensor votes = at::tensor({static_cast<int64_t>(state_.should_stop), static_cast<int64_t>(signal)}, at::kLong);
  state_.collectives->all_reduce(votes, ReduceOp::kMax);
  state_.should_stop = votes[0].item<int64_t>() != 0;
  return static_cast<int>(votes[1].item<int64_t>());
}

void LoopContext::backward(const at::Tensor& loss, bool average_gradients) {
  if (state_.probing) {  // no hook sees the probe
    loss.backward();
    return;
  }
  // "16-mixed" scales the loss first; hooks see the scaled loss, as in Lightning.
  const at::Tensor scaled = scaler ? scaler->scale(loss) : loss;
  hook(&Callback::on_before_backward, &LightningModule::on_before_backward, scaled);
  const bool reduce = reducer && average_gradients;
  if (reduce) reducer->prepare_for_backward();
  scaled.backward();
  if (reduce) reducer->finish();
  hook(&Callback::on_after_backward, &LightningModule::on_after_backward);
}

bool LoopContext::average_without_backward() {
  if (!reducer) return false;
  reducer->prepare_for_backward();
  reducer->finish();
  const auto parameters = module_.parameters();
  return std::any_of(parameters.begin(), parameters.end(), [](const at::Tensor& p) { return p.grad().defined(); });
}

void LoopContext::optimizer_step(torch::optim::Optimizer& optimizer) {
  if (scaler) {
    scaler->step(optimizer);
  } else {
    optimizer.step();
  }
}

void LoopContext::step_optimizer(torch::optim::Optimizer& optimizer, std::size_t) {
  optimizer_step(optimizer);
  if (scaler) scaler->update();  // manual optimization ends the scaler's iteration at each step
  ++state_.global_step;
}

std::vector<torch::optim::Optimizer*> LoopContext::optimizers() {
  std::vector<torch::optim::Optimizer*> out;
  for (const auto& optimizer : optimizer_config.optimizers()) out.push_back(optimizer.get());
  return out;
}

std::vector<LRScheduler*> LoopContext::lr_schedulers() {
  std::vector<LRScheduler*> out;
  for (auto& config : optimizer_config.schedulers()) out.push_back(config.scheduler.get());
  return out;
}

void LoopContext::send_to_loggers(std::map<std::string, double> metrics, int64_t step) {
  if (metrics.empty()) return;
  metrics["epoch"] = static_cast<double>(state_.current_epoch);
  for (const auto& [key, value] : metrics) state_.logged_metrics[key] = value;
  if (!loggers_active()) return;
  for (const auto& logger : loggers_) logger->log_metrics(metrics, step);
}

bool monitors_metrics(const Callback& callback) {
  return dynamic_cast<const ModelCheckpoint*>(&callback) != nullptr ||
         dynamic_cast<const EarlyStopping*>(&callback) != nullptr;
}

Diagnostic missing_step(std::string_view step, std::string_view entry) {
  const char* code = step == "training_step"     ? "LC0301"
                     : step == "validation_step" ? "LC0303"
                     : step == "test_step"       ? "LC0304"
                                                 : "LC0305";
  const std::string fix = step == "training_step" ? "returning the loss"
                          : step == "validation_step"
                              ? "or do not pass validation loaders"
                              : fmt::format("or do not call `{}`", entry);
  return {.code = code,
          .message = fmt::format("the module has no `{}`, which `{}` needs", step, entry),
          .where = std::string(step),
          .received = fmt::format("the default LightningModule::{}", step),
          .expected = fmt::format("an override of `{}(const pl::Batch& batch, int64_t batch_idx)`", step),
          .help = fmt::format("define `{}` in your LightningModule, {}", step, fix)};
}

Diagnostic unlogged_monitor(const LRScheduler& scheduler, const SchedulerOptions& options,
                            const std::vector<std::string>& available) {
  Diagnostic d{.code = "LC0314",
               .message = fmt::format("{} is conditioned on metric \"{}\", which the module does not log",
                                      scheduler.name(), options.monitor),
               .where = "configure_optimizers: SchedulerOptions{.monitor}",
               .received = fmt::format("\"{}\"", options.monitor),
               .expected = available.empty() ? "a logged metric (none was logged)" : one_of(available)};
  if (auto suggestion = did_you_mean(options.monitor, available)) {
    d.help = fmt::format("did you mean \"{}\"?", *suggestion);
  } else {
    d.help = fmt::format("log it with log(\"{}\", value), or monitor one of the logged metrics", options.monitor);
  }
  if (!options.strict) {
    d.severity = Severity::kWarning;
    d.help += " (strict = false: the scheduler is not stepped)";
  }
  return d;
}

}  // namespace lightning::detail
