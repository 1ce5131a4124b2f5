#!/usr/bin/env python3
"""scikit-learn's answers on reprobe's generated probe datasets (tooling only; Debian python3-sklearn, or any newer one).

Reads a JSON job on stdin: {"dir": folder with <name>.<part>.npy, "datasets": [names], "c_grid": [...], "k": [...],
"metric_case": {"truth": [...], "pred": [...], "num_classes": K}}. Prints one JSON document:
per dataset, LogisticRegression (lbfgs, multinomial, StandardScaler on train) val/test accuracy and val log-loss per C,
and KNeighborsClassifier (brute, cosine, uniform) test predictions per k; plus the metrics of the metric case.
"""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, log_loss
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

# multi_class was deprecated in 1.5 and later removed: from 1.5 on, lbfgs fits the multinomial loss without it.
_VERSION = tuple(int(p) for p in __import__("sklearn").__version__.split(".")[:2])
MULTINOMIAL = {"multi_class": "multinomial"} if _VERSION < (1, 5) else {}


def main() -> None:
    job = json.load(sys.stdin)
    out = {"sklearn": __import__("sklearn").__version__, "datasets": {}}
    for name in job["datasets"]:
        load = lambda part: np.load(f"{job['dir']}/{name}.{part}.npy")
        xtr, ytr, xva, yva, xte, yte = (load(p) for p in ["train", "train_labels", "val", "val_labels", "test", "test_labels"])
        scaler = StandardScaler().fit(xtr)
        s_tr, s_va, s_te = (scaler.transform(x.astype(np.float64)) for x in (xtr, xva, xte))
        lr = []
        t0 = time.perf_counter()
        for c in job["c_grid"]:
            m = LogisticRegression(C=c, solver="lbfgs", max_iter=1000, tol=1e-6, **MULTINOMIAL).fit(s_tr, ytr)
            lr.append({"C": c, "val_acc": accuracy_score(yva, m.predict(s_va)), "test_acc": accuracy_score(yte, m.predict(s_te)),
                       "val_log_loss": log_loss(yva, m.predict_proba(s_va), labels=m.classes_), "n_iter": int(m.n_iter_[0])})
        lr_seconds = time.perf_counter() - t0
        knn = {}
        for k in job["k"]:
            m = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric="cosine", weights="uniform").fit(xtr, ytr)
            knn[str(k)] = m.predict(xte).tolist()
        out["datasets"][name] = {"lr": lr, "lr_seconds": lr_seconds, "knn": knn}
    mc = job["metric_case"]
    t, p = np.array(mc["truth"]), np.array(mc["pred"])
    labels = list(range(mc["num_classes"]))
    out["metrics"] = {
        "accuracy": accuracy_score(t, p),
        "balanced_accuracy": balanced_accuracy_score(t, p),
        "macro_f1": f1_score(t, p, average="macro"),
        "macro_f1_true_labels": f1_score(t, p, average="macro", labels=np.unique(t)),
        "confusion": confusion_matrix(t, p, labels=labels).tolist(),
    }
    print(json.dumps(out))


def bench() -> None:
    """Timing mode: {"dir", "name", "c_grid", "k"} → wall time of the LR C sweep and kNN queries/s (best of three)."""
    job = json.load(sys.stdin)
    load = lambda part: np.load(f"{job['dir']}/{job['name']}.{part}.npy")
    xtr, ytr, xva, yva, xte = (load(p) for p in ["train", "train_labels", "val", "val_labels", "test"])
    t0 = time.perf_counter()
    scaler = StandardScaler().fit(xtr)
    s_tr, s_va = scaler.transform(xtr), scaler.transform(xva)
    best = None
    for c in job["c_grid"]:
        m = LogisticRegression(C=c, solver="lbfgs", max_iter=500, **MULTINOMIAL).fit(s_tr, ytr)
        acc = accuracy_score(yva, m.predict(s_va))
        if best is None or acc > best[0]:
            best = (acc, c)
    lr_s = time.perf_counter() - t0
    m = KNeighborsClassifier(n_neighbors=job["k"], algorithm="brute", metric="cosine").fit(xtr, ytr)
    knn_s = float("inf")
    for _ in range(3):  # best of three: small query sets take milliseconds
        t0 = time.perf_counter()
        m.predict(xte)
        knn_s = min(knn_s, time.perf_counter() - t0)
    print(json.dumps({"lr_seconds": lr_s, "lr_C": best[1], "knn_queries_per_s": len(xte) / knn_s}))


if __name__ == "__main__":
    bench() if "--bench" in sys.argv else main()
