// Resuming fit from a checkpoint ends with bitwise the weights of a run never interrupted; Python
// reads our checkpoints and we read Python's.

#include "support/support.h"

#include <lightning/utilities/console.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/optim/adam.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <csignal>
#include <filesystem>

namespace lightning {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

/// Dropout (the random generator), Adam (optimizer state), a step scheduler and shuffled data:
/// everything a resume must restore to follow the same trajectory.
struct NoisyModel : LightningModule {
  torch::nn::Linear hidden{nullptr}, out{nullptr};
  torch::nn::Dropout dropout{nullptr};
  NoisyModel() {
    hidden = register_module("hidden", torch::nn::Linear(32, 16));
    out = register_module("out", torch::nn::Linear(16, 2));
    dropout = register_module("dropout", torch::nn::Dropout(0.3));
  }
  at::Tensor loss(const Batch& batch) {
    auto logits = out(dropout(torch::nn::functional::relu(hidden(batch[0]))));
    return torch::nn::functional::cross_entropy(logits, batch[1]);
  }
  StepOutput training_step(const Batch& batch, int64_t) override {
    auto value = loss(batch);
    log("train_loss", value);
    return value;
  }
  StepOutput validation_step(const Batch& batch, int64_t) override {
    log("val_loss", loss(batch));
    return {};
  }
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config;
    auto& adam = config.add(std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(0.01)));
    config.add_scheduler(std::make_unique<StepLR>(adam, StepLROptions{.step_size = 5, .gamma = 0.5}), {.interval = "step"});
    return config;
  }
};

/// Stands for a kill: fit ends with an exception after optimizer step `step`.
struct CrashAt : Callback {
  int64_t step;
  explicit CrashAt(int64_t step) : step(step) {}
  void on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&, int64_t) override {
    if (trainer.global_step() == step) throw std::runtime_error("killed");
  }
};

DataLoader shuffled_train() { return DataLoader(testing::random_dataset(40, 1), {.batch_size = 4, .shuffle = true, .seed = 3}); }
DataLoader val() { return DataLoader(testing::random_dataset(12, 2), {.batch_size = 4}); }

TrainerOptions options(const std::string& root, std::vector<std::shared_ptr<Callback>> callbacks,
                       const std::string& accelerator = "cpu") {
  return {.max_epochs = 3, .accelerator = accelerator, .devices = 1, .callbacks = std::move(callbacks), .logger = false,
          .enable_progress_bar = false, .enable_model_summary = false, .default_root_dir = root};
}

/// Weights after 3 epochs (30 steps) without interruption.
at::Tensor uninterrupted_weights(const std::string& root, const std::string& accelerator = "cpu") {
  seed_everything(11);
  NoisyModel model;
  Trainer trainer(options(root, {}, accelerator));
  trainer.fit(model, shuffled_train(), val());
  EXPECT_EQ(trainer.global_step(), 30);
  return testing::flat_parameters(model);
}

struct KilledAndResumed {
  at::Tensor uninterrupted, resumed;
};

/// A fit on `accelerator` killed after step 17 (checkpoints every 7 steps) and resumed from last,
/// beside the same fit uninterrupted.
KilledAndResumed kill_and_resume(const TempDir& dir, const std::string& accelerator) {
  KilledAndResumed run{.uninterrupted = uninterrupted_weights(dir / "a", accelerator)};
  seed_everything(11);
  NoisyModel crashed;
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .dirpath = dir / "ckpts", .save_last = true, .save_top_k = -1, .every_n_train_steps = 7});
  Trainer first(options(dir / "b", {std::make_shared<CrashAt>(17), checkpoint}, accelerator));
  EXPECT_THROW(first.fit(crashed, shuffled_train(), val()), std::runtime_error);
  EXPECT_EQ(testing::files_in(dir / "ckpts"),
            (std::vector<std::string>{"epoch=0-step=7.ckpt", "epoch=1-step=14.ckpt", "last.ckpt"}));

  // A new process would start from scratch: new module, new trainer, another seed.
  seed_everything(999);
  NoisyModel resumed;
  auto again = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .dirpath = dir / "ckpts", .save_last = true, .save_top_k = -1, .every_n_train_steps = 7});
  Trainer second(options(dir / "b", {again}, accelerator));
  second.fit(resumed, shuffled_train(), val(), "last");
  EXPECT_EQ(second.global_step(), 30);
  EXPECT_EQ(second.current_epoch(), 3);
  run.resumed = testing::flat_parameters(resumed);
  EXPECT_EQ(testing::files_in(dir / "ckpts"),
            (std::vector<std::string>{"epoch=0-step=7.ckpt", "epoch=1-step=14.ckpt", "epoch=2-step=21.ckpt",
                                      "epoch=2-step=28.ckpt", "last.ckpt"}));
  EXPECT_EQ(load_checkpoint_file(dir / "ckpts/last.ckpt").at("global_step").toInt(), 30)
      << "save_last also saves at each epoch's end, as in Lightning";
  return run;
}

