#include <lightning/callbacks/model_summary.h>

#include <lightning/utilities/console.h>

#include <fmt/format.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <array>
#include <vector>

namespace lightning {
namespace {

/// "torch::nn::LinearImpl" -> "Linear"; "my::Encoder" -> "Encoder".
std::string short_type_name(const torch::nn::Module& module) {
  std::string name = module.name();
  if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

int64_t count(const std::vector<at::Tensor>& parameters, bool trainable) {
  int64_t n = 0;
  for (const auto& p : parameters) {
    if (p.requires_grad() == trainable) n += p.numel();
  }
  return n;
}

/// Lightning writes 1234567 as "1.2 M" and 12345 as "12.3 K".
std::string readable(int64_t n) {
  if (n < 1000) return std::to_string(n);
  static constexpr std::array<const char*, 4> kUnits{"K", "M", "B", "T"};
  double value = static_cast<double>(n);
  std::size_t unit = 0;
  value /= 1000.0;
  while (value >= 1000.0 && unit + 1 < kUnits.size()) {
    value /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace

std::string summarize(const torch::nn::Module& module, int64_t max_depth) {
  std::vector<std::array<std::string, 4>> rows;
  std::size_t index = 0;
  for (const auto& item : module.named_modules("", /*include_self=*/false)) {
    const auto depth = static_cast<int64_t>(std::count(item.key().begin(), item.key().end(), '.')) + 1;
    if (depth > max_depth) continue;
    const auto parameters = item.value()->parameters(/*recurse=*/true);
    rows.push_back({std::to_string(index++), item.key(), short_type_name(*item.value()),
                    readable(count(parameters, true) + count(parameters, false))});
  }
  const std::array<std::string, 4> header{"", "Name", "Type", "Params"};
  std::array<std::size_t, 4> width{};
  for (std::size_t c = 0; c < 4; ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::array<std::string, 4>& cells) {
    return fmt::format("{:<{}} | {:<{}} | {:<{}} | {:<{}}\n", cells[0], width[0], cells[1], width[1], cells[2], width[2],
                       cells[3], width[3]);
  };
  const std::string head = line(header);
  const std::string rule(head.size() - 1, '-');
  std::string out = head + rule + "\n";
  for (const auto& row : rows) out += line(row);
  out += rule + "\n";
  const auto parameters = module.parameters(/*recurse=*/true);
  const int64_t trainable = count(parameters, true);
  const int64_t frozen = count(parameters, false);
  out += fmt::format("{:<10}Trainable params\n", readable(trainable));
  out += fmt::format("{:<10}Non-trainable params\n", readable(frozen));
  out += fmt::format("{:<10}Total params\n", readable(trainable + frozen));
  out += fmt::format("{:<10.3f}Total estimated model params size (MB)", static_cast<double>(trainable + frozen) * 4.0 / 1e6);
  return out;
}

void ModelSummary::on_fit_start(const TrainerView& trainer, LightningModule& module) {
  if (trainer.is_global_zero() && !trainer.fast_dev_run()) console::info(summarize(module, max_depth_));
}

}  // namespace lightning
