// A training process for SignalTest: fits until a SIGTERM arrives from outside, then reports.
//
//   sigterm_child <folder>   writes <folder>/started after its first step, and on SIGTERM saves
//                            <folder>/on_exception.ckpt and prints "interrupted <signal> <steps>"

#include "support/support.h"

#include <cstdio>
#include <fstream>

int main(int argc, char** argv) {
  namespace pl = lightning;
  if (argc < 2) return 2;
  const std::string folder = argv[1];
  pl::testing::BoringModel model;
  auto started = std::make_shared<pl::LambdaCallback>(pl::LambdaCallbackOptions{
      .on_train_batch_end = [&](const pl::TrainerView& trainer, pl::LightningModule&, const pl::StepOutput&,
                                const pl::Batch&, int64_t) {
        if (trainer.global_step() == 1) std::ofstream(folder + "/started") << "1";
      }});
  auto on_exception = std::make_shared<pl::OnExceptionCheckpoint>(pl::OnExceptionCheckpointOptions{.dirpath = folder});
  pl::Trainer trainer({.max_epochs = -1, .callbacks = {started, on_exception}, .logger = false,
                       .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, pl::testing::random_loader(64, 4));
  std::printf("interrupted %d %lld\n", trainer.view().received_signal(), static_cast<long long>(trainer.global_step()));
  return trainer.interrupted() ? 0 : 1;
}
