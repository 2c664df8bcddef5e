#pragma once
// In a distributed run each rank checks what it sees (its options, its batches, its probed
// steps). Before training the ranks agree on what they found: every rank stops if any found an
// error, and rank 0, which reports, reports what every rank found.

#include <lightning/core/collectives.h>
#include <lightning/diagnostics/diagnostic.h>

#include <string>
#include <vector>

namespace lightning {
class LightningModule;
}

namespace lightning::detail {

struct Settings;

/// One `log(key, value, {.sync_dist = true, .reduce_fx = reduce_fx})` call: a collective that
/// every rank must make in the same order.
struct SyncCall {
  std::string key;
  std::string reduce_fx;
  bool operator==(const SyncCall&) const = default;
};

/// A value every rank must share, as text, with where it is set and how to make the ranks agree.
struct SharedValue {
  std::string code;  ///< LC0133: an option or a batch count; LC0134: a parameter's or buffer's shape
  std::string name;
  Subject subject;
  std::string value;
  std::string help;
};

// The values that, differing between ranks, would part the ranks' collectives (the options that
// set the steps, the batch counts, the bucket size) or their weights (precision, clipping, the
// shapes of the parameters and buffers that rank 0 broadcasts).

/// A Trainer option (LC0133).
SharedValue shared_option(const std::string& name, std::string value);
/// The options that set a fit's steps and weights, and DDPStrategy's bucket size.
std::vector<SharedValue> shared_fit_options(const Settings& settings);
/// How many loaders `role` ("val_dataloaders") has, and each one's batch count.
void add_shared_batch_counts(std::vector<SharedValue>& shared, const std::string& role,
                             const std::vector<int64_t>& batches);
/// The names, shapes and dtypes of the module's parameters and buffers (LC0134).
void add_shared_module_shapes(std::vector<SharedValue>& shared, LightningModule& module);

/// What one rank found, as text for the other ranks.
std::string rank_findings(const DiagnosticCollector& problems, const std::vector<SyncCall>& sync_calls,
                          const std::vector<SharedValue>& shared);

/// Every rank's findings (rank_findings, in rank order) as one collector, alike on every rank:
/// the diagnostics in rank order, each once, those that only some ranks found saying which
/// ("(on rank 1)"); LC0133 for each option or batch count that differs between ranks and one
/// LC0134 for the parameters and buffers whose shapes differ; then, when no rank found an error,
/// LC0344 if the ranks' probed steps made different sync_dist calls.
DiagnosticCollector merge_findings(const std::vector<std::string>& findings);

/// Replaces `problems` with every rank's findings merged (a collective: every rank calls it).
void agree_across_ranks(Collectives& group, const std::vector<SyncCall>& sync_calls,
                        const std::vector<SharedValue>& shared, DiagnosticCollector& problems);

}  // namespace lightning::detail
