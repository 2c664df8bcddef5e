// libFuzzer target: load_checkpoint_file on any bytes. A file it accepts is read whole (every
// tensor summed, the weights loaded into a small module), so a view beyond its bytes shows under
// AddressSanitizer; a file it refuses must be refused with MisconfigurationException.
#include "fuzz_input.h"

#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/diagnostics/diagnostic.h>

#include "checkpoint/python_pickle.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = lightning::fuzz::as_file(data, size, "input.ckpt");
  try {
    const lightning::Checkpoint checkpoint = lightning::load_checkpoint_file(path);
    lightning::detail::visit_tensors(checkpoint, [](const std::string&, const at::Tensor& tensor) {
      // Every byte of the storage, then the view itself when it is small (an expanded view of
      // stride 0 may stand for billions of elements of one value: legitimate, but slow to sum).
      if (tensor.has_storage() && tensor.storage().nbytes() > 0) {
        (void)at::from_blob(tensor.storage().data(), {static_cast<int64_t>(tensor.storage().nbytes())}, at::kByte)
            .sum()
            .item<int64_t>();
      }
      if (tensor.numel() <= (1 << 20) && (tensor.is_floating_point() || tensor.scalar_type() == at::kLong)) {
        (void)tensor.sum().item<double>();
      }
      return true;
    });
    torch::nn::Linear layer(4, 2);  // the seed corpus' weights fit it
    if (checkpoint.contains("state_dict")) lightning::load_module_state_dict(*layer, checkpoint.at("state_dict"), path);
  } catch (const lightning::MisconfigurationException&) {
  }
  return 0;
}
