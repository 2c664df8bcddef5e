#!/usr/bin/env python3
"""Kills `lightning-cpp fit` at random points and checks what a requeued job relies on.

    kill_battery_test.py COMMAND SOURCE_DIR [SEED]

1. A small fit (iris; last.ckpt and the 2 best by train_loss saved after every step) is started
   with `--ckpt_path=last` again and again, each time killed at a random moment by SIGKILL or
   SIGTERM, then left to finish. Its final weights and optimizer state must equal bitwise those of
   a run never interrupted, no temporary file may be left, and its top-k files must be those of
   the uninterrupted run, each named in the ranking of last.ckpt. The first start has no
   checkpoint yet: "last" must start afresh. A SIGTERM that reaches the fit must exit with
   128 + 15 and say where it saved.
2. Under SLURM (its variables set, a stand-in `scontrol` on PATH), SIGUSR1 saves, requeues the job
   and exits with 128 + 10.
3. A larger model (a 48 MB checkpoint after every step) is killed with SIGKILL during its saves:
   every checkpoint file left behind must load in Python.

Every process is bounded in time and killed on the way out.
"""
import glob
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import torch

COMMAND, SOURCE = sys.argv[1], sys.argv[2]
RNG = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 2026)
TIMEOUT_S = 120


def config(folder, hidden, epochs):
    return f"""seed_everything: 5
trainer:
  max_epochs: {epochs}
  logger: false
  enable_progress_bar: false
  enable_model_summary: false
  default_root_dir: {folder}
  callbacks:
    - class_path: ModelCheckpoint
      init_args: {{dirpath: {folder}/checkpoints, every_n_train_steps: 1, monitor: train_loss, save_top_k: 2,
                   save_last: true}}
model:
  class_path: MLPClassifier
  init_args: {{in_features: 4, out_features: 3, hidden: {hidden}}}
data:
  class_path: CSVDataModule
  init_args: {{path: {SOURCE}/examples/data/iris.csv, skip_rows: 1, batch_size: 16}}
"""


