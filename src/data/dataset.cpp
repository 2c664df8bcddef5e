#include <lightning/data/dataset.h>

#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace lightning {
namespace {

Batch collate_at(const std::vector<const Batch*>& samples, const std::string& path) {
  const Batch& first = *samples.front();
  auto mismatch = [&](std::string_view why) {
    return std::invalid_argument(
        fmt::format("collate: samples disagree at {}: {}", path.empty() ? "the root" : path, why));
  };
  if (first.is_tensor()) {
    std::vector<at::Tensor> tensors;
    tensors.reserve(samples.size());
    for (const Batch* sample : samples) {
      if (!sample->is_tensor()) throw mismatch("a tensor in one sample, not in another");
      if (!sample->tensor().sizes().equals(first.tensor().sizes())) {
        throw mismatch(fmt::format("shapes [{}] and [{}] cannot be stacked",
                                   fmt::join(first.tensor().sizes(), ", "),
                                   fmt::join(sample->tensor().sizes(), ", ")));
      }
      tensors.push_back(sample->tensor());
    }
    return Batch(at::stack(tensors));
  }
  if (first.is_tuple()) {
    Batch::Tuple out;
    for (std::size_t i = 0; i < first.size(); ++i) {
      std::vector<const Batch*> column;
      column.reserve(samples.size());
      for (const Batch* sample : samples) {
        if (!sample->is_tuple() || sample->size() != first.size()) {
          throw mismatch("tuples of different lengths");
        }
        column.push_back(&(*sample)[i]);
      }
      out.push_back(collate_at(column, fmt::format("{}[{}]", path, i)));
    }
    return Batch(std::move(out));
  }
  if (first.is_dict()) {
    Batch::Dict out;
    for (const auto& [key, value] : first.dict()) {
      std::vector<const Batch*> column;
      column.reserve(samples.size());
      for (const Batch* sample : samples) {
        if (!sample->is_dict() || !sample->dict().contains(key)) {
          throw mismatch(fmt::format("key \"{}\" missing from a sample", key));
        }
        column.push_back(&(*sample)[std::string_view(key)]);
      }
      out.emplace(key, collate_at(column, fmt::format("{}[\"{}\"]", path, key)));
    }
    return Batch(std::move(out));
  }
  return Batch();
}

/// Reads a whole file, inflating it when it is gzip-compressed (zlib detects the header).
std::string read_text(const std::filesystem::path& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) {
    throw std::runtime_error(fmt::format("CSVDataset: cannot open \"{}\": {}", path.string(),
                                         std::strerror(errno)));
  }
  std::string text;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file.get(), buffer, sizeof buffer)) > 0) text.append(buffer, n);
  if (n < 0) {
    int code = 0;
    throw std::runtime_error(fmt::format("CSVDataset: cannot read \"{}\": {}", path.string(),
                                         gzerror(file.get(), &code)));
  }
  return text;
}

}  // namespace

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  std::vector<Batch> samples;
  samples.reserve(indices.size());
  for (int64_t index : indices) samples.push_back(get(index));
  return collate(samples);
}

Batch collate(const std::vector<Batch>& samples) {
  if (samples.empty()) return Batch();
  std::vector<const Batch*> pointers;
  pointers.reserve(samples.size());
  for (const auto& sample : samples) pointers.push_back(&sample);
  return collate_at(pointers, "");
}

