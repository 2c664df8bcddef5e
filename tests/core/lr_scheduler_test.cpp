// Expected learning rates come from PyTorch 1.13 (Debian's python3-torch), printed by running
// each scheduler with the same options on SGD(lr=0.1, momentum=0.9) for 12 steps.

#include <lightning/core/lr_scheduler.h>
#include <lightning/diagnostics/diagnostic.h>

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace lightning {
namespace {

struct Run {
  std::vector<double> lrs;
  std::vector<double> momenta;
};

template <class Make>
Run run(Make make, bool adam = false, const std::vector<double>& metrics = {}) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (adam) {
    optimizer = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(0.1));
  } else {
    optimizer = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.1).momentum(0.9));
  }
  auto momentum = [&] {
    auto& options = optimizer->param_groups()[0].options();
    if (adam) return std::get<0>(static_cast<torch::optim::AdamOptions&>(options).betas());
    return static_cast<torch::optim::SGDOptions&>(options).momentum();
  };
  auto scheduler = make(*optimizer);
  Run out;
  out.lrs.push_back(optimizer->param_groups()[0].options().get_lr());
  out.momenta.push_back(momentum());
  for (int i = 0; i < 12; ++i) {
    if (metrics.empty()) {
      scheduler->step();
    } else {
      scheduler->step(metrics[i]);
    }
    out.lrs.push_back(optimizer->param_groups()[0].options().get_lr());
    out.momenta.push_back(momentum());
    EXPECT_EQ(scheduler->get_last_lr().at(0), out.lrs.back());
  }
  return out;
}

void expect_near_all(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-12) << "at step " << i;
  }
}

TEST(LRScheduler, StepLRMatchesPyTorch) {
  auto r = run([](auto& o) { return std::make_unique<StepLR>(o, StepLROptions{.step_size = 3, .gamma = 0.5}); });
  expect_near_all(r.lrs, {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625});
}

TEST(LRScheduler, MultiStepLRMatchesPyTorchIncludingRepeatedMilestones) {
  auto r = run([](auto& o) {
    return std::make_unique<MultiStepLR>(o, MultiStepLROptions{.milestones = {2, 5, 5, 9}, .gamma = 0.1});
  });
  expect_near_all(r.lrs, {0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                          0.00010000000000000005, 0.00010000000000000005, 0.00010000000000000005,
                          0.00010000000000000005, 1.0000000000000006e-05, 1.0000000000000006e-05,
                          1.0000000000000006e-05, 1.0000000000000006e-05});
}

TEST(LRScheduler, ExponentialLRMatchesPyTorch) {
  auto r = run([](auto& o) { return std::make_unique<ExponentialLR>(o, ExponentialLROptions{.gamma = 0.9}); });
  expect_near_all(r.lrs, {0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002,
                          0.06561000000000002, 0.05904900000000002, 0.05314410000000002,
                          0.04782969000000002, 0.043046721000000024, 0.03874204890000002,
                          0.03486784401000002, 0.03138105960900001, 0.028242953648100012});
}

TEST(LRScheduler, CosineAnnealingLRMatchesPyTorchAcrossTheTurn) {
  auto r = run([](auto& o) {
    return std::make_unique<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 5, .eta_min = 0.01});
  });
  expect_near_all(r.lrs, {0.1, 0.09140576474687263, 0.06890576474687263, 0.04109423525312736,
                          0.018594235253127367, 0.01, 0.018594235253127367, 0.04109423525312739,
                          0.06890576474687267, 0.09140576474687269, 0.10000000000000006,
                          0.09140576474687272, 0.06890576474687268});
}

TEST(LRScheduler, LinearLRWarmsUpAsPyTorchDoes) {
  auto r = run([](auto& o) {
    return std::make_unique<LinearLR>(o, LinearLROptions{.start_factor = 0.25, .end_factor = 1.0, .total_iters = 4});
  });
  expect_near_all(r.lrs, {0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002,
                          0.10000000000000002, 0.10000000000000002, 0.10000000000000002,
                          0.10000000000000002, 0.10000000000000002, 0.10000000000000002,
                          0.10000000000000002, 0.10000000000000002, 0.10000000000000002});
}

