#pragma once

#include <lightning/callbacks/callback.h>

#include <cstdint>
#include <string>

namespace lightning {

/// The table ModelSummary prints: one row per submodule down to `max_depth` (name, type,
/// parameter count), then trainable, non-trainable and total parameters and their size in MB
/// (4 bytes each, float32), in Lightning's layout.
std::string summarize(const torch::nn::Module& module, int64_t max_depth = 1);

/// Prints the module's summary when fit starts (Lightning's ModelSummary; `enable_model_summary`
/// adds one).
class ModelSummary : public Callback {
 public:
  explicit ModelSummary(int64_t max_depth = 1) : max_depth_(max_depth) {}
  void on_fit_start(const TrainerView& trainer, LightningModule& module) override;

 private:
  int64_t max_depth_;
};

}  // namespace lightning
