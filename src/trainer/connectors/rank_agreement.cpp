#include "trainer/connectors/rank_agreement.h"

#include <lightning/core/module.h>

#include "strategies/process_group.h"
#include "trainer/connectors/settings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace lightning::detail {
namespace {

struct Findings {
  std::vector<Diagnostic> diagnostics;
  std::vector<SyncCall> sync_calls;
  std::vector<SharedValue> shared;
};

Findings parse(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  Findings findings;
  for (const auto& d : j.at("diagnostics")) findings.diagnostics.push_back(Diagnostic::from_json(d.dump()));
  for (const auto& call : j.at("sync_calls")) findings.sync_calls.push_back({call.at(0), call.at(1)});
  for (const auto& v : j.at("shared")) findings.shared.push_back(
        {v.at(0), v.at(1), Subject{v.at(2), v.at(3).get<std::vector<std::string>>()}, v.at(4), v.at(5)});
  return findings;
}

/// Each distinct value of `per_rank` (indexed by rank) with the ranks that hold it, in the order
/// of the lowest rank holding each.
template <class Value>
std::vector<std::pair<Value, std::vector<int>>> group_ranks(const std::vector<Value>& per_rank) {
  std::vector<std::pair<Value, std::vector<int>>> groups;
  for (int r = 0; r < static_cast<int>(per_rank.size()); ++r) {
    auto same = std::find_if(groups.begin(), groups.end(), [&](const auto& group) { return group.first == per_rank[r]; });
    if (same == groups.end()) {
      groups.push_back({per_rank[r], {r}});
    } else {
      same->second.push_back(r);
    }
  }
  return groups;
}

std::string describe(const std::vector<SyncCall>& calls) {
  if (calls.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& call : calls) parts.push_back(fmt::format("\"{}\" ({})", call.key, call.reduce_fx));
  return fmt::format("{}", fmt::join(parts, ", "));
}

/// LC0344 when the ranks' sync_dist calls differ: in a real step they would pair one rank's value
/// with another's of a different key, or wait for a call that never comes.
void check_same_sync_calls(const std::vector<Findings>& ranks, DiagnosticCollector& problems) {
  std::vector<std::vector<SyncCall>> per_rank;
  for (const auto& rank : ranks) per_rank.push_back(rank.sync_calls);
  const auto sequences = group_ranks(per_rank);
  if (sequences.size() < 2) return;
  // Where the second sequence parts from the first, the call that only one of them makes (an
  // extra call is the likely mistake), else the first sequence's.
  const auto& first = sequences[0].first;
  const auto& second = sequences[1].first;
  const std::size_t at = std::mismatch(first.begin(), first.end(), second.begin(), second.end()).first - first.begin();
  const auto makes = [](const std::vector<SyncCall>& calls, const SyncCall& call) {
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  };
  const bool second_adds = at < second.size() && !makes(first, second[at]);
  const SyncCall& parting = at < first.size() && !second_adds ? first[at] : second[at];
  std::vector<std::string> received;
  for (const auto& [calls, which] : sequences) received.push_back(fmt::format("{}: {}", rank_list(which), describe(calls)));
  problems.error({.code = "LC0344",
                  .message = fmt::format("the ranks' steps make different sync_dist log calls (they part at \"{}\"): "
                                         "each is a collective that every rank joins in the same order, so training "
                                         "would combine unrelated values or wait for a call that never comes",
                                         parting.key),
                  .subject = {fmt::format("log(\"{}\", value, {{.sync_dist = true}})", parting.key)},
                  .received = fmt::format("{}", fmt::join(received, "; ")),
                  .expected = "the same sync_dist calls, in the same order, on every rank",
                  .help = fmt::format("log \"{}\" on every rank (sync_dist combines the ranks' values), or without "
                                      "sync_dist where only some ranks have a value",
                                      parting.key)});
}

/// `rank 0: 2; ranks 1, 2: 3`: each distinct value with the ranks that hold it.
std::string values_by_rank(const std::vector<std::string>& values) {
  std::vector<std::string> parts;
  for (const auto& [value, ranks] : group_ranks(values)) parts.push_back(fmt::format("{}: {}", rank_list(ranks), value));
  return fmt::format("{}", fmt::join(parts, "; "));
}

/// LC0133 for each option or batch count that differs between the ranks; one LC0134 for the
/// parameters and buffers whose shapes differ (a different model differs in many).
void check_shared_values(const std::vector<Findings>& ranks, DiagnosticCollector& problems) {
  // Each name once, in the order of the lowest rank that has it, with its value on every rank.
  std::vector<SharedValue> names;
  std::map<std::string, std::vector<std::string>> values;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    for (const auto& shared : ranks[r].shared) {
      auto& on_ranks = values[shared.name];
      if (on_ranks.empty()) {
        names.push_back(shared);
        on_ranks.assign(ranks.size(), "absent");
      }
      on_ranks[r] = shared.value;
    }
  }
  std::vector<std::string> model_differences;
  const SharedValue* first_model_difference = nullptr;
  for (const auto& shared : names) {
    const auto& on_ranks = values[shared.name];
    if (std::all_of(on_ranks.begin(), on_ranks.end(), [&](const auto& v) { return v == on_ranks.front(); })) continue;
    if (shared.code == "LC0134") {
      if (!first_model_difference) first_model_difference = &shared;
      model_differences.push_back(fmt::format("{}: {}", shared.name, values_by_rank(on_ranks)));
      continue;
    }
    problems.error({.code = shared.code,
                    .message = fmt::format("{} differs between the ranks: each rank must run the same steps, or "
                                           "the others wait for it at a collective or train other weights",
                                           shared.name),
                    .subject = shared.subject,
                    .received = values_by_rank(on_ranks),
                    .expected = "the same value on every rank",
                    .help = shared.help});
  }
  if (first_model_difference == nullptr) return;
  constexpr std::size_t kShown = 3;
  const auto shown = model_differences.begin() + static_cast<std::ptrdiff_t>(std::min(kShown, model_differences.size()));
  std::string received = fmt::format("{}", fmt::join(model_differences.begin(), shown, "; "));
  if (model_differences.size() > kShown) received += fmt::format("; and {} more", model_differences.size() - kShown);
  problems.error({.code = "LC0134",
                  .message = fmt::format("the ranks built different modules: {} parameter{} or buffer{} differ{} in shape "
                                         "or dtype, so the ranks cannot train or evaluate as one",
                                         model_differences.size(), model_differences.size() == 1 ? "" : "s",
                                         model_differences.size() == 1 ? "" : "s",
                                         model_differences.size() == 1 ? "s" : ""),
                  .subject = first_model_difference->subject,
                  .received = received,
                  .expected = "the same parameters and buffers, of the same shapes and dtypes, on every rank",
                  .help = first_model_difference->help});
}

}  // namespace

