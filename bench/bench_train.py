# bench/bench_train.py — PyTorch twin of bench_train.cpp (chapter 3): one training epoch over
# Fashion-MNIST (60,000 images; synthetic uniform images of the same shape when the data is absent),
# batch 128, shuffled, normalised with the training set's mean and std, Adam lr 1e-3, cross-entropy,
# with the loss and the number of correct predictions read back every batch (what a training loop
# shows in its progress bar), for
#   mlp: Flatten, Linear(784, 256), ReLU, Linear(256, 256), ReLU, Linear(256, 10);
#   cnn: Conv(1->16, 3x3, pad 1), ReLU, MaxPool 2, Conv(16->32, 3x3, pad 1), ReLU, MaxPool 2,
#        Flatten, Linear(1568, 10).
# Prints "BENCH <workload> pytorch <seconds>" (median epoch time) and "PEAKMEM <workload> pytorch
# <MiB>" (VmHWM of the process while the workload ran; reset through /proc/self/clear_refs).
# Run: /usr/bin/python3 bench/bench_train.py --threads N [--quick] [--data-dir DIR]
# --quick trains on the first 6,000 images with fewer repetitions (bench_train.cpp does the same).
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training set, as in the chapter 3 program


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


def load_fashion(roots):
    images, labels = find_file(roots, "train-images-idx3-ubyte"), find_file(roots, "train-labels-idx1-ubyte")
    if images is None or labels is None:
        print("# fashion-mnist not found: timing synthetic images of the same shape", file=sys.stderr)
        g = torch.Generator().manual_seed(0)
        return torch.rand(60000, 1, 28, 28, generator=g), torch.randint(0, 10, (60000,), generator=g)
    x = np.frombuffer(read_bytes(images), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    y = np.frombuffer(read_bytes(labels), dtype=np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def make_mlp():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def make_cnn():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10))


def train_epoch(model, optimizer, x, y, generator):
    model.train()
    perm = torch.randperm(x.shape[0], generator=generator)
    loss_sum, correct = 0.0, 0
    for start in range(0, x.shape[0], 128):
        idx = perm[start:start + 128]
        xb = (x[idx] - MEAN) / STD
        yb = y[idx]
        optimizer.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * yb.shape[0]
        correct += (logits.argmax(1) == yb).sum().item()
    return loss_sum, correct


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not permitted here: the peak then covers the whole process so far


def median_epoch_seconds(model, x, y, warmup, reps):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(warmup):
        train_epoch(model, optimizer, x, y, generator)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        _, correct = train_epoch(model, optimizer, x, y, generator)
        times.append(time.perf_counter() - start)
    return statistics.median(times), correct / x.shape[0]


def main():
    parser = argparse.ArgumentParser(description="chapter 3 training-epoch benchmark, PyTorch side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="6,000 images, fewer repetitions")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    here = os.path.dirname(os.path.abspath(__file__))
    roots = [r for r in (args.data_dir, os.environ.get("STABLENN_DATA", ""), "./data", "../shared/data",
                         os.path.join(here, "..", "..", "shared", "data")) if r]
    x, y = load_fashion(roots)
    if args.quick:
        x, y = x[:6000].clone(), y[:6000].clone()
    warmup, reps = (1, 2) if args.quick else (1, 3)
    for name, make in (("train_epoch_mlp_784_256_256_10_b128", make_mlp), ("train_epoch_cnn_c16_c32_b128", make_cnn)):
        reset_peak_rss()
        t, accuracy = median_epoch_seconds(make(), x, y, warmup, reps)
        print(f"# {name}: training accuracy of the last epoch {accuracy:.4f}", flush=True)
        print(f"BENCH {name} pytorch {t:.6f}", flush=True)
        print(f"PEAKMEM {name} pytorch {peak_rss_mib():.1f}", flush=True)


if __name__ == "__main__":
    main()