TensorDataset::TensorDataset(std::vector<at::Tensor> tensors) : tensors_(std::move(tensors)) {
  DiagnosticCollector problems("while building TensorDataset");
  const auto describe = [](const at::Tensor& t) {
    return t.defined() ? fmt::format("a tensor of shape [{}]", fmt::join(t.sizes(), ", ")) : std::string("an undefined tensor");
  };
  if (tensors_.empty()) {
    problems.error({.code = "LC0207",
                    .message = "TensorDataset needs at least one tensor",
                    .subject = {"TensorDataset", {}, std::nullopt, "(its tensors)"},
                    .received = "no tensor",
                    .expected = "one or more tensors with one row per sample",
                    .help = "e.g. TensorDataset({features, targets})"});
  }
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor& t = tensors_[i];
    if (!t.defined() || t.dim() == 0) {
      problems.error({.code = "LC0207",
                      .message = fmt::format("TensorDataset: tensor {} has no first dimension to index samples by", i),
                      .subject = {"TensorDataset", {}, std::nullopt, fmt::format("(tensor {})", i)},
                      .received = describe(t),
                      .expected = "a tensor with one row per sample (at least one dimension)",
                      .help = "give a scalar per sample as a tensor of shape [N], e.g. targets.reshape({-1})"});
    } else if (tensors_[0].defined() && tensors_[0].dim() > 0 && t.size(0) != tensors_[0].size(0)) {
      problems.error({.code = "LC0207",
                      .message = fmt::format("TensorDataset: tensor {} has {} rows but tensor 0 has {}", i, t.size(0),
                                             tensors_[0].size(0)),
                      .subject = {"TensorDataset", {}, std::nullopt, fmt::format("(tensor {})", i)},
                      .received = describe(t),
                      .expected = fmt::format("{} rows, one per sample, as tensor 0 has", tensors_[0].size(0)),
                      .help = "every tensor needs one row per sample: check how the tensors were split or filtered"});
    }
  }
  problems.throw_if_errors();
  size_ = tensors_[0].size(0);
}

Batch TensorDataset::get(int64_t index) const {
  if (tensors_.size() == 1) return Batch(tensors_[0][index]);
  Batch::Tuple items;
  items.reserve(tensors_.size());
  for (const auto& t : tensors_) items.emplace_back(t[index]);
  return Batch(std::move(items));
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  const auto count = static_cast<int64_t>(indices.size());
  // A run of consecutive indices (no shuffling) is a view; anything else is one gather.
  const bool contiguous =
      count > 0 && indices.back() - indices.front() == count - 1 &&
      std::adjacent_find(indices.begin(), indices.end(),
                         [](int64_t a, int64_t b) { return b != a + 1; }) == indices.end();
  at::Tensor index;
  if (!contiguous) {
    index = at::from_blob(const_cast<int64_t*>(indices.data()), {count}, at::kLong).clone();
  }
  auto select = [&](const at::Tensor& t) {
    return contiguous ? t.narrow(0, indices.front(), count) : t.index_select(0, index);
  };
  if (tensors_.size() == 1) return Batch(select(tensors_[0]));
  Batch::Tuple items;
  items.reserve(tensors_.size());
  for (const auto& t : tensors_) items.emplace_back(select(t));
  return Batch(std::move(items));
}

