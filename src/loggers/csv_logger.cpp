#include <lightning/loggers/csv_logger.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/console.h>
#include <lightning/utilities/paths.h>

#include "loggers/formatting.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace lightning {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMetricsFile = "metrics.csv";
constexpr const char* kHparamsFile = "hparams.yaml";

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void write_rows(std::ofstream& out, const std::vector<std::string>& columns,
                const std::vector<std::map<std::string, double>>& rows) {
  for (const auto& row : rows) {
    std::vector<std::string> fields;
    for (const auto& column : columns) {
      auto found = row.find(column);
      fields.push_back(found == row.end() ? "" : detail::metric_text(column, found->second));
    }
    out << fmt::format("{}\n", fmt::join(fields, ","));
  }
}

}  // namespace

CSVLogger::CSVLogger(CSVLoggerOptions options) : options_(std::move(options)) {
  DiagnosticCollector problems("while building CSVLogger");
  if (const auto problem = unusable_folder(options_.save_dir)) {
    problems.error({.code = "LC0601",
                    .message = fmt::format("CSVLogger cannot write to `save_dir`: {}", *problem),
                    .subject = {"CSVLogger", {"save_dir"}},
                    .received = fmt::format("\"{}\"", options_.save_dir),
                    .expected = "a writable folder, or a path where one can be created",
                    .help = "choose a folder you can write to, e.g. .save_dir = \"runs\""});
  }
  if (options_.flush_logs_every_n_steps < 1) {
    problems.error(out_of_range("LC0602", {"CSVLogger", {"flush_logs_every_n_steps"}}, ">= 1",
                                std::to_string(options_.flush_logs_every_n_steps), "a positive number of steps",
                                "use 1 to write every row at once, or keep Lightning's 100"));
  }
  problems.throw_if_errors();
  version_ = detail::version_folder(fs::path(options_.save_dir) / options_.name, options_.version);
}

CSVLogger::~CSVLogger() {
  try {
    if (!pending_rows_.empty()) save();  // a logger never written to leaves no folder behind
  } catch (...) {  // a destructor must not throw; finalize reports write errors
  }
}

std::string CSVLogger::log_dir() const { return (fs::path(options_.save_dir) / options_.name / version_).string(); }

void CSVLogger::log_metrics(const std::map<std::string, double>& metrics, int64_t step) {
  std::map<std::string, double> row;
  for (const auto& [key, value] : metrics) row[options_.prefix.empty() ? key : options_.prefix + "-" + key] = value;
  row["step"] = static_cast<double>(step);
  pending_rows_.push_back(std::move(row));
  if ((step + 1) % options_.flush_logs_every_n_steps == 0) save();
}

void CSVLogger::log_hyperparams(const HyperParameters& params) {
  for (const auto& [key, value] : params) hparams_[key] = value;
}

void CSVLogger::save() {
  const fs::path dir = log_dir();
  if (!created_) {
    std::error_code error;
    if (fs::exists(dir / kMetricsFile, error)) {
      console::warn_once(fmt::format("CSVLogger: \"{}\" exists already and will be overwritten",
                                     (dir / kMetricsFile).string()));
    }
    fs::create_directories(dir);
    created_ = true;
  }
  detail::write_hparams_yaml(dir / kHparamsFile, hparams_);
  if (pending_rows_.empty()) return;

  bool new_columns = false;
  for (const auto& row : pending_rows_) {
    for (const auto& [key, value] : row) {
      if (std::find(columns_.begin(), columns_.end(), key) == columns_.end()) {
        columns_.push_back(key);
        new_columns = true;
      }
    }
  }
  std::sort(columns_.begin(), columns_.end());
  const fs::path file = dir / kMetricsFile;
  std::vector<std::string> header;
  for (const auto& column : columns_) header.push_back(csv_field(column));
  if (new_columns || !fs::exists(file)) {
    // A new column changes the header: write the file again, every row under the new header.
    written_rows_.insert(written_rows_.end(), pending_rows_.begin(), pending_rows_.end());
    std::ofstream out(file, std::ios::trunc);
    out << fmt::format("{}\n", fmt::join(header, ","));
    write_rows(out, columns_, written_rows_);
    if (!out) throw fs::filesystem_error("cannot write", file, std::make_error_code(std::errc::io_error));
  } else {
    std::ofstream out(file, std::ios::app);
    write_rows(out, columns_, pending_rows_);
    written_rows_.insert(written_rows_.end(), pending_rows_.begin(), pending_rows_.end());
    if (!out) throw fs::filesystem_error("cannot write", file, std::make_error_code(std::errc::io_error));
  }
  pending_rows_.clear();
}

void CSVLogger::finalize(const std::string&) { save(); }

}  // namespace lightning
