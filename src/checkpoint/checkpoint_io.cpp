#include <lightning/checkpoint/checkpoint_io.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/console.h>

#include "checkpoint/python_pickle.h"

#include <torch/nn/module.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>

namespace lightning {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_io_error(const std::string& what, const fs::path& path) {
  throw fs::filesystem_error(what, path, std::error_code(errno, std::generic_category()));
}

/// Writes all of `bytes` to a new file and flushes it to the disk.
void write_durably(const fs::path& path, const std::vector<char>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_io_error("cannot create checkpoint file", path);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      throw_io_error("cannot write checkpoint file", path);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw_io_error("cannot flush checkpoint file", path);
}

/// Makes a rename inside `folder` survive a power loss.
void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some file systems do not open folders
  ::fsync(fd);
  ::close(fd);
}

Diagnostic unreadable(const fs::path& path, std::string received,
                      std::string help = "the file may be truncated by a crash or a full disk, or be another kind of "
                                         "file: resume from an earlier checkpoint") {
  return Diagnostic{.code = "LC0402",
                    .message = fmt::format("checkpoint file \"{}\" is not a readable checkpoint", path.string()),
                    .subject = {path.string()},
                    .received = std::move(received),
                    .expected = "a file written by lightning-cpp or by Python's torch.save of a dictionary",
                    .help = std::move(help)};
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// What is wrong with the view `tensor` takes of its storage, as the file described it: a size,
/// stride or offset that is negative, or elements beyond the storage's bytes (a record shorter
/// than the tensor it backs). Empty when the view lies within its storage.
std::string view_problem(const at::Tensor& tensor) {
  if (tensor.layout() != at::kStrided) return "";  // sparse and other layouts keep their own checks
  const int64_t offset = tensor.storage_offset();
  if (offset < 0) return fmt::format("a storage offset of {}", offset);
  int64_t last = offset;  // the index of the last element viewed, overflow-checked
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    const int64_t size = tensor.sizes()[d], stride = tensor.strides()[d];
    if (size < 0 || stride < 0) return fmt::format("size {} and stride {} in dimension {}", size, stride, d);
    if (size == 0) return "";  // no element, nothing read
    int64_t reach = 0;
    if (__builtin_mul_overflow(size - 1, stride, &reach) || __builtin_add_overflow(last, reach, &last)) {
      return fmt::format("sizes [{}] and strides [{}] that overflow 64 bits", fmt::join(tensor.sizes(), ", "),
                         fmt::join(tensor.strides(), ", "));
    }
  }
  const auto item = static_cast<int64_t>(tensor.dtype().itemsize());
  const auto available = static_cast<int64_t>(tensor.storage().nbytes()) / std::max<int64_t>(item, 1);
  if (last < available) return "";
  return fmt::format("a {} tensor of sizes [{}] viewing elements up to {} of a storage of {} bytes ({} elements)",
                     c10::toString(tensor.scalar_type()), fmt::join(tensor.sizes(), ", "), last, tensor.storage().nbytes(), available);
}

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

}  // namespace

Checkpoint make_checkpoint() {
  return c10::impl::toTypedDict<std::string, c10::IValue>(
      c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()));
}

void save_checkpoint_file(const Checkpoint& checkpoint, const fs::path& path) { detail::save_python_file(checkpoint, path); }

