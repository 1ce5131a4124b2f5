#!/usr/bin/env python3
"""The normalised graph Laplacian's eigenvectors in numpy, for tools/make-spectral-reference.ts (tooling only).

umap-learn's spectral_layout rule, computed densely: L = I - D^-1/2 W D^-1/2 (D the row sums of W), eigenpairs by
numpy.linalg.eigh, ascending; the eigenvectors 1..dims (the trivial 0th left out) are the start before scaling.
Reads {"n", "rows", "cols", "weights", "dims"} on stdin; prints {"numpy", "eigenvalues", "vectors": [dims][n]}.
"""
import json
import sys

import numpy as np

job = json.load(sys.stdin)
n = job["n"]
w = np.zeros((n, n))
w[job["rows"], job["cols"]] = job["weights"]
d = 1 / np.sqrt(w.sum(axis=1))
lap = np.eye(n) - d[:, None] * w * d[None, :]
values, vectors = np.linalg.eigh(lap)
k = job["dims"] + 1
print(json.dumps({"numpy": np.__version__, "eigenvalues": values[:k].tolist(), "vectors": vectors[:, 1:k].T.tolist()}))
