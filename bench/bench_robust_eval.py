# bench/bench_robust_eval.py — PyTorch twin of bench_robust_eval.cpp: chapter 8's strong robustness
# evaluation (robust/robust_eval.cpp, robust/attacks.cpp) written in PyTorch, run on the SAME two
# models and the SAME images, which bench_robust_eval.cpp writes into its work folder first.
#
# The models are rebuilt from the checkpoints with exactly our evaluation-mode forward:
#   ResNet: Flatten, Linear(784, 256), 5 x [x + B leaky_relu(A x + b, 0.1)], Linear(256, 10);
#   non-expansive: Flatten, lift, 5 gradient-step blocks, head. Lift and head: (x W^T)·m + b with
#     m = 1/max(1, s) rounded DOWN in the model's dtype (reciprocal_rounded_down; no multiplication
#     when s <= 1), s the stored upper bound "<i>.eval_norm" (float64) of ||W||; blocks: n =
#     ceil(T·Lip·s²/(2r)) (adaptive_substeps: T = 1, Lip(LeakyReLU 0.1) = 1, r = 1 for Euler) Euler
#     sub-steps x <- x - (leaky_relu(x A^T + b, 0.1) A)·h, h = T/n.
# The float32 model is attacked; a float64 copy verifies. Clean logits are compared with ours.
# The protocol (robust_eval.cpp, strong), per batch of 250 images:
#   clean check by the float64 copy; FMN (100 steps, margin loss, step alpha cosine-annealed from
#   max(eps_max, 1e-3) to 1/100 of it, radius factor 1 -+ gamma, gamma 0.05 -> 0.001) on the
#   correctly classified images; then for each eps > 0 from the largest down, on the images whose
#   verified minimum norm is > eps + 1e-6 and that are not settled: APGD-margin from the smallest
#   verified example projected onto the eps-ball (a random start on the eps-sphere where none is
#   known), APGD-CE from a random start, `restarts` APGD-margin runs from random starts, each on the
#   rows the runs before left unbroken; rows unbroken after all runs are settled (robust at eps and
#   every smaller eps, not attacked again). APGD: eta = 2 eps, momentum 0.75, checkpoints after 22 % of
#   the iterations then intervals shrinking by 3 % to 6 %, halving where the loss rose in at most
#   rho = 0.75 of the interval's steps or where the last checkpoint did not halve and the best loss
#   did not improve (then back to the best point and its gradient); early exit of fooled examples.
#   Every candidate counts only when verified: ||delta|| <= eps + 1e-6 (float64), pixels in [0, 1],
#   misclassified by the float64 copy.
# Prints "BENCH robust_eval_<model> pytorch <seconds>" and "# curve <model> <accuracy % per eps>".
# Run: /usr/bin/python3 bench/bench_robust_eval.py --work DIR [--threads N] [--quick]
#   (--quick is accepted for bench/run.sh and changes nothing: the work folder holds the sizes.)
import argparse
import json
import math
import os
import sys
import time
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

SLACK = 1e-6
LO, HI = 0.0, 1.0


def read_safetensors(path):
    """-> ({name: tensor}, metadata): the 8-byte little-endian header length, the JSON header, the data."""
    with open(path, "rb") as f:
        buf = f.read()
    n = int.from_bytes(buf[:8], "little")
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[8 + n + b:8 + n + e], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def reciprocal_rounded_down(scale, dtype):
    """The largest number of `dtype` that is <= 1/scale (spectral_norm.cpp)."""
    if dtype == torch.float32:
        m = np.float32(1.0 / scale)
        if Fraction(float(m)) * Fraction(scale) > 1:
            m = np.nextafter(m, np.float32(0))
        return float(m)
    m = 1.0 / scale
    if Fraction(m) * Fraction(scale) > 1:
        m = float(np.nextafter(m, 0.0))
    return m


