# bench/bench_autodiff.py — PyTorch twin of bench_autodiff.cpp (chapter 2): forward + backward of
#   mlp:     784-256-256-10 MLP with ReLU and cross-entropy, batch 128 (float32);
#   convnet: conv(1->8, 3x3, pad 1) - relu - maxpool 2 - conv(8->16, 3x3, pad 1) - relu - maxpool 2 -
#            linear(784->10) - cross-entropy, batch 128, 28x28 inputs (float32).
# Each repetition drops the gradients (set to None), runs the forward pass and backpropagates into every
# parameter. Run with /usr/bin/python3 bench/bench_autodiff.py --threads N [--quick].
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


def parameter(*shape, fan_in):
    bound = 1.0 / fan_in ** 0.5
    return (torch.rand(*shape) * 2 * bound - bound).requires_grad_(True)


def zero_grads(params):
    for p in params:
        p.grad = None


def bench_mlp(quick):
    x = torch.randn(128, 784)
    labels = torch.randint(0, 10, (128,))
    p = [parameter(256, 784, fan_in=784), parameter(256, fan_in=784),
         parameter(256, 256, fan_in=256), parameter(256, fan_in=256),
         parameter(10, 256, fan_in=256), parameter(10, fan_in=256)]

    def step():
        zero_grads(p)
        h = F.relu(F.linear(x, p[0], p[1]))
        h = F.relu(F.linear(h, p[2], p[3]))
        F.cross_entropy(F.linear(h, p[4], p[5]), labels).backward()

    return median_seconds(step, 3 if quick else 10, 10 if quick else 50)


def bench_convnet(quick):
    x = torch.randn(128, 1, 28, 28)
    labels = torch.randint(0, 10, (128,))
    p = [parameter(8, 1, 3, 3, fan_in=9), parameter(8, fan_in=9),
         parameter(16, 8, 3, 3, fan_in=72), parameter(16, fan_in=72),
         parameter(10, 784, fan_in=784), parameter(10, fan_in=784)]

    def step():
        zero_grads(p)
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=1)), 2, 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3], padding=1)), 2, 2)
        F.cross_entropy(F.linear(h.flatten(1), p[4], p[5]), labels).backward()

    return median_seconds(step, 2 if quick else 5, 5 if quick else 30)


def main():
    parser = argparse.ArgumentParser(description="autodiff benchmark, PyTorch side")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few repetitions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"BENCH mlp_784_256_256_10_b128_fwd_bwd pytorch {bench_mlp(args.quick):.6f}", flush=True)
    print(f"BENCH convnet_c8_c16_28x28_b128_fwd_bwd pytorch {bench_convnet(args.quick):.6f}", flush=True)


if __name__ == "__main__":
    main()
