#!/usr/bin/env python3
"""Reference values for src/metrics/paired.ts and rank.ts (test/metrics/paired.test.ts), written to
test/fixtures/paired/paired-reference.json with the library versions.

McNemar's exact test is scipy.stats.binomtest(min(b, c), b + c, 0.5) two-sided, which is what statsmodels'
mcnemar(exact=True) computes; Holm is written out here from its definition (statsmodels is not in the venv);
the paired bootstrap uses the resample indices drawn here (stored in the fixture) and scikit-learn's metrics;
rank intervals and percentiles are numpy.percentile (linear). Run: /work/main/.venv-ref/bin/python tools/paired_reference.py
"""
import json
import pathlib

import numpy as np
import scipy
import sklearn
from scipy.stats import binomtest, rankdata, spearmanr
from sklearn.metrics import accuracy_score, f1_score

rng = np.random.default_rng(29)
out = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}

# McNemar: small, tied, one-sided-heavy and large discordant counts.
cases = [(0, 0), (1, 5), (5, 1), (3, 3), (0, 7), (10, 25), (120, 95), (400, 470), (2000, 2150)]
out["mcnemar"] = [{"b": b, "c": c, "p": float(binomtest(min(b, c), b + c, 0.5).pvalue) if b + c else 1.0} for b, c in cases]


def holm(p):
    p = np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        adj[i] = running
    return adj.tolist()


out["holm"] = [{"p": p, "adjusted": holm(p)} for p in ([0.01, 0.04, 0.03], [0.2, 0.001, 0.04, 0.5, 0.012], [0.5, 0.5], [0.03])]

# Paired predictions: 4 classes, 3 groups, A better than B on group 0.
n, B, K = 60, 200, 4
truth = rng.integers(0, K, n)
groups = rng.integers(0, 3, n)
a = np.where(rng.random(n) < 0.75, truth, rng.integers(0, K, n))
b = np.where(rng.random(n) < np.where(groups == 0, 0.45, 0.7), truth, rng.integers(0, K, n))
idx = rng.integers(0, n, (B, n))


def worst_group(t, p, g):
    return min(float(np.mean(t[g == k] == p[g == k])) for k in np.unique(g))


metrics = {
    "accuracy": lambda t, p, g: float(accuracy_score(t, p)),
    "macro_f1": lambda t, p, g: float(f1_score(t, p, average="macro", zero_division=0)),
    "worst_group_accuracy": worst_group,
}
boot = {}
for name, f in metrics.items():
    d = np.array([f(truth[i], a[i], groups[i]) - f(truth[i], b[i], groups[i]) for i in idx])
    lo, hi = np.percentile(d, [2.5, 97.5])
    boot[name] = {"diff": f(truth, a, groups) - f(truth, b, groups), "low": float(lo), "high": float(hi)}
right_a, right_b = a == truth, b == truth
out["paired"] = {
    "truth": truth.tolist(), "a": a.tolist(), "b": b.tolist(), "groups": groups.tolist(), "indices": idx.tolist(),
    "b_count": int(np.sum(right_a & ~right_b)), "c_count": int(np.sum(~right_a & right_b)),
    "bootstrap": boot,
    "mcnemar_p": float(binomtest(int(min(np.sum(right_a & ~right_b), np.sum(~right_a & right_b))), int(np.sum(right_a != right_b)), 0.5).pvalue),
}

# Rank intervals: 4 models' accuracy on the same resamples; rank 1 = best, 1 + number strictly higher.
preds = [np.where(rng.random(n) < q, truth, rng.integers(0, K, n)) for q in (0.8, 0.78, 0.6, 0.3)]
scores = np.array([[accuracy_score(truth[i], p[i]) for p in preds] for i in idx])
ranks = np.array([[1 + np.sum(row > s) for s in row] for row in scores])
full = [float(accuracy_score(truth, p)) for p in preds]
order = sorted(range(4), key=lambda m: -full[m])
adjacent = []
for x, y in zip(order, order[1:]):
    rx, ry = preds[x] == truth, preds[y] == truth
    bb, cc = int(np.sum(rx & ~ry)), int(np.sum(~rx & ry))
    adjacent.append(float(binomtest(min(bb, cc), bb + cc, 0.5).pvalue) if bb + cc else 1.0)
out["ranks"] = {
    "order": order,
    "adjacent_p": adjacent,
    "adjacent_holm": holm(adjacent),
    "preds": [p.tolist() for p in preds],
    "scores": scores.tolist(),
    "intervals": [{"low": float(np.percentile(ranks[:, m], 2.5)), "high": float(np.percentile(ranks[:, m], 97.5))} for m in range(4)],
}

# Spearman with ties.
pairs = [([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), ([0.3, 0.1, 0.1, 0.9, 0.5, 0.5], [2, 1, 3, 9, 4, 4]), ([1, 2, 3], [3, 2, 1])]
out["spearman"] = [{"x": x, "y": y, "rho": float(spearmanr(x, y).statistic), "ranks_x": rankdata(x).tolist()} for x, y in pairs]

path = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "paired" / "paired-reference.json"
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path} (numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__})")