def adaptive_substeps(time_, lip, norm, radius):
    """gradient_step_block.cpp: n = ceil(T·Lip·norm²/(2r)), at least 1, then up while h·Lip·norm² > 2r."""
    n = max(1, int(math.ceil(time_ * lip * norm * norm / (2.0 * radius))))
    while time_ / float(n) * lip * norm * norm > 2.0 * radius:
        n += 1
    return n


class Net:
    """Our evaluation-mode forward, from a checkpoint's tensors, in `dtype`."""

    def __init__(self, kind, state, dtype):
        self.kind, self.dtype = kind, dtype
        t = lambda name: state[name].to(dtype)
        self.layers = []  # (op, tensors...)
        i = 1
        if kind == "resnet":
            self.layers.append(("linear", t("1.weight"), t("1.bias")))
            i = 2
            while f"{i}.weight_a" in state:
                self.layers.append(("resnet", t(f"{i}.weight_a"), t(f"{i}.bias"), t(f"{i}.weight_b")))
                i += 1
            self.layers.append(("linear", t(f"{i}.weight"), t(f"{i}.bias")))
        else:
            self.substeps = []
            self.layers.append(("normlinear", t("1.weight"), t("1.bias"), self.multiplier(state, "1")))
            i = 2
            while f"{i}.weight" in state and f"{i + 1}.weight" in state:  # blocks; the last one is the head
                n = adaptive_substeps(1.0, 1.0, self.eval_norm(state, str(i)), 1.0)
                self.substeps.append(n)
                self.layers.append(("gradstep", t(f"{i}.weight"), t(f"{i}.bias"), n))
                i += 1
            self.layers.append(("normlinear", t(f"{i}.weight"), t(f"{i}.bias"), self.multiplier(state, str(i))))

    @staticmethod
    def eval_norm(state, prefix):
        name = prefix + ".eval_norm"
        if name in state and float(state[name]) > 0:
            return float(state[name])
        # no stored bound: the exact norm with the library's margin (spectral_norm_upper_bound, dense)
        print(f"# warning: no '{name}' in the checkpoint, using svd * (1 + 1e-12)", file=sys.stderr)
        return float(torch.linalg.svdvals(state[prefix + ".weight"].double())[0]) * (1 + 1e-12)

    def multiplier(self, state, prefix):
        scale = max(1.0, self.eval_norm(state, prefix))
        return None if scale == 1.0 else reciprocal_rounded_down(scale, self.dtype)

    def __call__(self, x):
        x = x.flatten(1)
        for layer in self.layers:
            op = layer[0]
            if op == "linear":
                x = F.linear(x, layer[1], layer[2])
            elif op == "normlinear":
                _, w, b, m = layer
                y = F.linear(x, w)
                x = (y if m is None else y * m) + b
            elif op == "resnet":
                _, a, b, bw = layer
                x = x + F.linear(F.leaky_relu(F.linear(x, a, b), 0.1), bw)
            else:  # gradstep
                _, a, b, n = layer
                h = 1.0 / n
                for _ in range(n):
                    x = x - (F.leaky_relu(F.linear(x, a, b), 0.1) @ a) * h
        return x


# ---- attacks (robust/attacks.cpp) ----

def rows_shape(t):
    return (-1,) + (1,) * (t.dim() - 1)


def per_example_norm(t):  # in t's dtype, as sqrt(sum(square))
    return t.flatten(1).square().sum(1).sqrt()


def norms64(t):  # float64, as row_p_norms
    return t.double().flatten(1).norm(dim=1)


def ascent_direction(g):
    return g / (per_example_norm(g) + 1e-12).view(rows_shape(g))


def project_to_ball(delta, eps):
    scale = (eps / (per_example_norm(delta) + 1e-12)).clamp(0.0, 1.0)
    return delta * scale.view(rows_shape(delta))


def project(x, x_adv, eps):
    return (x + project_to_ball(x_adv - x, eps)).clamp(LO, HI)


def random_start(x, eps, gen):
    return (x + ascent_direction(torch.randn(x.shape, generator=gen, dtype=x.dtype)) * eps).clamp(LO, HI)


