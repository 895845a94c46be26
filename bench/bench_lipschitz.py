# bench/bench_lipschitz.py — PyTorch twin of bench_lipschitz.cpp (chapter 7): one training epoch of
# the dense non-expansive network on the first 30,000 Fashion-MNIST training images (pixels in [0, 1];
# uniform random images of the same shape when the data is absent), batch 128, shuffled,
# cross-entropy on 16 x logits, Adam lr 1e-3:
#   Flatten, lift Linear(784, 256) divided by max(1, sigma), 5 gradient-step blocks
#   x <- x - h A^T leaky_relu(A x + b, 0.1) with T = 1 and n = ceil(T sigma_A^2 / 2) sub-steps of h = T/n,
#   head Linear(256, 10) divided by max(1, sigma).
# The same power-iteration schedule as stablenn: 1000 iterations at initialisation, then one
# warm-started iteration u <- A^T A u / ||A^T A u|| per layer and training step (no gradient), sigma =
# sqrt(||A^T A u||) for the step rule and the differentiable ||W u|| for the normalised lift/head.
# Every repetition starts from a freshly initialised model (same seed).
# Prints "BENCH lipschitz_epoch_nonexpansive_784_256x5_b128 pytorch <seconds>" (median after a
# warm-up of 20 batches). Run: /usr/bin/python3 bench/bench_lipschitz.py --threads N [--quick]
import argparse
import gzip
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def find_file(roots, name):
    for root in roots:
        for candidate in (os.path.join(root, "fashion-mnist", name), os.path.join(root, "fashion-mnist", name + ".gz")):
            if os.path.isfile(candidate):
                return candidate
    return None


def read_bytes(path):
    with open(path, "rb") as f:
        head = f.read(2)
    with (gzip.open if head == b"\x1f\x8b" else open)(path, "rb") as f:
        return f.read()


def load_fashion(roots, count):
    images, labels = find_file(roots, "train-images-idx3-ubyte"), find_file(roots, "train-labels-idx1-ubyte")
    if images is None or labels is None:
        print("# fashion-mnist not found: timing synthetic images of the same shape", file=sys.stderr)
        g = torch.Generator().manual_seed(0)
        return torch.rand(count, 1, 28, 28, generator=g), torch.randint(0, 10, (count,), generator=g)
    x = np.frombuffer(read_bytes(images), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    y = np.frombuffer(read_bytes(labels), dtype=np.uint8, offset=8)[:count]
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def power_step(weight, u, iterations):
    """u <- W^T W u / ||W^T W u||, returns sqrt(||W^T W u||) (sigma, not sigma^2)."""
    with torch.no_grad():
        sigma = 0.0
        for _ in range(iterations):
            w = (weight @ u) @ weight  # W^T (W u) for u a row: (u W^T) W
            lam = w.norm()
            u.copy_(w / lam)
            sigma = math.sqrt(lam.item())
        return sigma


class NormLinear(torch.nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.linear = torch.nn.Linear(fan_in, fan_out)
        u = torch.randn(fan_in)
        self.register_buffer("u", u / u.norm())
        power_step(self.linear.weight, self.u, 1000)

    def forward(self, x):
        y = F.linear(x, self.linear.weight)
        if self.training:
            power_step(self.linear.weight, self.u, 1)
            sigma = (self.linear.weight @ self.u).norm()  # differentiable in W, u fixed
            if sigma.item() > 1:
                y = y / sigma
        return y + self.linear.bias


class GradientStep(torch.nn.Module):
    def __init__(self, width, time=1.0):
        super().__init__()
        self.linear = torch.nn.Linear(width, width)
        u = torch.randn(width)
        self.register_buffer("u", u / u.norm())
        self.time = time
        self.substeps = 0
        power_step(self.linear.weight, self.u, 1000)

    def forward(self, x):
        sigma = power_step(self.linear.weight, self.u, 1)
        n = max(1, math.ceil(self.time * sigma * sigma / 2))
        h = self.time / n
        self.substeps = n
        w, b = self.linear.weight, self.linear.bias
        for _ in range(n):
            x = x - h * (F.leaky_relu(F.linear(x, w, b), 0.1) @ w)
        return x


def make_model():
    torch.manual_seed(7)
    return torch.nn.Sequential(torch.nn.Flatten(), NormLinear(784, 256), *[GradientStep(256) for _ in range(5)],
                               NormLinear(256, 10))


def train_epoch(x, y, order, max_batches=None):
    model = make_model()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    substeps = 0
    last = 0.0
    for b, i in enumerate(range(0, len(order), 128)):
        if max_batches is not None and b >= max_batches:
            break
        idx = order[i:i + 128]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]) * 16.0, y[idx])
        loss.backward()
        opt.step()
        last = loss.item()
        substeps += sum(m.substeps for m in model if isinstance(m, GradientStep))
    return time.perf_counter() - start, substeps, last


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    here = os.path.dirname(os.path.abspath(__file__))
    roots = [r for r in (args.data_dir, os.environ.get("STABLENN_DATA", ""), "data",
                         os.path.join(here, "..", "..", "shared", "data")) if r]
    count = 6000 if args.quick else 30000
    x, y = load_fashion(roots, count)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(1))
    train_epoch(x, y, order, max_batches=20)  # warm-up
    times = []
    for _ in range(2 if args.quick else 3):
        seconds, substeps, last = train_epoch(x, y, order)
        times.append(seconds)
    print(f"BENCH lipschitz_epoch_nonexpansive_784_256x5_b128 pytorch {statistics.median(times):.6f}")
    batches = (count + 127) // 128
    print(f"# sub-steps per epoch {substeps} (5 blocks, {substeps / batches:.2f} per batch), last loss {last:.4f}")


if __name__ == "__main__":
    main()
