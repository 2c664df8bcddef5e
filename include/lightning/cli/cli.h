#pragma once
// LightningCLI for C++: `program fit --config config.yaml --trainer.max_epochs=5`.
//
//   LIGHTNING_REGISTER_MODEL(Classifier, pl::cli::arg("hidden", &ClassifierOptions::hidden));
//   int main(int argc, char** argv) { return lightning::cli::main(argc, argv); }
//
// Subcommands fit, validate, test, predict and check (every stage of the diagnostics engine, no
// training); `explain LC0102` prints the documentation of a code. See docs/cli.md.

#include <iosfwd>
#include <string>
#include <vector>

namespace lightning::cli {

/// Exit codes: 0 success, 1 a failure while running, 2 a misconfiguration (config files, command
/// line, or any diagnostic of the engine).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitMisconfiguration = 2;

/// Runs the command line `args` (without the program name), printing results to `out` and
/// diagnostics to `err` (or, with `--errors=json`, JSON to `out`). Returns the exit code.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// `run` over `argv`, with std::cout and std::cerr.
int main(int argc, char** argv);

/// Registers the built-in components (MLPClassifier, MLPRegressor, CSVDataModule,
/// DigitsDataModule, FashionMNISTDataModule, every built-in callback and logger, LibTorch's optimizers and our
/// schedulers); `run` calls it, and calling it again changes nothing.
void register_builtins();

/// The section of docs/errors.md about `code`, or "" when there is none.
std::string explain(const std::string& code);

}  // namespace lightning::cli
