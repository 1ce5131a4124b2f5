#!/usr/bin/env python3
"""Reference tensors from torchvision, for reprobe's preprocessing parity checks (tooling only, never a runtime dependency).

Reads a JSON job on stdin: {"images": [paths], "configs": [{"name", "resizeTo", "size", "interpolation", "mean", "std"}],
"out": dir} and writes <out>/<config>__<index>.npy (float32, [3, size, size]): PIL open → convert('RGB') →
Resize(resizeTo) → CenterCrop(size) → ToTensor → Normalize, the evaluation transform of timm/DINO/CLIP.
Needs Debian's python3-torchvision (run with /usr/bin/python3).
"""
import json
import os
import sys

import numpy as np
from PIL import Image
from torchvision import transforms as T

MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC, "nearest": T.InterpolationMode.NEAREST}


def main() -> None:
    job = json.load(sys.stdin)
    os.makedirs(job["out"], exist_ok=True)
    for cfg in job["configs"]:
        tf = T.Compose([
            T.Resize(cfg["resizeTo"], interpolation=MODES[cfg["interpolation"]]),
            T.CenterCrop(cfg["size"]),
            T.ToTensor(),
            T.Normalize(cfg["mean"], cfg["std"]),
        ])
        for i, path in enumerate(job["images"]):
            with Image.open(path) as im:
                x = tf(im.convert("RGB")).numpy().astype(np.float32)
            np.save(os.path.join(job["out"], f"{cfg['name']}__{i}.npy"), x)
    print(f"wrote {len(job['configs']) * len(job['images'])} tensors to {job['out']}")


if __name__ == "__main__":
    main()
