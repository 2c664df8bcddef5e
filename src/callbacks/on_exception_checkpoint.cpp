#include <lightning/callbacks/on_exception_checkpoint.h>

#include <lightning/utilities/console.h>
#include <lightning/utilities/paths.h>

#include <fmt/format.h>

#include <filesystem>

namespace lightning {

OnExceptionCheckpoint::OnExceptionCheckpoint(OnExceptionCheckpointOptions options) : options_(std::move(options)) {
  if (!options_.dirpath.empty()) return;
  throw MisconfigurationException({Diagnostic{
      .code = "LC0518",
      .message = "OnExceptionCheckpoint has no `dirpath`",
      .subject = {"OnExceptionCheckpoint", {"dirpath"}},
      .received = "\"\"",
      .expected = "the folder to save the checkpoint in",
      .help = "e.g. .dirpath = \"checkpoints\""}});
}

std::string OnExceptionCheckpoint::ckpt_path() const {
  return (std::filesystem::path(options_.dirpath) / (options_.filename + ".ckpt")).string();
}

void OnExceptionCheckpoint::preflight(const TrainerView&, const std::set<std::string>&, DiagnosticCollector& problems) const {
  const auto problem = unusable_folder(options_.dirpath);
  if (!problem) return;
  problems.error({.code = "LC0518",
                  .message = fmt::format("OnExceptionCheckpoint cannot save to \"{}\": {}", options_.dirpath, *problem),
                  .subject = {"OnExceptionCheckpoint", {"dirpath"}},
                  .received = fmt::format("\"{}\"", options_.dirpath),
                  .expected = "a folder that exists or can be created, writable",
                  .help = "choose a dirpath you can write to"});
}

void OnExceptionCheckpoint::on_exception(const TrainerView& trainer, LightningModule&, const std::exception& exception) {
  // A misconfiguration ends fit before its first step: there is nothing to save, and saving would
  // replace a useful on_exception.ckpt of an earlier run with untrained weights.
  if (trainer.stage() != Stage::kFit || dynamic_cast<const MisconfigurationException*>(&exception)) return;
  trainer.save_checkpoint(ckpt_path());
  console::info(fmt::format("OnExceptionCheckpoint: saved \"{}\" at global step {} ({})", ckpt_path(),
                            trainer.global_step(), exception.what()));
}

}  // namespace lightning