TEST(LRScheduler, OneCycleLRMatchesPyTorchWithMomentum) {
  auto make = [](auto& o) {
    return std::make_unique<OneCycleLR>(o, OneCycleLROptions{.max_lr = 1.0, .total_steps = 12});
  };
  auto r = run(make);
  expect_near_all(r.lrs, {0.040000000000000036, 0.3497896542195831, 0.8792851591221287, 0.9944154354509117,
                          0.9330129698414117, 0.811745653949763, 0.6473789976951033, 0.46263710266697505,
                          0.28306099820869923, 0.1334775301888306, 0.03456698742539522, 4e-06,
                          0.034566987425395164});
  const std::vector<double> momenta = {0.95, 0.9177302443521267, 0.8625744625914449, 0.8505584586887436,
                                       0.856698729810778, 0.8688255099070633, 0.8852622412794547,
                                       0.9037365046793212, 0.9216941869558779, 0.9366525935914912,
                                       0.9465436874322102, 0.95, 0.9465436874322102};
  expect_near_all(r.momenta, momenta);
  expect_near_all(run(make, /*adam=*/true).momenta, momenta);  // Adam's beta1 cycles the same way
}

TEST(LRScheduler, OneCycleLRThreePhaseLinearMatchesPyTorch) {
  auto r = run([](auto& o) {
    return std::make_unique<OneCycleLR>(o, OneCycleLROptions{.max_lr = 0.5, .total_steps = 12,
                                                             .anneal_strategy = "linear", .three_phase = true});
  });
  expect_near_all(r.lrs, {0.02, 0.20461538461538464, 0.3892307692307693, 0.4261538461538461,
                          0.24153846153846148, 0.0569230769230768, 0.01724165517241379,
                          0.013793724137931033, 0.010345793103448273, 0.006897862068965515,
                          0.0034499310344827568, 1.9999999999985307e-06, -0.0034459310344827597});
  expect_near_all(r.momenta, {0.95, 0.9115384615384615, 0.8730769230769231, 0.8653846153846154,
                              0.9038461538461539, 0.9423076923076923, 0.95, 0.95, 0.95, 0.95, 0.95,
                              0.95, 0.95});
}

TEST(LRScheduler, OneCycleLRRefusesToRunPastTotalSteps) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1).momentum(0.9));
  OneCycleLR scheduler(sgd, {.max_lr = 1.0, .total_steps = 2});
  scheduler.step();
  scheduler.step();
  EXPECT_THROW(scheduler.step(), std::out_of_range);
}

TEST(LRScheduler, ReduceLROnPlateauReactsToItsMetricWithPatienceAndCooldown) {
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
  auto r = run([](auto& o) {
    return std::make_unique<ReduceLROnPlateau>(
        o, ReduceLROnPlateauOptions{.mode = "min", .factor = 0.5, .patience = 2, .cooldown = 1});
  }, false, metrics);
  expect_near_all(r.lrs, {0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025});
}

TEST(LRScheduler, ReduceLROnPlateauNeedsItsMetric) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));
  ReduceLROnPlateau scheduler(sgd);
  EXPECT_TRUE(scheduler.requires_metric());
  EXPECT_THROW(scheduler.step(), std::logic_error);
}

