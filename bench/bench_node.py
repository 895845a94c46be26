# bench/bench_node.py — PyTorch twin of bench_node.cpp (chapter 5): one training step (forward,
# backward, Adam update) of the chapter's neural-ODE classifier on 1,000 two-spiral points, full batch,
# float32: scale the input by 2, zero-augment 2 -> 4 dimensions, field [z, t] -> 32 -> 32 -> 4 with
# tanh, fixed-step RK4 on [0, 1] written here by hand (torchdiffeq is not used), head Linear(4, 2),
# cross-entropy, Adam lr 1e-2.
#   node_step_rk4_10_backprop   10 RK4 steps, autograd through the steps
#   node_step_rk4_10_adjoint    10 RK4 steps, the adjoint method as a custom autograd.Function (forward
#                               under no_grad, backward integrates [x, a, dL/dθ] back with 10 RK4 steps)
#   node_step_dopri5_*          RK4 with the number of evaluations stablenn's Dormand–Prince took at
#                               rtol 1e-5 on this model (see the "# nfe" lines of bench_node.cpp;
#                               DOPRI5_FORWARD_NFE below): the same work, a fixed-step solver.
#   node_mem_rk4_<10|1000>_<backprop|adjoint>  peak memory of one step at 10 and 1,000 steps.
# Prints "BENCH <workload> pytorch <seconds>" (median after a warm-up) and "PEAKMEM ... pytorch <MiB>".
# Run: /usr/bin/python3 bench/bench_node.py --threads N [--quick]
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

# Forward evaluations of stablenn's Dormand–Prince (rtol 1e-5, atol 1e-7) on this workload's first
# step (bench_node.cpp prints them); RK4 takes 4 per step.
DOPRI5_FORWARD_NFE = 26  # measured: bench_node --quick, first step from the seed-5 weights


def make_spirals(n, noise, generator, turns=1.5):
    # datasets/toy2d.cpp's recipe: radius t, angle 2 pi turns t (+ pi for class 1), t in [0.05, 1]
    i = torch.arange(n)
    labels = i % 2
    t = 0.05 + 0.95 * torch.rand(n, generator=generator, dtype=torch.float64)
    angle = 2 * math.pi * turns * t + math.pi * labels
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], 1)
    x = x + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return x.float(), labels


class Field(torch.nn.Module):
    def __init__(self, d, width):
        super().__init__()
        self.l1, self.l2, self.l3 = torch.nn.Linear(d + 1, width), torch.nn.Linear(width, width), torch.nn.Linear(width, d)

    def forward(self, t, z):
        tz = torch.cat([z, torch.full((z.shape[0], 1), t, dtype=z.dtype)], 1)
        return self.l3(torch.tanh(self.l2(torch.tanh(self.l1(tz)))))


def rk4(f, z, t0, t1, steps):
    h = (t1 - t0) / steps
    for n in range(steps):
        t = t0 + n * h
        k1 = f(t, z)
        k2 = f(t + h / 2, z + (h / 2) * k1)
        k3 = f(t + h / 2, z + (h / 2) * k2)
        k4 = f(t + h, z + h * k3)
        z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


class OdeAdjoint(torch.autograd.Function):
    # The adjoint method (Chen et al. 2018) with fixed-step RK4 both ways.
    @staticmethod
    def forward(ctx, z0, field, steps, *params):
        with torch.no_grad():
            z1 = rk4(field, z0, 0.0, 1.0, steps)
        ctx.field, ctx.steps = field, steps
        ctx.save_for_backward(z1, *params)
        return z1

    @staticmethod
    def backward(ctx, grad_z1):
        z1, *params = ctx.saved_tensors
        field, n = ctx.field, z1.numel()
        shapes = [p.shape for p in params]

        def augmented(t, s):
            z = s[:n].view_as(z1).detach().requires_grad_(True)
            a = s[n:2 * n].view_as(z1)
            with torch.enable_grad():
                fz = field(t, z)
                vjp = torch.autograd.grad(fz, [z] + params, a, allow_unused=True)
            parts = [fz.reshape(-1)] + [(-g if g is not None else torch.zeros(sh)).reshape(-1)
                                        for g, sh in zip(vjp, [z1.shape] + shapes)]
            return torch.cat(parts).detach()

        s1 = torch.cat([z1.reshape(-1), grad_z1.reshape(-1)] + [torch.zeros(p.numel()) for p in params])
        s0 = rk4(augmented, s1, 1.0, 0.0, ctx.steps)
        grads, offset = [], 2 * n
        for p in params:
            grads.append(s0[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        return (s0[n:2 * n].view_as(z1), None, None, *grads)


class Classifier(torch.nn.Module):
    def __init__(self, steps, adjoint):
        super().__init__()
        self.field, self.head = Field(4, 32), torch.nn.Linear(4, 2)
        self.steps, self.adjoint = steps, adjoint

    def forward(self, x):
        z0 = torch.cat([2 * x, torch.zeros(x.shape[0], 2)], 1)
        if self.adjoint:
            z1 = OdeAdjoint.apply(z0, self.field, self.steps, *self.field.parameters())
        else:
            z1 = rk4(self.field, z0, 0.0, 1.0, self.steps)
        return self.head(z1)


def time_steps(steps, adjoint, x, y, warmup, reps):
    torch.manual_seed(5)
    model = Classifier(steps, adjoint)
    initial = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    times = []
    for _ in range(warmup + reps):
        with torch.no_grad():
            for p, p0 in zip(model.parameters(), initial):
                p.copy_(p0)
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[warmup:])


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return -1.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dopri5-nfe", type=int, default=DOPRI5_FORWARD_NFE,
                        help="forward evaluations of stablenn's Dopri5 (the '# nfe' line of bench_node)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = make_spirals(1000, 0.02, torch.Generator().manual_seed(0))
    warmup, reps = 2, (5 if args.quick else 21)
    dopri_steps = max(1, round(args.dopri5_nfe / 4))
    for name, steps, adjoint in [("node_step_rk4_10_backprop", 10, False), ("node_step_rk4_10_adjoint", 10, True),
                                 ("node_step_dopri5_backprop", dopri_steps, False),
                                 ("node_step_dopri5_adjoint", dopri_steps, True)]:
        print(f"BENCH {name} pytorch {time_steps(steps, adjoint, x, y, warmup, reps):.6f}", flush=True)
    for steps in (10, 1000):
        for adjoint in (True, False):
            name = f"node_mem_rk4_{steps}_{'adjoint' if adjoint else 'backprop'}"
            reset_peak_rss()
            seconds = time_steps(steps, adjoint, x, y, 1, 1)
            print(f"BENCH {name} pytorch {seconds:.6f}")
            print(f"PEAKMEM {name} pytorch {peak_rss_mib():.1f}", flush=True)


if __name__ == "__main__":
    main()
