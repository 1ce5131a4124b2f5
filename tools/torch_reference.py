#!/usr/bin/env python3
"""Reference features of a torchvision model, made with PyTorch, for `reprobe models verify` (tooling only).

    python3 tools/torch_reference.py --model resnet18 --images DIR --out ref --export resnet18.onnx
    reprobe models verify resnet18.onnx --card resnet18.card.json --images DIR --reference ref.npy --ids ref.json

writes
  <out>.npy            float32 [n, d]: the pooled penultimate features (the classification head's last Linear
                       replaced by Identity: ResNet's pooled 512/2048-d, MobileNetV2's 1280-d, ViT's CLS token, ...)
  <out>.json           {"ids": [...]}: the images' paths relative to DIR in row order, with the model, weights and
                       preprocessing (`--ids <out>.json` gives reprobe the same order)
  --export X.onnx      the same model as ONNX (input `pixel_values` [batch, 3, H, W], output `pooler_output` [batch, d],
                       dynamic batch), and X.card.json, the reprobe card with the preprocessing used here
Images: every file under DIR with an image extension (.jpg .jpeg .png .tif .tiff .webp .gif .avif), recursively,
hidden names skipped, sorted by relative path (Python's sorted(), as reprobe sorts them); PIL decodes, EXIF-rotates
(as reprobe's sharp does) and converts to RGB.
Preprocessing (torchvision, the evaluation transform of timm/DINO/CLIP): Resize(shorter side) + CenterCrop, or Resize to
exactly HxW (`--resize-mode stretch`), ToTensor (x / 255, then times 255 * scale if the card's scale is not 1/255),
Normalize(mean, std). `--card card.json` takes all of it from a reprobe card; flags override the card.
Weights: `--weights file.pth` (a state_dict, or a checkpoint holding one under "state_dict" or "model"; offline, no
download), else random weights from `--seed`: a self-consistency check of the export and of reprobe's preprocessing.

Needs PyTorch and torchvision: on Debian/Ubuntu `apt-get install -y python3-torch python3-torchvision` and run it with
/usr/bin/python3 (Debian's python; a pyenv or venv python does not see them), or `pip install torch torchvision`.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms as T

EXTENSIONS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".avif"}
MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC, "nearest": T.InterpolationMode.NEAREST}
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def list_images(root: str) -> list:
    """Relative paths ('/'-separated) of the images under root, recursively, hidden names skipped, sorted."""
    out, seen = [], set()
    def walk(d: str) -> None:
        real = os.path.realpath(d)
        if real in seen:
            return
        seen.add(real)
        for e in os.scandir(d):
            if e.name.startswith("."):
                continue
            if e.is_dir():
                walk(e.path)
            elif os.path.splitext(e.name)[1].lower() in EXTENSIONS:
                out.append(os.path.relpath(e.path, root).replace(os.sep, "/"))
    walk(root)
    return sorted(out)


def preprocessing(args) -> dict:
    """The card's input size and preprocess block, with the flags given on top (reprobe's defaults otherwise)."""
    card = json.load(open(args.card)) if args.card else {}
    inp, pre = card.get("input", {}), card.get("preprocess", {})
    height = args.size or inp.get("height", 224)
    width = args.size or inp.get("width", height)
    mode = args.resize_mode or pre.get("resize", "shorter")
    return {
        "height": height, "width": width, "resize": mode,
        "resizeTo": args.resize or pre.get("resizeTo", min(height, width)),
        "interpolation": args.interpolation or pre.get("interpolation", "bilinear"),
        "scale": pre.get("scale", 1 / 255),
        "mean": args.mean or pre.get("mean", IMAGENET["mean"]),
        "std": args.std or pre.get("std", IMAGENET["std"]),
        "layout": inp.get("layout", "NCHW"),
    }


def transform(p: dict) -> T.Compose:
    size = (p["height"], p["width"])
    resize = [T.Resize(size, interpolation=MODES[p["interpolation"]])] if p["resize"] == "stretch" else \
        [T.Resize(p["resizeTo"], interpolation=MODES[p["interpolation"]]), T.CenterCrop(size)]
    rescale = [] if abs(p["scale"] * 255 - 1) < 1e-12 else [T.Lambda(lambda x: x * (255 * p["scale"]))]
    return T.Compose([*resize, T.ToTensor(), *rescale, T.Normalize(p["mean"], p["std"])])


def cut_head(m: torch.nn.Module) -> torch.nn.Module:
    """Replace the head's last Linear with Identity: the output is then the pooled penultimate features."""
    for name in ("fc", "classifier", "heads", "head"):
        head = getattr(m, name, None)
        if isinstance(head, torch.nn.Linear):
            setattr(m, name, torch.nn.Identity())
            return m
        if isinstance(head, torch.nn.Sequential):
            last = max(i for i, layer in enumerate(head) if isinstance(layer, torch.nn.Linear))
            head[last] = torch.nn.Identity()
            return m
    sys.exit(f"torch_reference: {type(m).__name__} has no fc/classifier/heads/head to cut; features would be logits.")


