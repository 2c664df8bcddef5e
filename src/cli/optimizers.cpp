// The optimizers and schedulers an `optimizer:` / `lr_scheduler:` section can name: LibTorch's
// optimizers and our schedulers, with PyTorch's argument names and defaults.

#include "cli/optimizers.h"

#include <lightning/cli/registry.h>
#include <lightning/core/lr_scheduler.h>

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lightning::cli {
namespace {

using Parameters = std::vector<at::Tensor>;

class LambdaOptimizerFactory : public OptimizerFactory {
 public:
  explicit LambdaOptimizerFactory(std::function<std::unique_ptr<torch::optim::Optimizer>(Parameters)> make)
      : make_(std::move(make)) {}
  std::unique_ptr<torch::optim::Optimizer> make(Parameters parameters) const override { return make_(std::move(parameters)); }

 private:
  std::function<std::unique_ptr<torch::optim::Optimizer>(Parameters)> make_;
};

/// The checks every optimizer shares, all at once (construction stage).
void check_optimizer(const std::string& name, double lr, double weight_decay, const std::vector<double>& betas = {0.0, 0.0}) {
  DiagnosticCollector problems(fmt::format("while building {}", name));
  auto option = [&](const char* option_name) { return Subject{name, {option_name}}; };
  if (!(lr > 0.0)) {
    problems.error(out_of_range("LC0714", option("lr"), "positive", fmt::format("{}", lr), "lr > 0", "e.g. lr: 0.001"));
  }
  if (weight_decay < 0.0) {
    problems.error(out_of_range("LC0714", option("weight_decay"), ">= 0", fmt::format("{}", weight_decay),
                                "weight_decay >= 0", "0.0 turns it off"));
  }
  if (betas.size() != 2 || betas[0] < 0.0 || betas[0] >= 1.0 || betas[1] < 0.0 || betas[1] >= 1.0) {
    problems.error(out_of_range("LC0714", option("betas"), "two values in [0, 1)", fmt::format("[{}]", fmt::join(betas, ", ")),
                                "[beta1, beta2], each in [0.0, 1.0)", "PyTorch's default is [0.9, 0.999]"));
  }
  problems.throw_if_errors();
}

template <bool kAdamW>
struct AdamLikeArgs {
  double lr = 1e-3;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = kAdamW ? 1e-2 : 0.0;  // PyTorch's defaults
  bool amsgrad = false;
};
using AdamArgs = AdamLikeArgs<false>;
using AdamWArgs = AdamLikeArgs<true>;
struct SGDArgs {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};
struct RMSpropArgs {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};
struct AdagradArgs {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

template <class Args>
std::vector<Argument<Args>> adam_arguments() {
  return {arg("lr", &Args::lr, "learning rate"), arg("betas", &Args::betas, "running-average coefficients"),
          arg("eps", &Args::eps, "added to the denominator"), arg("weight_decay", &Args::weight_decay, "L2 penalty"),
          arg("amsgrad", &Args::amsgrad, "use AMSGrad")};
}

void register_optimizers() {
  register_factory<OptimizerFactory, AdamArgs>("Adam", adam_arguments<AdamArgs>(), [](AdamArgs a) -> std::shared_ptr<OptimizerFactory> {
    check_optimizer("Adam", a.lr, a.weight_decay, a.betas);
    return std::make_shared<LambdaOptimizerFactory>([a](Parameters p) {
      return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(a.lr).betas({a.betas[0], a.betas[1]}).eps(a.eps).weight_decay(a.weight_decay).amsgrad(a.amsgrad));
    });
  });
  register_factory<OptimizerFactory, AdamWArgs>("AdamW", adam_arguments<AdamWArgs>(), [](AdamWArgs a) -> std::shared_ptr<OptimizerFactory> {
    check_optimizer("AdamW", a.lr, a.weight_decay, a.betas);
    return std::make_shared<LambdaOptimizerFactory>([a](Parameters p) {
      return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(a.lr).betas({a.betas[0], a.betas[1]}).eps(a.eps).weight_decay(a.weight_decay).amsgrad(a.amsgrad));
    });
  });
  register_factory<OptimizerFactory, SGDArgs>(
      "SGD",
      {arg("lr", &SGDArgs::lr, "learning rate"), arg("momentum", &SGDArgs::momentum, "momentum factor"),
       arg("dampening", &SGDArgs::dampening, "dampening of momentum"), arg("weight_decay", &SGDArgs::weight_decay, "L2 penalty"),
       arg("nesterov", &SGDArgs::nesterov, "Nesterov momentum")},
      [](SGDArgs a) -> std::shared_ptr<OptimizerFactory> {
        check_optimizer("SGD", a.lr, a.weight_decay);
        return std::make_shared<LambdaOptimizerFactory>([a](Parameters p) {
          return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(a.lr).momentum(a.momentum).dampening(a.dampening).weight_decay(a.weight_decay).nesterov(a.nesterov));
        });
      });
  register_factory<OptimizerFactory, RMSpropArgs>(
      "RMSprop",
      {arg("lr", &RMSpropArgs::lr, "learning rate"), arg("alpha", &RMSpropArgs::alpha, "smoothing constant"),
       arg("eps", &RMSpropArgs::eps, "added to the denominator"), arg("weight_decay", &RMSpropArgs::weight_decay, "L2 penalty"),
       arg("momentum", &RMSpropArgs::momentum, "momentum factor"), arg("centered", &RMSpropArgs::centered, "normalize by the variance")},
      [](RMSpropArgs a) -> std::shared_ptr<OptimizerFactory> {
        check_optimizer("RMSprop", a.lr, a.weight_decay);
        return std::make_shared<LambdaOptimizerFactory>([a](Parameters p) {
          return std::make_unique<torch::optim::RMSprop>(p, torch::optim::RMSpropOptions(a.lr).alpha(a.alpha).eps(a.eps).weight_decay(a.weight_decay).momentum(a.momentum).centered(a.centered));
        });
      });
  register_factory<OptimizerFactory, AdagradArgs>(
      "Adagrad",
      {arg("lr", &AdagradArgs::lr, "learning rate"), arg("lr_decay", &AdagradArgs::lr_decay, "learning-rate decay"),
       arg("weight_decay", &AdagradArgs::weight_decay, "L2 penalty"),
       arg("initial_accumulator_value", &AdagradArgs::initial_accumulator_value, "starting sum of squares"),
       arg("eps", &AdagradArgs::eps, "added to the denominator")},
      [](AdagradArgs a) -> std::shared_ptr<OptimizerFactory> {
        check_optimizer("Adagrad", a.lr, a.weight_decay);
        return std::make_shared<LambdaOptimizerFactory>([a](Parameters p) {
          return std::make_unique<torch::optim::Adagrad>(p, torch::optim::AdagradOptions(a.lr).lr_decay(a.lr_decay).weight_decay(a.weight_decay).initial_accumulator_value(a.initial_accumulator_value).eps(a.eps));
        });
      });
}

