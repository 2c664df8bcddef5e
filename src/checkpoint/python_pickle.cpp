#include "checkpoint/python_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace lightning::detail {
namespace {

/// `value` with every list a list of Any (LibTorch's Pickler writes a typed list of ints, floats,
/// bools or tensors through torch.jit._pickle even when it tags nothing else), recursively.
c10::IValue untyped(const c10::IValue& value) {
  if (value.isList()) {
    c10::impl::GenericList out(c10::AnyType::get());
    const auto list = value.toList();
    for (std::size_t i = 0; i < list.size(); ++i) out.push_back(untyped(list.get(i)));
    return out;
  }
  if (value.isGenericDict()) {
    const auto dict = value.toGenericDict();
    c10::impl::GenericDict out(dict.keyType(), c10::AnyType::get());
    for (const auto& entry : dict) out.insert(entry.key(), untyped(entry.value()));
    return out;
  }
  if (value.isTuple()) {
    std::vector<c10::IValue> elements;
    for (const auto& element : value.toTupleRef().elements()) elements.push_back(untyped(element));
    return c10::ivalue::Tuple::create(std::move(elements));
  }
  return value;
}

constexpr std::string_view kOrderedDictGlobal = "collections\nOrderedDict\n";

/// The data.pkl record of an archive, by its name without the archive's folder.
std::string pickle_record_name(caffe2::serialize::PyTorchStreamReader& reader) {
  for (const auto& name : reader.getAllRecords()) {
    if (name == "data.pkl" || name.ends_with("/data.pkl")) return name;
  }
  TORCH_CHECK(false, "the archive has no data.pkl");
}

/// Marks the triples that stand for BUILD: (object, attributes, kBuildSentinel).
constexpr std::string_view kBuildSentinel = "lightning-cpp: BUILD";

/// Rewrites a pickle Python wrote (protocols 2 to 5, as torch.save writes them) into opcodes that
/// LibTorch 1.13's unpickler reads (see with_libtorch_opcodes). To put a MARK before an item, it
/// follows where each item on the pickle's stack begins in the output.
class PickleRewriter {
 public:
  explicit PickleRewriter(std::string_view in) : in_(in) {}

  /// Throws c10::Error when an opcode's argument (a string's, bytes' or frame's stated length
  /// above all) runs past the end of the pickle, or a memo slot lies beyond any the pickle can
  /// fill: LibTorch's unpickler allocates what they state before it reads, so a forged length or
  /// slot would allocate gigabytes. Also when an opcode takes more items than the stack holds
  /// above the last mark, or needs a mark or an item that is not there: LibTorch's unpickler
  /// does not check, and reads before its stack's start.
  void check() {
    for (position_ = 0; position_ < in_.size();) {
      const char opcode = in_[position_++];
      if (opcode == '.') break;  // STOP
      if (opcode == '\x95' && position_ + 8 <= in_.size()) {  // FRAME: the unpickler allocates its stated length
        uint64_t length = 0;
        std::memcpy(&length, in_.data() + position_, 8);
        TORCH_CHECK(length <= in_.size() - position_ - 8, "truncated pickle: a frame of ", length, " bytes at byte ",
                    position_, " of ", in_.size());
      }
      if (opcode == 'r' && position_ + 4 <= in_.size()) {  // LONG_BINPUT: the unpickler grows its memo to the index
        const std::size_t index = memo_index(opcode, in_.substr(position_ - 1, 5));
        TORCH_CHECK(index < in_.size(), "malformed pickle: memo slot ", index, " in a pickle of ", in_.size(), " bytes");
      }
      skip_argument(opcode);
      check_stack(opcode);
    }
    starts_.clear();
    marks_.clear();
  }

  std::string run() {
    while (position_ < in_.size()) {
      const char opcode = in_[position_];
      const std::size_t start = position_++;
      skip_argument(opcode);
      const std::string_view whole = in_.substr(start, position_ - start);
      const std::size_t at = out_.size();
      if (opcode == 'c' && whole.substr(1) == kOrderedDictGlobal && calls_without_arguments(/*after_put=*/true)) {
        // `OrderedDict()`: an empty dict, kept in the class's memo slot, which later calls stop
        // reading (they become empty dicts of their own below).
        out_ += '}';
        skip_put_and_call();
        push(at);
        continue;
      }
      if ((opcode == 'h' || opcode == 'j') && class_memo_.contains(memo_index(opcode, whole)) &&
          calls_without_arguments(/*after_put=*/false)) {
        out_ += '}';
        position_ += 2;  // EMPTY_TUPLE, REDUCE
        push(at);
        continue;
      }
      switch (opcode) {
        case 'a':  // APPEND: MARK before the item, then APPENDS
          mark_before_top(1);
          out_ += 'e';
          break;
        case 's':  // SETITEM: MARK before the key, then SETITEMS
          mark_before_top(2);
          out_ += 'u';
          break;
        case '\x8a':  // LONG1: LibTorch reads only 8 bytes; Python writes as few as the number needs
          out_ += as_eight_byte_long(whole);
          push(at);
          break;
        case 'b': {  // BUILD: the triple (object, attributes, sentinel)
          const uint32_t length = kBuildSentinel.size();
          out_ += 'X';
          out_.append(reinterpret_cast<const char*>(&length), 4);  // little-endian, as on every platform LibTorch runs
          out_ += kBuildSentinel;
          out_ += '\x87';
          push(pop(2));
          break;
        }
        default:
          out_ += whole;
          follow(opcode, at);
      }
    }
    return out_;
  }