SharedValue shared_option(const std::string& name, std::string value) {
  return {"LC0133", name, {"Trainer", {name}}, std::move(value),
          "start every rank with the same Trainer options (torchrun and SLURM start each rank's program on its own: "
          "give every rank the same config file and arguments)"};
}

std::vector<SharedValue> shared_fit_options(const Settings& settings) {
  const auto optional_text = [](const auto& value) { return value ? fmt::format("{}", *value) : std::string("none"); };
  SharedValue bucket = shared_option("bucket_cap_mb", fmt::format("{} bytes", settings.hardware.bucket_bytes));
  bucket.subject = {"DDPStrategy", {"bucket_cap_mb"}};
  return {shared_option("max_epochs", std::to_string(settings.max_epochs)),
          shared_option("min_epochs", std::to_string(settings.min_epochs)),
          shared_option("max_steps", std::to_string(settings.max_steps)),
          shared_option("min_steps", std::to_string(settings.min_steps)),
          shared_option("limit_train_batches", settings.limit_train_batches.to_string()),
          shared_option("limit_val_batches", settings.limit_val_batches.to_string()),
          shared_option("val_check_interval", settings.val_check_interval.to_string()),
          shared_option("check_val_every_n_epoch", optional_text(settings.check_val_every_n_epoch)),
          shared_option("num_sanity_val_steps", std::to_string(settings.num_sanity_val_steps)),
          shared_option("accumulate_grad_batches", std::to_string(settings.accumulate_grad_batches)),
          shared_option("gradient_clip_val", optional_text(settings.strategy.gradient_clip_val)),
          shared_option("gradient_clip_algorithm", settings.strategy.clip_by_norm ? "norm" : "value"),
          shared_option("precision", settings.hardware.precision),
          bucket};
}

