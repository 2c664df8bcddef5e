#include <lightning/core/lr_scheduler.h>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <lightning/diagnostics/diagnostic.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace lightning {
namespace {

double value_of(const SchedulerState& state, const std::string& key) {
  auto it = state.find(key);
  if (it == state.end() || it->second.size() != 1) {
    throw std::invalid_argument(fmt::format("scheduler state: missing number \"{}\"", key));
  }
  return it->second[0];
}

const std::vector<double>& list_of(const SchedulerState& state, const std::string& key) {
  auto it = state.find(key);
  if (it == state.end()) {
    throw std::invalid_argument(fmt::format("scheduler state: missing list \"{}\"", key));
  }
  return it->second;
}

/// The problems of one scheduler's options (LC0317), all found before any is thrown.
class SchedulerChecks {
 public:
  explicit SchedulerChecks(std::string scheduler)
      : scheduler_(std::move(scheduler)), problems_(fmt::format("while building {}", scheduler_)) {}
  /// `option` (holding `received`) must be `requirement` unless `ok`.
  void require(bool ok, const char* option, std::string_view requirement, std::string received, std::string expected,
               std::string help) {
    if (ok) return;
    problems_.error(out_of_range("LC0317", {scheduler_, {option}}, requirement, std::move(received),
                                 std::move(expected), std::move(help)));
  }
  void require_choice(const char* option, const std::string& value, const std::vector<std::string>& choices) {
    if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
    problems_.error(unknown_choice("LC0317",
                                   fmt::format("{} option `{}` has an unknown value \"{}\"", scheduler_, option, value),
                                   {scheduler_, {option}}, value, choices));
  }
  void error(Diagnostic d) { problems_.error(std::move(d)); }
  void throw_if_errors() { problems_.throw_if_errors(); }

 private:
  std::string scheduler_;
  DiagnosticCollector problems_;
};

/// Whether OneCycleLR can cycle every parameter group's momentum (SGD's and RMSprop's momentum,
/// Adam's and AdamW's first beta).
bool has_momentum(torch::optim::Optimizer& optimizer) {
  return std::all_of(optimizer.param_groups().begin(), optimizer.param_groups().end(), [](auto& group) {
    auto& options = group.options();
    return dynamic_cast<torch::optim::SGDOptions*>(&options) || dynamic_cast<torch::optim::RMSpropOptions*>(&options) ||
           dynamic_cast<torch::optim::AdamOptions*>(&options) || dynamic_cast<torch::optim::AdamWOptions*>(&options);
  });
}

// Python's modulo: the result takes the divisor's sign.
int64_t python_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

}  // namespace

// ---- base --------------------------------------------------------------------------------------

LRScheduler::LRScheduler(torch::optim::Optimizer& optimizer) : optimizer_(&optimizer) {
  base_lrs_ = group_lrs();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const auto& group : optimizer_->param_groups()) lrs.push_back(group.options().get_lr());
  return lrs;
}

void LRScheduler::set_group_lrs(const std::vector<double>& lrs) {
  auto& groups = optimizer_->param_groups();
  for (std::size_t i = 0; i < groups.size() && i < lrs.size(); ++i) groups[i].options().set_lr(lrs[i]);
  last_lr_ = lrs;
}

void LRScheduler::initial_step() {
  last_epoch_ = -1;
  step();
}

void LRScheduler::step() {
  ++last_epoch_;
  set_group_lrs(compute_lr());
}

void LRScheduler::step(double) { step(); }

SchedulerState LRScheduler::state_dict() const {
  return {{"last_epoch", {static_cast<double>(last_epoch_)}},
          {"base_lrs", base_lrs_},
          {"last_lr", last_lr_}};
}

void LRScheduler::load_state_dict(const SchedulerState& state) {
  last_epoch_ = static_cast<int64_t>(value_of(state, "last_epoch"));
  // PyTorch's ReduceLROnPlateau keeps no base_lrs: the configured ones stay.
  if (state.contains("base_lrs")) base_lrs_ = list_of(state, "base_lrs");
  set_group_lrs(list_of(state, "last_lr"));
}

// ---- StepLR, MultiStepLR, ExponentialLR ----------------------------------------------------------

StepLR::StepLR(torch::optim::Optimizer& optimizer, StepLROptions options)
    : LRScheduler(optimizer), options_(options) {
  SchedulerChecks checks("StepLR");
  checks.require(options_.step_size >= 1, "step_size", ">= 1", std::to_string(options_.step_size), "an integer >= 1",
                 "the number of intervals between decays, e.g. 30");
  checks.throw_if_errors();
  initial_step();
}

std::vector<double> StepLR::compute_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % options_.step_size != 0) return lrs;
  for (double& lr : lrs) lr *= options_.gamma;
  return lrs;
}

MultiStepLR::MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  initial_step();
}

