#!/usr/bin/python3
"""PyTorch twin of wattlab's training loop, for train_throughput.sh.

Same network (pytorch_models.py mirrors the zoo), optimizer (Adam, lr 1e-3),
batch size, thread count and batching: the images stay uint8 in memory
(--resize scales them bilinearly once, as wattlab's --resize), and each batch
is gathered (index_select over a seeded permutation), converted to float and
normalised on the training thread, inside the timed loop, as train_bench does
with --prefetch 0. Only the training loop is timed, and not in the first
--warmup-epochs epochs (first allocations, oneDNN's code generation), as
train_bench's --warmup-epochs. Run it with
/usr/bin/python3 (Debian's python3-torch; other interpreters cannot see it).
Prints "parameters=<trainable scalars>" and "images_per_cpu_s=<training images
per CPU second of this thread>" (steadier than wall time on a shared machine); last line:
"images_per_s=<training images per second>".
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from pytorch_models import MODELS


def read_idx(path, offset, count, item_bytes):
    with gzip.open(path, "rb") as f:
        data = f.read(offset + count * item_bytes)
    return np.frombuffer(data, dtype=np.uint8, offset=offset)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="cnn", choices=sorted(MODELS))
    p.add_argument("--resize", type=int, default=0)
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    if not 0 <= a.warmup_epochs < a.epochs:
        p.error("--warmup-epochs must leave at least one of the --epochs to count")

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)

    pixels = read_idx(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz"), 16, a.images, 28 * 28)
    labels = read_idx(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"), 8, a.images, 1)
    x = torch.from_numpy(pixels.copy()).reshape(-1, 1, 28, 28)
    if a.resize:
        scaled = F.interpolate(x.float(), size=(a.resize, a.resize), mode="bilinear", align_corners=False)
        x = scaled.round_().clamp_(0, 255).to(torch.uint8)
    x = x.contiguous()
    mean = x.float().div(255.0).mean().item()
    std = x.float().div(255.0).std(unbiased=False).item()
    y = torch.from_numpy(labels.copy()).long()
    n = x.shape[0]

    model = MODELS[a.model](x.shape[1], x.shape[2], 10)
    print(f"parameters={sum(p.numel() for p in model.parameters() if p.requires_grad)}", flush=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    gen = torch.Generator().manual_seed(a.seed)
    seconds = cpu_seconds = 0.0
    for epoch in range(a.epochs):
        perm = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        start_cpu = time.thread_time()
        loss_sum = 0.0
        for begin in range(0, n, a.batch_size):
            index = perm[begin:begin + a.batch_size]
            images = x.index_select(0, index).float().div_(255.0).sub_(mean).div_(std)
            targets = y.index_select(0, index)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), targets)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * index.numel()
        if epoch >= a.warmup_epochs:
            seconds += time.perf_counter() - start
            cpu_seconds += time.thread_time() - start_cpu
        print(f"epoch {epoch + 1}: train_loss={loss_sum / n:.4f} train_time_s={seconds:.2f}", flush=True)
    print(f"pytorch {a.model} {torch.__version__} threads={torch.get_num_threads()} batch_size={a.batch_size}")
    counted = (a.epochs - a.warmup_epochs) * n
    print(f"images_per_cpu_s={counted / cpu_seconds:.1f}")
    print(f"images_per_s={counted / seconds:.1f}")


if __name__ == "__main__":
    main()
