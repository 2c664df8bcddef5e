#pragma once
// In a distributed run each rank checks what it sees (its options, its batches, its probed
// steps). Before training the ranks agree on what they found: every rank stops if any found an
// error, and rank 0, which reports, reports what every rank found.

#include <lightning/core/collectives.h>
#include <lightning/diagnostics/diagnostic.h>

#include <string>
#include <vector>

namespace lightning::detail {

/// One `log(key, value, {.sync_dist = true, .reduce_fx = reduce_fx})` call: a collective that
/// every rank must make in the same order.
struct SyncCall {
  std::string key;
  std::string reduce_fx;
  bool operator==(const SyncCall&) const = default;
};

/// What one rank found, as text for the other ranks.
std::string rank_findings(const DiagnosticCollector& problems, const std::vector<SyncCall>& sync_calls);

/// Every rank's findings (rank_findings, in rank order) as one collector, alike on every rank:
/// the diagnostics in rank order, each once, those that only some ranks found saying which
/// ("(on rank 1)"); then, when no rank found an error, LC0344 if the ranks' probed steps made
/// different sync_dist calls.
DiagnosticCollector merge_findings(const std::vector<std::string>& findings);

/// Replaces `problems` with every rank's findings merged (a collective: every rank calls it).
void agree_across_ranks(Collectives& group, const std::vector<SyncCall>& sync_calls, DiagnosticCollector& problems);

}  // namespace lightning::detail
