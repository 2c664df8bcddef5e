#include "utilities/random_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/cuda.h>

#include <algorithm>
#include <mutex>

namespace lightning::detail {
namespace {

std::vector<at::Generator> cuda_generators() {
  std::vector<at::Generator> generators;
  const std::size_t gpus = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
  for (std::size_t i = 0; i < gpus; ++i) {
    generators.push_back(at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i))));
  }
  return generators;
}

at::Tensor state_of(at::Generator generator) {
  std::lock_guard lock(generator.mutex());
  return generator.get_state();
}

void set_state_of(at::Generator generator, const at::Tensor& state) {
  std::lock_guard lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace

at::Tensor cpu_generator_state() { return state_of(at::detail::getDefaultCPUGenerator()); }

void set_cpu_generator_state(const at::Tensor& state) { set_state_of(at::detail::getDefaultCPUGenerator(), state); }

std::vector<at::Tensor> cuda_generator_states() {
  std::vector<at::Tensor> states;
  for (const auto& generator : cuda_generators()) states.push_back(state_of(generator));
  return states;
}

void set_cuda_generator_states(const std::vector<at::Tensor>& states) {
  const auto generators = cuda_generators();
  for (std::size_t i = 0; i < std::min(states.size(), generators.size()); ++i) set_state_of(generators[i], states[i]);
}

}  // namespace lightning::detail
