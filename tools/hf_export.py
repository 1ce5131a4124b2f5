#!/usr/bin/env python3
"""The study's backbones built by `transformers` itself, exported to ONNX the way the hub's files are laid out, with
what `transformers` computes as the reference (tooling only: never needed by the README's two commands).

    tools/make-venv.sh                                   # once: .venv-ref with torch, transformers, onnx
    .venv-ref/bin/python tools/hf_export.py fixtures     # the tiny test fixtures (test/fixtures/hf/)
    .venv-ref/bin/python tools/hf_export.py card dino-vits16 --out DIR [--full]   # one card, full size on demand
    .venv-ref/bin/python tools/hf_export.py inspect SRC                     # what reprobe needs to make a card
    .venv-ref/bin/python tools/hf_export.py export SRC --out DIR --preprocess JSON --images DIR
    .venv-ref/bin/python tools/hf_export.py inspect-export SRC   # both in one process, the export's arguments on stdin
                                              # SRC: a save_pretrained folder or a hub repo id (`reprobe models export`)

Layout (optimum-cli `export onnx --task feature-extraction`, the files Xenova/* repos hold): input `pixel_values`
[batch, 3, H, W] with a dynamic batch; outputs `last_hidden_state` and, where the model has one, `pooler_output`; CLIP
as `vision_model.onnx` (`image_embeds`, `last_hidden_state`) and `text_model.onnx` (`input_ids` → `text_embeds`).
TorchScript exporter at opset 14 (optimum's; LayerNorm and GELU decomposed into primitive ops as in the hub's files).
MAE is exported with mask_ratio 0 and its shuffle fixed to the identity: every patch is kept, in image order, so the
graph has no random op (transformers' own forward keeps every patch too, in a random order; the mean is the same).

Weights are random (seeded): they prove names, ops, pooling and preprocessing, not accuracy. `--tiny` (the fixtures)
keeps each family's classes, patch and image size, and shrinks widths and depth. Configs are the hub repos'
config.json values and processors their preprocessor_config.json values, transcribed here (the hub cannot be reached
from this machine; `hub-check` compares them with the hub where it can be).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "test" / "fixtures" / "hf"
SHARED = ROOT.parent / "shared" / "data"
OPSET = 14

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
HALF = ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
CLIP_NORM = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])
BILINEAR, BICUBIC, NEAREST = 2, 3, 0


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def vit_cfg(hidden, layers, heads, inter, patch):
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=inter,
                patch_size=patch, image_size=224, hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True)


VIT_TINY = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)


def vit_proc(norm, resample):
    return dict(cls="ViTImageProcessorPil", kwargs=dict(do_resize=True, size={"height": 224, "width": 224}, resample=resample,
                                                       do_normalize=True, image_mean=norm[0], image_std=norm[1]))


def beit_proc():
    return dict(cls="BeitImageProcessorPil", kwargs=dict(do_resize=True, size={"height": 224, "width": 224}, resample=BILINEAR,
                                                        do_center_crop=False, do_normalize=True, image_mean=HALF[0], image_std=HALF[1]))


def effnet(size, width, depth, hidden_dim):
    return dict(
        family="efficientnet", model="EfficientNetModel", output=("pooler_output", "none"),
        config=dict(image_size=size, width_coefficient=width, depth_coefficient=depth, hidden_dim=hidden_dim, dropout_rate=0.3 if size < 400 else 0.5),
        tiny=dict(width_coefficient=0.1, depth_coefficient=0.1, hidden_dim=128),
        processor=dict(cls="EfficientNetImageProcessorPil", kwargs=dict(
            do_resize=True, size={"height": size, "width": size}, resample=NEAREST, do_center_crop=False,
            crop_size={"height": 289, "width": 289}, do_rescale=True, rescale_offset=False, do_normalize=True,
            image_mean=IMAGENET[0], image_std=[0.47853944, 0.4732864, 0.47434163], include_top=True)),
    )


def beit_like(model, extra):
    return dict(family="beit", model=model, output=("last_hidden_state", "mean"),
                config=dict(vit_cfg(768, 12, 12, 3072, 16), use_mean_pooling=True, use_relative_position_bias=False,
                            use_shared_relative_position_bias=True, use_absolute_position_embeddings=False,
                            layer_scale_init_value=0.1, use_mask_token=True, layer_norm_eps=1e-12, **extra),
                tiny=VIT_TINY, processor=beit_proc())


# Per study card: the transformers class, the hub repo's config, the shrunk fixture's overrides, the repo's processor,
# and the output the card pools. The repos: see src/backbones/cards/study.ts.
SPECS: dict[str, dict] = {
    "clip-vit-b32": dict(
        family="clip", repo="openai/clip-vit-base-patch32", output=("image_embeds", "none"),
        config=dict(projection_dim=512,
                    vision_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, patch_size=32, image_size=224, hidden_act="quick_gelu", layer_norm_eps=1e-5),
                    text_config=dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048, vocab_size=49408, max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, eos_token_id=2, bos_token_id=0, pad_token_id=1)),
        tiny=dict(projection_dim=24,
                  vision_config=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32),
                  text_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=1000)),
        processor=dict(cls="CLIPImageProcessorPil", kwargs=dict(do_resize=True, size={"shortest_edge": 224}, resample=BICUBIC, do_center_crop=True,
                                                               crop_size={"height": 224, "width": 224}, do_normalize=True, image_mean=CLIP_NORM[0], image_std=CLIP_NORM[1], do_convert_rgb=True)),
    ),
    **{cid: dict(family="vit", repo=repo, model="ViTModel", output=("last_hidden_state", "cls"), config=vit_cfg(*arch), tiny=dict(VIT_TINY, patch_size=arch[4], num_hidden_layers=2 if arch[0] < 1024 else 3),
                 processor=vit_proc(HALF, BILINEAR))
       for cid, repo, arch in [
           ("vit-b16", "google/vit-base-patch16-224-in21k", (768, 12, 12, 3072, 16)),
           ("vit-b32", "google/vit-base-patch32-224-in21k", (768, 12, 12, 3072, 32)),
           ("vit-l16", "google/vit-large-patch16-224-in21k", (1024, 24, 16, 4096, 16)),
           ("vit-l32", "google/vit-large-patch32-224-in21k", (1024, 24, 16, 4096, 32)),
       ]},
    **{cid: dict(family="convnext", repo=repo, model="ConvNextModel", output=("pooler_output", "none"),
                 config=dict(depths=depths, hidden_sizes=sizes, patch_size=4, num_stages=4, layer_norm_eps=1e-12, image_size=224),
                 tiny=dict(depths=[1, 1, 1 if depths[2] < 27 else 2, 1], hidden_sizes=[8, 16, 24, 32]),
                 processor=dict(cls="ConvNextImageProcessorPil", kwargs=dict(do_resize=True, size={"shortest_edge": 224}, crop_pct=0.875, resample=BICUBIC,
                                                                            do_normalize=True, image_mean=IMAGENET[0], image_std=IMAGENET[1])))
       for cid, repo, depths, sizes in [
           ("convnext-tiny", "facebook/convnext-tiny-224", [3, 3, 9, 3], [96, 192, 384, 768]),
           ("convnext-base", "facebook/convnext-base-224", [3, 3, 27, 3], [128, 256, 512, 1024]),
       ]},
    "efficientnet-b2": dict(effnet(260, 1.1, 1.2, 1408), repo="google/efficientnet-b2"),
    "efficientnet-b6": dict(merged(effnet(528, 1.8, 2.6, 2304), {"tiny": {"depth_coefficient": 0.4}}), repo="google/efficientnet-b6"),
    "beit-base": dict(beit_like("BeitModel", {}), repo="microsoft/beit-base-patch16-224-pt22k"),
    "data2vec-base": dict(beit_like("Data2VecVisionModel", {}), repo="facebook/data2vec-vision-base"),
    "mae-base": dict(family="mae", repo="facebook/vit-mae-base", model="ViTMAEModel", output=("last_hidden_state", "mean"),
                     config=dict(vit_cfg(768, 12, 12, 3072, 16), mask_ratio=0.0), tiny=VIT_TINY, processor=vit_proc(IMAGENET, BICUBIC)),
    **{cid: dict(family="vit", repo=f"facebook/{cid}", model="ViTModel", add_pooling_layer=False, output=("last_hidden_state", "cls"),
                 config=vit_cfg(*arch), tiny=dict(VIT_TINY, hidden_size=16 if arch[0] < 768 else 24), processor=vit_proc(IMAGENET, BILINEAR))
       for cid, arch in [("dino-vits16", (384, 12, 6, 1536, 16)), ("dino-vitb16", (768, 12, 12, 3072, 16))]},
}

# Photos whose processor output the fixtures keep: one non-square UC Merced image, one larger DTD photo (a real downscale).
PHOTOS = ["ucmerced/Images/airplane/airplane55.jpg", "dtd/images/cobwebbed/cobwebbed_0030.jpg"]


def build(card: str, tiny: bool, seed: int = 0):
    spec = SPECS[card]
    cfg = merged(spec["config"], spec["tiny"]) if tiny else spec["config"]
    torch.manual_seed(seed)
    if spec["family"] == "clip":
        proj = {"projection_dim": cfg["projection_dim"]}
        config = transformers.CLIPConfig(**cfg)
        vision = transformers.CLIPVisionConfig(**cfg["vision_config"], **proj)
        text = transformers.CLIPTextConfig(**cfg["text_config"], **proj)
        config.vision_config, config.text_config = vision, text
        return spec, config, transformers.CLIPVisionModelWithProjection(vision), transformers.CLIPTextModelWithProjection(text)
    config = getattr(transformers, spec["model"].replace("Model", "Config"))(**cfg)
    kwargs = {"add_pooling_layer": spec["add_pooling_layer"]} if "add_pooling_layer" in spec else {}
    model = getattr(transformers, spec["model"])(config, **kwargs)
    if spec["family"] in ("efficientnet", "convnext"):
        condition(model)
    return spec, config, model, None


def condition(model):
    """ConvNets at their init with 0.02-std convolutions shrink activations to float32 denormals over the depth
    (EfficientNet's features come out near 1e-38): torch's default init instead, and batch-norm statistics that are
    not the identity, so folding them is tested too."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.reset_parameters()
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))