namespace {

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

/// The marker of this process's temporary files: `.<name>.tmp-<host>-<pid>`, so that a folder
/// shared between machines is cleaned only of this machine's processes' files.
std::string temporary_suffix(pid_t pid) { return fmt::format(".tmp-{}-{}", host_name(), pid); }

/// The process that wrote a temporary file of this machine (`.<name>.tmp-<host>-<pid>`, or
/// `.<name>.tmp-<pid>` as lightning-cpp 0.1 wrote them); nullopt for any other name.
std::optional<pid_t> writer_of(const std::string& name) {
  if (!name.starts_with(".")) return std::nullopt;
  const auto cut = name.rfind(".tmp-");
  if (cut == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(name).substr(cut + 5);
  const std::string host = host_name() + "-";
  if (rest.starts_with(host)) rest.remove_prefix(host.size());
  pid_t pid = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (error != std::errc() || end != rest.data() + rest.size() || pid <= 0) return std::nullopt;
  return pid;
}

/// `path` replaced as a whole or not at all: `write` makes this process's temporary file beside it
/// (removed if anything throws), which is then renamed over `path`, and the rename made durable.
template <class Write>
void replace_atomically(const fs::path& path, Write&& write) {
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path temporary = folder / fmt::format(".{}{}", path.filename().string(), temporary_suffix(::getpid()));
  try {
    write(temporary);
    fs::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
  sync_folder(folder);
}

}  // namespace

std::vector<fs::path> detail::remove_stale_temporaries(const fs::path& folder) {
  std::vector<fs::path> removed;
  std::uintmax_t bytes = 0;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const auto pid = writer_of(it->path().filename().string());
    // kill(pid, 0) fails with ESRCH only when no such process lives (EPERM: alive, another user's).
    if (!pid || *pid == ::getpid() || ::kill(*pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    const auto size = fs::file_size(it->path(), ignored);
    if (fs::remove(it->path(), ignored)) {
      removed.push_back(it->path());
      bytes += ignored ? 0 : size;
    }
  }
  if (!removed.empty()) {
    console::warn_once(Diagnostic{.code = "LC0409",
                                  .severity = Severity::kWarning,
                                  .message = fmt::format("removed {} partial checkpoint file{} ({:.1f} MB) that killed "
                                                         "runs left in \"{}\"",
                                                         removed.size(), removed.size() == 1 ? "" : "s",
                                                         static_cast<double>(bytes) / 1e6, folder.string()),
                                  .subject = {folder.string()},
                                  .received = fmt::format("{}", removed.front().filename().string()),
                                  .expected = "no temporary file of a process that no longer runs",
                                  .help = "nothing to do: a save that a kill interrupts never replaces the previous "
                                          "file, and its remains are removed here"}
                           .render());
  }
  return removed;
}

void detail::save_python_file(const c10::IValue& value, const fs::path& path) {
  const std::vector<char> bytes = pickle_for_python(value);
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(folder);
  // Once per folder and process: what the saves of killed runs left there.
  static std::mutex mutex;
  static std::set<fs::path> cleaned;
  {
    std::lock_guard lock(mutex);
    if (cleaned.insert(fs::absolute(folder).lexically_normal()).second) remove_stale_temporaries(folder);
  }
  replace_atomically(path, [&](const fs::path& temporary) { write_durably(temporary, bytes); });
}

void link_checkpoint_file(const fs::path& from, const fs::path& to) {
  replace_atomically(to, [&](const fs::path& temporary) {
    std::error_code no_link;
    fs::create_hard_link(from, temporary, no_link);
    if (!no_link) return;
    fs::copy_file(from, temporary, fs::copy_options::overwrite_existing);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw_io_error("cannot open checkpoint file", temporary);
    const bool flushed = ::fsync(fd) == 0;
    if (::close(fd) != 0 || !flushed) throw_io_error("cannot flush checkpoint file", temporary);
  });
}

Checkpoint load_checkpoint_file(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::is_regular_file(status)) {
    // What is there instead, in the user's words.
    std::string found = "no such file";
    if (error.value() == ELOOP) {
      found = "a loop of symbolic links";
    } else if (error && error != std::errc::no_such_file_or_directory) {
      found = fmt::format("a path that cannot be looked at: {}", error.message());
    } else if (fs::is_directory(status)) {
      found = "a folder";
    } else if (fs::exists(status)) {
      found = "a special file (a pipe, a socket or a device)";
    }
    throw MisconfigurationException({Diagnostic{
        .code = "LC0401",
        .message = found == "no such file" ? fmt::format("checkpoint file \"{}\" does not exist", path.string())
                                           : fmt::format("checkpoint path \"{}\" is not a file", path.string()),
        .subject = {path.string()},
        .received = found,
        .expected = "a checkpoint file",
        .help = found == "a folder" ? "name a .ckpt file in that folder; ModelCheckpoint writes to <log_dir>/checkpoints"
                                    : "check the path; ModelCheckpoint writes to <log_dir>/checkpoints by default"}});
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw_io_error("cannot read checkpoint file", path);
  if (bytes.empty()) throw MisconfigurationException({unreadable(path, "an empty file")});
  // LibTorch's reader throws c10::Error, and also std::out_of_range and the like for a pickle
  // that refers to what it does not hold: every one is a file that cannot be read.
  const auto cannot_read = [&](const std::exception& error) {
    const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
    const std::string reason = first_line(c10_error ? c10_error->what_without_backtrace() : error.what());
    const std::string received = fmt::format("{} bytes that LibTorch cannot read: {}", bytes.size(), reason);
    // LibTorch's unpickler says "Unpickler found unknown type <module.Class>" for a class it cannot build.
    if (reason.find("unknown type") == std::string::npos) return MisconfigurationException({unreadable(path, received)});
    return MisconfigurationException({unreadable(
        path, received,
        "the file holds a Python object that only Python can build (often in hyper_parameters): load it in Python "
        "and save a copy without it, or only the weights: torch.save(torch.load(path)['state_dict'], 'weights.pt')")});
  };
  c10::IValue loaded;
  try {
    loaded = detail::unpickle_on_cpu(bytes);
  } catch (const std::exception& direct) {
    // A file from Python's torch.save may hold opcodes or an OrderedDict that LibTorch does not
    // read; read it again rewritten. Once rewritten, what still fails (a Python class LibTorch
    // cannot build) is the error to report; a file that cannot be rewritten, the first one.
    std::vector<char> rewritten;
    try {
      rewritten = detail::with_libtorch_opcodes(bytes);
    } catch (const std::exception&) {
      throw cannot_read(direct);
    }
    try {
      loaded = detail::without_attributes(detail::unpickle_on_cpu(rewritten));
    } catch (const std::exception& error) {
      throw cannot_read(error);
    }
  }
  if (!loaded.isGenericDict()) {
    throw MisconfigurationException({unreadable(path, fmt::format("a {}", loaded.type()->str()))});
  }
  // LibTorch 1.13 builds each tensor's view from the pickle without comparing it with the record
  // that backs it: nothing may read a tensor before its view is known to lie within its bytes.
  std::string bad_view;
  detail::visit_tensors(loaded, [&](const std::string& place, const at::Tensor& tensor) {
    const std::string problem = view_problem(tensor);
    if (!problem.empty()) bad_view = fmt::format("entry {}: {}", place, problem);
    return problem.empty();
  });
  if (!bad_view.empty()) throw MisconfigurationException({unreadable(path, bad_view)});
  Checkpoint checkpoint = make_checkpoint();
  for (const auto& entry : loaded.toGenericDict()) {
    if (!entry.key().isString()) {
      throw MisconfigurationException({unreadable(path, fmt::format("a dictionary with a {} key", entry.key().type()->str()))});
    }
    checkpoint.insert(entry.key().toStringRef(), entry.value());
  }
  return checkpoint;
}

c10::Dict<std::string, at::Tensor> module_state_dict(const torch::nn::Module& module) {
  c10::Dict<std::string, at::Tensor> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.insert(item.key(), item.value().detach());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.insert(item.key(), item.value().detach());
  return out;
}

void load_module_state_dict(torch::nn::Module& module, const c10::IValue& state_dict, const std::string& source) {
  if (!state_dict.isGenericDict()) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0403",
        .message = fmt::format("\"{}\" holds no weights", source),
        .subject = {source},
        .received = fmt::format("\"state_dict\" is a {}", state_dict.type()->str()),
        .expected = "a dictionary of tensors by parameter name",
        .help = "load a checkpoint written by lightning-cpp, or a Python `torch.save(model.state_dict(), path)`"}});
  }
  std::map<std::string, at::Tensor> given;
  for (const auto& entry : state_dict.toGenericDict()) {
    if (entry.key().isString() && entry.value().isTensor()) given.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  std::map<std::string, at::Tensor> wanted;
  for (const auto& item : module.named_parameters(true)) wanted.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) wanted.emplace(item.key(), item.value());

  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, tensor] : wanted) {
    auto found = given.find(name);
    if (found == given.end()) {
      missing.push_back(name);
    } else if (found->second.sizes() != tensor.sizes()) {
      mismatched.push_back(fmt::format("{} is {} in the file, {} in the model", name, shape_of(found->second), shape_of(tensor)));
    }
  }
  for (const auto& [name, tensor] : given) {
    if (!wanted.count(name)) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(fmt::format("missing {}", fmt::join(missing, ", ")));
    if (!unexpected.empty()) parts.push_back(fmt::format("unexpected {}", fmt::join(unexpected, ", ")));
    if (!mismatched.empty()) parts.push_back(fmt::format("shapes differ: {}", fmt::join(mismatched, "; ")));
    throw MisconfigurationException({Diagnostic{
        .code = "LC0403",
        .message = fmt::format("the weights in \"{}\" do not fit this model", source),
        .subject = {source},
        .received = fmt::format("{}", fmt::join(parts, "; ")),
        .expected = fmt::format("the model's {} parameters and buffers with their shapes", wanted.size()),
        .help = "load a checkpoint of the same model class built with the same hyperparameters"}});
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : wanted) tensor.copy_(given.at(name));
}

