#pragma once
// Lightning's `strategy` option: a name, or a DDPStrategy with its settings.

#include <chrono>
#include <string>
#include <utility>

namespace lightning {

/// Lightning's DDPStrategy: data-parallel training, one process per device, over c10d.
///
///   pl::Trainer trainer({.devices = 2, .strategy = pl::DDPStrategy{.timeout = std::chrono::minutes(5)}});
struct DDPStrategy {
  /// How long the rendezvous and each collective wait for the other ranks before the run fails
  /// (PyTorch's default: 30 minutes). A rank that died is noticed at once; this bounds a hang.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// Gradients are averaged in buckets of about this many megabytes (PyTorch's DDP default).
  double bucket_cap_mb = 25.0;
  /// c10d's backend: "nccl" or "gloo"; empty chooses as Lightning does: NCCL on CUDA devices when
  /// this LibTorch has it, else Gloo.
  std::string process_group_backend = "";
};

/// Lightning's `strategy`: "auto", "single_device", "ddp" (also under Lightning's names
/// "ddp_find_unused_parameters_true" and "_false": parameters unused on some ranks are always
/// handled), or a DDPStrategy. Lightning's names that start processes from Python ("ddp_spawn",
/// "ddp_fork", "ddp_notebook") are LC0126.
class StrategyOption {
 public:
  StrategyOption(const char* name) : name_(name) {}                          // NOLINT: implicit
  StrategyOption(std::string name) : name_(std::move(name)) {}               // NOLINT: implicit
  StrategyOption(DDPStrategy ddp) : name_("ddp"), ddp_(ddp) {}               // NOLINT: implicit

  const std::string& name() const { return name_; }
  /// The DDP settings (the defaults unless a DDPStrategy was given).
  const DDPStrategy& ddp() const { return ddp_; }

 private:
  std::string name_;
  DDPStrategy ddp_;
};

}  // namespace lightning
