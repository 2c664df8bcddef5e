#include "metrics/classification_inputs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace lightning::metrics::detail {
namespace {

const std::vector<std::string> kTasks = {"binary", "multiclass", "multilabel"};
const std::vector<std::string> kAverages = {"micro", "macro", "weighted", "none"};

bool integral(const at::Tensor& t) { return at::isIntegralType(t.scalar_type(), /*includeBool=*/true); }

/// The values a target (or label predictions) may take: [0, width) for multiclass, {0, 1} else.
int64_t value_limit(const ClassificationOptions& o) { return o.task == "multiclass" ? width(o) : 2; }

/// Where `t` holds values the task allows, other than `ignore_index`.
at::Tensor ignored(const ClassificationOptions& o, const at::Tensor& t) {
  return o.ignore_index ? t.eq(*o.ignore_index) : at::zeros_like(t, at::kBool);
}

Diagnostic shape_problem(const std::string& metric, const ClassificationOptions& o, const at::Tensor& preds,
                         const at::Tensor& target, std::string what, std::string expected, std::string help) {
  return {.code = "LC0802",
          .message = fmt::format("{} (task \"{}\"): {}", metric, o.task, what),
          .subject = {fmt::format("{}::update(preds, target)", metric)},
          .received = fmt::format("preds {}, target {}", shape_of(preds), shape_of(target)),
          .expected = std::move(expected),
          .help = std::move(help)};
}

}  // namespace

at::Tensor safe_divide(const at::Tensor& a, const at::Tensor& b, double when_zero) {
  const at::Tensor denominator = b.to(at::kDouble);
  return at::where(denominator.eq(0), at::full_like(denominator, when_zero), a.to(at::kDouble) / denominator);
}

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "none";
  return fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
}

int64_t width(const ClassificationOptions& o) {
  if (o.task == "multiclass") return o.num_classes.value_or(2);
  if (o.task == "multilabel") return o.num_labels.value_or(2);
  return 1;
}

void check_classification_options(DiagnosticCollector& problems, const std::string& metric,
                                  const ClassificationOptions& o, OptionUse use) {
  const auto option = [&](const char* name) { return Subject{metric, {name}}; };
  if (std::find(kTasks.begin(), kTasks.end(), o.task) == kTasks.end()) {
    auto d = unknown_choice("LC0801", fmt::format("{} option `task` has an unknown value \"{}\"", metric, o.task),
                            option("task"), o.task, kTasks);
    if (o.task.empty()) d.help = "say which: e.g. .task = \"multiclass\", .num_classes = 10";
    problems.error(std::move(d));
    return;  // the other options' meaning depends on the task
  }
  if (o.task == "multiclass" && !(o.num_classes && *o.num_classes >= 2)) {
    problems.error(out_of_range("LC0801", option("num_classes"), "an integer >= 2 for task \"multiclass\"",
                                o.num_classes ? std::to_string(*o.num_classes) : "unset", "the number of classes, >= 2",
                                "e.g. .num_classes = 10; two classes may also be task \"binary\""));
  }
  if (o.task == "multilabel" && !(o.num_labels && *o.num_labels >= 2)) {
    problems.error(out_of_range("LC0801", option("num_labels"), "an integer >= 2 for task \"multilabel\"",
                                o.num_labels ? std::to_string(*o.num_labels) : "unset", "the number of labels, >= 2",
                                "e.g. .num_labels = 5; one label is task \"binary\""));
  }
  if (o.task != "multiclass" && !(o.threshold >= 0.0 && o.threshold <= 1.0)) {
    problems.error(out_of_range("LC0801", option("threshold"), "in [0, 1]", fmt::format("{}", o.threshold),
                                "a probability (logits go through a sigmoid first)", "0.5 is the default"));
  }
  if (use.average && std::find(kAverages.begin(), kAverages.end(), o.average) == kAverages.end()) {
    problems.error(unknown_choice("LC0801", fmt::format("{} option `average` has an unknown value \"{}\"", metric, o.average),
                                  option("average"), o.average, kAverages));
  }
  if (use.top_k && o.top_k != 1) {
    if (o.task != "multiclass") {
      problems.error(out_of_range("LC0801", option("top_k"), fmt::format("1 for task \"{}\"", o.task),
                                  std::to_string(o.top_k), "1 (top_k ranks the scores of several classes)",
                                  "leave top_k at 1, or use task \"multiclass\""));
    } else if (o.num_classes && (o.top_k < 1 || o.top_k > *o.num_classes)) {
      problems.error(out_of_range("LC0801", option("top_k"), fmt::format("in [1, num_classes = {}]", *o.num_classes),
                                  std::to_string(o.top_k), "1 <= top_k <= num_classes", "e.g. .top_k = 5 for top-5 accuracy"));
    }
  }
}