/// A scheduler's own options plus Lightning's settings for it.
template <class Options>
struct Scheduled : Options {
  Scheduled() : Options() {}  // not an aggregate: GCC 12 misreads `Scheduled{}` of one as uninitialized
  std::string interval = "epoch";
  std::string monitor = "";
};

template <class Scheduler, class Options>
class TypedSchedulerFactory : public SchedulerFactory {
 public:
  explicit TypedSchedulerFactory(Scheduled<Options> options) : options_(std::move(options)) {
    // The scheduler's own checks (LC0317), run now on a stand-in optimizer rather than when
    // training starts.
    torch::optim::SGD stand_in({at::zeros({1}).requires_grad_()}, torch::optim::SGDOptions(0.1).momentum(0.9));
    [[maybe_unused]] Scheduler checked(stand_in, static_cast<const Options&>(options_));
  }
  std::unique_ptr<LRScheduler> make(torch::optim::Optimizer& optimizer) const override {
    return std::make_unique<Scheduler>(optimizer, static_cast<const Options&>(options_));
  }
  SchedulerOptions options() const override { return {.interval = options_.interval, .monitor = options_.monitor}; }

 private:
  Scheduled<Options> options_;
};

/// `inherited("step_size", &StepLROptions::step_size)`: an argument of `Scheduled<StepLROptions>`.
template <class Options, class V>
Argument<Scheduled<Options>> inherited(std::string name, V Options::*member, std::string help) {
  return arg<Scheduled<Options>, V>(std::move(name), static_cast<V Scheduled<Options>::*>(member), std::move(help));
}

