// libFuzzer target: a YAML config file, then a command-line override taken from the input's last
// line (`--key=value`), read as `lightning-cpp` reads them. Anything may be reported; nothing may
// escape, hang or take unbounded memory.
#include "fuzz_input.h"

#include "cli/config.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string override_text;
  if (const auto cut = text.rfind("\n--"); cut != std::string::npos) {
    override_text = text.substr(cut + 3);
    text.resize(cut + 1);
  }
  const auto path = lightning::fuzz::as_file(reinterpret_cast<const uint8_t*>(text.data()), text.size(), "config.yaml");
  lightning::DiagnosticCollector problems;
  lightning::cli::Config config;
  config.merge_file(path.string(), problems);
  if (!override_text.empty()) {
    const auto eq = override_text.find('=');
    const std::string key = override_text.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : override_text.substr(eq + 1);
    const bool append = key.ends_with("+");
    config.apply_override(append ? key.substr(0, key.size() - 1) : key, value, append, "--" + override_text, problems);
  }
  (void)config.value_location("trainer.callbacks[0].init_args.monitor");
  (void)config.key_location("model.init_args");
  for (const auto& d : problems.diagnostics()) (void)d.render();
  return 0;
}