std::vector<double> MultiStepLR::compute_lr() const {
  std::vector<double> lrs = group_lrs();
  const auto hits = std::count(options_.milestones.begin(), options_.milestones.end(), last_epoch_);
  if (hits == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(options_.gamma, static_cast<double>(hits));
  return lrs;
}

ExponentialLR::ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options)
    : LRScheduler(optimizer), options_(options) {
  initial_step();
}

std::vector<double> ExponentialLR::compute_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= options_.gamma;
  return lrs;
}

// ---- CosineAnnealingLR -----------------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(torch::optim::Optimizer& optimizer,
                                     CosineAnnealingLROptions options)
    : LRScheduler(optimizer), options_(options) {
  SchedulerChecks checks("CosineAnnealingLR");
  checks.require(options_.T_max >= 1, "T_max", ">= 1", std::to_string(options_.T_max), "an integer >= 1",
                 "the number of intervals of half a cosine, e.g. max_epochs");
  checks.throw_if_errors();
  initial_step();
}

std::vector<double> CosineAnnealingLR::compute_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  const double pi = std::numbers::pi;
  const double t_max = static_cast<double>(options_.T_max);
  const double eta_min = options_.eta_min;
  for (std::size_t i = 0; i < lrs.size(); ++i) {
    if (python_mod(last_epoch_ - 1 - options_.T_max, 2 * options_.T_max) == 0) {
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min) * (1 - std::cos(pi / t_max)) / 2;
    } else {
      const double epoch = static_cast<double>(last_epoch_);
      lrs[i] = (1 + std::cos(pi * epoch / t_max)) / (1 + std::cos(pi * (epoch - 1) / t_max)) *
                   (lrs[i] - eta_min) +
               eta_min;
    }
  }
  return lrs;
}

// ---- LinearLR --------------------------------------------------------------------------------------

LinearLR::LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options)
    : LRScheduler(optimizer), options_(options) {
  SchedulerChecks checks("LinearLR");
  checks.require(options_.start_factor > 0 && options_.start_factor <= 1, "start_factor", "in (0, 1]",
                 fmt::format("{}", options_.start_factor), "0 < start_factor <= 1", "PyTorch's default is 1/3");
  checks.require(options_.end_factor >= 0 && options_.end_factor <= 1, "end_factor", "in [0, 1]",
                 fmt::format("{}", options_.end_factor), "0 <= end_factor <= 1", "PyTorch's default is 1.0");
  checks.throw_if_errors();
  initial_step();
}

std::vector<double> LinearLR::compute_lr() const {
  std::vector<double> lrs = group_lrs();
  const double start = options_.start_factor;
  const double end = options_.end_factor;
  const double total = static_cast<double>(options_.total_iters);
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr *= start;
  } else if (last_epoch_ <= options_.total_iters) {
    const double factor =
        1.0 + (end - start) / (total * start + static_cast<double>(last_epoch_ - 1) * (end - start));
    for (double& lr : lrs) lr *= factor;
  }
  return lrs;
}

// ---- OneCycleLR ------------------------------------------------------------------------------------

OneCycleLR::OneCycleLR(torch::optim::Optimizer& optimizer, OneCycleLROptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  SchedulerChecks checks("OneCycleLR");
  checks.require(options_.total_steps >= 1, "total_steps", ">= 1", std::to_string(options_.total_steps),
                 "an integer >= 1", "the number of optimizer steps of the run");
  checks.require(options_.pct_start >= 0 && options_.pct_start <= 1, "pct_start", "in [0, 1]",
                 fmt::format("{}", options_.pct_start), "0 <= pct_start <= 1", "PyTorch's default is 0.3");
  checks.require_choice("anneal_strategy", options_.anneal_strategy, {"cos", "linear"});
  if (options_.cycle_momentum && !has_momentum(optimizer)) {
    checks.error({.code = "LC0317",
                  .message = "OneCycleLR cycles the momentum, but the optimizer has neither momentum nor betas",
                  .subject = {"OneCycleLR", {"cycle_momentum"}},
                  .received = "cycle_momentum = true",
                  .expected = "an optimizer with momentum (SGD, RMSprop) or betas (Adam, AdamW), or cycle_momentum = false",
                  .help = "set cycle_momentum = false"});
  }
  checks.throw_if_errors();
  const double initial = options_.max_lr / options_.div_factor;
  const double min = initial / options_.final_div_factor;
  const double total = static_cast<double>(options_.total_steps);
  const double up_end = options_.pct_start * total - 1;
  const double hi = options_.max_momentum;
  const double lo = options_.base_momentum;
  if (options_.three_phase) {
    phases_ = {{up_end, initial, options_.max_lr, hi, lo},
               {2 * options_.pct_start * total - 2, options_.max_lr, initial, lo, hi},
               {total - 1, initial, min, hi, hi}};
  } else {
    phases_ = {{up_end, initial, options_.max_lr, hi, lo}, {total - 1, options_.max_lr, min, lo, hi}};
  }
  set_group_lrs(std::vector<double>(optimizer.param_groups().size(), initial));
  base_lrs_ = group_lrs();
  if (options_.cycle_momentum) set_momentum(hi);
  initial_step();
}

