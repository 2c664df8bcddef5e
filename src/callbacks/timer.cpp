#include <lightning/callbacks/timer.h>

#include <lightning/utilities/console.h>

#include <fmt/format.h>

#include <regex>

namespace lightning {

Timer::Timer(TimerOptions options) : options_(std::move(options)) {
  DiagnosticCollector problems("while building Timer");
  if (options_.interval != "step" && options_.interval != "epoch") {
    problems.error(unknown_choice("LC0517", fmt::format("Timer option `interval` has an unknown value \"{}\"", options_.interval),
                                  {"Timer", {"interval"}}, options_.interval, {"step", "epoch"}));
  }
  if (options_.duration && options_.duration->count() < 0) {
    problems.error(out_of_range("LC0517", {"Timer", {"duration"}}, ">= 0", fmt::format("{} s", options_.duration->count()),
                                "a duration of zero or more", "e.g. .duration = std::chrono::hours(12)"));
  }
  problems.throw_if_errors();
}

double Timer::time_elapsed() const {
  if (!start_) return offset_;
  const auto end = end_.value_or(Clock::now());
  return std::chrono::duration<double>(end - *start_).count() + offset_;
}

std::optional<double> Timer::time_remaining() const {
  if (!options_.duration) return std::nullopt;
  return options_.duration->count() - time_elapsed();
}

c10::IValue Timer::state_dict() const {
  c10::impl::GenericDict elapsed(c10::StringType::get(), c10::AnyType::get());
  elapsed.insert("train", time_elapsed());
  c10::impl::GenericDict state(c10::StringType::get(), c10::AnyType::get());
  state.insert("time_elapsed", elapsed);
  return state;
}

void Timer::load_state_dict(const c10::IValue& state) {
  offset_ = state.toGenericDict().at("time_elapsed").toGenericDict().at("train").toDouble();
}

void Timer::on_train_start(const TrainerView&, LightningModule&) {
  start_ = Clock::now();
  end_.reset();
}

void Timer::on_train_end(const TrainerView&, LightningModule&) { end_ = Clock::now(); }

void Timer::on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&, int64_t) {
  if (options_.interval == "step") check(trainer);
}

void Timer::on_train_epoch_end(const TrainerView& trainer, LightningModule&) {
  if (options_.interval == "epoch") check(trainer);
}

void Timer::check(const TrainerView& trainer) {
  if (!options_.duration || time_elapsed() < options_.duration->count()) return;
  if (options_.verbose && !trainer.should_stop()) {
    console::info(fmt::format("Timer: time limit reached after {:.1f} s. Signaling Trainer to stop.", time_elapsed()));
  }
  trainer.request_stop();
}

std::optional<std::chrono::duration<double>> parse_duration(const std::string& text) {
  static const std::regex pattern(R"((\d+):(\d{1,2}):(\d{1,2}):(\d{1,2}))");
  std::smatch match;
  if (!std::regex_match(text, match, pattern)) return std::nullopt;
  const double days = std::stod(match[1]), hours = std::stod(match[2]), minutes = std::stod(match[3]),
               seconds = std::stod(match[4]);
  if (hours >= 24 || minutes >= 60 || seconds >= 60) return std::nullopt;
  return std::chrono::duration<double>(((days * 24 + hours) * 60 + minutes) * 60 + seconds);
}

}  // namespace lightning
