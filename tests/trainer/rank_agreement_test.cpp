// The ranks' findings merged: what rank 0 reports and every rank acts on.

#include "trainer/connectors/rank_agreement.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lightning::detail {
namespace {

Diagnostic nan_loss(const std::string& value) {
  return {.code = "LC0324",
          .message = "`training_step` returned a non-finite loss on the first batch",
          .where = "training_step",
          .received = value,
          .expected = "a finite loss"};
}

std::string findings(const std::vector<Diagnostic>& errors, const std::vector<Diagnostic>& warnings,
                     const std::vector<SyncCall>& calls = {}) {
  DiagnosticCollector problems;
  for (const auto& d : errors) problems.error(d);
  for (const auto& d : warnings) problems.warn(d);
  return rank_findings(problems, calls);
}

TEST(MergeFindings, WhatEveryRankFoundIsReportedOnceAndWhatSomeFoundSaysWhich) {
  const Diagnostic everywhere{.code = "LC0315", .message = "an optimizer that holds no parameter"};
  const Diagnostic warning{.code = "LC0343", .message = "\"acc\" logged on epoch level without sync_dist"};
  const auto merged = merge_findings({findings({everywhere}, {}), findings({everywhere, nan_loss("nan")}, {warning}),
                                      findings({everywhere, nan_loss("inf")}, {warning})});
  const auto& d = merged.diagnostics();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].message, "an optimizer that holds no parameter");
  EXPECT_EQ(d[1].message, "`training_step` returned a non-finite loss on the first batch (on rank 1)");
  EXPECT_EQ(d[1].received, "nan");
  EXPECT_EQ(d[2].message, "\"acc\" logged on epoch level without sync_dist (on ranks 1, 2)");
  EXPECT_EQ(d[2].severity, Severity::kWarning);
  EXPECT_EQ(d[3].message, "`training_step` returned a non-finite loss on the first batch (on rank 2)");
  EXPECT_EQ(d[3].received, "inf");
  EXPECT_TRUE(merged.has_errors());
}

TEST(MergeFindings, RanksWhoseStepsMakeDifferentSyncDistCallsAreLC0344) {
  const std::vector<SyncCall> common{{"train_loss", "mean"}, {"val_acc", "mean"}};
  std::vector<SyncCall> extra = common;
  extra.insert(extra.begin() + 1, SyncCall{"rank1_only", "max"});
  const auto merged = merge_findings({findings({}, {}, common), findings({}, {}, extra), findings({}, {}, common)});
  ASSERT_EQ(merged.diagnostics().size(), 1u);
  const Diagnostic& d = merged.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0344");
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_EQ(d.message,
            "the ranks' steps make different sync_dist log calls (they part at \"rank1_only\"): each is a collective "
            "that every rank joins in the same order, so training would combine unrelated values or wait for a call "
            "that never comes");
  EXPECT_EQ(d.where, "log(\"rank1_only\", value, {.sync_dist = true})");
  EXPECT_EQ(d.received,
            "ranks 0, 2: \"train_loss\" (mean), \"val_acc\" (mean); "
            "rank 1: \"train_loss\" (mean), \"rank1_only\" (max), \"val_acc\" (mean)");
  EXPECT_EQ(d.expected, "the same sync_dist calls, in the same order, on every rank");
  EXPECT_EQ(d.help,
            "log \"rank1_only\" on every rank (sync_dist combines the ranks' values), or without sync_dist where only "
            "some ranks have a value");
}

TEST(MergeFindings, ACallOnlyRankZeroMakesOrAnotherReduceIsNamedToo) {
  const auto only_rank0 = merge_findings({findings({}, {}, {{"loss", "mean"}}), findings({}, {}, {})});
  ASSERT_EQ(only_rank0.diagnostics().size(), 1u);
  EXPECT_EQ(only_rank0.diagnostics()[0].received, "rank 0: \"loss\" (mean); rank 1: none");
  const auto other_reduce = merge_findings({findings({}, {}, {{"loss", "mean"}}), findings({}, {}, {{"loss", "max"}})});
  ASSERT_EQ(other_reduce.diagnostics().size(), 1u);
  EXPECT_EQ(other_reduce.diagnostics()[0].where, "log(\"loss\", value, {.sync_dist = true})");
}

TEST(MergeFindings, SameCallsOrAnErrorElsewhereGiveNoLC0344) {
  const std::vector<SyncCall> calls{{"train_loss", "mean"}};
  EXPECT_TRUE(merge_findings({findings({}, {}, calls), findings({}, {}, calls)}).diagnostics().empty());
  // A rank whose probe stopped at an error made fewer calls: the error is what to fix.
  const auto merged = merge_findings({findings({}, {}, calls), findings({nan_loss("nan")}, {}, {})});
  ASSERT_EQ(merged.diagnostics().size(), 1u);
  EXPECT_EQ(merged.diagnostics()[0].code, "LC0324");
}

}  // namespace
}  // namespace lightning::detail
