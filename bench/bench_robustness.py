# bench/bench_robustness.py — PyTorch twin of bench_robustness.cpp (chapter 8): the toy robustness
# experiment of book/A-references.md §A.4 with the same models, data sizes, optimiser, epochs and attack.
#   ResNet: Flatten, Linear(784,256), 5 x [x + B leaky_relu(A x + b, 0.1)], Linear(256,10);
#   non-expansive: Flatten, Linear(784,256)/max(1,sigma), 5 x gradient-step blocks
#     x - h A^T leaky_relu(A x + b, 0.1) with n = ceil(T sigma_A^2 / 2) Euler sub-steps of h = T/n
#     (T = 1, one warm-started power iteration per training step, converged estimates in
#     evaluation), Linear(256,10)/max(1,sigma); loss: cross-entropy of 16 * logits.
#   Adam lr 1e-3 with cosine decay over all steps, batch 128, test evaluation after each epoch;
#   then l2-PGD (random start, step 2.5 eps / iterations) at eps 0, 0.125, ..., 1 on the first test
#   images, in batches of 250.
# Prints "BENCH robustness_<part> pytorch <seconds>" and "PEAKMEM robustness_total pytorch <MiB>".
# Run: /usr/bin/python3 bench/bench_robustness.py --threads N [--quick] [--data-dir DIR]
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(roots, name, offset):
    for root in roots:
        for path in (os.path.join(root, "fashion-mnist", name), os.path.join(root, "fashion-mnist", name + ".gz")):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    gz = f.read(2) == b"\x1f\x8b"
                with (gzip.open if gz else open)(path, "rb") as f:
                    return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)
    return None


