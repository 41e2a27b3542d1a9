#!/usr/bin/env python3
"""A short PyTorch GPU training for checking wattlab's NVML metering on a real GPU.

Run it under `wattlab measure -- python3 bench/gpu_training.py`. It marks its
phases on WATTLAB_PHASE_FD ("idle-before", "train", "idle-after"), so the run
gets one energy window per phase, and meters each phase itself, independently
of wattlab, through NVML (pynvml): the GPU's total-energy counter, and its
power sampled every 100 ms and integrated by the trapezoid rule. It prints one
JSON object per phase on stdout, to compare with `wattlab runs show RUN`.

Needs a CUDA GPU, PyTorch and torchvision, and nvidia-ml-py. Not part of CI.
"""
import argparse
import json
import os
import threading
import time

import pynvml
import torch
import torchvision


class PowerIntegrator:
    """Samples GPU power every interval_s and integrates it (trapezoid)."""

    def __init__(self, handle, interval_s=0.1):
        self.handle, self.interval_s = handle, interval_s
        self.energy_j = 0.0
        self.samples = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.last = (time.monotonic(), pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self):
        now, power_w = time.monotonic(), pynvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
        with self.lock:
            t0, p0 = self.last
            self.energy_j += (p0 + power_w) / 2 * (now - t0)
            self.last = (now, power_w)
            self.samples += 1
            return self.energy_j

    def run(self):
        while not self.stop.wait(self.interval_s):
            self.sample()

    def close(self):
        self.stop.set()
        self.thread.join()


class Phases:
    """Marks phases for wattlab and meters them with NVML."""

    def __init__(self, handle, integrator):
        fd = os.environ.get("WATTLAB_PHASE_FD")
        self.pipe = os.fdopen(int(fd), "w", buffering=1) if fd else None
        self.handle, self.integrator = handle, integrator
        self.results = []

    def __call__(self, name, body):
        if self.pipe:
            self.pipe.write(f"begin {name}\n")
        torch.cuda.synchronize()
        t0, c0, e0 = time.monotonic(), pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle), self.integrator.sample()
        extra = body()
        torch.cuda.synchronize()
        t1, c1, e1 = time.monotonic(), pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle), self.integrator.sample()
        if self.pipe:
            self.pipe.write(f"end {name}\n")
        result = {"phase": name, "duration_s": round(t1 - t0, 3), "counter_energy_j": (c1 - c0) / 1000.0,
                  "integrated_power_energy_j": round(e1 - e0, 3)}
        result.update(extra or {})
        self.results.append(result)
        print(json.dumps(result), flush=True)


def train(seconds, batch_size):
    model = torchvision.models.resnet50(num_classes=1000).cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    images = torch.randn(batch_size, 3, 224, 224, device="cuda").to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch_size,), device="cuda")
    loss_fn = torch.nn.CrossEntropyLoss()
    steps, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        if steps % 20 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    return {"steps": steps, "images_per_s": round(steps * batch_size / (time.monotonic() - start), 1),
            "loss": round(float(loss.detach()), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="training time (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=5, help="idle phases before and after (default 5)")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(int(os.environ.get("GPU_INDEX", "0")))
    torch.zeros(1, device="cuda")  # CUDA context before the first phase
    integrator = PowerIntegrator(handle)
    phases = Phases(handle, integrator)
    phases("idle-before", lambda: time.sleep(args.idle_seconds))
    phases("train", lambda: train(args.seconds, args.batch_size))
    phases("idle-after", lambda: time.sleep(args.idle_seconds))
    integrator.close()
    print(json.dumps({"gpu": pynvml.nvmlDeviceGetName(handle), "power_samples": integrator.samples}), flush=True)


if __name__ == "__main__":
    main()
