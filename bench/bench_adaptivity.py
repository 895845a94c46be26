# bench/bench_adaptivity.py — PyTorch twin of bench_adaptivity.cpp (chapter 11): one refinement cycle of
# the layerwise adaptive method without the split, written the way one would in PyTorch: the Euler
# network x <- x + tau_k tanh(x W_k^T + b_k) (d = 8, K = 8, T = 2), head 8 -> 2, cross-entropy,
# lambda = 1e-3 for the L2 (sum tau_k |theta_k|^2), H1 (sum |theta_{k+1} - theta_k|^2 / tau) and head
# terms, the gradient by autograd; steepest descent with Armijo backtracking (c = 1e-4, halve, next
# search from twice the accepted step); then the DWR indicators eta_k = sum_i <p_{k+1}, delta_k> with the
# adjoints p_k = dJ/dx_k from autograd (retain_grad) and delta_k = (tau/2)(tanh(W (x_k + tau/2 s_k) + b) - s_k),
# plus the loss's quadratic term along delta_k carried to t_K by the linearised steps (train/dwr_estimator.h).
# Same closed-form inputs and starting weights as the C++ side, float64.
# Prints "BENCH adaptivity_cycle pytorch <seconds>" (median after a warm-up) and a "# goal" line.
# Run: /usr/bin/python3 bench/bench_adaptivity.py --threads N [--quick]
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

POINTS, DIM, LAYERS, T, LAM = 1000, 8, 8, 2.0, 1e-3


def spirals():
    i = torch.arange(POINTS)
    t = 0.05 + 0.95 * (i // 2).double() / (POINTS // 2)
    angle = 3 * math.pi * t + (i % 2 == 1).double() * math.pi
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], 1)
    x = torch.cat([x, torch.zeros(POINTS, DIM - 2, dtype=torch.float64)], 1)
    return x, (i % 2).long()


def starting_params():
    cs = DIM * DIM + DIM
    n = LAYERS * cs + 2 * DIM + 2
    v = 0.5 * torch.sin(torch.arange(1, n + 1, dtype=torch.float64)) / math.sqrt(DIM)
    return v[:LAYERS * cs].reshape(LAYERS, cs).clone(), v[LAYERS * cs:].clone()


def goal(controls, head, x, y, tau, keep_states=False):
    states = []
    for k in range(LAYERS):
        w = controls[k, :DIM * DIM].reshape(DIM, DIM)
        b = controls[k, DIM * DIM:]
        if keep_states:
            x.retain_grad()
            states.append(x)
        x = x + tau[k] * torch.tanh(x @ w.T + b)
    if keep_states:
        x.retain_grad()
        states.append(x)
    c = head[:2 * DIM].reshape(2, DIM)
    logits = x @ c.T + head[2 * DIM:]
    loss = F.cross_entropy(logits, y)
    l2 = (tau[:, None] * controls ** 2).sum()
    mids = 0.5 * (tau[1:] + tau[:-1])
    h1 = (((controls[1:] - controls[:-1]) ** 2).sum(1) / mids).sum()
    reg = 0.5 * LAM * (l2 + h1 + (head[:2 * DIM] ** 2).sum())
    return loss + reg, states


def cycle(x0, y, iterations):
    tau = torch.full((LAYERS,), T / LAYERS, dtype=torch.float64)
    controls, head = starting_params()
    step, evaluations = 1.0, 0
    for _ in range(iterations):
        controls.requires_grad_(True)
        head.requires_grad_(True)
        j0, _ = goal(controls, head, x0, y, tau)
        gc, gh = torch.autograd.grad(j0, (controls, head))
        controls, head = controls.detach(), head.detach()
        norm2 = float((gc ** 2).sum() + (gh ** 2).sum())
        alpha = step
        with torch.no_grad():
            for _ in range(41):
                evaluations += 1
                j1, _ = goal(controls - alpha * gc, head - alpha * gh, x0, y, tau)
                if float(j1) <= float(j0) - 1e-4 * alpha * norm2:
                    controls, head = controls - alpha * gc, head - alpha * gh
                    step = 2 * alpha
                    break
                alpha *= 0.5
            else:  # no step decreased J: keep the point, restart the search from 1
                step = 1.0
    # Indicators: adjoints p_k = dJ/dx_k by autograd; delta_k, the residual of two half-steps; v_k,
    # delta_k carried to t_K by the linearised Euler steps; the loss's quadratic term along C v_k.
    x = x0.clone().requires_grad_(True)
    j, states = goal(controls, head, x, y, tau, keep_states=True)
    j.backward()
    c = head[:2 * DIM].reshape(2, DIM)
    with torch.no_grad():
        ws = [controls[k, :DIM * DIM].reshape(DIM, DIM) for k in range(LAYERS)]
        bs = [controls[k, DIM * DIM:] for k in range(LAYERS)]
        acts = [torch.tanh(states[k].detach() @ ws[k].T + bs[k]) for k in range(LAYERS)]
        pi = torch.softmax(states[-1].detach() @ c.T + head[2 * DIM:], 1)

        def curvature(v):
            dy = v @ c.T
            return 0.5 * float(((pi * dy ** 2).sum(1) - (pi * dy).sum(1) ** 2).mean())

        first, total_v, eta = 0.0, torch.zeros_like(x0), []
        for k in range(LAYERS):
            xk, s = states[k].detach(), acts[k]
            delta = 0.5 * tau[k] * (torch.tanh((xk + 0.5 * tau[k] * s) @ ws[k].T + bs[k]) - s)
            f = float((states[k + 1].grad * delta).sum())
            v = delta
            for jj in range(k + 1, LAYERS):
                v = v + tau[jj] * (1 - acts[jj] ** 2) * (v @ ws[jj].T)
            total_v += v
            first += f
            eta.append(f + curvature(v))
        estimate = first + curvature(total_v)
    return float(goal(controls, head, x0, y, tau)[0]), estimate, evaluations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    iterations = 20 if args.quick else 100
    x0, y = spirals()
    out = cycle(x0, y, iterations)  # warm-up
    times = []
    for _ in range(3 if args.quick else 5):
        start = time.perf_counter()
        out = cycle(x0, y, iterations)
        times.append(time.perf_counter() - start)
    print(f"BENCH adaptivity_cycle pytorch {statistics.median(times):.6f}", flush=True)
    print(f"# goal {out[0]:.10f} estimate {out[1]:.6e} evaluations {out[2]}")


if __name__ == "__main__":
    main()
