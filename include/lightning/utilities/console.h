#pragma once
// The one place where library code writes to the terminal (docs/architecture.md, convention 11).

#include <string_view>

namespace lightning::console {

/// Writes a line to stderr on rank zero.
void info(std::string_view line);
/// Writes a warning to stderr on rank zero, once per distinct text for the life of the process.
void warn_once(std::string_view text);
/// Forgets which warnings were printed, so tests can see them again.
void forget_warnings();
/// This process's rank from the environment (`RANK`, then `SLURM_PROCID`), 0 when unset.
int global_rank();

}  // namespace lightning::console
