#pragma once

#include <lightning/callbacks/callback.h>

#include <string>

namespace lightning {

struct OnExceptionCheckpointOptions {
  /// Folder of the checkpoint (required).
  std::string dirpath = "";
  /// File name without ".ckpt".
  std::string filename = "on_exception";
};

/// Saves a checkpoint when a run ends with an exception or is stopped by SIGTERM or SIGINT
/// (Lightning's OnExceptionCheckpoint), so that `fit(..., ckpt_path)` can resume it.
///
/// Throws MisconfigurationException without a `dirpath` (LC0518); fit reports a folder it cannot
/// write to before its first step (LC0518).
class OnExceptionCheckpoint : public Callback {
 public:
  explicit OnExceptionCheckpoint(OnExceptionCheckpointOptions options);
  /// `<dirpath>/<filename>.ckpt`.
  std::string ckpt_path() const;

  void preflight(const TrainerView& trainer, const std::set<std::string>& logged_keys,
                 DiagnosticCollector& problems) const override;
  void on_exception(const TrainerView& trainer, LightningModule& module, const std::exception& exception) override;

 private:
  OnExceptionCheckpointOptions options_;
};

}  // namespace lightning