TEST(Resume, AFitKilledMidEpochAndResumedFromLastEndsWithBitwiseTheSameWeights) {
  TempDir dir;
  const auto run = kill_and_resume(dir, "cpu");
  EXPECT_TRUE(run.resumed.equal(run.uninterrupted));
}

// Dropout on the GPU draws from the GPU's generator, which the checkpoint keeps as Lightning does
// (rng_states["torch.cuda"]); without it the resumed run's masks differ and so do the weights.
TEST(Resume, AFitKilledOnTheGpuAndResumedThereFollowsTheSameTrajectory_CUDA) {
  LIGHTNING_SKIP_WITHOUT_CUDA();
  TempDir dir;
  const auto run = kill_and_resume(dir, "gpu");
  EXPECT_TRUE(at::allclose(run.resumed, run.uninterrupted, /*rtol=*/1e-5, /*atol=*/1e-6))
      << (run.resumed - run.uninterrupted).abs().max().item<double>();
}

TEST(Resume, FromACheckpointSavedAtAnEpochsEndStartsTheNextEpoch) {
  TempDir dir;
  const at::Tensor expected = uninterrupted_weights(dir / "a");

  seed_everything(11);
  NoisyModel first_model;
  auto per_epoch = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts", .filename = "{epoch}", .save_top_k = -1});
  Trainer first(options(dir / "b", {per_epoch}));
  first.fit(first_model, shuffled_train(), val());
  EXPECT_EQ(testing::files_in(dir / "ckpts"), (std::vector<std::string>{"epoch=0.ckpt", "epoch=1.ckpt", "epoch=2.ckpt"}));

  seed_everything(5);
  NoisyModel resumed;
  Trainer second(options(dir / "c", {}));
  second.fit(resumed, shuffled_train(), val(), dir / "ckpts/epoch=0.ckpt");
  EXPECT_EQ(second.global_step(), 30);
  EXPECT_TRUE(testing::flat_parameters(resumed).equal(expected));

  // The same checkpoint as a machine with two GPUs saves it: their generators' states are kept
  // for the GPUs the resuming machine has, here none.
  testing::run_python("import sys, torch; c = torch.load(sys.argv[1]); "
                      "c['rng_states']['torch.cuda'] = [torch.zeros(16, dtype=torch.uint8)] * 2; torch.save(c, sys.argv[2])",
                      {dir / "ckpts/epoch=0.ckpt", dir / "gpus.ckpt"});
  NoisyModel resumed_from_gpus;
  Trainer third(options(dir / "d", {}));
  third.fit(resumed_from_gpus, shuffled_train(), val(), dir / "gpus.ckpt");
  EXPECT_TRUE(testing::flat_parameters(resumed_from_gpus).equal(expected));
}

/// Stands for a scheduler's preemption (SIGTERM) or a Ctrl-C (SIGINT) during optimizer step `step`.
struct SignalAt : Callback {
  int64_t step;
  int signal;
  SignalAt(int64_t step, int signal) : step(step), signal(signal) {}
  void on_train_batch_end(const TrainerView& trainer, LightningModule&, const StepOutput&, const Batch&, int64_t) override {
    if (trainer.global_step() == step) std::raise(signal);
  }
};

