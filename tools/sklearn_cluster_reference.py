#!/usr/bin/env python3
"""scikit-learn's clustering scores for tools/make-cluster-reference.ts (tooling only; Debian python3-sklearn).

Reads {"cases": [{"name", "truth", "pred"}]} on stdin, prints the same cases with "ari" (adjusted_rand_score) and
"nmi" (normalized_mutual_info_score, average_method="arithmetic") added, and the scikit-learn version.
"""
import json
import sys

import sklearn
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

job = json.load(sys.stdin)
for case in job["cases"]:
    case["ari"] = float(adjusted_rand_score(case["truth"], case["pred"]))
    case["nmi"] = float(normalized_mutual_info_score(case["truth"], case["pred"], average_method="arithmetic"))
print(json.dumps({"sklearn": sklearn.__version__, "cases": job["cases"]}))