 private:
  /// The stack effect of any opcode, with the items each one needs below what it takes.
  void check_stack(char opcode) {
    switch (opcode) {
      case 'a':  // APPEND: an item into the list below it
        pop(1);
        require_item();
        break;
      case 's':  // SETITEM: a key and a value into the dict below them
        pop(2);
        require_item();
        break;
      case 'e': case 'u': case '\x90':  // APPENDS, SETITEMS, ADDITEMS: into the item below the mark
        pop_to_mark();
        require_item();
        break;
      case 'p': case 'q': case 'r': case '\x94':  // PUT, BINPUT, LONG_BINPUT, MEMOIZE: the top item
        require_item();
        break;
      default:
        follow(opcode, 0);
    }
  }
  void require_item() const {
    TORCH_CHECK(!starts_.empty(), "malformed pickle: an opcode needs an item the stack lacks");
  }

  /// The stack effect of an opcode as the unpickler runs it; `at` is where it begins in the
  /// output (run() comes here for every opcode but those it rewrites).
  void follow(char opcode, std::size_t at) {
    switch (opcode) {
      case '(':  // MARK
        marks_.push_back({starts_.size(), at});
        break;
      case 't': case 'l': case 'd': case 'i': case 'o': case '\x91':  // built from the items above the mark
        push(pop_to_mark());
        break;
      case 'e': case 'u': case '\x90': case '1':  // into the item below the mark, or dropped
        pop_to_mark();
        break;
      case '0':  // POP
        pop(1);
        break;
      case '\x85': case 'Q':  // TUPLE1, BINPERSID
        push(pop(1));
        break;
      case '\x86': case 'R': case '\x81': case '\x93': case 'b':  // TUPLE2, REDUCE, NEWOBJ, STACK_GLOBAL, BUILD
        push(pop(2));
        break;
      case '\x87': case '\x92':  // TUPLE3, NEWOBJ_EX
        push(pop(3));
        break;
      case 'p': case 'q': case 'r': case '\x94': case '\x80': case '\x95': case '\x98': case '.':
        break;  // memo, protocol, frame, readonly buffer, stop: no item moves
      default:  // every other opcode pushes one item
        push(at);
    }
  }

  /// LONG1 with its little-endian two's complement widened to 8 bytes (kept as it is beyond 8:
  /// LibTorch has no integer that wide).
  static std::string as_eight_byte_long(std::string_view whole) {
    const std::size_t length = static_cast<unsigned char>(whole[1]);
    if (length >= 8) return std::string(whole);
    const char sign = length > 0 && (static_cast<unsigned char>(whole[1 + length]) & 0x80) ? '\xff' : '\0';
    std::string out = "\x8a\x08";
    out += whole.substr(2);
    out.append(8 - length, sign);
    return out;
  }

  void push(std::size_t start) { starts_.push_back(start); }
  /// Pops `n` items; where the lowest began.
  std::size_t pop(std::size_t n) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back().first;
    TORCH_CHECK(starts_.size() >= floor + n, "malformed pickle: an opcode takes more items than the stack holds");
    const std::size_t start = starts_[starts_.size() - n];
    starts_.resize(starts_.size() - n);
    return start;
  }
  /// Pops the items above the last mark and the mark; where the mark began.
  std::size_t pop_to_mark() {
    TORCH_CHECK(!marks_.empty(), "malformed pickle: no mark");
    const auto [size, start] = marks_.back();
    marks_.pop_back();
    TORCH_CHECK(starts_.size() >= size, "malformed pickle: the stack is shorter than at its mark");
    starts_.resize(size);
    return start;
  }
  /// Puts a MARK before the top `n` items and pops them, for the batched opcode that follows.
  void mark_before_top(std::size_t n) {
    const std::size_t start = pop(n);
    require_item();
    out_.insert(start, 1, '(');  // nothing on the stack begins after `start`
  }