def input_gradient(model, at, y, kind):
    x = at.detach().requires_grad_(True)
    logits = model(x)
    if kind == "ce":
        objective = F.cross_entropy(logits, y, reduction="sum")
    else:
        oh = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        objective = ((logits - oh * 1e9).amax(1) - (logits * oh).sum(1)).sum()
    (g,) = torch.autograd.grad(objective, x)
    return g, logits.detach()


def attack_loss(logits, y, kind):  # float64, per example (per_example_attack_loss)
    z = logits.double()
    zy = z.gather(1, y[:, None])[:, 0]
    if kind == "margin":
        return z.scatter(1, y[:, None], -math.inf).amax(1) - zy
    return torch.logsumexp(z, 1) - zy


def apgd(model, x, y, eps, iterations, kind, start, momentum=0.75, rho=0.75):
    n = len(x)
    adv, fooled = x.clone(), torch.zeros(n, dtype=torch.bool)
    eta = torch.full((n,), 2.0 * eps, dtype=torch.float64)
    best = torch.empty(n, dtype=torch.float64)
    last, best_at_check = torch.empty_like(best), torch.empty_like(best)
    increases = torch.zeros(n, dtype=torch.int64)
    reduced_at_check = torch.ones(n, dtype=torch.bool)
    active = torch.arange(n)
    xa, ya = x, y
    cur = project(x, start, eps)

    def evaluate(at):
        g, logits = input_gradient(model, at, ya, kind)
        hit = logits.argmax(1) != ya
        if bool(hit.any()):
            idx = active[hit]
            fooled[idx] = True
            adv[idx] = at[hit].detach()
        return g, attack_loss(logits, ya, kind)

    g, first = evaluate(cur)
    best[:], last[:], best_at_check[:] = first, first, first
    prev, best_x, best_g = cur, cur, g
    interval = max(1, int(0.22 * iterations))
    min_interval, shrink = max(1, int(0.06 * iterations)), max(1, int(0.03 * iterations))
    since_check = 0
    for it in range(iterations):
        keep = ~fooled[active]  # early exit
        if not bool(keep.all()):
            if not bool(keep.any()):
                break
            xa, ya, cur, prev, best_x, g, best_g = (t[keep] for t in (xa, ya, cur, prev, best_x, g, best_g))
            active = active[keep]
        a = 1.0 if it == 0 else momentum
        with torch.no_grad():
            step = ascent_direction(g) * eta[active].to(x.dtype).view(rows_shape(g))
            z = project(xa, cur + step, eps)
            nxt = project(xa, cur + ((z - cur) * a + (cur - prev) * (1.0 - a)), eps)
        prev, cur = cur, nxt
        g, loss = evaluate(cur)
        increases[active] += (loss > last[active]).long()
        last[active] = loss
        improved = loss > best[active]
        best[active] = torch.where(improved, loss, best[active])
        m = improved.view(rows_shape(cur))
        best_x, best_g = torch.where(m, cur, best_x), torch.where(m, g, best_g)
        since_check += 1
        if since_check < interval:
            continue
        oscillating = increases[active].double() <= rho * interval
        stalled = ~reduced_at_check[active] & (best_at_check[active] >= best[active])
        halve = oscillating | stalled
        reduced_at_check[active] = halve
        best_at_check[active] = best[active]
        increases[active] = 0
        eta[active] = torch.where(halve, eta[active] / 2, eta[active])
        m = halve.view(rows_shape(cur))
        cur, g = torch.where(m, best_x, cur), torch.where(m, best_g, g)
        since_check = 0
        interval = max(min_interval, interval - shrink)
    return adv, fooled


