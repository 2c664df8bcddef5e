#pragma once
// The states of LibTorch's default random generators, kept and put back where a run must not
// disturb them (the probe) or must continue them (resuming from a checkpoint).

#include <ATen/core/Tensor.h>

#include <vector>

namespace lightning::detail {

at::Tensor cpu_generator_state();
void set_cpu_generator_state(const at::Tensor& state);

/// Each visible GPU's default generator state, in device order; empty without CUDA. Dropout on a
/// GPU draws from its device's generator, not the CPU's.
std::vector<at::Tensor> cuda_generator_states();
/// Puts back the states of the devices this machine has, in order: a run saved on more GPUs (or
/// resumed on none) continues with those that fit, as the weights load on any device.
void set_cuda_generator_states(const std::vector<at::Tensor>& states);

}  // namespace lightning::detail