def load(roots, train_count):
    xtr, ytr = read_idx(roots, "train-images-idx3-ubyte", 16), read_idx(roots, "train-labels-idx1-ubyte", 8)
    xte, yte = read_idx(roots, "t10k-images-idx3-ubyte", 16), read_idx(roots, "t10k-labels-idx1-ubyte", 8)
    if xtr is None or xte is None:
        print("# fashion-mnist not found: synthetic uniform images of the same shapes", file=sys.stderr)
        g = torch.Generator().manual_seed(0)
        return (torch.rand(train_count, 1, 28, 28, generator=g), torch.randint(0, 10, (train_count,), generator=g),
                torch.rand(10000, 1, 28, 28, generator=g), torch.randint(0, 10, (10000,), generator=g))
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.permutation(np.flatnonzero(ytr == c))[: train_count // 10] for c in range(10)])
    rng.shuffle(idx)
    to_x = lambda a: torch.from_numpy(a.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    return (to_x(xtr)[idx], torch.from_numpy(ytr[idx].astype(np.int64)),
            to_x(xte), torch.from_numpy(yte.astype(np.int64)))


class PowerNorm(torch.nn.Module):
    """Keeps the power-iteration vector u of a weight; sigma() is differentiable in the weight."""

    def __init__(self, in_features):
        super().__init__()
        u = torch.randn(in_features)
        self.register_buffer("u", u / u.norm())
        self.frozen = None

    def sigma(self, w, iterations=1):
        with torch.no_grad():
            for _ in range(iterations):
                v = w.t() @ (w @ self.u)
                self.u.copy_(v / v.norm())
        return (w @ self.u).norm()

    def eval_sigma(self, w):  # converged, cached for evaluation
        if self.frozen is None:
            self.frozen = self.sigma(w, 1000).detach() * (1 + 1e-5)
        return self.frozen


class NormLinear(torch.nn.Linear):
    def __init__(self, i, o):
        super().__init__(i, o)
        self.power = PowerNorm(i)

    def forward(self, x):
        s = self.power.sigma(self.weight) if self.training else self.power.eval_sigma(self.weight)
        return F.linear(x, self.weight / torch.clamp(s, min=1.0), self.bias)


class GradientStep(torch.nn.Module):
    def __init__(self, width, time=1.0):
        super().__init__()
        self.A = torch.nn.Linear(width, width)
        self.power = PowerNorm(width)
        self.time = time
        self.substeps = 0  # of the last forward pass

    def forward(self, x):
        s = self.power.sigma(self.A.weight) if self.training else self.power.eval_sigma(self.A.weight)
        n = max(1, math.ceil(self.time * float(s) ** 2 / 2.0))
        self.substeps = n
        h = self.time / n
        for _ in range(n):
            x = x - h * F.leaky_relu(self.A(x), 0.1) @ self.A.weight
        return x


class Residual(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.A = torch.nn.Linear(width, width)
        self.B = torch.nn.Linear(width, width, bias=False)

    def forward(self, x):
        return x + self.B(F.leaky_relu(self.A(x), 0.1))


def make(kind, width=256, blocks=5):
    if kind == "resnet":
        layers = [torch.nn.Flatten(), torch.nn.Linear(784, width)] + [Residual(width) for _ in range(blocks)]
        return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    layers = [torch.nn.Flatten(), NormLinear(784, width)] + [GradientStep(width) for _ in range(blocks)]
    return torch.nn.Sequential(*layers, NormLinear(width, 10))


def unfreeze(model):
    for m in model.modules():
        if isinstance(m, PowerNorm):
            m.frozen = None


def train(model, scale, xtr, ytr, xte, yte, epochs, batch=128):
    steps = epochs * math.ceil(len(xtr) / batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        unfreeze(model)
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            logits = model(xtr[idx])
            loss = F.cross_entropy(scale * logits, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss.item()  # what a progress bar reads back
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + batch]).argmax(1) == yte[i:i + batch]).sum().item()
                          for i in range(0, len(xte), batch))
    return correct / len(xte)


def pgd_l2(model, x, y, eps, iterations):
    step = 2.5 * eps / iterations
    d = x[0].numel()
    direction = torch.randn_like(x)
    direction = direction / direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    delta = direction * (eps * torch.rand(len(x)) ** (1.0 / d)).view(-1, 1, 1, 1)
    x_adv = (x + delta).clamp(0, 1)
    fooled = model(x).argmax(1) != y
    for _ in range(iterations):
        x_adv.requires_grad_(True)
        logits = model(x_adv)
        fooled |= logits.argmax(1) != y
        loss = F.cross_entropy(logits, y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x_adv)
        with torch.no_grad():
            g = g / (g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12)
            delta = x_adv - x + step * g
            norms = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            delta = delta * torch.clamp(eps / (norms + 1e-12), max=1.0)
            x_adv = (x + delta).clamp(0, 1)
    with torch.no_grad():
        fooled |= model(x_adv).argmax(1) != y
    return int(fooled.sum())


def attack(model, x, y, eps_grid, iterations, batch=250):
    model.eval()
    acc = []
    for eps in eps_grid:
        robust = 0
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch], y[i:i + batch]
            if eps == 0:
                with torch.no_grad():
                    robust += int((model(xb).argmax(1) == yb).sum())
            else:
                robust += len(xb) - pgd_l2(model, xb, yb, eps, iterations)
        acc.append(robust / len(x))
    return acc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data-dir", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    train_count, epochs, attack_count, iterations = (5000, 2, 200, 20) if a.quick else (30000, 30, 1000, 100)
    here = os.path.dirname(os.path.abspath(__file__))
    roots = [r for r in (a.data_dir, os.environ.get("STABLENN_DATA", ""), "data",
                         os.path.join(here, "..", "..", "shared", "data")) if r]
    total = time.perf_counter()
    xtr, ytr, xte, yte = load(roots, train_count)
    eps_grid = [0.125 * k for k in range(9)]
    for kind, scale in (("resnet", 1.0), ("nonexpansive", 16.0)):
        model = make(kind)
        t = time.perf_counter()
        clean = train(model, scale, xtr, ytr, xte, yte, epochs)
        print(f"BENCH robustness_train_{kind} pytorch {time.perf_counter() - t:.3f}")
        t = time.perf_counter()
        acc = attack(model, xte[:attack_count], yte[:attack_count], eps_grid, iterations)
        print(f"BENCH robustness_attack_{kind} pytorch {time.perf_counter() - t:.3f}")
        print(f"# {kind}: test accuracy {clean:.4f}, robust accuracy at eps 0.5: {acc[4]:.3f}, at eps 1: {acc[-1]:.3f}")
        if kind == "nonexpansive":
            print("# nonexpansive: Euler sub-steps per block in evaluation:",
                  *[m.substeps for m in model.modules() if isinstance(m, GradientStep)])
        sys.stdout.flush()
    print(f"BENCH robustness_total pytorch {time.perf_counter() - total:.3f}")
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    print(f"PEAKMEM robustness_total pytorch {peak / 1024:.1f}")


if __name__ == "__main__":
    main()