void check_classification_inputs(const std::string& metric, const ClassificationOptions& o, const at::Tensor& preds,
                                 const at::Tensor& target) {
  DiagnosticCollector problems(fmt::format("in the first batch given to {}", metric));
  const int64_t k = width(o);
  if (!preds.defined() || !target.defined()) {
    problems.error(shape_problem(metric, o, preds, target, "update needs both preds and target",
                                 "update(preds, target)", "pass the batch's predictions and its targets"));
    problems.throw_if_errors();
  }
  if (!integral(target)) {
    problems.error(shape_problem(metric, o, preds, target, "the target must hold integers",
                                 o.task == "multiclass" ? "class indices of an integer dtype" : "0 and 1 of an integer dtype",
                                 "convert it: target.to(at::kLong)"));
  }
  const bool scores = at::isFloatingType(preds.scalar_type());
  if (o.task == "multiclass") {
    const bool fits = scores ? preds.dim() == 2 && preds.size(1) == k : preds.dim() == 1;
    if (scores && preds.dim() == 2 && preds.size(1) != k) {
      problems.error(shape_problem(metric, o, preds, target,
                                   fmt::format("the predictions have {} columns, but num_classes is {}", preds.size(1), k),
                                   fmt::format("preds [N, {}] of scores, or [N] class indices", k),
                                   fmt::format("set .num_classes = {} if the model has that many outputs, or fix the "
                                               "model's last layer",
                                               preds.size(1))));
    } else if (!fits || target.dim() != 1 || preds.size(0) != target.size(0)) {
      problems.error(shape_problem(metric, o, preds, target, "preds and target do not pair",
                                   fmt::format("preds [N, {}] of scores or [N] class indices, with target [N]", k),
                                   "pass the model's output for the batch and the batch's class indices"));
    } else if (!scores && o.top_k > 1) {
      problems.error(shape_problem(metric, o, preds, target, fmt::format("top_k = {} needs scores, not labels", o.top_k),
                                   fmt::format("preds [N, {}] of scores", k), "pass the model's scores (logits or probabilities)"));
    }
  } else {
    const bool multi_column_binary = o.task == "binary" && preds.dim() == 2 && preds.size(1) > 1;
    if (multi_column_binary) {
      problems.error(shape_problem(metric, o, preds, target,
                                   fmt::format("task \"binary\" was given {} columns of scores", preds.size(1)),
                                   "preds [N]: one probability or logit per sample",
                                   fmt::format("use task \"multiclass\" with .num_classes = {}, or pass the positive "
                                               "class's column",
                                               preds.size(1))));
    } else if (o.task == "multilabel" && (preds.dim() != 2 || preds.size(1) != k)) {
      problems.error(shape_problem(metric, o, preds, target,
                                   preds.dim() == 2 ? fmt::format("the predictions have {} columns, but num_labels is {}",
                                                                  preds.size(1), k)
                                                    : std::string("preds and target do not pair"),
                                   fmt::format("preds and target [N, {}]", k),
                                   "set .num_labels to the model's outputs, or fix the model's last layer"));
    } else if (!preds.sizes().equals(target.sizes())) {
      problems.error(shape_problem(metric, o, preds, target, "preds and target do not pair",
                                   o.task == "binary" ? "preds and target of one shape, [N]"
                                                      : fmt::format("preds and target [N, {}]", k),
                                   "pass one prediction per target"));
    }
  }
  problems.throw_if_errors();

  // Values: read once, here; later batches are masked on the device instead.
  const int64_t limit = value_limit(o);
  auto outside = [&](const at::Tensor& t) { return (t.lt(0) | t.ge(limit)) & ~ignored(o, t); };
  const std::string allowed = o.task == "multiclass" ? fmt::format("class indices 0 to {}", limit - 1) : "0 and 1";
  const std::string ignore = o.ignore_index ? fmt::format(" (or ignore_index = {})", *o.ignore_index) : "";
  if (const int64_t bad = outside(target).sum().item<int64_t>(); bad > 0) {
    const auto values = target.masked_select(outside(target));
    problems.error({.code = "LC0803",
                    .message = fmt::format("{} (task \"{}\"): {} target value{} outside {}", metric, o.task, bad,
                                           bad == 1 ? " is" : "s are", allowed),
                    .subject = {fmt::format("{}::update(preds, target)", metric)},
                    .received = fmt::format("target values from {} to {}", values.min().item<int64_t>(),
                                            values.max().item<int64_t>()),
                    .expected = allowed + ignore,
                    .help = o.task == "multiclass"
                                ? fmt::format("set .num_classes to the number of classes (labels 0 to N-1), or "
                                              ".ignore_index for a padding value")
                                : "targets are 0 or 1; set .ignore_index for a padding value"});
  }
  if (!scores) {
    const auto bad_preds = (preds.lt(0) | preds.ge(limit));
    if (const int64_t bad = bad_preds.sum().item<int64_t>(); bad > 0) {
      problems.error({.code = "LC0803",
                      .message = fmt::format("{} (task \"{}\"): {} predicted label{} outside {}", metric, o.task, bad,
                                             bad == 1 ? " is" : "s are", allowed),
                      .subject = {fmt::format("{}::update(preds, target)", metric)},
                      .received = fmt::format("predicted labels from {} to {}", preds.min().item<int64_t>(),
                                              preds.max().item<int64_t>()),
                      .expected = allowed,
                      .help = "pass scores (floating point) or labels of the task's classes"});
    }
  }
  problems.throw_if_errors();
}

