// Time to save and to load a checkpoint of the Fashion-MNIST CNN (weights and Adam's state after
// one step) against plain torch::pickle_save / pickle_load of the same tensors, in one process.
// Our save is atomic and durable (temporary file, fsync, rename); the plain one only writes.
// Prints medians over the repetitions:
//
//   save_ms=X (serialize_ms=S) plain_save_ms=Y save_ratio=X/Y load_ms=Z plain_load_ms=W load_ratio=Z/W bytes=N
//
//   ./checkpoint_io [repetitions=20] [folder=/tmp]

#include "checkpoint/python_pickle.h"
#include "fashion_cnn.h"

#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

template <class F>
double median_ms(int repetitions, F&& f) {
  std::vector<double> times;
  for (int i = 0; i < repetitions; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::stoi(argv[1]) : 20;
  const fs::path folder = argc > 2 ? argv[2] : fs::temp_directory_path();
  torch::manual_seed(0);
  FashionCNN model;
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(1e-3));
  adam.zero_grad();
  model.forward(torch::randn({8, 1, 28, 28})).sum().backward();
  adam.step();

  const fs::path ours = folder / "bench_checkpoint_io.ckpt";
  const fs::path plain = folder / "bench_checkpoint_io.pt";
  auto checkpoint = [&] {
    pl::Checkpoint c = pl::make_checkpoint();
    c.insert("state_dict", pl::module_state_dict(model));
    c10::impl::GenericList optimizers(c10::AnyType::get());
    optimizers.push_back(pl::optimizer_state_dict(adam));
    c.insert("optimizer_states", optimizers);
    return c;
  };
  // The same tensors, in a flat dictionary.
  c10::Dict<std::string, at::Tensor> tensors = pl::module_state_dict(model);
  for (auto& [key, state] : adam.state()) {
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*state);
    std::ostringstream name;  // the state's key: a string in LibTorch 1.13, a pointer in 2.x
    name << key;
    tensors.insert(name.str() + ".exp_avg", s.exp_avg());
    tensors.insert(name.str() + ".exp_avg_sq", s.exp_avg_sq());
  }

  const double save_ms = median_ms(repetitions, [&] { pl::save_checkpoint_file(checkpoint(), ours); });
  // Where our save's time goes: serializing the checkpoint alone, without a file.
  const double serialize_ms = median_ms(repetitions, [&] { (void)pl::detail::pickle_for_python(checkpoint()); });
  const double plain_save_ms = median_ms(repetitions, [&] {
    const std::vector<char> bytes = torch::pickle_save(tensors);
    std::ofstream(plain, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
  FashionCNN restored;
  torch::optim::Adam restored_adam(restored.parameters(), torch::optim::AdamOptions(1e-3));
  const double load_ms = median_ms(repetitions, [&] {
    const pl::Checkpoint c = pl::load_checkpoint_file(ours);
    pl::load_module_state_dict(restored, c.at("state_dict"), ours.string());
    pl::load_optimizer_state_dict(restored_adam, c.at("optimizer_states").toList().get(0), ours.string());
  });
  const double plain_load_ms = median_ms(repetitions, [&] {
    std::ifstream in(plain, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    (void)torch::pickle_load(bytes);
  });
  const bool identical = torch::nn::utils::parameters_to_vector(restored.parameters())
                             .equal(torch::nn::utils::parameters_to_vector(model.parameters()));
  std::printf("save_ms=%.3f (serialize_ms=%.3f) plain_save_ms=%.3f save_ratio=%.2f load_ms=%.3f plain_load_ms=%.3f load_ratio=%.2f bytes=%lld "
              "weights_identical=%s\n",
              save_ms, serialize_ms, plain_save_ms, save_ms / plain_save_ms, load_ms, plain_load_ms, load_ms / plain_load_ms,
              static_cast<long long>(fs::file_size(ours)), identical ? "true" : "false");
  fs::remove(ours);
  fs::remove(plain);
  return identical ? 0 : 1;
}
