#!/usr/bin/env python3
"""DINO's weighted kNN vote in numpy, for tools/make-knn-vote-reference.ts (tooling only).

A line-by-line transcription of knn_classifier in facebookresearch/dino eval_knn.py (torch → numpy, float32 as
there): features L2-normalised (its extract_feature_pipeline), similarity = test · trainᵀ, the top k by similarity,
each neighbour votes exp(similarity / T) for its class, the prediction is the class with the largest sum.
Reads {"dir", "datasets": [names], "k": [...], "T": 0.07} (<name>.{train,test,train_labels}.npy) on stdin; prints
the predictions per dataset per k, and numpy's version.
"""
import json
import sys

import numpy as np


def normalize(x: np.ndarray) -> np.ndarray:
    # torch.nn.functional.normalize(x, dim=1, p=2): x / max(‖x‖, 1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))


def knn_classifier(train_features, train_labels, test_features, k, T, num_classes):
    similarity = test_features @ train_features.T  # torch.mm(features, train_features)
    indices = np.argsort(-similarity, axis=1, kind="stable")[:, :k]  # similarity.topk(k, largest=True, sorted=True)
    distances = np.take_along_axis(similarity, indices, axis=1)
    retrieved_neighbors = train_labels[indices]
    retrieval_one_hot = np.zeros((test_features.shape[0], k, num_classes), dtype=np.float32)
    np.put_along_axis(retrieval_one_hot, retrieved_neighbors[:, :, None], 1, axis=2)
    distances_transform = np.exp(distances / np.float32(T)).astype(np.float32)  # distances.div_(T).exp_()
    probs = np.sum(retrieval_one_hot * distances_transform[:, :, None], axis=1)
    return probs.argmax(axis=1)  # probs.sort(1, True)[1][:, 0]; a tie between classes' sums goes to the lower id


job = json.load(sys.stdin)
out = {"numpy": np.__version__, "T": job["T"], "datasets": {}}
for name in job["datasets"]:
    load = lambda part: np.load(f"{job['dir']}/{name}.{part}.npy")
    xtr, ytr, xte = normalize(load("train").astype(np.float32)), load("train_labels"), normalize(load("test").astype(np.float32))
    num_classes = int(ytr.max()) + 1
    out["datasets"][name] = {str(k): knn_classifier(xtr, ytr, xte, min(k, len(ytr)), job["T"], num_classes).tolist() for k in job["k"]}
print(json.dumps(out))