def fmn(model, x, y, steps, step_init, gamma_init=0.05, gamma_final=0.001):
    n = len(x)
    adv = x.clone()
    best_norm = torch.full((n,), math.inf, dtype=torch.float64)
    worst = norms64(torch.maximum(x - LO, HI - x))
    radius = torch.full((n,), math.inf, dtype=torch.float64)
    found = torch.zeros(n, dtype=torch.bool)
    delta = torch.zeros_like(x)
    for k in range(steps + 1):
        at = x + delta
        g, logits = input_gradient(model, at, y, "margin")
        hit = logits.argmax(1) != y
        d = norms64(delta)
        better = hit & (d < best_norm)
        best_norm[better] = d[better]
        adv[better] = at[better]
        if k == steps:
            break
        cosine = (1 + math.cos(math.pi * k / steps)) / 2
        alpha = step_init / 100 + (step_init - step_init / 100) * cosine
        gamma = gamma_final + (gamma_init - gamma_final) * cosine
        loss = attack_loss(logits, y, "margin")
        g_l2 = norms64(g).clamp(min=1e-12)
        radius = torch.where(hit, torch.minimum(radius * (1 - gamma), best_norm),
                             torch.where(found, radius * (1 + gamma), d + loss.abs() / g_l2))
        found |= hit
        radius = torch.minimum(radius, worst)
        with torch.no_grad():
            delta = delta + g * (alpha / g_l2).to(x.dtype).view(rows_shape(g))
            rad = radius.to(x.dtype).view(rows_shape(g))
            norms = norms64(delta).to(x.dtype).view(rows_shape(g))
            delta = delta * torch.minimum(torch.ones((), dtype=x.dtype), rad / (norms + 1e-12))
            delta = (x + delta).clamp(LO, HI) - x
    return adv, best_norm


# ---- the strong evaluation (robust/robust_eval.cpp) ----

def verify(model64, x, x_adv, y, eps):
    """-> (ok, norms): ||delta|| <= eps + slack in float64, pixels in range, misclassified in float64."""
    norms = norms64(x_adv - x if x.dtype == torch.float64 else x_adv.double() - x.double())
    in_range = ((x_adv >= LO) & (x_adv <= HI)).flatten(1).all(1)
    with torch.no_grad():
        pred = model64(x_adv.double()).argmax(1)
    return (norms <= eps + SLACK) & in_range & (pred != y), norms


