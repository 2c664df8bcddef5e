#pragma once
// The loader options every data module of demos/ takes, checked alike.

#include <lightning/diagnostics/diagnostic.h>

#include <cstdint>
#include <string>

namespace lightning::demos {

/// LC0711 for a `batch_size` below 1 or a negative `num_workers` of `class_name`'s options.
void check_loader_options(DiagnosticCollector& problems, const std::string& class_name, int64_t batch_size,
                          int64_t num_workers);

}  // namespace lightning::demos
