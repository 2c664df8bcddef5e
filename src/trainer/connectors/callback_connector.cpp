#include "trainer/connectors/callback_connector.h"

#include <lightning/callbacks/model_checkpoint.h>
#include <lightning/callbacks/model_summary.h>
#include <lightning/callbacks/progress_bar.h>
#include <lightning/callbacks/timer.h>
#include <lightning/loggers/csv_logger.h>
#include <lightning/loggers/tensorboard_logger.h>

#include <fmt/format.h>

#include <map>

namespace lightning::detail {
namespace {

template <class C>
bool is(const std::shared_ptr<Callback>& callback) {
  return dynamic_cast<const C*>(callback.get()) != nullptr;
}

template <class C>
bool any_of(const std::vector<std::shared_ptr<Callback>>& callbacks) {
  return std::any_of(callbacks.begin(), callbacks.end(), [](const auto& c) { return is<C>(c); });
}

Diagnostic contradicted(const char* option, const char* callback) {
  return {.code = "LC0121",
          .message = fmt::format("Trainer option `{}` is false, but `callbacks` holds a {}", option, callback),
          .subject = {"Trainer", {option, "callbacks"}},
          .received = fmt::format("{} = false with a {}", option, callback),
          .expected = fmt::format("{} = true (the default) to use a {}", option, callback),
          .help = fmt::format("remove `.{} = false`, or remove the {} from the callbacks", option, callback)};
}

}  // namespace

std::vector<std::shared_ptr<Callback>> configure_callbacks(const TrainerOptions& options, DiagnosticCollector& problems) {
  const auto& given = options.callbacks;
  if (!options.enable_checkpointing && any_of<ModelCheckpoint>(given)) problems.error(contradicted("enable_checkpointing", "ModelCheckpoint"));
  if (!options.enable_progress_bar && any_of<ProgressBar>(given)) problems.error(contradicted("enable_progress_bar", "ProgressBar"));
  if (!options.enable_model_summary && any_of<ModelSummary>(given)) problems.error(contradicted("enable_model_summary", "ModelSummary"));

  std::vector<std::shared_ptr<Callback>> callbacks, checkpoints;
  for (const auto& callback : given) (is<ModelCheckpoint>(callback) ? checkpoints : callbacks).push_back(callback);
  if (options.enable_progress_bar && !any_of<ProgressBar>(given)) callbacks.push_back(std::make_shared<ProgressBar>());
  if (options.enable_model_summary && !any_of<ModelSummary>(given)) callbacks.push_back(std::make_shared<ModelSummary>());
  if (options.max_time && !any_of<Timer>(given)) {
    if (const auto duration = parse_duration(*options.max_time)) {
      callbacks.push_back(std::make_shared<Timer>(TimerOptions{.duration = *duration}));
    }
  }
  if (options.enable_checkpointing && checkpoints.empty()) checkpoints.push_back(std::make_shared<ModelCheckpoint>());
  callbacks.insert(callbacks.end(), checkpoints.begin(), checkpoints.end());

  std::map<std::string, std::size_t> owners;
  for (std::size_t i = 0; i < callbacks.size(); ++i) {
    if (callbacks[i]->state_dict().isNone()) continue;
    const std::string key = callbacks[i]->state_key();
    if (auto [it, fresh] = owners.emplace(key, i); !fresh) {
      problems.error({.code = "LC0509",
                      .message = fmt::format("two callbacks keep their state under the same key \"{}\"", key),
                      .subject = {"Trainer", {"callbacks"}},
                      .received = fmt::format("two callbacks with state_key() \"{}\"", key),
                      .expected = "a distinct state_key for each callback that saves state",
                      .help = "give them different options (monitor, mode, every_n_*), or override state_key() "
                              "so each one's state is restored into the right callback"});
    }
  }
  return callbacks;
}

std::vector<std::shared_ptr<Logger>> configure_loggers(const TrainerOptions& options, const Settings& settings) {
  if (!settings.loggers_enabled) return {};
  if (!options.logger.loggers().empty()) return options.logger.loggers();
  const std::string& root = settings.default_root_dir;
  // Both write into one folder, lightning_logs/version_<N>, as a Lightning user expects.
  auto tensorboard = std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions{.save_dir = root});
  auto csv = std::make_shared<CSVLogger>(CSVLoggerOptions{.save_dir = root, .version = tensorboard->version()});
  return {tensorboard, csv};
}

}  // namespace lightning::detail