def start(folder, *extra, env=None):
    return subprocess.Popen([COMMAND, "fit", "--config", f"{folder}/config.yaml", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(process):
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise SystemExit(f"FAIL: a fit ran past {TIMEOUT_S} s\n{err}")
    return process.returncode, out, err


def prepare(folder, hidden, epochs):
    os.makedirs(folder)
    with open(f"{folder}/config.yaml", "w") as file:
        file.write(config(folder, hidden, epochs))


def state(path):
    checkpoint = torch.load(path, map_location="cpu")
    return checkpoint["global_step"], checkpoint["state_dict"], checkpoint["optimizer_states"]


def same_tensors(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b))
    return a == b


def wait_for_save(folder, process):
    """Until `process` has begun a checkpoint save (a temporary file of its pid)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not glob.glob(f"{folder}/checkpoints/.*-{process.pid}") and time.monotonic() < deadline:
        if process.poll() is not None:
            return
        time.sleep(0.002)


def temporaries(folder):
    return glob.glob(f"{folder}/checkpoints/.*")


def top_k_files(folder):
    """The top-k files in the folder, and those the ranking in its last.ckpt names."""
    present = {os.path.basename(p) for p in glob.glob(f"{folder}/checkpoints/*.ckpt")}
    callbacks = torch.load(f"{folder}/checkpoints/last.ckpt", map_location="cpu")["callbacks"]
    ranking = next(v for k, v in callbacks.items() if k.startswith("ModelCheckpoint"))["best_k_models"]
    return sorted(p for p in present if not p.startswith("last")), sorted(os.path.basename(p) for p in ranking)


def kills_resume_bitwise(work):
    plain = f"{work}/plain"
    prepare(plain, "[16]", 300)  # 2,100 steps, about 2 s here
    code, _, err = finish(start(plain))
    assert code == 0, err
    expected = state(f"{plain}/checkpoints/last.ckpt")

    killed = f"{work}/killed"
    prepare(killed, "[16]", 300)
    kills = {"SIGKILL": 0, "SIGTERM": 0, "SIGTERM reported": 0}  # by name
    first = True
    for attempt in range(8):
        process = start(killed, "--ckpt_path=last")
        # SIGKILL anywhere, start-up included; SIGTERM once this process saves (inside fit).
        which = [signal.SIGTERM, signal.SIGKILL][attempt % 2]
        if which == signal.SIGTERM:
            wait_for_save(killed, process)
        time.sleep(RNG.uniform(0.0, 0.4) if which == signal.SIGTERM else RNG.uniform(0.3, 1.0))
        process.send_signal(which)
        code, _, err = finish(process)
        if first:
            assert "warning[LC0407]" in err, f"the first start has no checkpoint: expected LC0407\n{err}"
            first = False
        if code == 0:
            break  # it finished before the signal came
        kills[which.name] += 1
        if which == signal.SIGTERM:
            assert code == 128 + signal.SIGTERM, f"SIGTERM in fit: exit {code}\n{err}"
            assert "fit: interrupted by SIGTERM in epoch" in err and "last-interrupted.ckpt" in err, err
            kills["SIGTERM reported"] += 1
    assert kills["SIGKILL"] >= 2 and kills["SIGTERM"] >= 2, f"too few kills landed: {kills}"
    code, out, err = finish(start(killed, "--ckpt_path=last"))
    assert code == 0, err
    got = state(f"{killed}/checkpoints/last.ckpt")
    assert got[0] == expected[0], f"global_step {got[0]} != {expected[0]}"
    assert same_tensors(got[1], expected[1]), "weights differ from the run never interrupted"
    assert same_tensors(got[2], expected[2]), "optimizer states differ from the run never interrupted"
    assert not temporaries(killed), f"temporary files left: {temporaries(killed)}"
    # A kill between a save's files once left a top-k file the resumed ranking did not know.
    files, ranked = top_k_files(killed)
    assert files == ranked == top_k_files(plain)[0], f"top-k files {files}, ranked {ranked}, uninterrupted {top_k_files(plain)[0]}"
    print(f"killed {kills['SIGKILL']} times by SIGKILL and {kills['SIGTERM']} by SIGTERM (each exit 143 with its "
          f"line); resumed bitwise: True; temporary files left: 0; top-k files as uninterrupted: {files}")


def slurm_requeues(work):
    folder = f"{work}/slurm"
    prepare(folder, "[16]", 100000)
    os.makedirs(f"{work}/bin")
    with open(f"{work}/bin/scontrol", "w") as file:
        file.write(f"#!/bin/sh\necho \"$@\" > {work}/scontrol.args\n")
    os.chmod(f"{work}/bin/scontrol", 0o755)
    env = dict(os.environ, PATH=f"{work}/bin:" + os.environ["PATH"], SLURM_JOB_ID="4242", SLURM_NTASKS="1",
               SLURM_PROCID="0", SLURM_LOCALID="0", SLURM_NODEID="0", SLURM_JOB_NAME="train",
               SLURM_NODELIST="127.0.0.1")
    process = start(folder, env=env)
    wait_for_save(folder, process)  # in fit
    process.send_signal(signal.SIGUSR1)
    code, _, err = finish(process)
    assert code == 128 + signal.SIGUSR1, f"exit {code}\n{err}"
    assert "fit: interrupted by SIGUSR1" in err and "requeued SLURM job 4242" in err, err
    with open(f"{work}/scontrol.args") as file:
        args = file.read().strip()
    assert args == "requeue 4242", args
    step = state(f"{folder}/checkpoints/last-interrupted.ckpt")[0]
    print(f"SIGUSR1 under SLURM: exit {code}, scontrol {args}, checkpoint at step {step}")


def kills_during_saves_leave_loadable_files(work):
    folder = f"{work}/large"
    prepare(folder, "[2048, 2048]", 1000)
    loaded, in_saves = 0, 0
    for attempt in range(4):
        process = start(folder, "--ckpt_path=last")
        wait_for_save(folder, process)
        time.sleep(RNG.uniform(0.0, 1.0))
        mine = f"{folder}/checkpoints/.*-{process.pid}"
        while glob.glob(mine) and process.poll() is None:
            time.sleep(0.001)  # until the save under way ends,
        while not glob.glob(mine) and process.poll() is None:
            time.sleep(0.001)  # and the next one begins
        time.sleep(RNG.uniform(0.0, 0.02))
        process.kill()
        finish(process)
        in_saves += bool(glob.glob(mine))
        for path in glob.glob(f"{folder}/checkpoints/*.ckpt"):
            torch.load(path, map_location="cpu")
            loaded += 1
    assert in_saves >= 1, "no kill landed during a save"
    size = os.path.getsize(f"{folder}/checkpoints/last.ckpt") / 1e6
    print(f"killed 4 times by SIGKILL, {in_saves} during a {size:.0f} MB save: {loaded} checkpoint files left loaded "
          "in Python")


with tempfile.TemporaryDirectory() as work:
    kills_resume_bitwise(work)
    slurm_requeues(work)
    kills_during_saves_leave_loadable_files(work)
print("kill battery: passed")
