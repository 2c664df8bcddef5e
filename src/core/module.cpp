#include <lightning/core/module.h>

#include <lightning/diagnostics/diagnostic.h>

#include <torch/optim/optimizer.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

namespace lightning {

StepOutput::StepOutput(std::map<std::string, at::Tensor> values) : extras(std::move(values)) {
  if (auto it = extras.find("loss"); it != extras.end()) {
    loss = it->second;
    extras.erase(it);
  }
}

void LightningOptimizer::zero_grad(bool set_to_none) {
#if TORCH_VERSION_MAJOR >= 2
  optimizer_->zero_grad(set_to_none);
#else
  if (set_to_none) {
    for (auto& group : optimizer_->param_groups()) {
      for (auto& p : group.params()) p.mutable_grad().reset();
    }
  } else {
    optimizer_->zero_grad();
  }
#endif
}

void LightningOptimizer::step() {
  if (host_->view().probing()) return;  // the diagnostics probe must leave the weights as they are
  host_->step_optimizer(*optimizer_, index_);
}

// The base steps record that they ran, so the trainer can tell which steps a module defines.
StepOutput LightningModule::training_step(const Batch&, int64_t) {
  missing_steps_.emplace_back("training_step");
  return {};
}
StepOutput LightningModule::validation_step(const Batch&, int64_t) {
  missing_steps_.emplace_back("validation_step");
  return {};
}
StepOutput LightningModule::test_step(const Batch&, int64_t) {
  missing_steps_.emplace_back("test_step");
  return {};
}
Batch LightningModule::predict_step(const Batch&, int64_t) {
  missing_steps_.emplace_back("predict_step");
  return {};
}
OptimizerConfig LightningModule::configure_optimizers() {
  missing_steps_.emplace_back("configure_optimizers");
  return {};
}

void LightningModule::replace_configure_optimizers(std::function<OptimizerConfig(LightningModule&)> configure) {
  configure_optimizers_replacement_ = std::move(configure);
}

OptimizerConfig LightningModule::make_optimizer_config() {
  return configure_optimizers_replacement_ ? configure_optimizers_replacement_(*this) : configure_optimizers();
}

bool LightningModule::step_is_missing(std::string_view step_name) const {
  return std::find(missing_steps_.begin(), missing_steps_.end(), step_name) != missing_steps_.end();
}

detail::ModuleHost& LightningModule::host() const {
  if (!host_) {
    throw std::logic_error(
        "LightningModule: this needs a running Trainer (fit, validate, test or predict)");
  }
  return *host_;
}

void LightningModule::log(const std::string& name, const at::Tensor& value,
                          const LogOptions& options) {
  if (!host_) return;
  if (value.numel() != 1) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0340",
        .message = fmt::format("log(\"{}\") was given a tensor with {} elements; a logged value is one number",
                               name, value.numel()),
        .subject = {fmt::format("log(\"{}\", ...)", name)},
        .received = fmt::format("a tensor of shape [{}]", fmt::join(value.sizes(), ", ")),
        .expected = "a tensor with one element, or a number",
        .help = "reduce it first, e.g. log(name, value.mean())"}});
  }
  host_->log(name, value.item<double>(), options);
}

void LightningModule::log(const std::string& name, double value, const LogOptions& options) {
  if (!host_) return;
  host_->log(name, value, options);
}

void LightningModule::log(const std::string& name, metrics::Metric& metric, const LogOptions& options) {
  if (!host_) return;
  const bool registered = std::any_of(metrics_.begin(), metrics_.end(),
                                      [&](const auto& named) { return named.second.get() == &metric; });
  if (!registered) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0805",
        .message = fmt::format("log(\"{}\") was given a metric the module did not register: {}", name, metric.name()),
        .subject = {fmt::format("log(\"{}\", {})", name, metric.name())},
        .received = fmt::format("a {} that is not among the module's named_metrics()", metric.name()),
        .expected = "a metric made the module's own with register_metric",
        .help = fmt::format("declare it as `pl::metrics::{0}& {1} = register_metric(\"{1}\", pl::metrics::{0}(...));` "
                            "so that it moves with the module and the probe leaves it as it was",
                            metric.name(), name)}});
  }
  host_->log(name, &metric, options);
}

void LightningModule::log_dict(const std::map<std::string, at::Tensor>& values,
                               const LogOptions& options) {
  for (const auto& [name, value] : values) log(name, value, options);
}

void LightningModule::log_dict(const std::map<std::string, double>& values,
                               const LogOptions& options) {
  for (const auto& [name, value] : values) log(name, value, options);
}

int64_t LightningModule::current_epoch() const { return host_ ? host_->view().current_epoch() : 0; }
int64_t LightningModule::global_step() const { return host_ ? host_->view().global_step() : 0; }
const TrainerView& LightningModule::trainer() const { return host().view(); }

std::vector<LightningOptimizer> LightningModule::optimizers() {
  std::vector<LightningOptimizer> wrapped;
  auto raw = host().optimizers();
  for (std::size_t i = 0; i < raw.size(); ++i) wrapped.emplace_back(*raw[i], i, host());
  return wrapped;
}

std::vector<LRScheduler*> LightningModule::lr_schedulers() { return host().lr_schedulers(); }

void LightningModule::manual_backward(const at::Tensor& loss) { host().backward(loss); }

void LightningModule::save_hyperparameters(HyperParameters hparams) {
  for (auto& [name, value] : hparams) hparams_[name] = std::move(value);
}

}  // namespace lightning
