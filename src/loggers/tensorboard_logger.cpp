#include <lightning/loggers/tensorboard_logger.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/paths.h>

#include "loggers/formatting.h"
#include "loggers/tensorboard.pb.h"

#include <crcutil/generic_crc.h>
#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace lightning {
namespace fs = std::filesystem;
namespace tb = lightning::tensorboard;

namespace {

/// CRC32C masked as TensorFlow's record format requires (so a CRC of data holding CRCs differs).
uint32_t masked_crc32c(const void* data, std::size_t size) {
  static const crcutil::GenericCrc<crcutil::uint64, crcutil::uint64, crcutil::uint64, 4> crc32c(0x82f63b78, 32, true);
  const auto crc = static_cast<uint32_t>(crc32c.CrcDefault(data, size, 0));
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

tb::Summary::Value hparams_value(const std::string& tag, const tb::HParamsPluginData& data) {
  tb::Summary::Value value;
  value.set_tag(tag);
  auto* plugin = value.mutable_metadata()->mutable_plugin_data();
  plugin->set_plugin_name("hparams");
  plugin->set_content(data.SerializeAsString());
  return value;
}

}  // namespace

/// One events file: records of (length, masked CRC of the length, an Event, masked CRC of it).
class TensorBoardLogger::EventWriter {
 public:
  explicit EventWriter(const fs::path& dir) {
    static std::atomic<int> counter{0};
    fs::create_directories(dir);
    path_ = dir / fmt::format("events.out.tfevents.{}.{}.{}.{}", static_cast<int64_t>(now_seconds()), hostname(),
                              ::getpid(), counter++);
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) {
      throw fs::filesystem_error("cannot create event file", path_, std::error_code(errno, std::generic_category()));
    }
    tb::Event header;
    header.set_wall_time(now_seconds());
    header.set_file_version("brain.Event:2");
    write(header);
  }
  ~EventWriter() { std::fclose(file_); }
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void write(const tb::Event& event) {
    const std::string data = event.SerializeAsString();
    const uint64_t length = data.size();  // little-endian on every platform LibTorch supports
    const uint32_t length_crc = masked_crc32c(&length, sizeof(length));
    const uint32_t data_crc = masked_crc32c(data.data(), data.size());
    std::fwrite(&length, sizeof(length), 1, file_);
    std::fwrite(&length_crc, sizeof(length_crc), 1, file_);
    std::fwrite(data.data(), 1, data.size(), file_);
    std::fwrite(&data_crc, sizeof(data_crc), 1, file_);
  }
  void flush() {
    if (std::fflush(file_) != 0) {
      throw fs::filesystem_error("cannot write event file", path_, std::error_code(errno, std::generic_category()));
    }
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::FILE* file_ = nullptr;
};

TensorBoardLogger::TensorBoardLogger(TensorBoardLoggerOptions options) : options_(std::move(options)) {
  if (const auto problem = unusable_folder(options_.save_dir)) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0603",
        .message = fmt::format("TensorBoardLogger cannot write to `save_dir`: {}", *problem),
        .where = "TensorBoardLogger({.save_dir = ...})",
        .received = fmt::format("\"{}\"", options_.save_dir),
        .expected = "a writable folder, or a path where one can be created",
        .help = "choose a folder you can write to, e.g. .save_dir = \"runs\""}});
  }
  version_ = detail::version_folder(fs::path(options_.save_dir) / options_.name, options_.version);
}

TensorBoardLogger::~TensorBoardLogger() {
  try {
    if (writer_) writer_->flush();
  } catch (...) {  // a destructor must not throw; finalize reports write errors
  }
}

std::string TensorBoardLogger::log_dir() const {
  return (fs::path(options_.save_dir) / options_.name / version_).string();
}

std::string TensorBoardLogger::event_file() const { return writer_ ? writer_->path().string() : ""; }

TensorBoardLogger::EventWriter& TensorBoardLogger::writer() {
  if (!writer_) writer_ = std::make_unique<EventWriter>(log_dir());
  return *writer_;
}

void TensorBoardLogger::log_metrics(const std::map<std::string, double>& metrics, int64_t step) {
  tb::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  for (const auto& [key, value] : metrics) {
    auto* entry = event.mutable_summary()->add_value();
    entry->set_tag(options_.prefix.empty() ? key : options_.prefix + "-" + key);
    entry->set_simple_value(static_cast<float>(value));
  }
  writer().write(event);
}

void TensorBoardLogger::log_hyperparams(const HyperParameters& params) {
  for (const auto& [key, value] : params) hparams_[key] = value;
  // What torch.utils.tensorboard's hparams() writes: the experiment (names and types), the
  // session's values, and its end, each as a summary for the "hparams" plugin.
  tb::HParamsPluginData experiment, start, end;
  auto* infos = experiment.mutable_experiment();
  auto* values = start.mutable_session_start_info()->mutable_hparams();
  for (const auto& [key, value] : hparams_) {
    auto* info = infos->add_hparam_infos();
    info->set_name(key);
    google::protobuf::Value& proto = (*values)[key];
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            info->set_type(tb::DATA_TYPE_BOOL);
            proto.set_bool_value(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            info->set_type(tb::DATA_TYPE_STRING);
            proto.set_string_value(v);
          } else {
            info->set_type(tb::DATA_TYPE_FLOAT64);
            proto.set_number_value(static_cast<double>(v));
          }
        },
        value);
  }
  if (options_.default_hp_metric) infos->add_metric_infos()->mutable_name()->set_tag("hp_metric");
  end.mutable_session_end_info()->set_status(tb::STATUS_SUCCESS);
  for (const auto& [tag, data] : {std::pair{"_hparams_/experiment", &experiment},
                                  std::pair{"_hparams_/session_start_info", &start},
                                  std::pair{"_hparams_/session_end_info", &end}}) {
    tb::Event event;
    event.set_wall_time(now_seconds());
    *event.mutable_summary()->add_value() = hparams_value(tag, *data);
    writer().write(event);
  }
  if (options_.default_hp_metric) log_metrics({{"hp_metric", -1.0}}, 0);
}

void TensorBoardLogger::save() {
  writer().flush();
  detail::write_hparams_yaml(fs::path(log_dir()) / "hparams.yaml", hparams_);
}

void TensorBoardLogger::finalize(const std::string&) { save(); }

}  // namespace lightning