def evaluate_strong(model, model64, images, labels, cfg, gen):
    eps_grid, batch = cfg["eps"], cfg["batch_size"]
    n = len(images)
    robust = [0] * len(eps_grid)
    rejected = 0
    min_norm_all = torch.empty(n, dtype=torch.float64)
    for at in range(0, n, batch):
        x, y = images[at:at + batch], labels[at:at + batch]
        ok, _ = verify(model64, x, x, y, 0.0)
        min_norm = torch.full((len(x),), math.inf, dtype=torch.float64)
        min_norm[ok] = 0.0
        correct = torch.nonzero(min_norm > 0)[:, 0]

        best = x.clone()  # the smallest verified example per row (x where none)

        def accept(rows, x_adv, fooled, eps):
            nonlocal rejected
            accepted = torch.zeros(len(rows), dtype=torch.bool)
            idx = torch.nonzero(fooled)[:, 0]
            if len(idx) == 0:
                return accepted
            r = rows[idx]
            v, norms = verify(model64, x[r], x_adv[idx], y[r], eps)
            rejected += int((~v).sum())
            accepted[idx[v]] = True
            smaller = v & (norms < min_norm[r])
            min_norm[r[smaller]] = norms[smaller]
            best[r[smaller]] = x_adv[idx[smaller]]
            return accepted

        if len(correct) > 0:
            adv, norm = fmn(model, x[correct], y[correct], cfg["min_norm_steps"], max(eps_grid[-1], 1e-3))
            accept(correct, adv, torch.isfinite(norm), math.inf)
        # down the grid; a row that resists every run at eps is settled (robust there and below)
        settled = torch.zeros(len(x), dtype=torch.bool)
        for eps in reversed(eps_grid):
            if eps <= 0:
                continue
            runs = [("margin", True), ("ce", False)] + [("margin", False)] * cfg["restarts"]
            rows = correct[:0]
            for kind, warm in runs:
                rows = correct[(~settled[correct]) & (min_norm[correct] > eps + SLACK)]
                if len(rows) == 0:
                    break
                xs, ys = x[rows], y[rows]
                start = random_start(xs, eps, gen)
                if warm:
                    has = torch.isfinite(min_norm[rows]).view(rows_shape(xs))
                    warm_start = (xs + project_to_ball(best[rows] - xs, eps)).clamp(LO, HI)
                    start = torch.where(has, warm_start, start)
                adv, fooled = apgd(model, xs, ys, eps, cfg["apgd_iterations"], kind, start)
                accept(rows, adv, fooled, eps)
            settled[rows[min_norm[rows] > eps + SLACK]] = True
        for k, eps in enumerate(eps_grid):
            broken = (min_norm == 0) | ((eps > 0) & (min_norm <= eps + SLACK))
            robust[k] += int((~broken).sum())
        min_norm_all[at:at + len(x)] = min_norm
    return [r / n for r in robust], min_norm_all, rejected


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--work", required=True, help="the folder bench_robust_eval.cpp wrote")
    p.add_argument("--data-dir", default="")  # accepted for symmetry; the images come from --work
    a = p.parse_args()
    if a.threads < 1:
        p.error("--threads must be >= 1")
    torch.set_num_threads(a.threads)
    data, meta = read_safetensors(os.path.join(a.work, "data.safetensors"))
    cfg = {"eps": [float(e) for e in meta["eps"].split(",")], "apgd_iterations": int(meta["apgd_iterations"]),
           "restarts": int(meta["restarts"]), "min_norm_steps": int(meta["min_norm_steps"]),
           "batch_size": int(meta["batch_size"])}
    images, labels = data["images"], data["labels"]
    print(f"# {len(images)} images from {a.work}, eps {cfg['eps']}, tag {meta.get('tag', '?')}")
    for kind in ("resnet", "nonexpansive"):
        state, _ = read_safetensors(os.path.join(a.work, kind + ".safetensors"))
        model = Net(kind, state, torch.float32)
        with torch.no_grad():
            logits = torch.cat([model(images[i:i + 500]) for i in range(0, len(images), 500)])
            logits64 = Net(kind, state, torch.float64)(images.double())
        diff = (logits - data["logits_" + kind]).abs().max().item()
        diff64 = (logits64 - data["logits64_" + kind]).abs().max().item()
        agree = (logits.argmax(1) == data["logits_" + kind].argmax(1)).float().mean().item()
        print(f"# {kind}: max |logits - stablenn's| float32 {diff:.3g}, float64 {diff64:.3g}; "
              f"predictions agree on {100 * agree:.1f} %")
        if kind == "nonexpansive":
            print(f"# {kind}: Euler sub-steps per block in evaluation:", *model.substeps)
        sys.stdout.flush()
        gen = torch.Generator().manual_seed(0)
        t = time.perf_counter()
        model64 = Net(kind, state, torch.float64)  # the verifier copy is part of the evaluation, as ours
        acc, min_norm, rejected = evaluate_strong(model, model64, images, labels, cfg, gen)
        print(f"BENCH robust_eval_{kind} pytorch {time.perf_counter() - t:.3f}")
        print(f"# curve {kind}", *[f"{100 * v:.1f}" for v in acc])
        print(f"# {kind}: {rejected} candidate(s) rejected by the float64 verifier")
        ours = os.path.join(a.work, f"result_{kind}.safetensors")
        if os.path.isfile(ours):  # compare the minimum norms image by image
            theirs = read_safetensors(ours)[0]["min_norm"]
            both = torch.isfinite(theirs) & torch.isfinite(min_norm) & (theirs > 0) & (min_norm > 0)
            if bool(both.any()):
                ratio = (min_norm[both] / theirs[both])
                print(f"# {kind}: smallest verified norm, pytorch / stablenn over {int(both.sum())} images: "
                      f"median {ratio.median().item():.3f}, pytorch smaller on {int((ratio < 1).sum())}, "
                      f"stablenn smaller on {int((ratio > 1).sum())}; stablenn curve "
                      + " ".join(f"{100 * v:.1f}" for v in read_safetensors(ours)[0]["accuracy"].tolist()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