TEST(LRScheduler, StateRoundTripContinuesTheSameSchedule) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  torch::optim::SGD a(params, torch::optim::SGDOptions(0.1));
  torch::optim::SGD b(params, torch::optim::SGDOptions(0.1));
  CosineAnnealingLR first(a, {.T_max = 5});
  for (int i = 0; i < 3; ++i) first.step();
  CosineAnnealingLR second(b, {.T_max = 5});
  second.load_state_dict(first.state_dict());
  EXPECT_EQ(b.param_groups()[0].options().get_lr(), a.param_groups()[0].options().get_lr());
  for (int i = 0; i < 4; ++i) {
    first.step();
    second.step();
    EXPECT_EQ(second.get_last_lr(), first.get_last_lr());
  }

  ReduceLROnPlateau plateau_a(a, {.patience = 0});
  plateau_a.step(1.0);
  plateau_a.step(2.0);
  ReduceLROnPlateau plateau_b(b, {.patience = 0});
  plateau_b.load_state_dict(plateau_a.state_dict());
  EXPECT_EQ(plateau_b.best(), 1.0);
  EXPECT_EQ(plateau_b.num_bad_epochs(), plateau_a.num_bad_epochs());
}

TEST(LRScheduler, RejectsInvalidOptions) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));
  EXPECT_THROW(StepLR(sgd, {.step_size = 0}), std::invalid_argument);
  EXPECT_THROW(ReduceLROnPlateau(sgd, {.mode = "minimum"}), std::invalid_argument);
  EXPECT_THROW(OneCycleLR(sgd, {.max_lr = 1.0, .total_steps = 10, .anneal_strategy = "cosine"}),
               std::invalid_argument);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.1));
  EXPECT_NO_THROW(OneCycleLR(adam, {.max_lr = 1.0, .total_steps = 10}));
}

TEST(LRScheduler, ReportsEveryBadOptionAsLC0317NamingTheOption) {
  std::vector<at::Tensor> params{at::zeros({1}).set_requires_grad(true)};
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));
  try {
    OneCycleLR(sgd, {.max_lr = 1.0, .total_steps = 0, .pct_start = 1.5, .anneal_strategy = "cosine"});
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 3u) << e.what();
    for (const auto& d : e.diagnostics()) EXPECT_EQ(d.code, "LC0317");
    EXPECT_EQ(e.diagnostics()[0].message, "OneCycleLR option `total_steps` must be >= 1");
    EXPECT_EQ(e.diagnostics()[0].where(), "OneCycleLR({.total_steps = ...})");
    EXPECT_EQ(e.diagnostics()[0].received, "0");
    EXPECT_EQ(e.diagnostics()[1].message, "OneCycleLR option `pct_start` must be in [0, 1]");
    EXPECT_EQ(e.diagnostics()[2].message, "OneCycleLR option `anneal_strategy` has an unknown value \"cosine\"");
    EXPECT_EQ(e.diagnostics()[2].expected, "one of: \"cos\", \"linear\"");
    EXPECT_EQ(e.diagnostics()[2].help, "did you mean \"cos\"?");
    EXPECT_NE(std::string(e.what()).find("3 errors found while building OneCycleLR"), std::string::npos) << e.what();
  }
  torch::optim::SGD plain(params, torch::optim::SGDOptions(0.1));
  torch::optim::Adagrad adagrad(params, torch::optim::AdagradOptions(0.1));
  try {
    OneCycleLR(adagrad, {.max_lr = 1.0, .total_steps = 10});
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].code, "LC0317");
    EXPECT_EQ(e.diagnostics()[0].message,
              "OneCycleLR cycles the momentum, but the optimizer has neither momentum nor betas");
    EXPECT_EQ(e.diagnostics()[0].help, "set cycle_momentum = false");
  }
  EXPECT_NO_THROW(OneCycleLR(adagrad, {.max_lr = 1.0, .total_steps = 10, .cycle_momentum = false}));
  try {
    LinearLR(plain, {.start_factor = 0.0, .end_factor = 2.0});
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].message, "LinearLR option `start_factor` must be in (0, 1]");
    EXPECT_EQ(e.diagnostics()[1].message, "LinearLR option `end_factor` must be in [0, 1]");
    EXPECT_EQ(e.diagnostics()[1].received, "2");
  }
}

}  // namespace
}  // namespace lightning