namespace {

/// LC0205: a value of a data file that cannot be used, at its line and column.
[[noreturn]] void bad_value(const std::filesystem::path& path, int64_t line, int64_t column, std::string message,
                            std::string received, std::string expected, std::string help) {
  throw MisconfigurationException({Diagnostic{
      .code = "LC0205",
      .message = fmt::format("\"{}\" line {} column {}: {}", path.string(), line, column, message),
      .subject = {fmt::format("{}:{}:{}", path.string(), line, column)},
      .received = std::move(received),
      .expected = std::move(expected),
      .help = std::move(help),
      .location = SourceLocation{.file = path.string(), .line = line, .column = column}}});
}

void check_options(const std::filesystem::path& path, const CSVDatasetOptions& options) {
  if (options.skip_rows < 0) {
    throw MisconfigurationException({out_of_range(
        "LC0206", {"CSVDataset", {"skip_rows"}}, fmt::format(">= 0 (reading \"{}\")", path.string()),
        std::to_string(options.skip_rows), ">= 0 (the lines before the data: 1 for a header)",
        "skip_rows: 1 skips a header line")});
  }
}

std::vector<at::Tensor> parse_csv(const std::filesystem::path& path, const CSVDatasetOptions& options) {
  check_options(path, options);
  const std::string text = read_text(path);
  std::vector<double> values;
  std::vector<int64_t> line_of_row;  // for the checks of the target column once it is known
  int64_t columns = -1;
  std::size_t position = 0;
  int64_t line_number = 0;
  while (position < text.size()) {
    std::size_t end = text.find('\n', position);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + position, end - position);
    position = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number <= options.skip_rows || line.empty()) continue;
    int64_t column = 0;
    std::size_t start = 0;
    while (true) {
      std::size_t stop = line.find(options.delimiter, start);
      std::string_view field = line.substr(start, stop == std::string_view::npos ? line.npos : stop - start);
      while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
      while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
      double value = 0;
      auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (ec == std::errc::result_out_of_range) value = std::numeric_limits<double>::infinity();
      if ((ec != std::errc() && ec != std::errc::result_out_of_range) || ptr != field.data() + field.size()) {
        bad_value(path, line_number, column + 1, fmt::format("\"{}\" is not a number", field),
                  fmt::format("\"{}\"", field), "a number in every column",
                  line_number == 1 ? "skip a header line with skip_rows = 1" : "fix or remove the line");
      }
      values.push_back(value);
      ++column;
      if (stop == std::string_view::npos) break;
      start = stop + 1;
    }
    if (columns < 0) columns = column;
    if (column != columns) {
      bad_value(path, line_number, 1, fmt::format("the line has {} columns, earlier lines have {}", column, columns),
                fmt::format("{} columns", column), fmt::format("{} columns, as on the first data line", columns),
                "every line needs the same columns: look for a missing or an extra delimiter");
    }
    line_of_row.push_back(line_number);
  }
  const auto rows = static_cast<int64_t>(line_of_row.size());
  if (rows == 0) {
    bad_value(path, line_number, 1, "the file has no data rows", fmt::format("{} lines, {} skipped", line_number, options.skip_rows),
              "at least one line of numbers", "check the file and skip_rows");
  }
  const int64_t target = options.target_column < 0 ? columns + options.target_column : options.target_column;
  if (target < 0 || target >= columns) {
    throw MisconfigurationException({Diagnostic{
        .code = "LC0206",
        .message = fmt::format("CSVDataset option `target_column` is outside the {} columns of \"{}\"", columns,
                               path.string()),
        .subject = {"CSVDataset", {"target_column"}},
        .received = std::to_string(options.target_column),
        .expected = fmt::format("{} to {} (negative counts from the end)", -columns, columns - 1),
        .help = "-1 takes the last column"}});
  }
  // A float32 feature beyond float's range is infinite; a class label must be a whole number.
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      const double value = values[static_cast<std::size_t>(r * columns + c)];
      if (c == target && options.integer_targets) {
        // 2^63 is the first double beyond int64.
        if (!std::isfinite(value) || value != std::floor(value) || value < -9.2233720368547758e18 ||
            value >= 9.2233720368547758e18) {
          bad_value(path, line_of_row[static_cast<std::size_t>(r)], c + 1,
                    fmt::format("the class target {} is not a whole number", value), fmt::format("{}", value),
                    "a class index 0, 1, 2, ... (integer_targets = true)",
                    "fix the value, or read the column as a regression target with integer_targets = false");
        }
        if (options.num_classes && (value < 0 || value >= static_cast<double>(*options.num_classes))) {
          bad_value(path, line_of_row[static_cast<std::size_t>(r)], c + 1,
                    fmt::format("the class target {} is not one of the {} classes", value, *options.num_classes),
                    fmt::format("{}", value),
                    fmt::format("a class index 0 to {} (num_classes = {})", *options.num_classes - 1, *options.num_classes),
                    "fix the label; for more classes, give the model as many outputs (CSVDataModule's num_classes "
                    "follows MLPClassifier's out_features unless it is set)");
        }
      } else if (!std::isfinite(value) || std::abs(value) > kFloatMax) {
        bad_value(path, line_of_row[static_cast<std::size_t>(r)], c + 1,
                  fmt::format("{} {} cannot be trained on", c == target ? "the target" : "the feature", value),
                  fmt::format("{}", value), fmt::format("a finite number of float32's range (|x| <= {:.4g})", kFloatMax),
                  "fill or remove missing values (nan) before training: they make every loss nan");
      }
    }
  }
  at::Tensor table = at::from_blob(values.data(), {rows, columns}, at::kDouble);
  std::vector<int64_t> feature_columns;
  for (int64_t c = 0; c < columns; ++c) {
    if (c != target) feature_columns.push_back(c);
  }
  at::Tensor features = table.index_select(1, at::tensor(feature_columns)).to(at::kFloat);
  at::Tensor targets = table.select(1, target).to(options.integer_targets ? at::kLong : at::kFloat);
  return {features.contiguous(), targets.contiguous()};
}

}  // namespace

CSVDataset::CSVDataset(const std::filesystem::path& path, CSVDatasetOptions options)
    : TensorDataset(parse_csv(path, options)) {}

}  // namespace lightning