  /// After the class: an optional BINPUT (which memoizes the class), then EMPTY_TUPLE and REDUCE.
  bool calls_without_arguments(bool after_put) const {
    std::size_t at = position_;
    if (after_put && at < in_.size() && in_[at] == 'q') at += 2;
    else if (after_put && at < in_.size() && in_[at] == 'r') at += 5;
    return at + 1 < in_.size() && in_[at] == ')' && in_[at + 1] == 'R';
  }
  /// Emits the class's BINPUT (remembering its memo slot) and skips EMPTY_TUPLE, REDUCE.
  void skip_put_and_call() {
    if (in_[position_] == 'q' || in_[position_] == 'r') {
      const std::size_t length = in_[position_] == 'q' ? 2 : 5;
      const std::string_view put = in_.substr(position_, length);
      class_memo_.insert(memo_index(put[0], put));
      out_ += put;
      position_ += length;
    }
    position_ += 2;
  }

  std::size_t memo_index(char opcode, std::string_view whole) {
    if (opcode == 'q' || opcode == 'h') return static_cast<unsigned char>(whole[1]);
    uint32_t index = 0;
    std::memcpy(&index, whole.data() + 1, 4);  // little-endian, as on every platform LibTorch runs
    return index;
  }

  void skip_bytes(std::size_t n) {
    TORCH_CHECK(n <= in_.size() - position_, "truncated pickle: an argument of ", n, " bytes at byte ", position_,
                " of ", in_.size());
    position_ += n;
  }
  void skip_line() {
    const auto end = in_.find('\n', position_);
    TORCH_CHECK(end != std::string_view::npos, "truncated pickle");
    position_ = end + 1;
  }
  template <class Length>
  void skip_counted() {
    Length length{};
    TORCH_CHECK(position_ + sizeof(Length) <= in_.size(), "truncated pickle");
    std::memcpy(&length, in_.data() + position_, sizeof(Length));
    skip_bytes(sizeof(Length));
    skip_bytes(static_cast<std::size_t>(length));
  }

  void skip_argument(char opcode) {
    switch (opcode) {
      case 'c': case 'i': skip_line(); skip_line(); break;  // GLOBAL, INST: module and name
      case 'p': case 'g': case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': skip_line(); break;
      case 'q': case 'h': case 'K': case '\x80': case '\x82': skip_bytes(1); break;
      case 'M': case '\x83': skip_bytes(2); break;
      case 'r': case 'j': case 'J': case '\x84': skip_bytes(4); break;
      case 'G': case '\x95': skip_bytes(8); break;
      case 'U': case 'C': case '\x8c': case '\x8a': skip_counted<uint8_t>(); break;
      case 'X': case 'T': case 'B': case '\x8b': skip_counted<uint32_t>(); break;
      case '\x8d': case '\x8e': case '\x96': skip_counted<uint64_t>(); break;
      default: break;  // opcodes without an argument
    }
  }

  std::string_view in_;
  std::size_t position_ = 0;
  std::string out_;
  std::set<std::size_t> class_memo_;
  /// Where each item on the pickle's stack begins in `out_`.
  std::vector<std::size_t> starts_;
  /// Each open mark: the stack's size and where the MARK is in `out_`.
  std::vector<std::pair<std::size_t, std::size_t>> marks_;
};

}  // namespace

c10::IValue without_attributes(const c10::IValue& value) {
  if (value.isTuple()) {
    std::vector<c10::IValue> elements;
    for (const auto& element : value.toTupleRef().elements()) elements.push_back(without_attributes(element));
    if (elements.size() == 3 && elements[2].isString() && elements[2].toStringRef() == kBuildSentinel) return elements[0];
    return c10::ivalue::Tuple::create(std::move(elements));
  }
  if (value.isGenericDict()) {
    for (auto& entry : value.toGenericDict()) entry.setValue(without_attributes(entry.value()));
  }
  if (value.isList()) {
    auto list = value.toList();
    for (std::size_t i = 0; i < list.size(); ++i) list.set(i, without_attributes(list.get(i)));
  }
  return value;
}