class Exported(torch.nn.Module):
    """The model as optimum exports it: pixel_values in, the named outputs out."""

    def __init__(self, model, names):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return tuple(getattr(out, n) for n in self.names)


class ExportedText(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        out = self.model(input_ids=input_ids)
        return out.text_embeds, out.last_hidden_state


def fix_mae_shuffle(model):
    """mask_ratio 0 keeps every patch; the shuffle becomes the identity so the graph has no random op."""
    emb = model.embeddings

    def random_masking(sequence, noise=None):
        n, t, _ = sequence.shape
        return sequence, torch.zeros(n, t), torch.arange(t).unsqueeze(0).expand(n, t)

    emb.random_masking = random_masking


def output_names(spec, model, size):
    with torch.no_grad():
        out = model(pixel_values=torch.zeros(1, 3, size, size))
    names = ["image_embeds", "last_hidden_state"] if spec["family"] == "clip" else ["last_hidden_state"]
    if spec["family"] != "clip" and getattr(out, "pooler_output", None) is not None:
        names.append("pooler_output")
    return names


def export_onnx(module, example, path: Path, inputs, outputs, dynamic):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(module, example, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=OPSET, dynamo=False, do_constant_folding=True)


def pixels_formula(n: int, size: int) -> np.ndarray:
    """A pixel tensor both sides make the same way (tests rebuild it in TypeScript): smooth waves in [-2, 2]."""
    b, c, h, w = np.meshgrid(np.arange(n), np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    x = 1.5 * np.sin(0.031 * h + 0.017 * w + 1.3 * c + 0.7 * b) + 0.5 * np.cos(0.23 * w - 0.11 * h * (c + 1) + b)
    return x.astype(np.float32)


def ids_formula(n: int, length: int, vocab: int) -> np.ndarray:
    """Token ids both sides make the same way: BOS (vocab-2), 5 + row ids, EOS (vocab-1, the argmax CLIP pools at), padding."""
    ids = np.zeros((n, length), dtype=np.int64)
    for i in range(n):
        body = [(7 * i + 13 * k + 3) % (vocab - 2) for k in range(5 + i)]
        row = [vocab - 2] + body + [vocab - 1]
        ids[i, : len(row)] = row
    return ids


def processor_for(spec):
    proc = spec["processor"]
    return getattr(transformers, proc["cls"])(**proc["kwargs"])


def train_step(model_fn, pixels: torch.Tensor, dim: int, classes: int = 3):
    """Cross-entropy of a fixed linear head (W[c, j] = 0.05 sin(c + 0.37 j), no bias) on the pooled feature, labels i mod classes."""
    w = torch.tensor([[0.05 * math.sin(c + 0.37 * j) for j in range(dim)] for c in range(classes)], dtype=torch.float32)
    labels = torch.arange(pixels.shape[0]) % classes
    feats = model_fn(pixels)
    loss = torch.nn.functional.cross_entropy(feats @ w.T, labels)
    return loss


def card_reference(card: str, tiny: bool, out: Path, photos: list[Path], seed: int = 0) -> dict:
    spec, config, model, text = build(card, tiny, seed)
    if spec["family"] == "mae":
        fix_mae_shuffle(model)
    model.eval()
    size = config.vision_config.image_size if spec["family"] == "clip" else config.image_size
    names = output_names(spec, model, size)
    file = "vision_model.onnx" if spec["family"] == "clip" else "model.onnx"
    export_onnx(Exported(model, names).eval(), (torch.zeros(1, 3, size, size),), out / file, ["pixel_values"], names,
                {"pixel_values": {0: "batch"}, **{n: {0: "batch"} for n in names}})
    pixels = torch.from_numpy(pixels_formula(2, size))
    with torch.no_grad():
        outs = model(pixel_values=pixels)
    feats = pool_t(spec, outs).numpy()

    loss = train_step(lambda px: pool_t(spec, model(pixel_values=px)), pixels, feats.shape[1])
    model.zero_grad()
    loss.backward()
    grads = {n: float(p.grad.norm()) for n, p in model.named_parameters() if p.grad is not None}
    ref = {
        "card": card,
        "repo": spec["repo"],
        "tiny": tiny,
        "seed": seed,
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0], "onnx_opset": OPSET},
        "class": "CLIPVisionModelWithProjection" if spec["family"] == "clip" else spec["model"],
        "hub_config": spec["config"],
        "config": config.vision_config.to_diff_dict() if spec["family"] == "clip" else config.to_diff_dict(),
        "file": file,
        "input": "pixel_values",
        "outputs": names,
        "size": size,
        "feature": {"output": spec["output"][0], "pooling": spec["output"][1], "dim": int(feats.shape[1])},
        "processor": spec["processor"],
        "pixels": "pixels_formula(2, size)",
        "features": feats.tolist(),
        "train_step": {"classes": 3, "loss": float(loss.detach()), "grad_norms": grads},
    }
    if text is not None:
        text.eval()
        vocab = config.text_config.vocab_size
        ids = torch.from_numpy(ids_formula(3, 77, vocab))
        export_onnx(ExportedText(text).eval(), (ids[:1],), out / "text_model.onnx", ["input_ids"], ["text_embeds", "last_hidden_state"],
                    {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}})
        with torch.no_grad():
            t = text(input_ids=ids)
        ref["text"] = {"file": "text_model.onnx", "vocab": vocab, "context": 77, "ids": "ids_formula(3, 77, vocab)", "text_embeds": t.text_embeds.numpy().tolist(),
                       "config": config.text_config.to_diff_dict()}
    ref["preprocess"] = processor_reference(spec, out, photos)
    return ref


