#include "trainer/connectors/rank_agreement.h"

#include "strategies/process_group.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace lightning::detail {
namespace {

struct Findings {
  std::vector<Diagnostic> diagnostics;
  std::vector<SyncCall> sync_calls;
};

Findings parse(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  Findings findings;
  for (const auto& d : j.at("diagnostics")) findings.diagnostics.push_back(Diagnostic::from_json(d.dump()));
  for (const auto& call : j.at("sync_calls")) findings.sync_calls.push_back({call.at(0), call.at(1)});
  return findings;
}

std::string rank_list(const std::vector<int>& ranks) {
  return fmt::format("rank{} {}", ranks.size() == 1 ? "" : "s", fmt::join(ranks, ", "));
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
  // The distinct sequences, in order of the lowest rank that made each.
  std::vector<std::pair<std::vector<SyncCall>, std::vector<int>>> sequences;
  for (int r = 0; r < static_cast<int>(ranks.size()); ++r) {
    auto same = std::find_if(sequences.begin(), sequences.end(),
                             [&](const auto& sequence) { return sequence.first == ranks[r].sync_calls; });
    if (same == sequences.end()) {
      sequences.push_back({ranks[r].sync_calls, {r}});
    } else {
      same->second.push_back(r);
    }
  }
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
                  .where = fmt::format("log(\"{}\", value, {{.sync_dist = true}})", parting.key),
                  .received = fmt::format("{}", fmt::join(received, "; ")),
                  .expected = "the same sync_dist calls, in the same order, on every rank",
                  .help = fmt::format("log \"{}\" on every rank (sync_dist combines the ranks' values), or without "
                                      "sync_dist where only some ranks have a value",
                                      parting.key)});
}

}  // namespace

std::string rank_findings(const DiagnosticCollector& problems, const std::vector<SyncCall>& sync_calls) {
  nlohmann::json diagnostics = nlohmann::json::array();
  for (const auto& d : problems.diagnostics()) diagnostics.push_back(nlohmann::json::parse(d.to_json()));
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& call : sync_calls) calls.push_back({call.key, call.reduce_fx});
  return nlohmann::json{{"diagnostics", diagnostics}, {"sync_calls", calls}}.dump();
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
  if (!problems.has_errors()) check_same_sync_calls(ranks, problems);
  return problems;
}

void agree_across_ranks(Collectives& group, const std::vector<SyncCall>& sync_calls, DiagnosticCollector& problems) {
  problems = merge_findings(all_gather_strings(group, rank_findings(problems, sync_calls)));
}

}  // namespace lightning::detail
