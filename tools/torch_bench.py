#!/usr/bin/env python3
"""PyTorch CPU side of bench/onnx-backbone.ts (tooling only; Debian python3-torch + python3-torchvision).

  export  <arch> <out.onnx>               torchvision <arch> (random weights, seed 0) → ONNX with HF-style names:
                                          input pixel_values [batch, 3, 224, 224], output pooler_output [batch, d]
                                          (the pre-logits features: the classification head is replaced by Identity)
  time    <arch> <batch> <threads> <n>    images/s of the same model in PyTorch, eager, inference_mode (best of 3
                                          passes over n images)
  e2e     <arch> <batch> <threads> <list>  images/s end to end: PIL decode + torchvision Resize(256)/CenterCrop(224)/
                                          Normalize + the model, over the image paths in <list> (one per line; best
                                          of 2 passes)
  flops   <arch>                          GFLOP per 224 px image, counted by torch.profiler (matrix products, convs)
  peak    <threads>                       best GFLOP/s of a 2048 x 2048 float32 matrix product in torch's BLAS: the
                                          most this machine gave any fp32 model here
Prints one JSON line.
"""
import json
import sys
import time

import torch
import torchvision


def model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    m = getattr(torchvision.models, arch)(weights=None)
    if hasattr(m, "heads"):
        m.heads = torch.nn.Identity()
    elif hasattr(m, "classifier"):
        m.classifier = torch.nn.Identity()
    elif hasattr(m, "fc"):
        m.fc = torch.nn.Identity()
    return m.eval()


def export(arch: str, out: str) -> None:
    m = model(arch)
    x = torch.randn(2, 3, 224, 224)
    # Grad mode stays on: under no_grad, nn.MultiheadAttention takes a fused fast path the exporter cannot trace.
    torch.onnx.export(m, x, out, input_names=["pixel_values"], output_names=["pooler_output"],
                      dynamic_axes={"pixel_values": {0: "batch_size"}, "pooler_output": {0: "batch_size"}}, opset_version=int(__import__("os").environ.get("OPSET", "14")))
    dim = m(x).shape[1]
    print(json.dumps({"arch": arch, "onnx": out, "dim": int(dim), "torch": torch.__version__}))


def timing(arch: str, batch: int, threads: int, n: int) -> None:
    torch.set_num_threads(threads)
    m = model(arch)
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        m(x)  # warm-up
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            done = 0
            while done < n:
                m(x)
                done += batch
            best = min(best, time.perf_counter() - t0)
    print(json.dumps({"arch": arch, "batch": batch, "threads": threads, "images": done, "seconds": best, "images_per_s": done / best, "torch": torch.__version__}))


def e2e(arch: str, batch: int, threads: int, listing: str) -> None:
    from PIL import Image
    from torchvision import transforms as T
    torch.set_num_threads(threads)
    m = model(arch)
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    paths = [p for p in open(listing).read().splitlines() if p]
    load = lambda p: tf(Image.open(p).convert("RGB"))
    with torch.inference_mode():
        m(torch.stack([load(p) for p in paths[:batch]]))  # warm-up
        dt = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            for i in range(0, len(paths), batch):
                m(torch.stack([load(p) for p in paths[i:i + batch]]))
            dt = min(dt, time.perf_counter() - t0)
    print(json.dumps({"arch": arch, "images": len(paths), "seconds": dt, "images_per_s": len(paths) / dt, "torch": torch.__version__}))


def flops(arch: str) -> None:
    m = model(arch)
    with torch.inference_mode(), torch.profiler.profile(with_flops=True) as prof:
        m(torch.randn(1, 3, 224, 224))
    total = sum(e.flops for e in prof.key_averages() if e.flops)
    print(json.dumps({"arch": arch, "gflop": total / 1e9, "torch": torch.__version__}))


def peak(threads: int) -> None:
    torch.set_num_threads(threads)
    n = 2048
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"threads": threads, "gflops": 2 * n ** 3 / best / 1e9, "torch": torch.__version__}))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "export":
        export(args[0], args[1])
    elif cmd == "e2e":
        e2e(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "flops":
        flops(args[0])
    elif cmd == "peak":
        peak(int(args[0]))
    else:
        timing(args[0], int(args[1]), int(args[2]), int(args[3]))
