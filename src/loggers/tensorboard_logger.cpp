#include <lightning/loggers/tensorboard_logger.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/paths.h>

#include "loggers/formatting.h"
#include "loggers/tensorboard_events.h"

#include <crcutil/generic_crc.h>
#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace lightning {
namespace fs = std::filesystem;
namespace events = detail::tensorboard_events;

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
    write(events::file_version(now_seconds()));
  }
  ~EventWriter() { std::fclose(file_); }
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  /// Writes one serialized Event as a record.
  void write(const std::string& data) {
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
        .subject = {"TensorBoardLogger", {"save_dir"}},
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
  std::map<std::string, double> tagged;
  for (const auto& [key, value] : metrics) tagged[options_.prefix.empty() ? key : options_.prefix + "-" + key] = value;
  writer().write(events::scalars(tagged, step, now_seconds()));
}

void TensorBoardLogger::log_hyperparams(const HyperParameters& params) {
  for (const auto& [key, value] : params) hparams_[key] = value;
  for (const auto& event : events::hparams(hparams_, options_.default_hp_metric, now_seconds())) writer().write(event);
  if (options_.default_hp_metric) log_metrics({{"hp_metric", -1.0}}, 0);
}

void TensorBoardLogger::save() {
  writer().flush();
  detail::write_hparams_yaml(fs::path(log_dir()) / "hparams.yaml", hparams_);
}

void TensorBoardLogger::finalize(const std::string&) { save(); }

}  // namespace lightning
