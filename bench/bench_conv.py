# bench/bench_conv.py — PyTorch twin of bench_conv.cpp (chapter 1): conv2d forward, and forward plus
# both adjoints (input gradient and weight gradient), batch 128, 16 -> 16 channels, 28x28, 3x3, pad 1.
# Run with /usr/bin/python3 bench/bench_conv.py --threads N [--quick]; prints BENCH lines.
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_seconds(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description="conv2d benchmark, PyTorch side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few repetitions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    warmup, reps = (2, 5) if args.quick else (5, 30)

    batch, channels, out_channels, size, kernel, padding = 128, 16, 16, 28, 3, 1
    x = torch.randn(batch, channels, size, size)
    w = torch.randn(out_channels, channels, kernel, kernel) * 0.1
    b = torch.randn(out_channels)
    gy = torch.randn(batch, out_channels, size, size)

    def forward():
        with torch.no_grad():
            F.conv2d(x, w, b, stride=1, padding=padding)

    xg = x.clone().requires_grad_(True)
    wg = w.clone().requires_grad_(True)

    def forward_and_adjoints():
        # Forward, then the two adjoints through autograd (PyTorch's own backward kernels).
        y = F.conv2d(xg, wg, None, stride=1, padding=padding)
        torch.autograd.grad(y, (xg, wg), gy)

    name = "conv2d_fwd_b128_c16_28x28"
    print(f"BENCH {name} pytorch {median_seconds(forward, warmup, reps):.6f}", flush=True)
    name = "conv2d_fwd_adjoints_b128_c16_28x28"
    print(f"BENCH {name} pytorch {median_seconds(forward_and_adjoints, warmup, reps):.6f}",
          flush=True)


if __name__ == "__main__":
    main()