TEST(Resume, SigtermStopsAtTheBatchBoundarySavesAndResumesBitwise) {
  TempDir dir;
  const at::Tensor expected = uninterrupted_weights(dir / "a");

  seed_everything(11);
  NoisyModel preempted;
  auto on_exception = std::make_shared<OnExceptionCheckpoint>(OnExceptionCheckpointOptions{.dirpath = dir / "ckpts"});
  Trainer first({.max_epochs = 3, .callbacks = {std::make_shared<SignalAt>(13, SIGTERM), on_exception},
                 .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false,
                 .default_root_dir = dir / "b"});
  first.fit(preempted, shuffled_train(), val());  // returns: the process lives on
  EXPECT_TRUE(first.interrupted());
  EXPECT_EQ(first.view().received_signal(), SIGTERM);
  EXPECT_EQ(first.global_step(), 13) << "stopped at the boundary after the batch the signal arrived in";
  EXPECT_TRUE(std::filesystem::exists(dir / "b/lightning_logs/version_0/metrics.csv")) << "the logger finished";

  seed_everything(3);
  NoisyModel resumed;
  Trainer second(options(dir / "c", {}));
  second.fit(resumed, shuffled_train(), val(), on_exception->ckpt_path());
  EXPECT_FALSE(second.interrupted());
  EXPECT_TRUE(testing::flat_parameters(resumed).equal(expected));
}

TEST(Resume, CtrlCStopsFitTheSameWayAndTheHandlersAreRestoredAfter) {
  testing::BoringModel model;
  Trainer trainer({.max_epochs = 3, .callbacks = {std::make_shared<SignalAt>(2, SIGINT)}, .logger = false,
                   .enable_progress_bar = false, .enable_model_summary = false, .enable_checkpointing = false});
  trainer.fit(model, testing::random_loader(16, 4));
  EXPECT_TRUE(trainer.interrupted());
  EXPECT_EQ(trainer.view().received_signal(), SIGINT);
  EXPECT_EQ(trainer.global_step(), 2);
  struct sigaction now {};
  ::sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL) << "the default handler is back once fit returns";
}

TEST(Resume, TrainerSaveCheckpointAfterFitContinuesInASecondFit) {
  TempDir dir;
  const at::Tensor expected = uninterrupted_weights(dir / "a");  // 3 epochs

  seed_everything(11);
  NoisyModel first_model;
  TrainerOptions two_epochs = options(dir / "b", {});
  two_epochs.max_epochs = 2;
  Trainer first(two_epochs);
  EXPECT_THROW(first.save_checkpoint(dir / "early.ckpt"), std::logic_error);
  first.fit(first_model, shuffled_train(), val());
  first.save_checkpoint(dir / "after_two_epochs.ckpt");
  EXPECT_EQ(load_checkpoint_file(dir / "after_two_epochs.ckpt").at("global_step").toInt(), 20);

  seed_everything(4);
  NoisyModel resumed;
  Trainer second(options(dir / "c", {}));
  second.fit(resumed, shuffled_train(), val(), dir / "after_two_epochs.ckpt");
  EXPECT_TRUE(testing::flat_parameters(resumed).equal(expected));
}

// A job requeued with `ckpt_path: last` must work before its first save, as in Lightning: "last"
// without a last*.ckpt warns (LC0407) and trains from the start, exactly as a fit without it; an
// explicit path that is missing stays an error before any step.
TEST(Resume, LastWithoutACheckpointWarnsAndStartsAfreshAndAMissingFileIsLC0401BeforeAnyStep) {
  TempDir dir;
  const at::Tensor expected = uninterrupted_weights(dir / "plain");
  seed_everything(11);
  NoisyModel model;
  Trainer trainer(options(dir / "a", {}));
  console::forget_warnings();
  ::testing::internal::CaptureStderr();
  trainer.fit(model, shuffled_train(), val(), "last");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(printed, HasSubstr("warning[LC0407]: ckpt_path = \"last\" found no checkpoint: the fit starts from the beginning"));
  EXPECT_THAT(printed, HasSubstr("received: \"last\" with 1 ModelCheckpoint callback and no last*.ckpt"));
  EXPECT_EQ(trainer.global_step(), 30);
  EXPECT_TRUE(testing::flat_parameters(model).equal(expected));

  NoisyModel other;
  const at::Tensor before = testing::flat_parameters(other);
  Trainer second(options(dir / "b", {}));
  try {
    second.fit(other, shuffled_train(), val(), dir / "missing.ckpt");
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0401"));
  }
  EXPECT_EQ(second.global_step(), 0);
  EXPECT_TRUE(testing::flat_parameters(other).equal(before));
}

