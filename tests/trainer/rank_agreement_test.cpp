// The ranks' findings merged: what rank 0 reports and every rank acts on.

#include "trainer/connectors/rank_agreement.h"

#include <lightning/core/module.h>

#include "trainer/connectors/settings.h"

#include <torch/nn/modules/linear.h>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace lightning::detail {
namespace {

Diagnostic nan_loss(const std::string& value) {
  return {.code = "LC0324",
          .message = "`training_step` returned a non-finite loss on the first batch",
          .subject = {"training_step"},
          .received = value,
          .expected = "a finite loss"};
}

std::string findings(const std::vector<Diagnostic>& errors, const std::vector<Diagnostic>& warnings,
                     const std::vector<SyncCall>& calls = {}, const std::vector<SharedValue>& shared = {}) {
  DiagnosticCollector problems;
  for (const auto& d : errors) problems.error(d);
  for (const auto& d : warnings) problems.warn(d);
  return rank_findings(problems, calls, shared);
}

/// A rank's shared values: max_epochs and the shapes of its parameters.
std::vector<SharedValue> rank_values(const std::string& max_epochs, const std::vector<std::string>& shapes) {
  std::vector<SharedValue> values{
      {"LC0133", "max_epochs", {"Trainer", {"max_epochs"}}, max_epochs, "start every rank with the same options"}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    values.push_back({"LC0134", "layer" + std::to_string(i) + ".weight", {"the module's parameters"}, shapes[i],
                      "build the module alike on every rank"});
  }
  return values;
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
  EXPECT_EQ(d.where(), "log(\"rank1_only\", value, {.sync_dist = true})");
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
  EXPECT_EQ(other_reduce.diagnostics()[0].where(), "log(\"loss\", value, {.sync_dist = true})");
}

TEST(MergeFindings, SameCallsOrAnErrorElsewhereGiveNoLC0344) {
  const std::vector<SyncCall> calls{{"train_loss", "mean"}};
  EXPECT_TRUE(merge_findings({findings({}, {}, calls), findings({}, {}, calls)}).diagnostics().empty());
  // A rank whose probe stopped at an error made fewer calls: the error is what to fix.
  const auto merged = merge_findings({findings({}, {}, calls), findings({nan_loss("nan")}, {}, {})});
  ASSERT_EQ(merged.diagnostics().size(), 1u);
  EXPECT_EQ(merged.diagnostics()[0].code, "LC0324");
}

TEST(MergeFindings, AnOptionThatDiffersBetweenRanksIsLC0133WithEachRanksValue) {
  const auto merged = merge_findings({findings({}, {}, {}, rank_values("2", {})), findings({}, {}, {}, rank_values("3", {})),
                                      findings({}, {}, {}, rank_values("2", {}))});
  ASSERT_EQ(merged.diagnostics().size(), 1u);
  const Diagnostic& d = merged.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0133");
  EXPECT_EQ(d.message, "max_epochs differs between the ranks: each rank must run the same steps, or the others wait "
                       "for it at a collective or train other weights");
  EXPECT_EQ(d.where(), "Trainer({.max_epochs = ...})");
  EXPECT_EQ(d.received, "ranks 0, 2: 2; rank 1: 3");
  EXPECT_EQ(d.expected, "the same value on every rank");
  EXPECT_EQ(d.help, "start every rank with the same options");
}

TEST(MergeFindings, ModulesThatDifferBetweenRanksAreOneLC0134NamingTheFirstThreeDifferences) {
  const auto same = rank_values("2", {"[8, 4] Float", "[8] Float", "[2, 8] Float", "[2] Float", "[2, 2] Float"});
  const auto wider = rank_values("2", {"[16, 4] Float", "[16] Float", "[2, 16] Float", "[2] Float"});
  const auto merged = merge_findings({findings({}, {}, {}, same), findings({}, {}, {}, wider)});
  ASSERT_EQ(merged.diagnostics().size(), 1u);
  const Diagnostic& d = merged.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0134");
  EXPECT_EQ(d.message, "the ranks built different modules: 4 parameters or buffers differ in shape or dtype, so the "
                       "ranks cannot train or evaluate as one");
  EXPECT_EQ(d.where(), "the module's parameters");
  EXPECT_EQ(d.received,
            "layer0.weight: rank 0: [8, 4] Float; rank 1: [16, 4] Float; layer1.weight: rank 0: [8] Float; rank 1: "
            "[16] Float; layer2.weight: rank 0: [2, 8] Float; rank 1: [2, 16] Float; and 1 more");
  EXPECT_EQ(d.help, "build the module alike on every rank");
  // A parameter that a rank lacks reads "absent" there.
  const auto only_missing = merge_findings({findings({}, {}, {}, rank_values("2", {"[8] Float", "[2] Float"})),
                                            findings({}, {}, {}, rank_values("2", {"[8] Float"}))});
  ASSERT_EQ(only_missing.diagnostics().size(), 1u);
  EXPECT_EQ(only_missing.diagnostics()[0].received, "layer1.weight: rank 0: [2] Float; rank 1: absent");
  EXPECT_NE(only_missing.diagnostics()[0].message.find("1 parameter or buffer differs"), std::string::npos);
}

TEST(SharedValues, HoldTheStepOptionsTheBatchCountsAndEachParametersShape) {
  Settings settings;
  settings.max_epochs = 4;
  settings.limit_train_batches = 0.5;
  settings.strategy.gradient_clip_val = 0.25;
  struct Tiny : LightningModule {
    torch::nn::Linear fc{nullptr};
    Tiny() { fc = register_module("fc", torch::nn::Linear(3, 2)); }
  } module;
  auto shared = shared_fit_options(settings);
  add_shared_batch_counts(shared, "train_dataloaders", {6});
  add_shared_batch_counts(shared, "val_dataloaders", {3, 2});
  add_shared_module_shapes(shared, module);
  std::map<std::string, std::string> by_name;
  for (const auto& v : shared) by_name[v.name] = v.value;
  EXPECT_EQ(by_name.at("max_epochs"), "4");
  EXPECT_EQ(by_name.at("limit_train_batches"), "0.5");
  EXPECT_EQ(by_name.at("gradient_clip_val"), "0.25");
  EXPECT_EQ(by_name.at("check_val_every_n_epoch"), "1");
  EXPECT_EQ(by_name.at("precision"), "32-true");
  EXPECT_EQ(by_name.at("bucket_cap_mb"), "26214400 bytes");
  EXPECT_EQ(by_name.at("the number of batches of train_dataloaders"), "6");
  EXPECT_EQ(by_name.at("the number of loaders in val_dataloaders"), "2");
  EXPECT_EQ(by_name.at("the number of batches of val_dataloaders[1]"), "2");
  EXPECT_EQ(by_name.at("fc.weight"), "[2, 3] Float");
  EXPECT_EQ(by_name.at("fc.bias"), "[2] Float");
}

}  // namespace
}  // namespace lightning::detail
