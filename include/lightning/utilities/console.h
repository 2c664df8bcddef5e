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
/// True when stderr is a terminal, where a status line can be redrawn in place.
bool interactive();
/// Draws `line` as the status line on a terminal, replacing the previous one in place; `info`
/// lines print above it. Rank zero only; does nothing when stderr is not a terminal.
void status(std::string_view line);
/// Leaves the status line on the screen and moves below it.
void end_status();
/// Erases the status line.
void clear_status();
/// This process's rank from the environment (`RANK`, then `SLURM_PROCID`), 0 when unset.
int global_rank();

}  // namespace lightning::console
