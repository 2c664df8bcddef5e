// libFuzzer target: CSVDataset on any bytes (plain or gzip), with options drawn from the first
// byte. Data it accepts must be what training can use (finite features, whole-number classes,
// within num_classes when set); what it refuses must be refused with MisconfigurationException
// naming a line.
#include "fuzz_input.h"

#include <lightning/data/dataset.h>
#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t choice = data[0];
  const lightning::CSVDatasetOptions options{.target_column = static_cast<int64_t>(choice % 5) - 2,
                                             .skip_rows = (choice >> 3) % 3,
                                             .delimiter = (choice & 0x20) ? ';' : ',',
                                             .integer_targets = (choice & 0x40) == 0,
                                             .num_classes = (choice & 0x80) ? std::optional<int64_t>(3) : std::nullopt};
  const auto path = lightning::fuzz::as_file(data + 1, size - 1, "input.csv");
  try {
    lightning::CSVDataset dataset(path, options);
    // What it accepted is usable: a silent nan or a cast class is a finding.
    if (!at::isfinite(dataset.features()).all().item<bool>()) std::abort();
    if (!options.integer_targets && !at::isfinite(dataset.targets()).all().item<bool>()) std::abort();
    if (options.num_classes && options.integer_targets && dataset.size() > 0 &&
        (dataset.targets().min().item<int64_t>() < 0 || dataset.targets().max().item<int64_t>() >= *options.num_classes)) {
      std::abort();
    }
  } catch (const lightning::MisconfigurationException&) {
  } catch (const std::runtime_error&) {  // a file that cannot be opened or inflated, named
  }
  return 0;
}