template <class Scheduler, class Options>
void register_scheduler(const std::string& name, std::vector<Argument<Scheduled<Options>>> arguments,
                        bool needs_monitor = false) {
  using S = Scheduled<Options>;
  arguments.push_back(arg("interval", &S::interval, "step it every \"epoch\" or every optimizer \"step\""));
  if (needs_monitor) arguments.push_back(required_arg("monitor", &S::monitor, "logged metric it follows"));
  register_factory<SchedulerFactory, S>(name, std::move(arguments), [](S options) -> std::shared_ptr<SchedulerFactory> {
    return std::make_shared<TypedSchedulerFactory<Scheduler, Options>>(std::move(options));
  });
}

void register_schedulers() {
  register_scheduler<StepLR, StepLROptions>(
      "StepLR", {inherited("step_size", &StepLROptions::step_size, "intervals between decays"),
                 inherited("gamma", &StepLROptions::gamma, "decay factor")});
  register_scheduler<MultiStepLR, MultiStepLROptions>(
      "MultiStepLR", {inherited("milestones", &MultiStepLROptions::milestones, "intervals at which to decay"),
                      inherited("gamma", &MultiStepLROptions::gamma, "decay factor")});
  register_scheduler<ExponentialLR, ExponentialLROptions>(
      "ExponentialLR", {inherited("gamma", &ExponentialLROptions::gamma, "decay factor per interval")});
  register_scheduler<CosineAnnealingLR, CosineAnnealingLROptions>(
      "CosineAnnealingLR", {inherited("T_max", &CosineAnnealingLROptions::T_max, "intervals of half a cosine"),
                            inherited("eta_min", &CosineAnnealingLROptions::eta_min, "lowest learning rate")});
  register_scheduler<LinearLR, LinearLROptions>(
      "LinearLR", {inherited("start_factor", &LinearLROptions::start_factor, "factor at the start"),
                   inherited("end_factor", &LinearLROptions::end_factor, "factor at the end"),
                   inherited("total_iters", &LinearLROptions::total_iters, "intervals to go from one to the other")});
  auto one_cycle = std::vector<Argument<Scheduled<OneCycleLROptions>>>{
      inherited("max_lr", &OneCycleLROptions::max_lr, "peak learning rate"),
      inherited("total_steps", &OneCycleLROptions::total_steps, "steps of the whole cycle"),
      inherited("pct_start", &OneCycleLROptions::pct_start, "fraction of the cycle spent rising"),
      inherited("anneal_strategy", &OneCycleLROptions::anneal_strategy, "\"cos\" or \"linear\""),
      inherited("cycle_momentum", &OneCycleLROptions::cycle_momentum, "cycle momentum inversely"),
      inherited("base_momentum", &OneCycleLROptions::base_momentum, "lowest momentum"),
      inherited("max_momentum", &OneCycleLROptions::max_momentum, "highest momentum"),
      inherited("div_factor", &OneCycleLROptions::div_factor, "initial lr = max_lr / div_factor"),
      inherited("final_div_factor", &OneCycleLROptions::final_div_factor, "final lr = initial lr / final_div_factor"),
      inherited("three_phase", &OneCycleLROptions::three_phase, "a third phase down to the final lr")};
  one_cycle[1].required = true;
  register_scheduler<OneCycleLR, OneCycleLROptions>("OneCycleLR", std::move(one_cycle));
  register_scheduler<ReduceLROnPlateau, ReduceLROnPlateauOptions>(
      "ReduceLROnPlateau",
      {inherited("mode", &ReduceLROnPlateauOptions::mode, "\"min\" or \"max\""),
       inherited("factor", &ReduceLROnPlateauOptions::factor, "decay factor"),
       inherited("patience", &ReduceLROnPlateauOptions::patience, "intervals without improvement before a decay"),
       inherited("threshold", &ReduceLROnPlateauOptions::threshold, "smallest improvement that counts"),
       inherited("threshold_mode", &ReduceLROnPlateauOptions::threshold_mode, "\"rel\" or \"abs\""),
       inherited("cooldown", &ReduceLROnPlateauOptions::cooldown, "intervals to wait after a decay"),
       inherited("min_lr", &ReduceLROnPlateauOptions::min_lr, "lowest learning rate"),
       inherited("eps", &ReduceLROnPlateauOptions::eps, "smallest decay applied")},
      /*needs_monitor=*/true);
}

}  // namespace

void register_optimizers_and_schedulers() {
  register_optimizers();
  register_schedulers();
}

}  // namespace lightning::cli