// Testing "last" without a checkpoint would test untrained weights: that stays LC0404.
TEST(Resume, TestWithLastButNoCheckpointIsLC0404) {
  TempDir dir;
  NoisyModel model;
  Trainer trainer(options(dir / "a", {}));
  try {
    trainer.test(model, val(), "last");
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0404"));
    EXPECT_THAT(e.what(), HasSubstr("ckpt_path = \"last\" found no checkpoint"));
  }
}

TEST(Resume, AWeightsOnlyCheckpointCannotResumeLC0405) {
  TempDir dir;
  NoisyModel model;
  auto weights_only = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts", .save_weights_only = true});
  Trainer({.max_epochs = 1, .callbacks = {weights_only}, .logger = false}).fit(model, shuffled_train());
  Trainer trainer(options(dir / "a", {}));
  try {
    trainer.fit(model, shuffled_train(), val(), weights_only->best_model_path());
    FAIL();
  } catch (const MisconfigurationException& e) {
    EXPECT_TRUE(e.has("LC0405"));
    EXPECT_THAT(e.what(), HasSubstr("has no \"optimizer_states\""));
  }
}

// A checkpoint of a Lightning whose loops lightning-cpp does not read (Lightning 2.x's are
// ResumeFromLightning's): its weights load, its training state is named field by field.
TEST(Resume, AnOlderPyTorchLightningCheckpointGivesItsWeightsButCannotResumeLC0406) {
  TempDir dir;
  NoisyModel trained;
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts"});
  Trainer({.max_epochs = 1, .callbacks = {checkpoint}, .logger = false}).fit(trained, shuffled_train());
  const std::string script =
      "import sys, torch; c = torch.load(sys.argv[1]); p = {'ready': 10, 'completed': '10'}; "
      "c['loops'] = {'fit_loop': {'state_dict': {}, 'epoch_loop.batch_progress': {'total': p, 'current': p}, "
      "'epoch_progress': {'total': p, 'current': p}}, 'validate_loop': {}}; "
      "del c['lightning_cpp_version'], c['rng_states']; c['pytorch-lightning_version'] = '1.4.9'; torch.save(c, sys.argv[2]); "
      "c = torch.load(sys.argv[1]); c['loops']['fit_loop']['epoch_finished'] = 1; "
      "c['lr_schedulers'] = {}; c['rng_states'] = {'torch': 5, 'torch.cuda': [5]}; torch.save(c, sys.argv[3])";
  testing::run_python(script, {checkpoint->best_model_path(), dir / "lightning.ckpt", dir / "odd_types.ckpt"});
  NoisyModel model;
  load_weights(model, dir / "lightning.ckpt");
  EXPECT_TRUE(testing::flat_parameters(model).equal(testing::flat_parameters(trained)));

  const auto resume_error = [&](const std::string& path) {
    Trainer trainer(options(dir / "a", {}));
    try {
      trainer.fit(model, shuffled_train(), val(), path);
    } catch (const MisconfigurationException& e) {
      EXPECT_EQ(trainer.global_step(), 0);
      return e;
    }
    throw std::runtime_error("the fit resumed from " + path);
  };
  const auto lightning = resume_error(dir / "lightning.ckpt");
  ASSERT_TRUE(lightning.has("LC0406"));
  EXPECT_THAT(lightning.what(), HasSubstr("lightning.ckpt\" cannot resume training here: its training state is not in lightning-cpp's layout"));
  EXPECT_THAT(lightning.what(), HasSubstr(
      "received: loops.fit_loop.epoch_progress.current.processed is missing, "
      "loops.fit_loop.epoch_progress.current.completed is str, "
      "loops.fit_loop.epoch_loop.batch_progress.current.processed is missing, "
      "loops.fit_loop.epoch_loop.batch_progress.total.processed is missing, "
      "loops.fit_loop.epoch_loop.batch_progress.total.completed is str, "
      "loops.fit_loop.epoch_loop.state_dict._batches_that_stepped is missing (written by PyTorch Lightning 1.4.9; "
      "lightning-cpp reads the loops of Lightning 2.x)\n"));
  EXPECT_THAT(lightning.what(), HasSubstr("help: start a new fit from its weights: pl::load_weights(model, path) before fit"));
  // Our layout with fields of other types: each is named with the type found.
  const auto odd_types = resume_error(dir / "odd_types.ckpt");
  ASSERT_TRUE(odd_types.has("LC0406"));
  EXPECT_THAT(odd_types.what(), HasSubstr("received: lr_schedulers is Dict(Any, Any), loops.fit_loop.epoch_finished is int, "
                                          "rng_states.torch is int, rng_states[\"torch.cuda\"] holds int\n"));
}

