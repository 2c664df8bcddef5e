// Must not compile: on_train_batch_end declared without its `outputs` argument (Lightning 1.x's
// signature). `override` turns the silent mismatch into a compile error.
#include <lightning/lightning.h>

namespace pl = lightning;

struct Printer : pl::Callback {
  void on_train_batch_end(const pl::TrainerView& trainer, pl::LightningModule& module, const pl::Batch& batch,
                          int64_t batch_idx) override {}
};

int main() { Printer printer; }