void add_shared_batch_counts(std::vector<SharedValue>& shared, const std::string& role,
                             const std::vector<int64_t>& batches) {
  const std::string help =
      "give every rank as many batches: the DistributedSampler that lightning-cpp adds pads the ranks' shares to "
      "one length; a sampler of your own (use_distributed_sampler = false) must do the same";
  shared.push_back({"LC0133", fmt::format("the number of loaders in {}", role), {role}, std::to_string(batches.size()), help});
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const std::string loader = batches.size() == 1 ? role : fmt::format("{}[{}]", role, k);
    shared.push_back({"LC0133", fmt::format("the number of batches of {}", loader), {loader}, std::to_string(batches[k]), help});
  }
}

void add_shared_module_shapes(std::vector<SharedValue>& shared, LightningModule& module) {
  const std::string help =
      "build the module alike on every rank (rank 0's weights are copied to the others); a size read from data, "
      "files or the environment must read the same on every rank";
  const auto describe_tensor = [](const at::Tensor& t) {
    return fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
  };
  for (const auto& item : module.named_parameters()) {
    shared.push_back({"LC0134", item.key(), {"the module's parameters"}, describe_tensor(item.value()), help});
  }
  for (const auto& item : module.named_buffers()) {
    shared.push_back({"LC0134", item.key(), {"the module's buffers"}, describe_tensor(item.value()), help});
  }
}

std::string rank_findings(const DiagnosticCollector& problems, const std::vector<SyncCall>& sync_calls,
                          const std::vector<SharedValue>& shared) {
  nlohmann::json diagnostics = nlohmann::json::array();
  for (const auto& d : problems.diagnostics()) diagnostics.push_back(nlohmann::json::parse(d.to_json()));
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& call : sync_calls) calls.push_back({call.key, call.reduce_fx});
  nlohmann::json values = nlohmann::json::array();
  for (const auto& v : shared) values.push_back({v.code, v.name, v.subject.component, v.subject.options, v.value, v.help});
  return nlohmann::json{{"diagnostics", diagnostics}, {"sync_calls", calls}, {"shared", values}}.dump();
}

DiagnosticCollector merge_findings(const std::vector<std::string>& findings) {
  std::vector<Findings> ranks;
  for (const auto& text : findings) ranks.push_back(parse(text));
  // Each distinct diagnostic (by every field) with the ranks that found it, in rank order.
  std::vector<std::pair<Diagnostic, std::vector<int>>> merged;
  std::map<std::string, std::size_t> index;
  for (int r = 0; r < static_cast<int>(ranks.size()); ++r) {
    for (const auto& d : ranks[r].diagnostics) {
      const auto [it, added] = index.emplace(d.to_json(), merged.size());
      if (added) merged.push_back({d, {}});
      auto& found_by = merged[it->second].second;
      if (found_by.empty() || found_by.back() != r) found_by.push_back(r);
    }
  }
  DiagnosticCollector problems;
  for (auto& [d, found_by] : merged) {
    if (found_by.size() < ranks.size()) d.message += fmt::format(" (on {})", rank_list(found_by));
    d.severity == Severity::kError ? problems.error(std::move(d)) : problems.warn(std::move(d));
  }
  check_shared_values(ranks, problems);
  if (!problems.has_errors()) check_same_sync_calls(ranks, problems);
  return problems;
}

void agree_across_ranks(Collectives& group, const std::vector<SyncCall>& sync_calls,
                        const std::vector<SharedValue>& shared, DiagnosticCollector& problems) {
  problems = merge_findings(all_gather_strings(group, rank_findings(problems, sync_calls, shared)));
}

}  // namespace lightning::detail
