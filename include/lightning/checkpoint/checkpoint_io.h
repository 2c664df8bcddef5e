#pragma once
// Reading and writing checkpoint files: one file per checkpoint in PyTorch's own zip/pickle format,
// so Python's `torch.load(path)` reads what we write and we read what `torch.save` writes.

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <filesystem>
#include <string>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace lightning {

/// A checkpoint as Lightning lays it out: a dictionary with string keys ("epoch", "global_step",
/// "state_dict", "optimizer_states", ...) whose values are tensors, numbers, strings, lists and
/// dictionaries.
using Checkpoint = c10::Dict<std::string, c10::IValue>;

/// An empty checkpoint dictionary (LibTorch's Dict<std::string, IValue> has no default constructor).
Checkpoint make_checkpoint();

/// Writes `checkpoint` to `path` atomically: into a temporary file beside it, flushed to disk, then
/// renamed over `path`. A reader never sees half a file, and a crash during the write leaves the
/// previous file intact. Creates missing parent folders. Throws std::filesystem::filesystem_error
/// naming the path when it cannot be written.
void save_checkpoint_file(const Checkpoint& checkpoint, const std::filesystem::path& path);

/// Gives the checkpoint file `from` a second name, `to` (a folder of the same file system): a hard
/// link where the file system has them (no second copy on disk; a later save over either name
/// replaces only that name), else a copy. Atomic as save_checkpoint_file is: `to` is the previous
/// file or the whole new one. Throws std::filesystem::filesystem_error naming the paths.
void link_checkpoint_file(const std::filesystem::path& from, const std::filesystem::path& to);

/// Reads a checkpoint written by `save_checkpoint_file` or by Python's `torch.save` of a
/// dictionary. Throws MisconfigurationException naming the file when it is missing (LC0401) or is
/// not a readable checkpoint: truncated, corrupt, or not a dictionary (LC0402).
Checkpoint load_checkpoint_file(const std::filesystem::path& path);

/// The module's parameters and buffers by their `named_parameters` / `named_buffers` names
/// ("fc.weight"), as Python's `module.state_dict()` names them. The tensors are detached copies.
c10::Dict<std::string, at::Tensor> module_state_dict(const torch::nn::Module& module);

/// Copies `state_dict` into the module's parameters and buffers. Every name must match, with the
/// same shape: otherwise throws MisconfigurationException (LC0403) listing the missing and
/// unexpected names and the shapes that differ, all at once; `source` names where the weights came
/// from (a file path). Accepts values that are tensors under string keys.
void load_module_state_dict(torch::nn::Module& module, const c10::IValue& state_dict,
                            const std::string& source);

/// An optimizer's state in Python's `optimizer.state_dict()` layout:
/// `{"state": {index: {...}}, "param_groups": [{"lr": ..., ..., "params": [index, ...]}]}`.
/// SGD, Adam, AdamW, RMSprop and Adagrad are written field by field, as PyTorch names them; any
/// other optimizer's state travels as LibTorch's own archive under "libtorch_archive".
c10::IValue optimizer_state_dict(torch::optim::Optimizer& optimizer);

/// Restores what `optimizer_state_dict` wrote, learning rates and other group options included
/// (LibTorch's own `load` leaves the learning rate as configured). Throws MisconfigurationException
/// (LC0405) naming `source` when the state belongs to another optimizer or other parameters.
void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& state,
                               const std::string& source);

/// Loads the weights of a checkpoint file (its "state_dict", or the whole file when it is a plain
/// state dict saved by Python) into `module`, for inference or fine-tuning:
///
///   Classifier model;
///   pl::load_weights(model, "checkpoints/best.ckpt");
void load_weights(torch::nn::Module& module, const std::filesystem::path& path);

}  // namespace lightning