// ---- optimizers -------------------------------------------------------------------------------

namespace {

using GenericDict = c10::impl::GenericDict;

GenericDict string_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

/// The optimizer's state map is keyed by a string in LibTorch 1.13 and by a pointer in 2.x.
template <class StateMap>
auto state_key(const StateMap&, const at::Tensor& param) {
  using Key = typename std::remove_cvref_t<StateMap>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;  // how LibTorch 1.13 names the key (c10::guts::to_string, gone in 2.x)
    text << param.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

double number(const GenericDict& d, const char* key, double fallback) {
  auto it = d.find(key);
  if (it == d.end()) return fallback;
  // Python writes a whole number as an int (PyTorch's default weight_decay is 0).
  return it->value().isInt() ? static_cast<double>(it->value().toInt()) : it->value().toDouble();
}
bool flag(const GenericDict& d, const char* key, bool fallback) {
  auto it = d.find(key);
  return it == d.end() ? fallback : it->value().toBool();
}
at::Tensor tensor_or_undefined(const GenericDict& d, const char* key) {
  auto it = d.find(key);
  return it == d.end() || !it->value().isTensor() ? at::Tensor() : it->value().toTensor().clone();
}
int64_t step_of(const GenericDict& d) {
  auto it = d.find("step");
  if (it == d.end()) return 0;
  return it->value().isTensor() ? static_cast<int64_t>(it->value().toTensor().item<double>()) : it->value().toInt();
}
/// PyTorch keeps Adam's step as a float tensor.
at::Tensor step_tensor(int64_t step) { return at::scalar_tensor(static_cast<double>(step), at::kFloat); }

/// A parameter's saved state with its tensors moved to the parameter's device, as PyTorch's
/// Optimizer.load_state_dict does: checkpoints load on the CPU whatever device they came from.
GenericDict on_device(const GenericDict& state, const c10::Device& device) {
  GenericDict out(state.keyType(), state.valueType());
  for (const auto& entry : state) {
    out.insert(entry.key(), entry.value().isTensor() ? c10::IValue(entry.value().toTensor().to(device)) : entry.value());
  }
  return out;
}

void put(GenericDict& d, const char* key, const at::Tensor& t) {
  if (t.defined()) d.insert(key, t);
}

/// The tensors a parameter's saved state must hold for the optimizer's step, given its group's
/// saved options (LibTorch's step uses them without checking, e.g. Adam's exp_avg).
using RequiredState = std::function<std::vector<std::string>(const GenericDict& group)>;

/// How one optimizer class maps to Python's layout: group options and per-parameter state.
struct OptimizerFormat {
  std::function<void(const torch::optim::OptimizerOptions&, GenericDict&)> write_options;
  std::function<void(torch::optim::OptimizerOptions&, const GenericDict&)> read_options;
  std::function<void(const torch::optim::OptimizerParamState&, GenericDict&)> write_state;
  std::function<std::unique_ptr<torch::optim::OptimizerParamState>(const GenericDict&)> read_state;
  RequiredState required_state;
};

template <class Options, class State, class WriteOptions, class ReadOptions, class WriteState, class ReadState>
OptimizerFormat format_of(WriteOptions wo, ReadOptions ro, WriteState ws, ReadState rs, RequiredState required) {
  return OptimizerFormat{
      [wo](const torch::optim::OptimizerOptions& o, GenericDict& d) { wo(static_cast<const Options&>(o), d); },
      [ro](torch::optim::OptimizerOptions& o, const GenericDict& d) { ro(static_cast<Options&>(o), d); },
      [ws](const torch::optim::OptimizerParamState& s, GenericDict& d) { ws(static_cast<const State&>(s), d); },
      [rs](const GenericDict& d) -> std::unique_ptr<torch::optim::OptimizerParamState> {
        auto state = std::make_unique<State>();
        rs(*state, d);
        return state;
      },
      std::move(required)};
}

template <class Options>
void write_betas(const Options& o, GenericDict& d) {
  d.insert("betas", c10::ivalue::Tuple::create({std::get<0>(o.betas()), std::get<1>(o.betas())}));
}
template <class Options>
void read_betas(Options& o, const GenericDict& d) {
  auto it = d.find("betas");
  if (it == d.end()) return;
  const auto& elements = it->value().toTupleRef().elements();
  o.betas(std::make_tuple(elements[0].toDouble(), elements[1].toDouble()));
}

template <class Options, class State>
OptimizerFormat adam_like() {
  return format_of<Options, State>(
      [](const Options& o, GenericDict& d) {
        d.insert("lr", o.lr());
        write_betas(o, d);
        d.insert("eps", o.eps());
        d.insert("weight_decay", o.weight_decay());
        d.insert("amsgrad", o.amsgrad());
      },
      [](Options& o, const GenericDict& d) {
        o.lr(number(d, "lr", o.lr()));
        read_betas(o, d);
        o.eps(number(d, "eps", o.eps()));
        o.weight_decay(number(d, "weight_decay", o.weight_decay()));
        o.amsgrad(flag(d, "amsgrad", o.amsgrad()));
      },
      [](const State& s, GenericDict& d) {
        d.insert("step", step_tensor(s.step()));
        put(d, "exp_avg", s.exp_avg());
        put(d, "exp_avg_sq", s.exp_avg_sq());
        put(d, "max_exp_avg_sq", s.max_exp_avg_sq());
      },
      [](State& s, const GenericDict& d) {
        s.step(step_of(d));
        s.exp_avg(tensor_or_undefined(d, "exp_avg"));
        s.exp_avg_sq(tensor_or_undefined(d, "exp_avg_sq"));
        s.max_exp_avg_sq(tensor_or_undefined(d, "max_exp_avg_sq"));
      },
      [](const GenericDict& group) {
        std::vector<std::string> required{"exp_avg", "exp_avg_sq"};
        if (flag(group, "amsgrad", false)) required.push_back("max_exp_avg_sq");
        return required;
      });
}

/// The formats we know, by optimizer class; others use LibTorch's archive.
const OptimizerFormat* format_for(const torch::optim::Optimizer& optimizer, std::string& name) {
  using namespace torch::optim;
  static const OptimizerFormat sgd = format_of<SGDOptions, SGDParamState>(
      [](const SGDOptions& o, GenericDict& d) {
        d.insert("lr", o.lr());
        d.insert("momentum", o.momentum());
        d.insert("dampening", o.dampening());
        d.insert("weight_decay", o.weight_decay());
        d.insert("nesterov", o.nesterov());
      },
      [](SGDOptions& o, const GenericDict& d) {
        o.lr(number(d, "lr", o.lr()));
        o.momentum(number(d, "momentum", o.momentum()));
        o.dampening(number(d, "dampening", o.dampening()));
        o.weight_decay(number(d, "weight_decay", o.weight_decay()));
        o.nesterov(flag(d, "nesterov", o.nesterov()));
      },
      [](const SGDParamState& s, GenericDict& d) { put(d, "momentum_buffer", s.momentum_buffer()); },
      [](SGDParamState& s, const GenericDict& d) { s.momentum_buffer(tensor_or_undefined(d, "momentum_buffer")); },
      [](const GenericDict& group) {
        return number(group, "momentum", 0) != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
      });
  static const OptimizerFormat adam = adam_like<AdamOptions, AdamParamState>();
  static const OptimizerFormat adamw = adam_like<AdamWOptions, AdamWParamState>();
  static const OptimizerFormat rmsprop = format_of<RMSpropOptions, RMSpropParamState>(
      [](const RMSpropOptions& o, GenericDict& d) {
        d.insert("lr", o.lr());
        d.insert("alpha", o.alpha());
        d.insert("eps", o.eps());
        d.insert("weight_decay", o.weight_decay());
        d.insert("momentum", o.momentum());
        d.insert("centered", o.centered());
      },
      [](RMSpropOptions& o, const GenericDict& d) {
        o.lr(number(d, "lr", o.lr()));
        o.alpha(number(d, "alpha", o.alpha()));
        o.eps(number(d, "eps", o.eps()));
        o.weight_decay(number(d, "weight_decay", o.weight_decay()));
        o.momentum(number(d, "momentum", o.momentum()));
        o.centered(flag(d, "centered", o.centered()));
      },
      [](const RMSpropParamState& s, GenericDict& d) {
        d.insert("step", step_tensor(s.step()));
        put(d, "square_avg", s.square_avg());
        put(d, "momentum_buffer", s.momentum_buffer());
        put(d, "grad_avg", s.grad_avg());
      },
      [](RMSpropParamState& s, const GenericDict& d) {
        s.step(step_of(d));
        s.square_avg(tensor_or_undefined(d, "square_avg"));
        s.momentum_buffer(tensor_or_undefined(d, "momentum_buffer"));
        s.grad_avg(tensor_or_undefined(d, "grad_avg"));
      },
      [](const GenericDict& group) {
        std::vector<std::string> required{"square_avg"};
        if (number(group, "momentum", 0) > 0) required.push_back("momentum_buffer");
        if (flag(group, "centered", false)) required.push_back("grad_avg");
        return required;
      });
  static const OptimizerFormat adagrad = format_of<AdagradOptions, AdagradParamState>(
      [](const AdagradOptions& o, GenericDict& d) {
        d.insert("lr", o.lr());
        d.insert("lr_decay", o.lr_decay());
        d.insert("weight_decay", o.weight_decay());
        d.insert("initial_accumulator_value", o.initial_accumulator_value());
        d.insert("eps", o.eps());
      },
      [](AdagradOptions& o, const GenericDict& d) {
        o.lr(number(d, "lr", o.lr()));
        o.lr_decay(number(d, "lr_decay", o.lr_decay()));
        o.weight_decay(number(d, "weight_decay", o.weight_decay()));
        o.initial_accumulator_value(number(d, "initial_accumulator_value", o.initial_accumulator_value()));
        o.eps(number(d, "eps", o.eps()));
      },
      [](const AdagradParamState& s, GenericDict& d) {
        d.insert("step", step_tensor(s.step()));
        put(d, "sum", s.sum());
      },
      [](AdagradParamState& s, const GenericDict& d) {
        s.step(step_of(d));
        s.sum(tensor_or_undefined(d, "sum"));
      },
      [](const GenericDict&) { return std::vector<std::string>{"sum"}; });
  // AdamW derives from nothing Adam-like, so dynamic_cast tells them apart.
  if (dynamic_cast<const SGD*>(&optimizer)) return name = "SGD", &sgd;
  if (dynamic_cast<const AdamW*>(&optimizer)) return name = "AdamW", &adamw;
  if (dynamic_cast<const Adam*>(&optimizer)) return name = "Adam", &adam;
  if (dynamic_cast<const RMSprop*>(&optimizer)) return name = "RMSprop", &rmsprop;
  if (dynamic_cast<const Adagrad*>(&optimizer)) return name = "Adagrad", &adagrad;
  name = "other";
  return nullptr;
}

Diagnostic optimizer_mismatch(const std::string& source, std::string received, std::string expected) {
  return Diagnostic{.code = "LC0405",
                    .message = fmt::format("the optimizer state in \"{}\" does not fit the optimizers of "
                                           "configure_optimizers",
                                           source),
                    .subject = {source},
                    .received = std::move(received),
                    .expected = std::move(expected),
                    .help = "resume with the optimizers the checkpoint was trained with, or load only the "
                            "weights (pl::load_weights) to start a new optimization"};
}

/// The optimizer class of a state PyTorch wrote (which names none), by the options of its first
/// parameter group: "Adam or AdamW" when that PyTorch (before 2.6) did not tell them apart; ""
/// when none fits.
std::string python_optimizer_name(const c10::impl::GenericList& groups) {
  if (groups.empty() || !groups.get(0).isGenericDict()) return "";
  const auto group = groups.get(0).toGenericDict();
  if (group.contains("betas")) {
    if (!group.contains("decoupled_weight_decay")) return "Adam or AdamW";
    return group.at("decoupled_weight_decay").toBool() ? "AdamW" : "Adam";
  }
  if (group.contains("nesterov")) return "SGD";
  if (group.contains("centered")) return "RMSprop";
  if (group.contains("lr_decay")) return "Adagrad";
  return "";
}

/// What does not fit in the saved state of each parameter: a tensor the step needs that is
/// missing, or one of another shape than its parameter's (a module whose parameters come in
/// another order than the one that saved). Lists three at most.
std::vector<std::string> parameter_state_problems(const OptimizerFormat& format, const c10::impl::GenericList& groups,
                                                  const c10::IValue& saved_state,
                                                  const std::vector<torch::optim::OptimizerParamGroup>& param_groups) {
  std::vector<std::string> problems;
  if (!saved_state.isGenericDict()) return {fmt::format("\"state\" is {}", saved_state.type()->str())};
  const auto state = saved_state.toGenericDict();
  std::size_t found = 0;
  const auto note = [&](std::string problem) {
    if (++found <= 3) problems.push_back(std::move(problem));
  };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto group = groups.get(g).toGenericDict();
    const auto indices = group.at("params").toList();
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const c10::IValue index = indices.get(k);
      const auto entry = index.isInt() ? state.find(index) : state.end();
      if (entry == state.end()) continue;  // a parameter that has not stepped
      const auto sizes = param_groups[g].params()[k].sizes();
      if (!entry->value().isGenericDict()) {
        note(fmt::format("the state of parameter {} is {}", index.toInt(), entry->value().type()->str()));
        continue;
      }
      const auto saved = entry->value().toGenericDict();
      for (const std::string& key : format.required_state(group)) {
        if (!saved.contains(key) || !saved.at(key).isTensor()) note(fmt::format("parameter {} has no {}", index.toInt(), key));
      }
      for (const auto& item : saved) {
        if (!item.value().isTensor() || item.value().toTensor().dim() == 0) continue;  // a step count
        if (item.value().toTensor().sizes() != sizes) {
          note(fmt::format("parameter {}'s {} is [{}], the parameter [{}]", index.toInt(), item.key().toStringRef(),
                           fmt::join(item.value().toTensor().sizes(), ", "), fmt::join(sizes, ", ")));
        }
      }
    }
  }
  if (found > 3) problems.push_back(fmt::format("and {} more", found - 3));
  return problems;
}

}  // namespace