def pool_t(spec, outs):
    """The feature a card promises from transformers' outputs: CLS token, mean of the patch tokens, or the output as is."""
    name, how = spec["output"]
    t = getattr(outs, name)
    if how == "cls":
        return t[:, 0]
    if how == "mean":
        return t[:, 1:].mean(dim=1)
    return t.reshape(t.shape[0], -1)


def processor_reference(spec, out: Path, photos: list[Path]) -> list[dict]:
    """The processor's tensor for each photo, kept as the 8-bit image it resized and cropped (PIL works on 8-bit
    images) plus the check that rescale + normalize of those bytes gives its float tensor exactly."""
    proc = processor_for(spec)
    kw = spec["processor"]["kwargs"]
    keep = out.parent / "preprocess"
    rows = []
    for photo in photos:
        if not photo.exists():
            continue
        img = Image.open(photo).convert("RGB")
        px = proc(images=img, return_tensors="np")["pixel_values"][0]
        u8 = geometry_only(proc, img)
        x = u8.astype(np.float32) * np.float32(1 / 255)
        if kw.get("rescale_offset"):
            x = x - 1
        mean, std = np.array(kw["image_mean"], np.float32), np.array(kw["image_std"], np.float32)
        x = (x - mean) / std
        if kw.get("include_top"):
            x = x / std
        x = x.transpose(2, 0, 1)
        gap = float(np.abs(x - px).max())
        assert gap < 1e-5, f"{photo}: 8-bit reconstruction differs from the processor by {gap}"
        name = f"{geometry_key(spec)}-{photo.stem}.png"
        if keep.exists():  # the fixtures keep the 8-bit images; one-off exports (`card`) do not
            Image.fromarray(u8).save(keep / name)
        rows.append({"photo": str(photo.relative_to(SHARED)), "image": f"preprocess/{name}", "shape": list(px.shape),
                     "sha256": hashlib.sha256(px.astype(np.float32).tobytes()).hexdigest(), "reconstruction_max_abs": gap})
    return rows


