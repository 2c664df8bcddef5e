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

TEST(Subject, RendersTheOptionsAsTheUserWritesThemOrThePlaceInWords) {
  EXPECT_EQ((Subject{"Trainer", {"max_epochs"}}.text()), "Trainer({.max_epochs = ...})");
  EXPECT_EQ((Subject{"ModelCheckpoint", {"monitor", "save_top_k"}, 2}.text()),
            "ModelCheckpoint({.monitor = ..., .save_top_k = ...})");
  EXPECT_EQ((Subject{"DataLoader", {"batch_size"}, {}, "passed as `train_dataloaders`"}.text()),
            "DataLoader({.batch_size = ...}) passed as `train_dataloaders`");
  EXPECT_EQ(Subject{"environment variable RANK"}.text(), "environment variable RANK");
}

TEST(Diagnostic, WhereIsTheConfigKeyOnceTheCliLocatedIt) {
  Diagnostic d{.code = "LC0101", .subject = {"Trainer", {"max_epochs"}}};
  EXPECT_EQ(d.where(), "Trainer({.max_epochs = ...})");
  d.location = SourceLocation{"config.yaml", 3, 15, "trainer.max_epochs"};
  EXPECT_EQ(d.where(), "trainer.max_epochs");
  EXPECT_EQ(d.render(), "error[LC0101]: \n  --> config.yaml:3:15  trainer.max_epochs");
  d.location = SourceLocation{.key = "trainer.max_epochs"};  // a default no file sets
  EXPECT_EQ(d.render(), "error[LC0101]: \n  --> trainer.max_epochs");
}

TEST(Diagnostic, TheSubjectTravelsThroughJsonAsData) {
  Diagnostic d{.code = "LC0508",
               .message = "ModelCheckpoint monitors \"val_acc\", which the module does not log",
               .subject = {"ModelCheckpoint", {"monitor"}, 2, "in the config"}};
  d.location = SourceLocation{"c.yaml", 12, 28, "trainer.callbacks[2].init_args.monitor"};
  const auto json = nlohmann::json::parse(d.to_json());
  EXPECT_EQ(json["where"], "trainer.callbacks[2].init_args.monitor");
  EXPECT_EQ(json["subject"]["component"], "ModelCheckpoint");
  EXPECT_EQ(json["subject"]["options"], nlohmann::json::array({"monitor"}));
  EXPECT_EQ(json["subject"]["index"], 2);
  EXPECT_EQ(json["location"]["key"], "trainer.callbacks[2].init_args.monitor");
  const Diagnostic back = Diagnostic::from_json(d.to_json());
  EXPECT_EQ(back.subject.component, "ModelCheckpoint");
  EXPECT_EQ(back.subject.options, std::vector<std::string>{"monitor"});
  EXPECT_EQ(back.subject.index, 2u);
  EXPECT_EQ(back.subject.context, "in the config");
  EXPECT_EQ(back.to_json(), d.to_json());
}

TEST(OutOfRange, IsTheOneFormOfAValueOutsideAnOptionsRange) {
  const Diagnostic d = out_of_range("LC0113", {"Trainer", {"gradient_clip_val"}}, ">= 0", "-1", "a value >= 0.0",
                                    "leave it unset (or 0.0) for no clipping");
  EXPECT_EQ(d.render(),
            "error[LC0113]: Trainer option `gradient_clip_val` must be >= 0\n"
            "  --> Trainer({.gradient_clip_val = ...})\n"
            "   = received: -1\n"
            "   = expected a value >= 0.0\n"
            "   = help: leave it unset (or 0.0) for no clipping");
  DiagnosticCollector problems("while building Example");
  check_at_least(problems, "LC0112", {"Trainer", {"accumulate_grad_batches"}}, 1, 1);
  EXPECT_TRUE(problems.diagnostics().empty()) << "the minimum itself is allowed";
  check_at_least(problems, "LC0112", {"Trainer", {"accumulate_grad_batches"}}, 0, 1, "use 1");
  ASSERT_EQ(problems.diagnostics().size(), 1u);
  EXPECT_EQ(problems.diagnostics()[0].message, "Trainer option `accumulate_grad_batches` must be >= 1");
  EXPECT_EQ(problems.diagnostics()[0].expected, "an integer >= 1");
  try {
    problems.throw_if_errors();
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    EXPECT_EQ(e.stage(), "while building Example");
    const std::string text = e.what();
    EXPECT_EQ(text.substr(text.rfind('\n') + 1), "1 error found while building Example");
  }
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
