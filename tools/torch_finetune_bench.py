#!/usr/bin/env python3
"""PyTorch CPU side of bench/finetune.ts (tooling only; Debian python3-torch + python3-torchvision).

  run <mode> <epochs> <threads> [model]
                                  the seed study's loop on torchvision's MobileNetV2 cut where reprobe's mobilenet-v2
                                  card taps it (block_13_expand_relu: features[:14] + features[14]'s expand conv), or
                                  (model inception-v3) InceptionV3 cut at mixed6 (Mixed_6d) in the card's 8 blocks,
                                  global average pool, a 21-class linear head; 147 train + 42 val images of 224 px (299)
                                  (random: speed does not depend on them), batch 16, Adam lr 1e-5, model.train() for
                                  training, eval + no_grad for validation. Every epoch recomputes the frozen prefix,
                                  as the seed study's loop does. mode: head | last:N | all.
Prints one JSON line: seconds per epoch (mean after the first), the first epoch's seconds and the peak RSS in MiB.
"""
import json
import resource
import sys
import time

import torch
import torchvision


def inception_blocks() -> list:
    """The inception-v3 card's blocks: the stem to max_pooling2d_2, then mixed0..mixed6 (Mixed_5b..Mixed_6d)."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    stem = torch.nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1, net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, net.maxpool2)
    return [stem, net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d]


def build(mode: str, name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "inception-v3":
        blocks, width = inception_blocks(), 768
    else:
        feats = torchvision.models.mobilenet_v2(weights=None).features
        expand = feats[14].conv[0]  # block_13's 1x1 expand conv + BN + ReLU6: the card's tap
        blocks, width = list(feats[:14]) + [expand], 576  # 15 blocks, as `reprobe models layers mobilenet-v2` lists them
    body = torch.nn.Sequential(*blocks)
    head = torch.nn.Linear(width, 21)
    model = torch.nn.Sequential(body, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), head)
    trained = 0 if mode == "head" else len(blocks) if mode == "all" else int(mode.split(":")[1])
    for i, b in enumerate(blocks):
        for p in b.parameters():
            p.requires_grad = i >= len(blocks) - trained
    return model


def main() -> None:
    _, cmd, mode, epochs, threads, *rest = sys.argv
    assert cmd == "run"
    name = rest[0] if rest else "mobilenet-v2"
    size = 299 if name == "inception-v3" else 224
    torch.set_num_threads(int(threads))
    model = build(mode, name)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-5)
    g = torch.Generator().manual_seed(0)
    train_x, train_y = torch.rand(147, 3, size, size, generator=g), torch.randint(0, 21, (147,), generator=g)
    val_x, val_y = torch.rand(42, 3, size, size, generator=g), torch.randint(0, 21, (42,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(int(epochs)):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(147, generator=g)
        for s in range(0, 147, 16):
            idx = order[s : s + 16]
            opt.zero_grad()
            loss_fn(model(train_x[idx]), train_y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for s in range(0, 42, 16):
                loss_fn(model(val_x[s : s + 16]), val_y[s : s + 16])
        times.append(time.perf_counter() - t0)
    later = times[1:] or times
    print(json.dumps({"mode": mode, "epochs": len(times), "first_epoch_s": times[0], "epoch_s": sum(later) / len(later), "torch": torch.__version__, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
