"""Reference values for the metrics tests, from scikit-learn (Debian's python3-sklearn).

Reads a JSON list of cases, each {"name", "fn", "args": [...], "kwargs": {...}}, and prints
{"name": value} with every value as a number or a nested list. "fn" names a function of
sklearn.metrics, or one of the few computations below that scikit-learn has no function for.
"""
import json
import sys

import numpy as np
import sklearn.metrics as skm


def specificity(y_true, y_pred, average, labels=None, multilabel=False):
    matrices = skm.multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    tn, fp, fn, tp = (matrices[:, i // 2, i % 2].astype(float) for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.nan_to_num(tn / (tn + fp))
    if average == "none":
        return per_class
    if average == "micro":
        return tn.sum() / (tn.sum() + fp.sum())
    if average == "weighted":
        return float((per_class * (tp + fn)).sum() / (tp + fn).sum())
    present = np.ones_like(tp, dtype=bool) if multilabel else (tp + fp + fn) > 0
    return float(per_class[present].mean())


def label_accuracy(y_true, y_pred, average):
    """torchmetrics' multilabel accuracy: every label entry counts (not subset accuracy)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    correct = (y_true == y_pred).astype(float)
    if average == "micro":
        return float(correct.mean())
    per_label = correct.mean(axis=0)
    if average == "none":
        return per_label
    if average == "weighted":
        support = y_true.sum(axis=0)
        return float((per_label * support).sum() / support.sum())
    return float(per_label.mean())


def pearson(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim == 1:
        return float(np.corrcoef(x, y)[0, 1])
    return [float(np.corrcoef(x[:, j], y[:, j])[0, 1]) for j in range(x.shape[1])]


def binned_curve_metric(y_true, scores, thresholds, kind):
    """torchmetrics' binned AUROC or average precision of one binary problem."""
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    grid = np.linspace(0, 1, thresholds)
    above = scores[:, None] >= grid[None, :]
    tps = (above & (y_true[:, None] == 1)).sum(0)[::-1].astype(float)
    fps = (above & (y_true[:, None] == 0)).sum(0)[::-1].astype(float)
    positives, negatives = (y_true == 1).sum(), (y_true == 0).sum()
    if kind == "auroc":
        tpr, fpr = tps / positives, fps / negatives
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tps + fps == 0, 1.0, tps / (tps + fps))
    recall = tps / positives
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def one_vs_rest_ap(y_true, scores, average):
    classes = np.asarray(scores).shape[1]
    onehot = np.eye(classes)[np.asarray(y_true).astype(int)]
    return plain(skm.average_precision_score(onehot, scores, average=None if average == "none" else average))


LOCAL = {"specificity": specificity, "label_accuracy": label_accuracy, "pearson": pearson,
         "binned_curve_metric": binned_curve_metric, "one_vs_rest_ap": one_vs_rest_ap}


def plain(value):
    if isinstance(value, np.ndarray):
        return value.astype(float).tolist()
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    return value


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = {}
    for case in cases:
        fn = LOCAL.get(case["fn"]) or getattr(skm, case["fn"])
        args = [np.asarray(a) for a in case.get("args", [])]
        results[case["name"]] = plain(fn(*args, **case.get("kwargs", {})))
    json.dump(results, sys.stdout)


main()
