// Must not compile: a Dataset passed where a DataLoader belongs. The test checks the message.
#include <lightning/lightning.h>

#include <ATen/ATen.h>

namespace pl = lightning;

int main() {
  struct Model : pl::LightningModule {};
  Model model;
  pl::Trainer trainer({.max_epochs = 1});
  trainer.fit(model, pl::TensorDataset(at::zeros({4, 2}), at::zeros({4})));
}
