#pragma once
// torch.save's archives between LibTorch and Python, both ways. Ours are written as Python writes
// them, so that PyTorch's weights-only loading accepts them; they are read onto the CPU. A pickle
// Python wrote may hold opcodes LibTorch 1.13's unpickler lacks (APPEND and SETITEM, which Python
// writes for a list or dict of one item, as in a Lightning checkpoint's `optimizer_states`; BUILD,
// which sets an OrderedDict's `_metadata`), integers beyond 32 bits in fewer than 8 bytes, which it
// refuses, and OrderedDict, which it reads as None:
// with_libtorch_opcodes rewrites such an archive before LibTorch reads it.

#include <ATen/core/ivalue.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace lightning::detail {

/// `value` as a torch.save archive that Python's `torch.load(path, weights_only=True)` reads (the
/// default from PyTorch 2.6): LibTorch's pickle_save tags typed lists and dictionaries with
/// `torch.jit._pickle` functions, which the weights-only loader refuses, so every list and dictionary
/// is written untyped, as Python writes them. LibTorch reads the archive back (lists of Any).
std::vector<char> pickle_for_python(const c10::IValue& value);

/// Writes `pickle_for_python(value)` to `path` as save_checkpoint_file writes a checkpoint:
/// atomically, flushed to disk, parent folders created. Throws std::filesystem::filesystem_error
/// naming the path when it cannot be written.
void save_python_file(const c10::IValue& value, const std::filesystem::path& path);

/// Removes the temporary files that saves of processes no longer running on this machine left in
/// `folder` (a kill during a save), never another live process's; warns once (LC0409) when it
/// removed any. save_python_file calls it once per folder and process. Returns what it removed.
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& folder);

/// What the torch.save archive `bytes` pickles, every tensor on the CPU wherever it was saved (a
/// checkpoint from a GPU reads on a machine without one), as Lightning loads checkpoints. Throws
/// c10::Error on a malformed archive, and for a storage whose record holds fewer bytes than the
/// pickle states (LibTorch would read past the record).
c10::IValue unpickle_on_cpu(const std::vector<char>& bytes);

/// Called with each tensor's place (`["state_dict"]["fc.weight"]`); false stops the walk.
using TensorVisitor = std::function<bool(const std::string& place, const at::Tensor& tensor)>;
/// Visits the tensors of `value` through dictionaries, lists and tuples, each container once
/// however often a pickle refers to it. False when the visitor stopped the walk.
bool visit_tensors(const c10::IValue& value, const TensorVisitor& visit);

/// The same archive, with its data.pkl in opcodes LibTorch reads: every `OrderedDict()` built as
/// an empty dict, APPEND and SETITEM as APPENDS and SETITEMS (a MARK put before the item), LONG1
/// widened to the 8 bytes LibTorch reads, and BUILD (setting attributes such as `_metadata`) as a
/// triple (object, attributes, a sentinel).
/// Throws c10::Error on a malformed archive or pickle.
std::vector<char> with_libtorch_opcodes(const std::vector<char>& bytes);

/// What LibTorch reads from `with_libtorch_opcodes`, each BUILD triple back to its object (the
/// attributes dropped).
c10::IValue without_attributes(const c10::IValue& value);

}  // namespace lightning::detail