TEST(Resume, TestWithBestLoadsTheBestWeights) {
  TempDir dir;
  testing::ScriptedMetricModel model({3.0, 1.0, 2.0});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts", .monitor = "val_loss"});
  Trainer trainer({.max_epochs = 3, .callbacks = {checkpoint}, .logger = false});
  trainer.fit(model, testing::random_loader(8, 4), testing::random_loader(8, 4));
  ASSERT_THAT(checkpoint->best_model_path(), HasSubstr("epoch=1-step=4.ckpt"));
  testing::BoringModel fresh;
  load_weights(fresh, checkpoint->best_model_path());
  const at::Tensor best = testing::flat_parameters(fresh);
  trainer.test(model, testing::random_loader(8, 4), "best");
  EXPECT_TRUE(testing::flat_parameters(model).equal(best));
}

TEST(PythonInterop, TorchLoadReadsOurCheckpointWithLightningsKeys) {
  TempDir dir;
  testing::BoringModel model;
  model.save_hyperparameters({{"lr", 0.1}, {"hidden", int64_t{32}}});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts"});
  Trainer({.max_epochs = 2, .callbacks = {checkpoint}, .logger = false}).fit(model, testing::random_loader(12, 4));
  const std::string script =
      "import sys, torch; c = torch.load(sys.argv[1]); "
      "print(sorted(c.keys())); print(c['epoch'], c['global_step']); "
      "print('%.9g' % c['state_dict']['layer.weight'][0, 7].item()); "
      "print(c['optimizer_states'][0]['param_groups'][0]['lr'], c['hyper_parameters']['hidden']); "
      "print(sorted(c['callbacks'].keys())[0][:15], c['loops']['fit_loop']['batches_done_in_epoch']); "
      "print(type(c['rng_states']['torch']).__name__, c['rng_states']['torch.cuda'])";
  const std::string output = testing::run_python(script, {checkpoint->best_model_path()});
  EXPECT_EQ(output, fmt::format("['callbacks', 'epoch', 'global_step', 'hyper_parameters', 'lightning_cpp_version', "
                                "'loops', 'lr_schedulers', 'optimizer_states', 'rng_states', 'state_dict']\n"
                                "1 6\n{:.9g}\n0.1 32\nModelCheckpoint 3\nTensor []\n",
                                static_cast<double>(model.layer->weight[0][7].item<float>())));
}

// PyTorch 2.6's torch.load defaults to weights_only=True, which refuses any global outside its
// allowlist. LibTorch's pickle_save tags typed containers with torch.jit._pickle functions, which
// it refuses; ours are written untyped, as Python writes them, so the pickle names only tensors'
// rebuild function, their storages and OrderedDict (every one on that allowlist). Debian's torch
// 1.13 has an older weights-only loader (no BINFLOAT), so the globals are read with pickletools.
// LibTorch reads the untyped lists back: the resume tests above go through them.
TEST(PythonInterop, OurCheckpointsNameOnlyGlobalsThatWeightsOnlyLoadingAllows) {
  TempDir dir;
  seed_everything(11);
  NoisyModel model;
  model.save_hyperparameters({{"lr", 0.01}, {"layers", int64_t{2}}, {"name", std::string("noisy")}});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.dirpath = dir / "ckpts"});
  Trainer(options(dir.path().string(), {checkpoint})).fit(model, shuffled_train(), val());
  const std::string script =
      "import sys, zipfile, pickletools; z = zipfile.ZipFile(sys.argv[1]); "
      "data = z.read([n for n in z.namelist() if n.endswith('/data.pkl')][0]); "
      "print(sorted({arg for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'}))";
  EXPECT_EQ(testing::run_python(script, {checkpoint->best_model_path()}),
            "['collections OrderedDict', 'torch ByteStorage', 'torch FloatStorage', 'torch._utils _rebuild_tensor_v2']\n");
}

