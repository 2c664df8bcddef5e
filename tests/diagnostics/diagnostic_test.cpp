#include <lightning/diagnostics/diagnostic.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lightning {
namespace {

Diagnostic accelerator_typo() {
  return unknown_choice("LC0102", "Trainer option `accelerator` has an unknown value \"my_cpu\"",
                        "Trainer({.accelerator = ...})", "my_cpu", {"auto", "cpu", "cuda", "gpu", "mps"});
}

TEST(Diagnostic, RendersInTheDocumentedFormat) {
  EXPECT_EQ(accelerator_typo().render(),
            "error[LC0102]: Trainer option `accelerator` has an unknown value \"my_cpu\"\n"
            "  --> Trainer({.accelerator = ...})\n"
            "   = received: \"my_cpu\"\n"
            "   = expected one of: \"auto\", \"cpu\", \"cuda\", \"gpu\", \"mps\"\n"
            "   = help: did you mean \"cpu\"?");
}

TEST(Diagnostic, SuggestsTheClosestCandidateOnlyWhenItIsClose) {
  EXPECT_EQ(did_you_mean("max_epoch", {"max_epochs", "min_epochs", "max_steps"}), "max_epochs");
  EXPECT_EQ(did_you_mean("gpus", {"auto", "cpu", "cuda", "gpu", "mps"}), "gpu");
  EXPECT_EQ(did_you_mean("tpu_v4_pod", {"auto", "cpu", "cuda", "gpu", "mps"}), std::nullopt);
  EXPECT_EQ(did_you_mean("x", {}), std::nullopt);
}

TEST(Diagnostic, SuggestsTheShortOrLongSpellingOfTheSameWord) {
  EXPECT_EQ(did_you_mean("minimum", {"min", "max"}), "min");
  EXPECT_EQ(did_you_mean("val", {"train_loss", "val_loss"}), "val_loss");
  EXPECT_EQ(did_you_mean("va", {"train_loss", "val_loss"}), std::nullopt) << "two letters are too little to go on";
}

TEST(MisconfigurationException, CarriesEveryErrorAndCountsThem) {
  DiagnosticCollector problems;
  problems.error(accelerator_typo());
  problems.error({.code = "LC0112", .message = "Trainer option `accumulate_grad_batches` must be >= 1"});
  problems.warn({.code = "LC0306", .message = "a warning is printed, never thrown"});
  try {
    problems.throw_if_errors();
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_TRUE(e.has("LC0102"));
    EXPECT_TRUE(e.has("LC0112"));
    EXPECT_FALSE(e.has("LC0306"));
    const std::string text = e.what();
    EXPECT_NE(text.find("error[LC0102]"), std::string::npos);
    EXPECT_NE(text.find("error[LC0112]"), std::string::npos);
    EXPECT_NE(text.find("2 errors found before training started"), std::string::npos);
  }
}

TEST(MisconfigurationException, IsAnInvalidArgument) {
  const std::invalid_argument& base = MisconfigurationException({accelerator_typo()});
  EXPECT_NE(std::string(base.what()).find("LC0102"), std::string::npos);
}

TEST(MisconfigurationException, WarningsAloneDoNotThrow) {
  DiagnosticCollector problems;
  problems.warn({.code = "LC0306", .message = "only a warning"});
  EXPECT_NO_THROW(problems.throw_if_errors());
}

TEST(MisconfigurationException, ConvertsToJsonWithEveryField) {
  MisconfigurationException e({accelerator_typo()});
  auto json = nlohmann::json::parse(e.to_json());
  ASSERT_EQ(json["diagnostics"].size(), 1u);
  const auto& d = json["diagnostics"][0];
  EXPECT_EQ(d["code"], "LC0102");
  EXPECT_EQ(d["severity"], "error");
  EXPECT_EQ(d["where"], "Trainer({.accelerator = ...})");
  EXPECT_EQ(d["received"], "\"my_cpu\"");
  EXPECT_EQ(d["help"], "did you mean \"cpu\"?");
}

TEST(InternalError, SaysItIsABug) {
  try {
    internal_error("loop state out of order");
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "loop state out of order: this is a bug in lightning-cpp");
  }
}

}  // namespace
}  // namespace lightning
