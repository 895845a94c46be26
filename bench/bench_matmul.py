# bench/bench_matmul.py — PyTorch twin of bench_matmul.cpp (chapter 1): float32 matmul of
# [n, n] x [n, n] for n = 256, 512, 1024 (torch.matmul allocates its result, like stablenn::matmul).
# Run with /usr/bin/python3 bench/bench_matmul.py --threads N [--quick]; prints BENCH lines.
import argparse
import statistics
import time

import torch


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
    parser = argparse.ArgumentParser(description="matmul benchmark, PyTorch side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few repetitions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for n in (256, 512, 1024):
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        # Same repetition counts as the C++ side.
        reps = 5 if args.quick else min(101, max(15, 20 * (1024 // n)))
        warmup = 2 if args.quick else 5
        with torch.no_grad():
            seconds = median_seconds(lambda: torch.matmul(a, b), warmup, reps)
        print(f"BENCH matmul_{n} pytorch {seconds:.6f}", flush=True)


if __name__ == "__main__":
    main()
