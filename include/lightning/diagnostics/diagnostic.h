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
  std::string file;     ///< a path, "command line (--trainer.max_epochs=5)", or empty for a key no file sets
  int64_t line = 0;     ///< 1-based; 0 when there is no line (the command line)
  int64_t column = 0;   ///< 1-based
  std::string key = {}; ///< the dotted config key that set the value (`trainer.max_epochs`), when known
  /// `config.yaml:7:16`, or the file alone when there is no line.
  std::string text() const;
};

/// What a diagnostic is about, as data: the options of one of our components that are involved
/// (`{"Trainer", {"max_epochs"}}`, `{"ModelCheckpoint", {"monitor"}, 1}`), which the CLI looks up in
/// the config that set them; or, for what is not an option (a file, a hook, an environment
/// variable, a config key), that place in words as `component` alone.
struct Subject {
  std::string component;
  /// The options involved, the one a config should point at first; empty for the component itself.
  std::vector<std::string> options = {};
  /// The component's position in the list the user gave it in (the Trainer's `callbacks`), when
  /// there can be several.
  std::optional<std::size_t> index = std::nullopt;
  /// How the component reached us, e.g. "passed as `train_dataloader`".
  std::string context = {};

  /// `Trainer({.max_epochs = ...})`, `ModelCheckpoint({.monitor = ..., .save_top_k = ...})`,
  /// `DataLoader({.batch_size = ...}) passed as `train``, or the component alone.
  std::string text() const;
};

/// One problem found in what the user asked for.
struct Diagnostic {
  std::string code;       ///< stable, "LC" and four digits, grouped by area (docs/errors.md)
  Severity severity = Severity::kError;
  std::string message;    ///< what is wrong, quoting the option and the value
  Subject subject = {};   ///< what it is about
  std::string received;   ///< the value received, rendered
  std::string expected;   ///< what was expected (the whole list when the set is finite)
  std::string help;       ///< a concrete fix
  /// Set when the value came from a config file or the command line.
  std::optional<SourceLocation> location = std::nullopt;

  /// The place as the user wrote it: the config key when the value came from a config, else the
  /// subject's text (`Trainer({.max_epochs = ...})`).
  std::string where() const;
  /// The rustc-style block of docs/architecture.md, without a trailing newline.
  std::string render() const;
  /// The same fields as a JSON object (`where` rendered, and the subject as data).
  std::string to_json() const;
  /// The diagnostic that `to_json` wrote; throws std::invalid_argument for other text.
  static Diagnostic from_json(std::string_view json);
};

/// Thrown when options, data, files or the environment cannot work; holds every problem found.
class MisconfigurationException : public std::invalid_argument {
 public:
  /// Construction, preflight and the probe: every check that runs before the first step.
  static constexpr std::string_view kBeforeTraining = "before training started";
  /// `stage` finishes the last line, "2 errors found <stage>": when they were found ("during fit,
  /// in epoch 2 at global step 140", "while building OneCycleLR").
  explicit MisconfigurationException(std::vector<Diagnostic> diagnostics,
                                     std::string stage = std::string(kBeforeTraining));
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  const std::string& stage() const { return stage_; }
  /// `{"diagnostics": [...], "stage": "..."}` for tools and editors.
  std::string to_json() const;
  /// True when one of the diagnostics carries `code`.
  bool has(std::string_view code) const;

 private:
  std::vector<Diagnostic> diagnostics_;
  std::string stage_;
};

/// Collects the problems of one stage and throws them together.
///
///   DiagnosticCollector problems;
///   if (options.batch_size < 1) problems.error({.code = "LC0201", ...});
///   problems.throw_if_errors();   // throws MisconfigurationException with every error
class DiagnosticCollector {
 public:
  /// `stage` says when the problems are found, for the exception's last line.
  explicit DiagnosticCollector(std::string stage = std::string(MisconfigurationException::kBeforeTraining))
      : stage_(std::move(stage)) {}
  void error(Diagnostic diagnostic);
  /// Warnings are printed once (rank zero) by `throw_if_errors` and never throw.
  void warn(Diagnostic diagnostic);
  bool has_errors() const;
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  /// Prints the warnings, then throws MisconfigurationException when any error was collected.
  void throw_if_errors();

 private:
  std::string stage_;
  std::vector<Diagnostic> diagnostics_;
};

/// The one form of a value outside what an option accepts, which every bound check uses:
///
///   error[LC0101]: Trainer option `max_epochs` must be >= -1
///     --> Trainer({.max_epochs = ...})
///      = received: -5
///      = expected an integer >= -1
///
/// `requirement` finishes "<component> option `<option>` must be ...".
Diagnostic out_of_range(std::string code, Subject subject, std::string_view requirement,
                        std::string received, std::string expected, std::string help = {});

/// An out_of_range error in `problems` when `value < minimum` ("must be >= minimum").
void check_at_least(DiagnosticCollector& problems, std::string code, Subject subject, int64_t value,
                    int64_t minimum, std::string help = {});

/// The closest candidate to `value` by edit distance, when it is close enough to be a likely typo.
std::optional<std::string> did_you_mean(std::string_view value,
                                        const std::vector<std::string>& candidates);

/// `"a", "b", "c"`: a finite set of accepted values, quoted, for `Diagnostic::expected`.
std::string one_of(const std::vector<std::string>& candidates);

/// Fills `expected` and, when a candidate is close, `help` for a value outside a finite set.
Diagnostic unknown_choice(std::string code, std::string message, Subject subject,
                          std::string_view value, const std::vector<std::string>& candidates);

/// Internal invariant: throws std::logic_error whose message ends with "this is a bug in lightning-cpp".
[[noreturn]] void internal_error(std::string_view what);

}  // namespace lightning