def geometry_only(proc, img: Image.Image) -> np.ndarray:
    """The processor's resize and crop alone, as 8-bit RGB (its normalisation switched off)."""
    out = proc(images=img, do_normalize=False, do_rescale=False, return_tensors="np", **({"include_top": False} if hasattr(proc, "include_top") else {}))["pixel_values"][0]
    arr = np.asarray(out).transpose(1, 2, 0)
    assert np.all(arr == np.round(arr)) and arr.min() >= 0 and arr.max() <= 255, "the processor's resize did not stay on 8-bit values"
    return arr.astype(np.uint8)


def geometry_key(spec) -> str:
    kw = spec["processor"]["kwargs"]
    size = kw["size"]
    resample = {BILINEAR: "bilinear", BICUBIC: "bicubic", NEAREST: "nearest"}[kw["resample"]]
    if "shortest_edge" in size:
        short = size["shortest_edge"] if "crop_pct" not in kw else int(size["shortest_edge"] / kw["crop_pct"])
        crop = size["shortest_edge"] if "crop_pct" in kw else kw["crop_size"]["height"]
        return f"shorter{short}-crop{crop}-{resample}"
    return f"stretch{size['height']}-{resample}"


def cmd_fixtures(args):
    photos = [SHARED / p for p in PHOTOS]
    missing = [str(p) for p in photos if not p.exists()]
    if missing:
        sys.exit(f"hf_export: the photos the fixtures keep are missing ({', '.join(missing)}); run next to ../shared")
    (FIXTURES / "preprocess").mkdir(parents=True, exist_ok=True)
    cards = args.cards or list(SPECS)
    for card in cards:
        out = FIXTURES / card
        ref = card_reference(card, True, out, photos)
        (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
        sizes = {f.name: f.stat().st_size for f in out.iterdir()}
        print(f"{card}: {ref['outputs']} dim {ref['feature']['dim']} {sizes}")


def cmd_card(args):
    out = Path(args.out)
    ref = card_reference(args.card, not args.full, out, [SHARED / p for p in PHOTOS])
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(json.dumps({k: ref[k] for k in ("card", "file", "outputs", "size", "feature")}))


# config.json's model_type → (family, transformers class, feature output, pooling): what `export` handles.
FAMILIES = {
    "vit": ("vit", "ViTModel", "last_hidden_state", "cls"),
    "clip": ("clip", "CLIPVisionModelWithProjection", "image_embeds", "none"),
    "convnext": ("convnext", "ConvNextModel", "pooler_output", "none"),
    "efficientnet": ("efficientnet", "EfficientNetModel", "pooler_output", "none"),
    "beit": ("beit", "BeitModel", "last_hidden_state", "mean"),
    "data2vec-vision": ("beit", "Data2VecVisionModel", "last_hidden_state", "mean"),
    "vit_mae": ("mae", "ViTMAEModel", "last_hidden_state", "mean"),
}
PROCESSOR_KEYS = ("size", "resample", "crop_pct", "crop_size", "do_center_crop", "image_mean", "image_std", "include_top", "rescale_offset", "rescale_factor")


def inspect_source(src: str) -> dict:
    config = transformers.AutoConfig.from_pretrained(src)
    if config.model_type not in FAMILIES:
        sys.exit(f"hf_export: {src}: model_type {config.model_type!r} is not one reprobe exports (it exports {', '.join(sorted(FAMILIES))})")
    family, cls, output, pooling = FAMILIES[config.model_type]
    vision = config.vision_config if family == "clip" else config
    try:
        proc = transformers.AutoImageProcessor.from_pretrained(src).to_dict()
        processor = {k: proc[k] for k in PROCESSOR_KEYS if k in proc}
    except (OSError, ValueError):
        processor = None
    size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
    patch = getattr(vision, "patch_size", None) if family in ("vit", "clip", "beit", "mae") else None
    dim = config.projection_dim if family == "clip" else getattr(config, "hidden_dim", None) if family == "efficientnet" else config.hidden_sizes[-1] if family == "convnext" else config.hidden_size
    return {"model_type": config.model_type, "family": family, "class": cls, "output": output, "pooling": pooling, "size": size, "dim": dim,
            "patch": patch if isinstance(patch, int) or patch is None else patch[0], "processor": processor,
            "text": family == "clip", "versions": {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]}}


