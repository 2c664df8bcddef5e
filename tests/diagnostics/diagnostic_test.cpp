#include <lightning/diagnostics/diagnostic.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace lightning {
namespace {

Diagnostic accelerator_typo() {
  return unknown_choice("LC0102", "Trainer option `accelerator` has an unknown value \"my_cpu\"",
                        {"Trainer", {"accelerator"}}, "my_cpu", {"auto", "cpu", "cuda", "gpu", "mps"});
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

TEST(Diagnostic, ReadsBackWhatToJsonWrote) {
  Diagnostic located = accelerator_typo();
  located.severity = Severity::kWarning;
  located.location = SourceLocation{"config.yaml", 7, 16};
  for (const Diagnostic& d : {accelerator_typo(), located}) {
    const Diagnostic back = Diagnostic::from_json(d.to_json());
    EXPECT_EQ(back.render(), d.render());
    EXPECT_EQ(back.to_json(), d.to_json());
  }
  EXPECT_THROW(Diagnostic::from_json(R"({"code": "LC0102"})"), std::invalid_argument);
  EXPECT_THROW(Diagnostic::from_json("not json"), std::invalid_argument);
}

TEST(InternalError, SaysItIsABug) {
  try {
    internal_error("loop state out of order");
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "loop state out of order: this is a bug in lightning-cpp");
  }
}

/// The codes `pattern` matches in `text` (its first group).
std::set<std::string> codes_in(const std::string& text, const std::regex& pattern) {
  std::set<std::string> codes;
  for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) codes.insert((*it)[1]);
  return codes;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ErrorsDoc, EveryCodeTheSourcesRaiseHasAnEntryAndEveryEntryIsRaised) {
  const auto root = std::filesystem::path(LIGHTNING_TEST_SOURCE_DIR).parent_path();
  std::set<std::string> raised;
  for (const auto* room : {"src", "include"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / room)) {
      if (!entry.is_regular_file()) continue;
      for (const auto& code : codes_in(read_text(entry.path()), std::regex(R"re("(LC[0-9]{4})")re"))) raised.insert(code);
    }
  }
  const auto documented = codes_in(read_text(root / "docs" / "errors.md"), std::regex(R"(### (LC[0-9]{4}))"));
  ASSERT_GT(raised.size(), 100u);
  for (const auto& code : raised) EXPECT_TRUE(documented.count(code)) << code << " has no entry in docs/errors.md";
  for (const auto& code : documented) EXPECT_TRUE(raised.count(code)) << code << " is documented but raised nowhere";
}

}  // namespace
}  // namespace lightning
