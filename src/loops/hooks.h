#pragma once
// The one place hooks are called. Order, as in Lightning: every callback in the order given, then
// the module; on_train_epoch_end alone puts the callbacks that monitor what the module logs
// (Callback::runs_after_module_epoch_end: ModelCheckpoint, EarlyStopping) after the module's.

#include <lightning/callbacks/callback.h>
#include <lightning/core/module.h>
#include <lightning/core/trainer_view.h>

#include <memory>
#include <vector>

namespace lightning::detail {

class HookDispatcher {
 public:
  HookDispatcher(const std::vector<std::shared_ptr<Callback>>& callbacks, LightningModule& module,
                 const TrainerView& view)
      : callbacks_(callbacks), module_(module), view_(view) {}

  /// A hook of callbacks and module: each callback in order, then the module.
  template <class... CallbackArgs, class... ModuleArgs, class... Args>
  void operator()(void (Callback::*on_callback)(const TrainerView&, LightningModule&, CallbackArgs...),
                  void (LightningModule::*on_module)(ModuleArgs...), Args&&... args) const {
    for (const auto& callback : callbacks_) ((*callback).*on_callback)(view_, module_, args...);
    (module_.*on_module)(args...);
  }

  /// A hook that only callbacks have (on_sanity_check_start, on_exception, ...).
  template <class... CallbackArgs, class... Args>
  void callbacks_only(void (Callback::*on_callback)(const TrainerView&, LightningModule&, CallbackArgs...),
                      Args&&... args) const {
    for (const auto& callback : callbacks_) ((*callback).*on_callback)(view_, module_, args...);
  }

  /// on_train_epoch_end: the callbacks that run before the module, the module, `after_module`
  /// (what the module logged becomes callback metrics), then the callbacks that run after it.
  template <class AfterModule>
  void on_train_epoch_end(AfterModule&& after_module) const {
    for (const auto& callback : callbacks_) {
      if (!callback->runs_after_module_epoch_end()) callback->on_train_epoch_end(view_, module_);
    }
    module_.on_train_epoch_end();
    after_module();
    for (const auto& callback : callbacks_) {
      if (callback->runs_after_module_epoch_end()) callback->on_train_epoch_end(view_, module_);
    }
  }

 private:
  const std::vector<std::shared_ptr<Callback>>& callbacks_;
  LightningModule& module_;
  const TrainerView& view_;
};

}  // namespace lightning::detail