void OneCycleLR::set_momentum(double momentum) {
  for (auto& group : optimizer_->param_groups()) {
    auto& options = group.options();
    if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options)) {
      sgd->momentum(momentum);
    } else if (auto* rms = dynamic_cast<torch::optim::RMSpropOptions*>(&options)) {
      rms->momentum(momentum);
    } else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&options)) {
      adam->betas({momentum, std::get<1>(adam->betas())});
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&options)) {
      adamw->betas({momentum, std::get<1>(adamw->betas())});
    } else {
      internal_error("OneCycleLR::set_momentum on an optimizer without momentum (the constructor checks it)");
    }
  }
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == "cos") {
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  }
  return (end - start) * pct + start;
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::position() const {
  const double step = static_cast<double>(last_epoch_);
  if (last_epoch_ > options_.total_steps) {
    throw std::out_of_range(fmt::format(
        "OneCycleLR: stepped {} times with total_steps = {}; raise total_steps to the number of "
        "optimizer steps of the run",
        last_epoch_, options_.total_steps));
  }
  double start_step = 0;
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    const Phase& phase = phases_[i];
    if (step <= phase.end_step || i + 1 == phases_.size()) {
      return {&phase, (step - start_step) / (phase.end_step - start_step)};
    }
    start_step = phase.end_step;
  }
  return {&phases_.back(), 1.0};  // not reached: the last phase always matches
}

std::vector<double> OneCycleLR::compute_lr() const {
  auto [phase, pct] = position();
  return std::vector<double>(base_lrs_.size(), anneal(phase->start_lr, phase->end_lr, pct));
}

void OneCycleLR::step() {
  LRScheduler::step();
  if (options_.cycle_momentum) {
    auto [phase, pct] = position();
    set_momentum(anneal(phase->start_momentum, phase->end_momentum, pct));
  }
}

void OneCycleLR::load_state_dict(const SchedulerState& state) {
  LRScheduler::load_state_dict(state);
  if (options_.cycle_momentum) {
    auto [phase, pct] = position();
    set_momentum(anneal(phase->start_momentum, phase->end_momentum, pct));
  }
}

// ---- ReduceLROnPlateau -------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(torch::optim::Optimizer& optimizer,
                                     ReduceLROnPlateauOptions options)
    : LRScheduler(optimizer), options_(std::move(options)) {
  SchedulerChecks checks("ReduceLROnPlateau");
  checks.require_choice("mode", options_.mode, {"min", "max"});
  checks.require_choice("threshold_mode", options_.threshold_mode, {"rel", "abs"});
  checks.require(options_.factor < 1.0, "factor", "< 1", fmt::format("{}", options_.factor), "a factor below 1.0",
                 "PyTorch's default is 0.1");
  checks.throw_if_errors();
  best_ = options_.mode == "min" ? std::numeric_limits<double>::infinity()
                                 : -std::numeric_limits<double>::infinity();
  last_epoch_ = 0;
  last_lr_ = group_lrs();
}

void ReduceLROnPlateau::step() {
  throw std::logic_error(
      "ReduceLROnPlateau::step() needs the monitored value: call step(metric), or give the "
      "scheduler a `monitor` in configure_optimizers");
}

bool ReduceLROnPlateau::is_better(double value) const {
  const bool rel = options_.threshold_mode == "rel";
  if (options_.mode == "min") {
    return rel ? value < best_ * (1.0 - options_.threshold) : value < best_ - options_.threshold;
  }
  return rel ? value > best_ * (options_.threshold + 1.0) : value > best_ + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    std::vector<double> lrs = group_lrs();
    for (double& lr : lrs) {
      const double reduced = std::max(lr * options_.factor, options_.min_lr);
      if (lr - reduced > options_.eps) lr = reduced;
    }
    set_group_lrs(lrs);
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_ = group_lrs();
}

SchedulerState ReduceLROnPlateau::state_dict() const {
  SchedulerState state = LRScheduler::state_dict();
  state["best"] = {best_};
  state["num_bad_epochs"] = {static_cast<double>(num_bad_epochs_)};
  state["cooldown_counter"] = {static_cast<double>(cooldown_counter_)};
  return state;
}

void ReduceLROnPlateau::load_state_dict(const SchedulerState& state) {
  LRScheduler::load_state_dict(state);
  best_ = value_of(state, "best");
  num_bad_epochs_ = static_cast<int64_t>(value_of(state, "num_bad_epochs"));
  cooldown_counter_ = static_cast<int64_t>(value_of(state, "cooldown_counter"));
}

}  // namespace lightning
