#pragma once

namespace lightning {

/// Keeps glibc's malloc from handing freed tensor buffers back to the kernel after every step.
///
/// glibc serves blocks of a few hundred KB with mmap and trims the heap eagerly, so a training
/// step that frees and reallocates its activations and gradients pays hundreds of minor page
/// faults (measured: ~360 per step of a 784-256-10 MLP at batch 64, half its throughput). This
/// raises M_MMAP_THRESHOLD to 32 MiB and M_TRIM_THRESHOLD to 256 MiB, once per process. The
/// Trainer calls it at the start of every run; it does nothing when the user set
/// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or LIGHTNING_KEEP_MALLOC in the environment,
/// or when the C library is not glibc.
void tune_malloc_for_training();

}  // namespace lightning