c10::IValue optimizer_state_dict(torch::optim::Optimizer& optimizer) {
  std::string name;
  const OptimizerFormat* format = format_for(optimizer, name);
  GenericDict out = string_dict();
  out.insert("optimizer", name);
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  c10::impl::GenericList groups(c10::AnyType::get());
  auto& states = optimizer.state();
  int64_t index = 0;
  for (auto& group : optimizer.param_groups()) {
    GenericDict g = string_dict();
    if (format) {
      format->write_options(group.options(), g);
    } else {
      g.insert("lr", group.options().get_lr());
    }
    c10::List<int64_t> params;
    for (const auto& param : group.params()) {
      auto found = states.find(state_key(states, param));
      if (format && found != states.end()) {
        GenericDict s = string_dict();
        format->write_state(*found->second, s);
        state.insert(index, s);
      }
      params.push_back(index++);
    }
    g.insert("params", params);
    groups.push_back(g);
  }
  out.insert("state", state);
  out.insert("param_groups", groups);
  if (!format) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    out.insert("libtorch_archive", bytes.str());
  }
  return out;
}

void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& saved, const std::string& source) {
  std::string name;
  const OptimizerFormat* format = format_for(optimizer, name);
  if (!saved.isGenericDict()) throw MisconfigurationException({optimizer_mismatch(source, saved.type()->str(), "a dictionary")});
  const auto dict = saved.toGenericDict();
  if (!dict.contains("param_groups") || !dict.contains("state")) {
    throw MisconfigurationException({optimizer_mismatch(source, "a dictionary without \"state\" and \"param_groups\"",
                                                        "an optimizer state dict")});
  }
  const auto groups = dict.at("param_groups").toList();
  const std::string saved_name = dict.contains("optimizer") ? dict.at("optimizer").toStringRef() : python_optimizer_name(groups);
  auto& param_groups = optimizer.param_groups();
  std::vector<std::string> problems;
  const bool same_class = saved_name.empty() || saved_name == name ||
                          (saved_name == "Adam or AdamW" && (name == "Adam" || name == "AdamW"));
  if (!same_class) problems.push_back(fmt::format("the state of {} given to {}", saved_name, name));
  if (groups.size() != param_groups.size()) {
    problems.push_back(fmt::format("{} parameter groups for {}", groups.size(), param_groups.size()));
  } else {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto count = groups.get(g).toGenericDict().at("params").toList().size();
      if (count != param_groups[g].params().size()) {
        problems.push_back(fmt::format("group {} has {} parameters, the optimizer {}", g, count, param_groups[g].params().size()));
      }
    }
  }
  if (problems.empty() && format) problems = parameter_state_problems(*format, groups, dict.at("state"), param_groups);
  if (!problems.empty()) {
    throw MisconfigurationException({optimizer_mismatch(source, fmt::format("{}", fmt::join(problems, "; ")),
                                                        fmt::format("{}'s state with the same parameter groups, each "
                                                                    "parameter's state of its shape",
                                                                    name))});
  }
  if (!format) {
    std::istringstream bytes(dict.at("libtorch_archive").toStringRef());
    torch::serialize::InputArchive archive;
    // On the parameters' device: checkpoints load on the CPU whatever device they came from.
    c10::Device device(c10::DeviceType::CPU);
    if (!param_groups.empty() && !param_groups.front().params().empty()) device = param_groups.front().params().front().device();
    archive.load_from(bytes, device);
    optimizer.load(archive);
  }
  const auto state = dict.at("state").toGenericDict();
  auto& states = optimizer.state();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto group = groups.get(g).toGenericDict();
    auto& options = param_groups[g].options();
    if (format) {
      format->read_options(options, group);
    } else {
      options.set_lr(group.at("lr").toDouble());
    }
    if (!format) continue;
    const auto indices = group.at("params").toList();
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const auto& param = param_groups[g].params()[k];
      const auto key = state_key(states, param);
      auto found = state.find(indices.get(k).toInt());
      if (found == state.end()) {
        states.erase(key);
      } else {
        states[key] = format->read_state(on_device(found->value().toGenericDict(), param.device()));
      }
    }
  }
}

void load_weights(torch::nn::Module& module, const fs::path& path) {
  const Checkpoint checkpoint = load_checkpoint_file(path);
  // A Lightning checkpoint holds its weights under "state_dict"; Python's torch.save(model.state_dict())
  // is the state dict itself.
  const c10::IValue weights = checkpoint.contains("state_dict") ? checkpoint.at("state_dict") : c10::IValue(checkpoint);
  load_module_state_dict(module, weights, path.string());
}

}  // namespace lightning
