#include <lightning/diagnostics/diagnostic.h>

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <lightning/utilities/console.h>

namespace lightning {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

nlohmann::json as_json(const Diagnostic& d) {
  nlohmann::json location = nullptr;
  if (d.location) {
    location = {{"file", d.location->file}, {"line", d.location->line}, {"column", d.location->column},
                {"key", d.location->key}};
  }
  nlohmann::json index = nullptr;
  if (d.subject.index) index = *d.subject.index;
  return {{"code", d.code},
          {"severity", d.severity == Severity::kError ? "error" : "warning"},
          {"message", d.message},
          {"where", d.where()},
          {"subject", {{"component", d.subject.component}, {"options", d.subject.options}, {"index", index},
                       {"context", d.subject.context}}},
          {"received", d.received},
          {"expected", d.expected},
          {"help", d.help},
          {"location", location}};
}

std::string render_all(const std::vector<Diagnostic>& diagnostics, std::string_view stage) {
  std::string text;
  std::size_t errors = 0;
  for (const auto& d : diagnostics) {
    if (d.severity == Severity::kError) ++errors;
    text += d.render();
    text += "\n\n";
  }
  text += fmt::format("{} error{} found {}", errors, errors == 1 ? "" : "s", stage);
  return text;
}

}  // namespace

std::string SourceLocation::text() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file;
}

std::string Subject::text() const {
  std::string text = component;
  if (!options.empty()) {
    text += "({";
    for (std::size_t i = 0; i < options.size(); ++i) text += fmt::format("{}.{} = ...", i > 0 ? ", " : "", options[i]);
    text += "})";
  }
  if (!context.empty()) text += " " + context;
  return text;
}

std::string Diagnostic::where() const {
  if (location && !location->key.empty()) return location->key;
  return subject.text();
}

std::string Diagnostic::render() const {
  std::string text = fmt::format("{}[{}]: {}", severity == Severity::kError ? "error" : "warning",
                                 code, message);
  const std::string place = where();
  if (location && !location->file.empty()) {
    text += fmt::format("\n  --> {}  {}", location->text(), place);
  } else if (!place.empty()) {
    text += fmt::format("\n  --> {}", place);
  }
  if (!received.empty()) text += fmt::format("\n   = received: {}", received);
  if (!expected.empty()) text += fmt::format("\n   = expected {}", expected);
  if (!help.empty()) text += fmt::format("\n   = help: {}", help);
  return text;
}

std::string Diagnostic::to_json() const { return as_json(*this).dump(); }

Diagnostic Diagnostic::from_json(std::string_view json) {
  try {
    const auto j = nlohmann::json::parse(json);
    Diagnostic d{.code = j.at("code").get<std::string>(),
                 .severity = j.at("severity").get<std::string>() == "warning" ? Severity::kWarning : Severity::kError,
                 .message = j.at("message").get<std::string>(),
                 .received = j.at("received").get<std::string>(),
                 .expected = j.at("expected").get<std::string>(),
                 .help = j.at("help").get<std::string>()};
    const auto& subject = j.at("subject");
    d.subject = {.component = subject.at("component").get<std::string>(),
                 .options = subject.at("options").get<std::vector<std::string>>(),
                 .context = subject.at("context").get<std::string>()};
    if (const auto& index = subject.at("index"); !index.is_null()) d.subject.index = index.get<std::size_t>();
    if (const auto& l = j.at("location"); !l.is_null()) {
      d.location = SourceLocation{l.at("file").get<std::string>(), l.at("line").get<int64_t>(),
                                  l.at("column").get<int64_t>(), l.at("key").get<std::string>()};
    }
    return d;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("not a diagnostic in JSON: {}", e.what()));
  }
}

MisconfigurationException::MisconfigurationException(std::vector<Diagnostic> diagnostics, std::string stage)
    : std::invalid_argument(render_all(diagnostics, stage)), diagnostics_(std::move(diagnostics)), stage_(std::move(stage)) {}

std::string MisconfigurationException::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : diagnostics_) list.push_back(as_json(d));
  return nlohmann::json{{"diagnostics", list}, {"stage", stage_}}.dump();
}

bool MisconfigurationException::has(std::string_view code) const {
  return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                     [&](const Diagnostic& d) { return d.code == code; });
}

void DiagnosticCollector::error(Diagnostic diagnostic) {
  diagnostic.severity = Severity::kError;
  diagnostics_.push_back(std::move(diagnostic));
}

void DiagnosticCollector::warn(Diagnostic diagnostic) {
  diagnostic.severity = Severity::kWarning;
  diagnostics_.push_back(std::move(diagnostic));
}

bool DiagnosticCollector::has_errors() const {
  return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

void DiagnosticCollector::throw_if_errors() {
  std::vector<Diagnostic> errors;
  for (auto& d : diagnostics_) {
    if (d.severity == Severity::kWarning) {
      console::warn_once(d.render());
    } else {
      errors.push_back(std::move(d));
    }
  }
  diagnostics_.clear();
  if (!errors.empty()) throw MisconfigurationException(std::move(errors), stage_);
}

std::optional<std::string> did_you_mean(std::string_view value,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(value, candidate);
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // Up to half the word may differ ("my_cpu" -> "cpu"); farther is noise ("cuda" for "tpu_v4").
  const std::size_t limit = std::max<std::size_t>(2, value.size() / 2);
  if (best && best_distance <= limit && best_distance < std::max(value.size(), best->size())) {
    return best;
  }
  // A longer or shorter spelling of the same word ("minimum" -> "min", "val" -> "val_loss").
  std::optional<std::string> abbreviation;
  for (const auto& candidate : candidates) {
    const bool related = (candidate.size() >= 3 && value.starts_with(candidate)) ||
                         (value.size() >= 3 && std::string_view(candidate).starts_with(value));
    if (related && (!abbreviation || candidate.size() > abbreviation->size())) abbreviation = candidate;
  }
  return abbreviation;
}

std::string one_of(const std::vector<std::string>& candidates) {
  std::string text = "one of: ";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) text += ", ";
    text += fmt::format("\"{}\"", candidates[i]);
  }
  return text;
}

Diagnostic unknown_choice(std::string code, std::string message, Subject subject,
                          std::string_view value, const std::vector<std::string>& candidates) {
  Diagnostic d{.code = std::move(code),
               .message = std::move(message),
               .subject = std::move(subject),
               .received = fmt::format("\"{}\"", value),
               .expected = one_of(candidates)};
  if (auto suggestion = did_you_mean(value, candidates)) {
    d.help = fmt::format("did you mean \"{}\"?", *suggestion);
  }
  return d;
}

Diagnostic out_of_range(std::string code, Subject subject, std::string_view requirement,
                        std::string received, std::string expected, std::string help) {
  const std::string option = subject.options.empty() ? std::string() : subject.options.front();
  return {.code = std::move(code),
          .message = fmt::format("{} option `{}` must be {}", subject.component, option, requirement),
          .subject = std::move(subject),
          .received = std::move(received),
          .expected = std::move(expected),
          .help = std::move(help)};
}

void check_at_least(DiagnosticCollector& problems, std::string code, Subject subject, int64_t value,
                    int64_t minimum, std::string help) {
  if (value >= minimum) return;
  problems.error(out_of_range(std::move(code), std::move(subject), fmt::format(">= {}", minimum),
                              std::to_string(value), fmt::format("an integer >= {}", minimum), std::move(help)));
}

void internal_error(std::string_view what) {
  throw std::logic_error(fmt::format("{}: this is a bug in lightning-cpp", what));
}

}  // namespace lightning
