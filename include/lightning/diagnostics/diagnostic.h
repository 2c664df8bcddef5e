#pragma once
// Diagnostics: one exception for every misconfiguration, carrying all the problems found.
//
//   error[LC0102]: Trainer option `accelerator` has an unknown value "my_cpu"
//     --> Trainer({.accelerator = ...})
//      = expected one of: "auto", "cpu", "cuda", "gpu", "mps"
//      = help: did you mean "cpu"?

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lightning {

enum class Severity { kError, kWarning };

/// Where in a config file (or on the command line) a value came from.
struct SourceLocation {
  std::string file;     ///< a path, or "command line (--trainer.max_epochs=5)"
  int64_t line = 0;     ///< 1-based; 0 when there is no line (the command line)
  int64_t column = 0;   ///< 1-based
  /// `config.yaml:7:16`, or the file alone when there is no line.
  std::string text() const;
};

/// One problem found in what the user asked for.
struct Diagnostic {
  std::string code;       ///< stable, "LC" and four digits, grouped by area (docs/errors.md)
  Severity severity = Severity::kError;
  std::string message;    ///< what is wrong, quoting the option and the value
  std::string where;      ///< the option as the user wrote it, e.g. "Trainer({.max_epochs = ...})"
  std::string received;   ///< the value received, rendered
  std::string expected;   ///< what was expected (the whole list when the set is finite)
  std::string help;       ///< a concrete fix
  /// Set when the value came from a config file or the command line; `where` is then the dotted
  /// key (`trainer.accelerator`).
  std::optional<SourceLocation> location = std::nullopt;

  /// The rustc-style block of docs/architecture.md, without a trailing newline.
  std::string render() const;
  /// The same fields as a JSON object.
  std::string to_json() const;
  /// The diagnostic that `to_json` wrote; throws std::invalid_argument for other text.
  static Diagnostic from_json(std::string_view json);
};

/// Thrown when options, data, files or the environment cannot work; holds every problem found.
class MisconfigurationException : public std::invalid_argument {
 public:
  explicit MisconfigurationException(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  /// `{"diagnostics": [...]}` for tools and editors.
  std::string to_json() const;
  /// True when one of the diagnostics carries `code`.
  bool has(std::string_view code) const;

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// Collects the problems of one stage and throws them together.
///
///   DiagnosticCollector problems;
///   if (options.batch_size < 1) problems.error({.code = "LC0201", ...});
///   problems.throw_if_errors();   // throws MisconfigurationException with every error
class DiagnosticCollector {
 public:
  void error(Diagnostic diagnostic);
  /// Warnings are printed once (rank zero) by `throw_if_errors` and never throw.
  void warn(Diagnostic diagnostic);
  bool has_errors() const;
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  /// Prints the warnings, then throws MisconfigurationException when any error was collected.
  void throw_if_errors();

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// The closest candidate to `value` by edit distance, when it is close enough to be a likely typo.
std::optional<std::string> did_you_mean(std::string_view value,
                                        const std::vector<std::string>& candidates);

/// `"a", "b", "c"`: a finite set of accepted values, quoted, for `Diagnostic::expected`.
std::string one_of(const std::vector<std::string>& candidates);

/// Fills `expected` and, when a candidate is close, `help` for a value outside a finite set.
Diagnostic unknown_choice(std::string code, std::string message, std::string where,
                          std::string_view value, const std::vector<std::string>& candidates);

/// Internal invariant: throws std::logic_error whose message ends with "this is a bug in lightning-cpp".
[[noreturn]] void internal_error(std::string_view what);

}  // namespace lightning