std::vector<char> pickle_for_python(const c10::IValue& value) {
  std::vector<char> data;
  torch::jit::Pickler pickler([&](const char* bytes, size_t size) { data.insert(data.end(), bytes, bytes + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(untyped(value));
  pickler.stop();
  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t size) {
    const auto* begin = static_cast<const char*>(bytes);
    archive.insert(archive.end(), begin, begin + size);
    return size;
  });
  // torch.save's records: each storage as data/<key>, in the order the pickle numbered them, then
  // data.pkl (writeArchiveAndTensors does this, but sits in a header that varies between versions).
  const auto& storages = pickler.tensorData();
  for (std::size_t key = 0; key < storages.size(); ++key) {
    const auto bytes = torch::jit::getWriteableTensorData(storages[key]);
    writer.writeRecord("data/" + std::to_string(key), bytes.data(), bytes.sizeInBytes());
  }
  writer.writeRecord("data.pkl", data.data(), data.size());
  writer.writeEndOfFile();
  return archive;
}

c10::IValue unpickle_on_cpu(const std::vector<char>& bytes) {
  std::istringstream stream(std::string(bytes.begin(), bytes.end()));
  caffe2::serialize::PyTorchStreamReader reader(&stream);
  // What torch::jit::readArchiveAndTensors does, keeping each storage record's size: the unpickler
  // sizes a storage by the element count the pickle states, not by the record that backs it.
  at::DataPtr pickle;
  std::size_t pickle_size = 0;
  std::tie(pickle, pickle_size) = reader.getRecord("data.pkl");
  std::size_t read = 0;
  const auto* data = static_cast<const char*>(pickle.get());
  auto read_pickle = [&](char* buffer, std::size_t length) -> std::size_t {
    const std::size_t n = std::min(length, pickle_size - read);
    std::memcpy(buffer, data + read, n);
    read += n;
    return n;
  };
  std::map<const void*, std::pair<std::string, std::size_t>> records;  // by data pointer
  auto read_record = [&](const std::string& key) {
    auto [record, size] = reader.getRecord("data/" + key);
    records[record.get()] = {key, size};
    return std::move(record);
  };
  PickleRewriter(std::string_view(data, pickle_size)).check();
  torch::jit::Unpickler unpickler(read_pickle, /*type_resolver=*/nullptr, /*obj_loader=*/nullptr, read_record,
                                  c10::Device(c10::DeviceType::CPU));
  unpickler.set_version(reader.version());
  c10::IValue value = unpickler.parse_ivalue();
  visit_tensors(value, [&](const std::string& place, const at::Tensor& tensor) {
    if (!tensor.has_storage() || tensor.storage().nbytes() == 0) return true;
    const auto found = records.find(tensor.storage().data());
    TORCH_CHECK(found != records.end(), "the storage of ", place, " comes from no record of the archive");
    const auto& [key, size] = found->second;
    TORCH_CHECK(tensor.storage().nbytes() <= size, "the storage of ", place, " states ", tensor.storage().nbytes(),
                " bytes, but its record data/", key, " holds ", size);
    return true;
  });
  return value;
}

bool visit_tensors(const c10::IValue& value, const TensorVisitor& visit) {
  std::unordered_set<const void*> seen;
  const std::function<bool(const c10::IValue&, const std::string&)> walk = [&](const c10::IValue& v,
                                                                                const std::string& place) {
    if (v.isTensor()) return visit(place, v.toTensor());
    if (!v.isGenericDict() && !v.isList() && !v.isTuple()) return true;
    if (!seen.insert(v.internalToPointer()).second) return true;
    if (v.isGenericDict()) {
      for (const auto& entry : v.toGenericDict()) {
        const c10::IValue& key = entry.key();
        const std::string name = key.isString() ? "\"" + key.toStringRef() + "\"" : key.isInt() ? std::to_string(key.toInt()) : "?";
        if (!walk(entry.value(), place + "[" + name + "]")) return false;
      }
      return true;
    }
    const auto& items = v.isList() ? v.toListRef() : v.toTupleRef().elements();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!walk(items[i], place + "[" + std::to_string(i) + "]")) return false;
    }
    return true;
  };
  return walk(value, "");
}

std::vector<char> with_libtorch_opcodes(const std::vector<char>& bytes) {
  std::string text(bytes.begin(), bytes.end());
  std::istringstream in(text);
  caffe2::serialize::PyTorchStreamReader reader(&in);
  std::vector<char> out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
      const auto* begin = static_cast<const char*>(data);
      out.insert(out.end(), begin, begin + size);
      return size;
    });
    const std::string pickle_name = pickle_record_name(reader);
    for (const auto& name : reader.getAllRecords()) {
      if (name == "version" || name == ".data/version") continue;  // the writer writes its own
      auto [data, size] = reader.getRecord(name);
      if (name == pickle_name) {
        const std::string rewritten =
            PickleRewriter(std::string_view(static_cast<const char*>(data.get()), size)).run();
        writer.writeRecord("data.pkl", rewritten.data(), rewritten.size());
      } else {
        writer.writeRecord(name, data.get(), size);
      }
    }
    writer.writeEndOfFile();
  }
  return out;
}

}  // namespace lightning::detail