def load_source(src: str, info: dict):
    family, cls = info["family"], info["class"]
    kwargs = {"mask_ratio": 0.0} if family == "mae" else {}
    model = getattr(transformers, cls).from_pretrained(src, **kwargs).eval()
    if family == "mae":
        fix_mae_shuffle(model)
    text = transformers.CLIPTextModelWithProjection.from_pretrained(src).eval() if family == "clip" else None
    return model, text


def card_pixels(img: Image.Image, pre: dict, height: int, width: int) -> np.ndarray:
    """A reprobe card's preprocessing written with PIL (independent of reprobe's sharp pipeline): resize (stretch, or the
    shorter side to resizeTo and a centre crop, its offset floored or rounded half to even), scale, normalise → [3, h, w]."""
    resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[pre.get("interpolation", "bilinear")]
    if pre.get("resize", "shorter") == "stretch":
        img = img.resize((width, height), resample)
    else:
        s = pre.get("resizeTo") or min(height, width)
        w, h = img.size
        size = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        img = img.resize(size, resample)
        off = (lambda v: math.floor(v)) if pre.get("cropOffset") == "floor" else (lambda v: round(v))  # Python's round: half to even
        left, top = off((size[0] - width) / 2), off((size[1] - height) / 2)
        img = img.crop((left, top, left + width, top + height))
    x = np.asarray(img, dtype=np.float64) * pre.get("scale", 1 / 255)
    x = (x - np.array(pre["mean"])) / np.array(pre["std"])
    return x.transpose(2, 0, 1).astype(np.float32)


