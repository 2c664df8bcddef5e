#pragma once
// A Batch is a tree of tensors: a tensor, a tuple of batches, or a string-keyed map of batches.
// Datasets return one sample as a Batch; the DataLoader's collate stacks samples into a Batch of
// the same shape with a leading batch dimension.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lightning {

class Batch {
 public:
  using Tuple = std::vector<Batch>;
  using Dict = std::map<std::string, Batch, std::less<>>;

  /// An empty batch (what a step that returns nothing gives).
  Batch() = default;
  /// A single tensor.
  Batch(at::Tensor tensor) : value_(std::move(tensor)) {}  // NOLINT: implicit on purpose
  /// A tuple: `Batch{x, y}`.
  Batch(std::initializer_list<Batch> items) : value_(Tuple(items)) {}
  Batch(Tuple items) : value_(std::move(items)) {}  // NOLINT
  /// A string-keyed map: `Batch(Batch::Dict{{"image", x}, {"label", y}})`.
  Batch(Dict items) : value_(std::move(items)) {}  // NOLINT

  bool empty() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_tensor() const { return std::holds_alternative<at::Tensor>(value_); }
  bool is_tuple() const { return std::holds_alternative<Tuple>(value_); }
  bool is_dict() const { return std::holds_alternative<Dict>(value_); }

  /// The tensor; throws std::invalid_argument naming the actual kind when this is not a tensor.
  const at::Tensor& tensor() const;
  /// Lets `forward(batch[0])` take the tensor directly.
  operator const at::Tensor&() const { return tensor(); }  // NOLINT: implicit on purpose

  /// Element `index` of a tuple: `batch[0]`. Throws std::out_of_range.
  template <std::integral I>
  const Batch& operator[](I index) const {
    return at(static_cast<std::size_t>(index));
  }
  const Batch& at(std::size_t index) const;
  /// Entry `key` of a map: `batch["image"]`. Throws std::out_of_range naming the keys present.
  const Batch& operator[](std::string_view key) const;

  const Tuple& tuple() const;
  const Dict& dict() const;
  /// Number of elements of a tuple or map; 1 for a tensor, 0 when empty.
  std::size_t size() const;

  /// The size of the leading dimension of the first tensor found (0 when there is none).
  int64_t batch_size() const;
  /// Every tensor moved to `device`, in one call.
  Batch to(c10::Device device, bool non_blocking = false) const;
  /// Floating-point tensors converted to `dtype`; integer and bool tensors (labels, masks) as they are.
  Batch to_floating(c10::ScalarType dtype) const;
  /// Every tensor detached from the autograd graph.
  Batch detach() const;
  /// Calls `fn` on every tensor, depth first, in order.
  template <class Fn>
  void for_each_tensor(Fn&& fn) const {
    if (is_tensor()) {
      fn(std::get<at::Tensor>(value_));
    } else if (is_tuple()) {
      for (const auto& item : std::get<Tuple>(value_)) item.for_each_tensor(fn);
    } else if (is_dict()) {
      for (const auto& [key, item] : std::get<Dict>(value_)) item.for_each_tensor(fn);
    }
  }

 private:
  std::variant<std::monostate, at::Tensor, Tuple, Dict> value_;
};

}  // namespace lightning