def build(args) -> torch.nn.Module:
    if not hasattr(torchvision.models, args.model):
        sys.exit(f"torch_reference: torchvision {torchvision.__version__} has no model {args.model!r} (e.g. resnet18, resnet50, mobilenet_v2, vit_b_16, convnext_tiny).")
    torch.manual_seed(args.seed)
    m = getattr(torchvision.models, args.model)(weights=None)
    if args.weights:
        state = torch.load(args.weights, map_location="cpu")
        for key in ("state_dict", "model"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
        m.load_state_dict(state)
    return cut_head(m).eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--model", required=True, help="a torchvision.models builder: resnet18, mobilenet_v2, vit_b_16, ...")
    ap.add_argument("--images", required=True, help="folder of images, searched recursively")
    ap.add_argument("--out", required=True, help="writes <out>.npy and <out>.json")
    ap.add_argument("--weights", help="state_dict .pth (default: random weights from --seed)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    ap.add_argument("--card", help="reprobe card JSON to take the input size and preprocessing from")
    ap.add_argument("--size", type=int, help="crop (input) size, square (default: the card's, else 224)")
    ap.add_argument("--resize", type=int, help="shorter side before the crop (default: the card's resizeTo, else the crop size; 256 for ImageNet models)")
    ap.add_argument("--resize-mode", choices=["shorter", "stretch"], help="shorter side + center crop (default), or stretch to the input size")
    ap.add_argument("--interpolation", choices=sorted(MODES), help="default: the card's, else bilinear")
    ap.add_argument("--mean", type=float, nargs=3, help="default: the card's, else ImageNet's")
    ap.add_argument("--std", type=float, nargs=3, help="default: the card's, else ImageNet's")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--export", help="also write the model as ONNX here, and its reprobe card next to it (<name>.card.json)")
    ap.add_argument("--opset", type=int, default=14)
    args = ap.parse_args()

    p = preprocessing(args)
    if p["layout"] != "NCHW":
        sys.exit("torch_reference: torchvision models take NCHW input; the card says NHWC.")
    ids = list_images(args.images)
    if not ids:
        sys.exit(f"torch_reference: no images under {args.images}")
    m, tf = build(args), transform(p)
    rows = []
    with torch.inference_mode():
        for i in range(0, len(ids), args.batch_size):
            batch = []
            for rel in ids[i:i + args.batch_size]:
                with Image.open(os.path.join(args.images, rel)) as im:
                    batch.append(tf(ImageOps.exif_transpose(im).convert("RGB")))
            rows.append(m(torch.stack(batch)).flatten(1).float().numpy())
    feats = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
    stem = args.out[:-4] if args.out.endswith(".npy") else args.out
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    np.save(f"{stem}.npy", feats)
    weights = os.path.abspath(args.weights) if args.weights else f"random (torch.manual_seed({args.seed}))"
    meta = {"ids": ids, "model": args.model, "weights": weights, "preprocess": p, "shape": list(feats.shape),
            "torch": torch.__version__, "torchvision": torchvision.__version__}
    json.dump(meta, open(f"{stem}.json", "w"), indent=1)
    print(f"wrote {stem}.npy ({feats.shape[0]} x {feats.shape[1]}) and {stem}.json")

    if args.export:
        x = torch.stack(batch[:2])
        # Grad mode stays on: under no_grad, nn.MultiheadAttention takes a fused fast path the exporter cannot trace.
        torch.onnx.export(m, x, args.export, input_names=["pixel_values"], output_names=["pooler_output"],
                          dynamic_axes={"pixel_values": {0: "batch_size"}, "pooler_output": {0: "batch_size"}}, opset_version=args.opset)
        card = {
            "id": os.path.splitext(os.path.basename(args.export))[0],
            "summary": f"torchvision {args.model}, exported by tools/torch_reference.py",
            "weights": weights,
            "input": {"name": "pixel_values", "height": p["height"], "width": p["width"], "layout": "NCHW"},
            "preprocess": {k: p[k] for k in ("resize", "interpolation", "scale", "mean", "std")} | ({"resizeTo": p["resizeTo"]} if p["resize"] == "shorter" else {}),
            "output": {"name": "pooler_output", "pooling": "none"},
            "featureDim": int(feats.shape[1]),
        }
        card_path = os.path.splitext(args.export)[0] + ".card.json"
        json.dump(card, open(card_path, "w"), indent=1)
        print(f"wrote {args.export} and {card_path}; check it with:\n  reprobe models verify {args.export} --card {card_path} --images {args.images} --reference {stem}.npy --ids {stem}.json")


if __name__ == "__main__":
    main()
