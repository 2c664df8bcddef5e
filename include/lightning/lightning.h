#pragma once
// Everything a user needs: `#include <lightning/lightning.h>` and `namespace pl = lightning;`.
// LibTorch's own API (torch::nn layers, torch::optim optimizers) comes from <torch/torch.h> or
// its narrower headers, which this header does not include (they cost ~20 s per file to compile).

#include <lightning/accelerators/environment.h>
#include <lightning/callbacks/callback.h>
#include <lightning/callbacks/early_stopping.h>
#include <lightning/callbacks/lambda_callback.h>
#include <lightning/callbacks/lr_monitor.h>
#include <lightning/callbacks/model_checkpoint.h>
#include <lightning/callbacks/model_summary.h>
#include <lightning/callbacks/on_exception_checkpoint.h>
#include <lightning/callbacks/prediction_writer.h>
#include <lightning/callbacks/progress_bar.h>
#include <lightning/callbacks/timer.h>
#include <lightning/checkpoint/checkpoint_io.h>
#include <lightning/core/datamodule.h>
#include <lightning/core/lr_scheduler.h>
#include <lightning/core/module.h>
#include <lightning/core/optimizer_config.h>
#include <lightning/core/trainer_view.h>
#include <lightning/data/batch.h>
#include <lightning/data/dataloader.h>
#include <lightning/data/dataset.h>
#include <lightning/data/sampler.h>
#include <lightning/diagnostics/diagnostic.h>
#include <lightning/loggers/csv_logger.h>
#include <lightning/loggers/logger.h>
#include <lightning/loggers/tensorboard_logger.h>
#include <lightning/metrics/aggregation.h>
#include <lightning/metrics/classification.h>
#include <lightning/metrics/metric.h>
#include <lightning/metrics/regression.h>
#include <lightning/precision/grad_scaler.h>
#include <lightning/trainer/trainer.h>
#include <lightning/utilities/memory.h>
#include <lightning/utilities/seed.h>