IMAGE_EXT = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}


def cmd_inspect(args):
    print(json.dumps(inspect_source(args.source)))


def cmd_export(args):
    info = inspect_source(args.source)
    print(json.dumps(export_source(args.source, info, args.out, args.images, args.n, json.loads(args.preprocess))))


def cmd_inspect_export(args):
    """inspect, then export with what the caller sends on stdin (one JSON line: out, images, n, preprocess) after it
    checked the inspection; an empty line or EOF ends it. One process, so torch and transformers load once (7 CPU s)."""
    requests = sys.stdin
    # transformers may ask on stdin (trust_remote_code): with the request pipe open it would wait out its timeout.
    sys.stdin = open(os.devnull)
    info = inspect_source(args.source)
    # On a line of its own: a prompt printed without its newline cannot hide it.
    print("\n" + json.dumps(info), flush=True)
    line = requests.readline()
    if not line.strip():
        return
    req = json.loads(line)
    print(json.dumps(export_source(args.source, info, req["out"], req.get("images"), req.get("n", 8), req.get("preprocess", {}))))


def export_source(source: str, info: dict, out_dir: str, images: str | None, n: int, pre: dict) -> dict:
    model, text = load_source(source, info)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = info["size"]
    names = output_names({"family": info["family"]}, model, size)
    file = "vision_model.onnx" if info["family"] == "clip" else "model.onnx"
    export_onnx(Exported(model, names).eval(), (torch.zeros(1, 3, size, size),), out / file, ["pixel_values"], names,
                {"pixel_values": {0: "batch"}, **{n: {0: "batch"} for n in names}})
    if text is not None:
        ids = torch.from_numpy(ids_formula(1, text.config.max_position_embeddings, text.config.vocab_size))
        export_onnx(ExportedText(text).eval(), (ids,), out / "text_model.onnx", ["input_ids"], ["text_embeds", "last_hidden_state"],
                    {"input_ids": {0: "batch", 1: "tokens"}, "text_embeds": {0: "batch"}, "last_hidden_state": {0: "batch", 1: "tokens"}})
    ids, rows = [], []
    if images:
        root = Path(images)
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXT and not any(part.startswith(".") for part in p.relative_to(root).parts))
        for p in files[:n]:
            rows.append(card_pixels(Image.open(p).convert("RGB"), pre, size, size))
            ids.append(str(p.relative_to(root)))
    if rows:
        with torch.no_grad():
            o = model(pixel_values=torch.from_numpy(np.stack(rows)))
        feats = pool_t({"output": (info["output"], info["pooling"])}, o).numpy().astype(np.float32)
        np.save(out / "reference.npy", feats)
    (out / "reference.json").write_text(json.dumps({**info, "file": file, "outputs": names, "ids": ids}) + "\n")
    return {"file": file, "outputs": names, "images": len(ids)}