TEST(PythonInterop, WeightsSavedByTorchSaveLoadIntoAModuleOfTheSameShape) {
  TempDir dir;
  const std::string script =
      "import sys, torch; m = torch.nn.Module(); m.layer = torch.nn.Linear(32, 2); "
      "torch.nn.init.constant_(m.layer.bias, 0.5); "
      "m.layer.weight.data = torch.arange(64.).reshape(2, 32) / 10; torch.save(m.state_dict(), sys.argv[1])";
  testing::run_python(script, {dir / "python.pt"});
  testing::BoringModel model;
  load_weights(model, dir / "python.pt");
  EXPECT_TRUE(model.layer->weight.equal(at::arange(64, at::kFloat).reshape({2, 32}) / 10));
  EXPECT_TRUE(model.layer->bias.equal(at::full({2}, 0.5)));

  // One entry (Python's SETITEM) and a nested OrderedDict.
  const std::string nested =
      "import sys, collections, torch; "
      "torch.save({'one': collections.OrderedDict(w=torch.ones(3)), 'n': 4}, sys.argv[1])";
  testing::run_python(nested, {dir / "nested.pt"});
  const Checkpoint loaded = load_checkpoint_file(dir / "nested.pt");
  EXPECT_EQ(loaded.at("n").toInt(), 4);
  EXPECT_TRUE(loaded.at("one").toGenericDict().at("w").toTensor().equal(at::ones({3})));
}

// Python writes a list of one item with APPEND and a dict of one with SETITEM, which LibTorch 1.13
// does not read: every Lightning checkpoint of one optimizer has `optimizer_states: [state]`.
// Tuples stay tuples, whatever they hold.
TEST(PythonInterop, ListsAndDictsOfOneItemFromPythonReadAsWritten) {
  TempDir dir;
  const std::string script =
      "import sys, torch; l = torch.nn.Linear(2, 1); torch.nn.init.constant_(l.weight, 0.25); "
      "torch.save({'one': [7], 'nested': [[{'k': 1.5}]], 'long': list(range(1001)), 'states': [l.state_dict()], "
      "'pair': ({'a': 1}, 2), 'triple': ({'a': 1}, 'k', 5), 'empty': [], 'single': (3,)}, sys.argv[1])";
  testing::run_python(script, {dir / "lists.pt"});
  const Checkpoint loaded = load_checkpoint_file(dir / "lists.pt");
  ASSERT_EQ(loaded.at("one").toListRef().size(), 1u);
  EXPECT_EQ(loaded.at("one").toListRef()[0].toInt(), 7);
  EXPECT_EQ(loaded.at("nested").toListRef()[0].toListRef()[0].toGenericDict().at("k").toDouble(), 1.5);
  const auto long_list = loaded.at("long").toListRef();
  ASSERT_EQ(long_list.size(), 1001u) << "1000 in one APPENDS, the last by APPEND";
  EXPECT_EQ(long_list[0].toInt(), 0);
  EXPECT_EQ(long_list[1000].toInt(), 1000);
  const auto state = loaded.at("states").toListRef()[0].toGenericDict();
  EXPECT_EQ(state.size(), 2u) << "weight and bias; the OrderedDict's _metadata dropped";
  EXPECT_TRUE(state.at("weight").toTensor().equal(at::full({1, 2}, 0.25)));
  const auto& pair = loaded.at("pair").toTupleRef().elements();
  ASSERT_EQ(pair.size(), 2u);
  EXPECT_EQ(pair[0].toGenericDict().at("a").toInt(), 1);
  EXPECT_EQ(pair[1].toInt(), 2);
  const auto& triple = loaded.at("triple").toTupleRef().elements();
  ASSERT_EQ(triple.size(), 3u);
  EXPECT_EQ(triple[1].toStringRef(), "k");
  EXPECT_EQ(triple[2].toInt(), 5);
  EXPECT_TRUE(loaded.at("empty").toListRef().empty());
  EXPECT_EQ(loaded.at("single").toTupleRef().elements().at(0).toInt(), 3);
}

