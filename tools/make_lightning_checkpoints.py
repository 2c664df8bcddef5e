"""Checkpoints written by PyTorch Lightning's own Trainer, for lightning-cpp's tests of resuming from
them (tests/checkpoint/lightning/). Needs PyTorch and Lightning (a GPU machine of the device tool
has both; this VM has no Lightning). Runs on the CPU, without randomness after the weights' seed,
so that lightning-cpp can repeat the run exactly: integer-valued data, no shuffling, no dropout.

    python3 tools/make_lightning_checkpoints.py OUT

Writes into OUT:
  epoch00.ckpt  ModelCheckpoint's, at the end of epoch 0 (6 batches of 16)
  mid.ckpt      saved by a callback after the third batch of epoch 1 (global step 9)
  end.ckpt      trainer.save_checkpoint after fit (3 epochs, 18 steps)
  resumed_from_epoch00.ckpt, resumed_from_mid.ckpt
                Lightning's own resume of those two, fit on to 3 epochs, saved after fit
  layout.txt    every entry of each file but the weights, with types and values
"""
import os
import sys

import torch
import torch.nn as nn

try:
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
except ImportError:
    import pytorch_lightning as L
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)

SAMPLES, FEATURES, CLASSES = 96, 16, 4


def data():
    i = torch.arange(SAMPLES).unsqueeze(1)
    j = torch.arange(FEATURES).unsqueeze(0)
    x = ((i * 7 + j * 13) % 17).float() / 16.0  # exact in float32
    y = (torch.arange(SAMPLES) * 3 + torch.arange(SAMPLES) // 5) % CLASSES
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=False)


class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, CLASSES))

    def training_step(self, batch, batch_idx):
        loss = nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]


class SaveMidEpoch(L.Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == 9:
            trainer.save_checkpoint(os.path.join(OUT, "mid.ckpt"))


def trainer(*callbacks):
    checkpoint = ModelCheckpoint(
        dirpath=OUT, filename="epoch{epoch:02d}", auto_insert_metric_name=False, monitor="train_loss",
        mode="min", save_top_k=-1, every_n_epochs=1)
    stopping = EarlyStopping(monitor="train_loss", patience=10)
    return L.Trainer(max_epochs=3, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=[checkpoint, stopping, *callbacks])


torch.manual_seed(0)
first = trainer(SaveMidEpoch())
first.fit(Net(), data())
first.save_checkpoint(os.path.join(OUT, "end.ckpt"))
for name in ["epoch01.ckpt", "epoch02.ckpt"]:
    os.remove(os.path.join(OUT, name))  # one epoch's end is enough

for start in ["epoch00", "mid"]:
    again = trainer()
    torch.manual_seed(1)  # other initial weights: the checkpoint's must replace them
    again.fit(Net(), data(), ckpt_path=os.path.join(OUT, f"{start}.ckpt"))
    again.save_checkpoint(os.path.join(OUT, f"resumed_from_{start}.ckpt"))
    for name in ["epoch01.ckpt", "epoch02.ckpt"]:
        if os.path.exists(os.path.join(OUT, name)):
            os.remove(os.path.join(OUT, name))


def layout(value, name, lines):
    if isinstance(value, dict):
        if not value:
            lines.append(f"{name}: dict {{}}")
        for key, item in value.items():
            layout(item, f"{name}[{key!r}]", lines)
    elif isinstance(value, (list, tuple)):
        lines.append(f"{name}: {type(value).__name__} of {len(value)}")
        for index, item in enumerate(value):
            layout(item, f"{name}[{index}]", lines)
    elif isinstance(value, torch.Tensor):
        shown = f" {value.item()!r}" if value.numel() == 1 else ""
        lines.append(f"{name}: tensor {value.dtype} {list(value.shape)}{shown}")
    else:
        lines.append(f"{name}: {type(value).__name__} {value!r}")


lines = [f"Lightning {L.__version__}, torch {torch.__version__}"]
for name in ["epoch00", "mid", "end", "resumed_from_epoch00", "resumed_from_mid"]:
    checkpoint = torch.load(os.path.join(OUT, f"{name}.ckpt"), weights_only=False)
    lines.append(f"== {name}.ckpt")
    for key, value in checkpoint.items():
        if key == "state_dict":
            lines.append(f"['state_dict']: {', '.join(f'{k} {list(v.shape)}' for k, v in value.items())}")
        else:
            layout(value, f"[{key!r}]", lines)
with open(os.path.join(OUT, "layout.txt"), "w") as file:
    file.write("\n".join(lines) + "\n")
print("\n".join(lines))