def cmd_bench(args):
    """transformers' own throughput on a card's full-size model (random weights): the repo's processor on the images
    (PIL decode included), then the forward pass, batch by batch, on `--threads` threads."""
    import time
    torch.set_num_threads(args.threads)
    spec, config, model, _ = build(args.card, False)
    if spec["family"] == "mae":
        fix_mae_shuffle(model)
    model.eval()
    proc = processor_for(spec)
    files = [line for line in Path(args.list).read_text().splitlines() if line]
    with torch.no_grad():
        warm = proc(images=[Image.open(files[0]).convert("RGB")], return_tensors="pt")["pixel_values"]
        model(pixel_values=warm)
        t0 = time.perf_counter()
        for i in range(0, len(files), args.batch):
            px = proc(images=[Image.open(f).convert("RGB") for f in files[i:i + args.batch]], return_tensors="pt")["pixel_values"]
            model(pixel_values=px)
        dt = time.perf_counter() - t0
    print(json.dumps({"images": len(files), "seconds": dt, "images_per_s": len(files) / dt, "threads": args.threads}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures", help="the tiny fixtures of every study card (test/fixtures/hf)")
    f.add_argument("cards", nargs="*")
    c = sub.add_parser("card", help="one card's export and reference")
    c.add_argument("card", choices=list(SPECS))
    c.add_argument("--out", required=True)
    c.add_argument("--full", action="store_true", help="full size (random weights) instead of the shrunk fixture")
    i = sub.add_parser("inspect", help="model type, family, sizes and processor of a checkpoint, as JSON")
    i.add_argument("source", help="a save_pretrained folder, or a hub repo id")
    e = sub.add_parser("export", help="export a checkpoint as the hub's ONNX files, with transformers' features on a few images")
    e.add_argument("source", help="a save_pretrained folder, or a hub repo id")
    e.add_argument("--out", required=True)
    e.add_argument("--images", help="folder of images for the reference features")
    e.add_argument("--preprocess", default="{}", help="the reprobe card's preprocess as JSON (the transform the references use)")
    e.add_argument("--n", type=int, default=8, help="images for the reference features")
    ie = sub.add_parser("inspect-export", help="inspect, print it, then export with the JSON line read from stdin (reprobe models export)")
    ie.add_argument("source", help="a save_pretrained folder, or a hub repo id")
    b = sub.add_parser("bench", help="transformers' images/s on a card's full-size model (processor + forward)")
    b.add_argument("card", choices=list(SPECS))
    b.add_argument("--list", required=True, help="a file with one image path a line")
    b.add_argument("--batch", type=int, default=16)
    b.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    {"bench": cmd_bench, "fixtures": cmd_fixtures, "card": cmd_card, "inspect": cmd_inspect, "export": cmd_export,
     "inspect-export": cmd_inspect_export}[args.cmd](args)


if __name__ == "__main__":
    main()