/// A value as the Python script of the next test prints it.
std::string canonical(const c10::IValue& value) {
  const auto joined = [](const auto& items, auto&& show) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + show(item);
    return out;
  };
  const auto show = [](const c10::IValue& item) { return canonical(item); };
  if (value.isNone()) return "None";
  if (value.isBool()) return value.toBool() ? "True" : "False";
  if (value.isInt()) return std::to_string(value.toInt());
  if (value.isDouble()) return fmt::format("{:.17g}", value.toDouble());
  if (value.isString()) return fmt::format("s{}:{}", value.toStringRef().size(), value.toStringRef().substr(0, 3));
  if (value.isTensor()) {
    const at::Tensor t = value.toTensor().to(at::kDouble).contiguous();
    const std::vector<double> numbers(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    return "T(" + joined(numbers, [](double x) { return fmt::format("{:.9g}", x); }) + ")";
  }
  if (value.isList()) return "[" + joined(value.toListRef(), show) + "]";
  if (value.isTuple()) return "(" + joined(value.toTupleRef().elements(), show) + ")";
  std::string entries;
  for (const auto& entry : value.toGenericDict()) {
    entries += (entries.empty() ? "" : ",") + canonical(entry.key()) + ":" + canonical(entry.value());
  }
  return "{" + entries + "}";
}

// 300 random nestings of what torch.save pickles for plain data (lists, tuples and dicts of 0 to 4
// items, ints of every width up to 64 bits, floats, strings, tensors, None, bools, one list
// referenced thrice) read back exactly as Python wrote them.
TEST(PythonInterop, RandomNestingsOfPlainDataFromPythonReadAsWritten) {
  TempDir dir;
  const std::string script = R"py(
import random, sys, torch
random.seed(7)
def value(depth):
    kinds = ['none', 'bool', 'int', 'float', 'str', 'tensor'] + (['list', 'list', 'tuple', 'dict', 'dict'] if depth < 4 else [])
    kind = random.choice(kinds)
    if kind == 'none': return None
    if kind == 'bool': return random.random() < 0.5
    if kind == 'int': return random.choice([0, 1, -1, 255, 256, -129, 65536, 2**31 - 1, -2**31, 2**31, 2**40, -2**47, 2**63 - 1, -2**63])
    if kind == 'float': return random.choice([0.0, 1.5, -2.25, 1e-08, 3.141592653589793, 1e300])
    if kind == 'str': return random.choice(['', 'a', 'key', 'x' * 300])
    if kind == 'tensor': return torch.arange(random.randint(0, 4), dtype=torch.float32) * random.choice([0.5, 1, -3])
    n = random.choice([0, 1, 1, 2, 3, 4])
    if kind == 'list': return [value(depth + 1) for _ in range(n)]
    if kind == 'tuple': return tuple(value(depth + 1) for _ in range(n))
    return {random.choice(['a', 'b', 'c', 1, 2]): value(depth + 1) for _ in range(n)}
def canonical(v):
    if v is None: return 'None'
    if isinstance(v, bool): return str(v)
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return '%.17g' % v
    if isinstance(v, str): return 's%d:%s' % (len(v), v[:3])
    if isinstance(v, torch.Tensor): return 'T(' + ','.join('%.9g' % x for x in v.tolist()) + ')'
    if isinstance(v, list): return '[' + ','.join(canonical(x) for x in v) + ']'
    if isinstance(v, tuple): return '(' + ','.join(canonical(x) for x in v) + ')'
    return '{' + ','.join(canonical(k) + ':' + canonical(x) for k, x in v.items()) + '}'
cases = [value(0) for _ in range(300)]
shared = [1, 2]
cases.append([shared, shared, {'again': shared}])
torch.save({'cases': cases}, sys.argv[1])
for case in cases: print(canonical(case))
)py";
  const std::string expected = testing::run_python(script, {dir / "cases.pt"});
  const Checkpoint loaded = load_checkpoint_file(dir / "cases.pt");
  std::string read;
  for (const auto& value : loaded.at("cases").toListRef()) read += canonical(value) + "\n";
  EXPECT_EQ(read, expected);
}

}  // namespace
}  // namespace lightning