Indicators indicators(const ClassificationOptions& o, const at::Tensor& preds, const at::Tensor& target) {
  const int64_t k = width(o);
  const auto long_options = target.options().dtype(at::kLong);
  const at::Tensor t = target.to(at::kLong);
  const at::Tensor skip = ignored(o, t);
  const at::Tensor valid = t.ge(0) & t.lt(value_limit(o));
  const at::Tensor safe_target = at::where(valid, t, at::zeros_like(t));
  Indicators out;
  if (o.task == "multiclass") {
    at::Tensor predicted;
    at::Tensor valid_pred = at::ones_like(valid);
    if (at::isFloatingType(preds.scalar_type())) {
      const at::Tensor top = o.top_k == 1 ? preds.argmax(1, /*keepdim=*/true) : std::get<1>(preds.topk(o.top_k, 1));
      predicted = at::zeros({preds.size(0), k}, long_options).scatter_(1, top, 1);
    } else {
      const at::Tensor labels = preds.to(at::kLong);
      valid_pred = labels.ge(0) & labels.lt(k);
      predicted = at::zeros({preds.size(0), k}, long_options)
                      .scatter_(1, at::where(valid_pred, labels, at::zeros_like(labels)).unsqueeze(1), 1);
    }
    out.preds = predicted;
    out.target = at::zeros({t.size(0), k}, long_options).scatter_(1, safe_target.unsqueeze(1), 1);
    out.keep = (valid & valid_pred & ~skip).to(at::kLong).unsqueeze(1);
    out.invalid = ((~valid | ~valid_pred) & ~skip).sum();
    return out;
  }
  at::Tensor p = preds;
  if (at::isFloatingType(p.scalar_type())) {
    // Logits when any value lies outside [0, 1] (torchmetrics' rule), decided on the device.
    const at::Tensor logits = (p.lt(0) | p.gt(1)).any();
    p = at::where(logits, p.sigmoid(), p).gt(o.threshold);
  } else {
    p = p.ne(0);
  }
  const auto column = [&](const at::Tensor& x) { return o.task == "binary" ? x.reshape({-1, 1}) : x; };
  out.preds = column(p.to(at::kLong));
  out.target = column(safe_target);
  out.keep = column((valid & ~skip).to(at::kLong));
  out.invalid = (~valid & ~skip).sum();
  return out;
}

void report_invalid_targets(const std::string& metric, const ClassificationOptions& o, const at::Tensor& invalid) {
  const int64_t count = invalid.item<int64_t>();
  if (count == 0) return;
  const std::string allowed = o.task == "multiclass" ? fmt::format("class indices 0 to {}", value_limit(o) - 1) : "0 and 1";
  throw MisconfigurationException(
      {{.code = "LC0803",
        .message = fmt::format("{} (task \"{}\"): {} target{} (or predicted label{}) outside {} were left out", metric,
                               o.task, count, count == 1 ? "" : "s", count == 1 ? "" : "s", allowed),
        .subject = {fmt::format("{}::compute()", metric)},
        .received = fmt::format("{} value{} outside {} after the first batch", count, count == 1 ? "" : "s", allowed),
        .expected = allowed,
        .help = "set .num_classes to the number of classes, or .ignore_index for a padding value"}},
      fmt::format("when {} was computed", metric));
}

}  // namespace lightning::metrics::detail
