#include <lightning/demos/models.h>

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <lightning/diagnostics/diagnostic.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lightning::demos {
namespace {

const std::vector<std::string> kOptimizers = {"adam", "adamw", "sgd"};

/// The options' own checks, all at once (construction stage).
void check(const MLPOptions& o, const std::string& cls) {
  DiagnosticCollector problems(fmt::format("while building {}", cls));
  auto option = [&](const char* name) { return Subject{cls, {name}}; };
  if (o.in_features < 1) {
    problems.error(out_of_range("LC0710", option("in_features"), "at least 1", std::to_string(o.in_features),
                                "the number of feature columns, >= 1",
                                "set it to the columns of your data without the target (64 for digits)"));
  }
  if (o.out_features < 1) {
    problems.error(out_of_range("LC0710", option("out_features"), "at least 1", std::to_string(o.out_features),
                                "the number of classes or targets, >= 1", "10 for digits, 3 for iris"));
  }
  for (auto units : o.hidden) {
    if (units < 1) {
      problems.error({.code = "LC0710", .message = fmt::format("{} option `hidden` has a layer of {} units", cls, units),
                      .subject = option("hidden"), .received = fmt::format("{}", fmt::join(o.hidden, ", ")),
                      .expected = "units >= 1 per hidden layer", .help = "e.g. hidden: [128, 64]"});
      break;
    }
  }
  if (o.dropout < 0.0 || o.dropout >= 1.0) {
    problems.error(out_of_range("LC0710", option("dropout"), "a probability below 1", fmt::format("{}", o.dropout),
                                "0.0 <= dropout < 1.0", "0.0 disables dropout"));
  }
  if (std::find(kOptimizers.begin(), kOptimizers.end(), o.optimizer) == kOptimizers.end()) {
    problems.error(unknown_choice("LC0710", fmt::format("{} option `optimizer` has an unknown value \"{}\"", cls, o.optimizer),
                                  option("optimizer"), o.optimizer, kOptimizers));
  }
  if (!(o.lr > 0.0)) {
    problems.error(out_of_range("LC0710", option("lr"), "positive", fmt::format("{}", o.lr), "lr > 0", "1e-3 suits Adam"));
  }
  problems.throw_if_errors();
}

torch::nn::Sequential mlp(const MLPOptions& o) {
  torch::nn::Sequential net;
  int64_t width = o.in_features;
  for (auto units : o.hidden) {
    net->push_back(torch::nn::Linear(width, units));
    net->push_back(torch::nn::ReLU());
    if (o.dropout > 0.0) net->push_back(torch::nn::Dropout(o.dropout));
    width = units;
  }
  net->push_back(torch::nn::Linear(width, o.out_features));
  return net;
}

OptimizerConfig optimizer(const MLPOptions& o, std::vector<at::Tensor> parameters) {
  if (o.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(o.lr).momentum(0.9).weight_decay(o.weight_decay));
  }
  if (o.optimizer == "adamw") {
    return std::make_unique<torch::optim::AdamW>(parameters, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
}

HyperParameters hyperparameters(const MLPOptions& o) {
  return {{"in_features", o.in_features}, {"out_features", o.out_features},
          {"hidden", fmt::format("[{}]", fmt::join(o.hidden, ", "))}, {"dropout", o.dropout},
          {"optimizer", o.optimizer}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
}

}  // namespace

MLPModule::MLPModule(MLPOptions options, const std::string& class_name) : options_(std::move(options)) {
  check(options_, class_name);
  net_ = register_module("net", mlp(options_));
  save_hyperparameters(hyperparameters(options_));
}

at::Tensor MLPModule::forward(const at::Tensor& x) { return net_->forward(x); }

StepOutput MLPModule::training_step(const Batch& batch, int64_t) {
  auto value = loss(forward(batch[0]), batch[1]);
  log("train_loss", value, {.prog_bar = true});
  return value;
}

StepOutput MLPModule::evaluate(const Batch& batch, const std::string& stage) {
  auto output = forward(batch[0]);
  auto value = loss(output, batch[1]);
  // Synced, so that in a distributed run every rank sees (and checkpoints by) the whole set's value.
  log(stage + "_loss", value, {.prog_bar = true, .sync_dist = true});
  auto [name, measured] = metric(output, batch[1]);
  log(stage + "_" + name, measured, {.prog_bar = true, .sync_dist = true});
  return value;
}

StepOutput MLPModule::validation_step(const Batch& batch, int64_t) { return evaluate(batch, "val"); }
StepOutput MLPModule::test_step(const Batch& batch, int64_t) { return evaluate(batch, "test"); }
OptimizerConfig MLPModule::configure_optimizers() { return optimizer(options_, parameters()); }

at::Tensor MLPClassifier::loss(const at::Tensor& output, const at::Tensor& target) {
  return torch::nn::functional::cross_entropy(output, target);
}
std::pair<std::string, at::Tensor> MLPClassifier::metric(const at::Tensor& output, const at::Tensor& target) {
  return {"acc", output.argmax(1).eq(target).to(at::kFloat).mean()};
}
Batch MLPClassifier::predict_step(const Batch& batch, int64_t) { return forward(batch[0]).softmax(1); }

namespace {
/// Targets of one value per row come as a vector; the network gives a column.
at::Tensor as_columns(const at::Tensor& target, const at::Tensor& prediction) {
  return target.to(prediction.scalar_type()).reshape(prediction.sizes());
}
}  // namespace

at::Tensor MLPRegressor::loss(const at::Tensor& output, const at::Tensor& target) {
  return torch::nn::functional::mse_loss(output, as_columns(target, output));
}
std::pair<std::string, at::Tensor> MLPRegressor::metric(const at::Tensor& output, const at::Tensor& target) {
  return {"mae", (output - as_columns(target, output)).abs().mean()};
}
Batch MLPRegressor::predict_step(const Batch& batch, int64_t) { return forward(batch[0]); }

}  // namespace lightning::demos
