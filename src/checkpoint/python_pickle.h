#pragma once
// torch.save's archives between LibTorch and Python, both ways. Ours are written as Python writes
// them, so that PyTorch's weights-only loading accepts them; they are read onto the CPU.
// Python's `torch.save(model.state_dict(), path)` pickles a collections.OrderedDict (with a
// `_metadata` attribute), which LibTorch's unpickler turns into None: it knows OrderedDict only as
// the unused backward-hooks argument of a tensor. with_plain_dicts rewrites such an archive so that
// each OrderedDict becomes a plain dictionary (and its attributes are dropped) before LibTorch reads it.

#include <ATen/core/ivalue.h>

#include <vector>

namespace lightning::detail {

/// `value` as a torch.save archive that Python's `torch.load(path, weights_only=True)` reads (the
/// default from PyTorch 2.6): LibTorch's pickle_save tags typed lists and dictionaries with
/// `torch.jit._pickle` functions, which the weights-only loader refuses, so every list and dictionary
/// is written untyped, as Python writes them. LibTorch reads the archive back (lists of Any).
std::vector<char> pickle_for_python(const c10::IValue& value);

/// What the torch.save archive `bytes` pickles, every tensor on the CPU wherever it was saved (a
/// checkpoint from a GPU reads on a machine without one), as Lightning loads checkpoints. Throws
/// c10::Error on a malformed archive.
c10::IValue unpickle_on_cpu(const std::vector<char>& bytes);

/// True when the zip archive `bytes` pickles a collections.OrderedDict.
bool pickles_ordered_dict(const std::vector<char>& bytes);

/// The same archive, with every `OrderedDict()` of its data.pkl built as an empty dict, every BUILD
/// (setting attributes such as `_metadata`) turned into a pair (dict, attributes) and every
/// SETITEM into a triple (dict, key, value), which LibTorch can read. Throws c10::Error on a
/// malformed archive.
std::vector<char> with_plain_dicts(const std::vector<char>& bytes);

/// What LibTorch reads from `with_plain_dicts`, with each pair back to its dict and each triple
/// inserted into its dict.
c10::IValue without_attributes(const c10::IValue& value);

}  // namespace lightning::detail
