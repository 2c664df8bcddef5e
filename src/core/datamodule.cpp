#include <lightning/core/datamodule.h>

namespace lightning {

void DataModule::save_hyperparameters(HyperParameters hparams) {
  for (auto& [name, value] : hparams) hparams_[name] = std::move(value);
}

}  // namespace lightning
