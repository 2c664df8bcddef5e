#include <lightning/data/batch.h>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <stdexcept>

namespace lightning {
namespace {

const char* kind_name(const Batch& batch) {
  if (batch.is_tensor()) return "a tensor";
  if (batch.is_tuple()) return "a tuple";
  if (batch.is_dict()) return "a map";
  return "empty";
}

template <class Fn>
Batch map_tensors(const Batch& batch, Fn&& fn) {
  if (batch.is_tensor()) return Batch(fn(batch.tensor()));
  if (batch.is_tuple()) {
    Batch::Tuple out;
    out.reserve(batch.tuple().size());
    for (const auto& item : batch.tuple()) out.push_back(map_tensors(item, fn));
    return Batch(std::move(out));
  }
  if (batch.is_dict()) {
    Batch::Dict out;
    for (const auto& [key, item] : batch.dict()) out.emplace(key, map_tensors(item, fn));
    return Batch(std::move(out));
  }
  return Batch();
}

}  // namespace

const at::Tensor& Batch::tensor() const {
  if (const auto* t = std::get_if<at::Tensor>(&value_)) return *t;
  throw std::invalid_argument(fmt::format("Batch: expected a tensor here, but this batch is {}",
                                          kind_name(*this)));
}

const Batch::Tuple& Batch::tuple() const {
  if (const auto* t = std::get_if<Tuple>(&value_)) return *t;
  throw std::invalid_argument(
      fmt::format("Batch: expected a tuple here, but this batch is {}", kind_name(*this)));
}

const Batch::Dict& Batch::dict() const {
  if (const auto* d = std::get_if<Dict>(&value_)) return *d;
  throw std::invalid_argument(
      fmt::format("Batch: expected a map here, but this batch is {}", kind_name(*this)));
}

const Batch& Batch::at(std::size_t index) const {
  const Tuple& items = tuple();
  if (index >= items.size()) {
    throw std::out_of_range(
        fmt::format("Batch: index {} is out of range for a tuple of {}", index, items.size()));
  }
  return items[index];
}

const Batch& Batch::operator[](std::string_view key) const {
  const Dict& items = dict();
  auto it = items.find(key);
  if (it == items.end()) {
    std::string keys;
    for (const auto& [name, item] : items) keys += (keys.empty() ? "\"" : ", \"") + name + "\"";
    throw std::out_of_range(fmt::format("Batch: no key \"{}\"; the keys are {}", key, keys));
  }
  return it->second;
}

std::size_t Batch::size() const {
  if (is_tuple()) return std::get<Tuple>(value_).size();
  if (is_dict()) return std::get<Dict>(value_).size();
  return is_tensor() ? 1 : 0;
}

int64_t Batch::batch_size() const {
  int64_t size = -1;
  for_each_tensor([&](const at::Tensor& t) {
    if (size < 0) size = t.dim() == 0 ? 1 : t.size(0);
  });
  return size < 0 ? 0 : size;
}

Batch Batch::to(c10::Device device, bool non_blocking) const {
  return map_tensors(*this, [&](const at::Tensor& t) { return t.to(device, non_blocking); });
}

Batch Batch::to_floating(c10::ScalarType dtype) const {
  return map_tensors(*this, [&](const at::Tensor& t) { return t.is_floating_point() ? t.to(dtype) : t; });
}

Batch Batch::detach() const {
  return map_tensors(*this, [](const at::Tensor& t) { return t.detach(); });
}

}  // namespace lightning
