#!/usr/bin/env python3
"""scikit-learn's KMeans inertia for tools/make-kmeans-reference.ts (tooling only).

Run with the reference venv (tools/make-venv.sh), e.g. REPROBE_PYTHON=/work/main/.venv-ref/bin/python.
Reads {"dir": folder of <name>.npy, "cases": [{"file", "k"}], "seeds": [...], "n_init": N} on stdin; prints, per case,
the inertia of KMeans(n_clusters=k, n_init=N, random_state=seed) (lloyd, greedy k-means++, tol 1e-4) in float64 for
each seed, and the versions of scikit-learn and numpy; for cases with "init_rows", also KMeans(init=those rows,
n_init=1)'s n_iter_ and inertia (Lloyd's iterations and its stopping rule alone).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans

job = json.load(sys.stdin)
out = []
for case in job["cases"]:
    x = np.load(f"{job['dir']}/{case['file']}").astype(np.float64)
    inertia = [float(KMeans(n_clusters=case["k"], n_init=job["n_init"], random_state=s).fit(x).inertia_) for s in job["seeds"]]
    row = {**case, "n": int(x.shape[0]), "d": int(x.shape[1]), "sklearn_inertia": inertia}
    if "init_rows" in case:  # Lloyd's alone from given centres: scikit-learn's iterations and inertia
        fit = KMeans(n_clusters=case["k"], init=x[case["init_rows"]], n_init=1).fit(x)
        row["from_init"] = {"n_iter": int(fit.n_iter_), "inertia": float(fit.inertia_)}
    out.append(row)
print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "n_init": job["n_init"], "seeds": job["seeds"], "cases": out}))
