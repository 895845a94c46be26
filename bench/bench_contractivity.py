# bench/bench_contractivity.py — PyTorch twin of bench_contractivity.cpp (chapter 10): one training
# epoch (a fixed number of batches: forward, loss, backward, Adam update) of the chapter's
# convolutional neural ODE classifier on random MNIST-sized images (uniform in [0, 1], random labels),
# batch 128, float32:
#   lift Conv(1 -> C, 4x4, stride 2, pad 1) + ReLU -> u = x_0 on 14x14; N forward Euler steps on [0, 1]
#   of f(x; u) = σ(K ⋆ x + β + u), K 3x3 "same", σ(s) = αs + (1 − α)·softplus(s), α = 0.5; flatten;
#   Linear(C·14·14, 10); cross-entropy; Adam lr 3e-3; C = 16, N = 2 (the chapter's defaults).
#   contractivity_epoch_none      cross-entropy only
#   contractivity_epoch_jacobian  on every 2nd batch: + 2 · mean ReLU(μ₂ + ρ) over the first 16 images
#                                 of the batch at Euler state k = (batch / 2) % N: 8 Lanczos steps on (J + Jᵀ)/2 per image (J v
#                                 by the double-vjp trick, Jᵀ v by one vjp; full re-orthogonalisation),
#                                 then uᵀJᵀu at the top Ritz vector u recorded (create_graph)
#   contractivity_epoch_weight    + Σ_c ReLU(γ_c + ρ), γ from the symmetrised Gershgorin sums of K
# Prints "BENCH <workload> pytorch <seconds>" (median epoch time after a warm-up epoch).
# Run: /usr/bin/python3 bench/bench_contractivity.py --threads N [--quick]
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

C, KERNEL, STEPS, HORIZON, ALPHA = 16, 3, 2, 1.0, 0.5
BATCH, REG_SAMPLES, LANCZOS_STEPS, JACOBIAN_EVERY, RHO, LR = 128, 16, 8, 2, 0.5, 3e-3


def sigma(s):
    return ALPHA * s + (1 - ALPHA) * F.softplus(s)


class ConvNode(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lift = torch.nn.Conv2d(1, C, 4, stride=2, padding=1)
        self.weight = torch.nn.Parameter(torch.empty(C, C, KERNEL, KERNEL).uniform_(-0.2 / (C * KERNEL**2) ** 0.5,
                                                                                     0.2 / (C * KERNEL**2) ** 0.5))
        self.bias = torch.nn.Parameter(torch.empty(C).uniform_(-0.2 / (C * KERNEL**2) ** 0.5, 0.2 / (C * KERNEL**2) ** 0.5))
        self.head = torch.nn.Linear(C * 14 * 14, 10)
        self.states = []

    def drive(self, x, u):
        return sigma(F.conv2d(x, self.weight, self.bias, padding=KERNEL // 2) + u)

    def forward(self, images, keep_states=False):
        u = torch.relu(self.lift(images))
        x = u
        h = HORIZON / STEPS
        self.states = []
        for _ in range(STEPS):
            if keep_states:
                self.states.append(x.detach())
            x = x + h * self.drive(x, u)
        return self.head(x.flatten(1))


def normalise(v):
    return v / (v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1))) + 1e-30)


def sample_dots(a, b):
    return (a * b).flatten(1).sum(1)


def per_sample(s, like):
    return s.view(-1, *([1] * (like.dim() - 1)))


def log_norm2_estimate(f, x, steps, generator):
    xl = x.clone().requires_grad_(True)
    y = f(xl)
    u = torch.zeros_like(y, requires_grad=True)
    jt_u = torch.autograd.grad(y, xl, u, create_graph=True)[0]

    def sym(v):
        jv = torch.autograd.grad(jt_u, u, v, retain_graph=True)[0]
        jtv = torch.autograd.grad(y, xl, v, retain_graph=True)[0]
        return 0.5 * (jv + jtv)

    q = [normalise(torch.randn(x.shape, generator=generator))]
    alphas, betas = [], []
    with torch.no_grad():
        for j in range(steps):
            w = sym(q[j])
            alphas.append(sample_dots(w, q[j]))
            if j + 1 == steps:
                break
            for _ in range(2):
                for qi in q:
                    w = w - per_sample(sample_dots(w, qi), w) * qi
            b = w.flatten(1).norm(dim=1)
            betas.append(b)
            q.append(w / per_sample(b + 1e-30, w))
        t = torch.diag_embed(torch.stack(alphas, 1).double())
        if betas:
            off = torch.diag_embed(torch.stack(betas, 1).double(), offset=1)
            t = t + off + off.transpose(1, 2)
        _, vecs = torch.linalg.eigh(t)
        y_top = vecs[:, :, -1].to(x.dtype)
        v = normalise(sum(per_sample(y_top[:, i], x) * q[i] for i in range(len(q))))
    jtv = torch.autograd.grad(y, xl, v, create_graph=True)[0]
    return (jtv * v).flatten(1).sum(1)


def weight_gamma(k):
    m = k.shape[2] // 2
    centre = k[:, :, m, m]
    diag = torch.diagonal(centre)
    a, abs_diag = k.abs(), diag.abs()
    row_off = a.sum((1, 2, 3)) - abs_diag
    col_off = a.sum((0, 2, 3)) - abs_diag
    s = diag + 0.5 * row_off
    phi = torch.relu(s) * 1.0 - torch.relu(-s) * ALPHA
    return phi + 0.5 * col_off


def loss_of(net, reg, x, y, b, generator):
    logits = net(x, keep_states=reg == "jacobian")
    loss = F.cross_entropy(logits, y)
    if reg == "jacobian" and b % JACOBIAN_EVERY == 0:
        xs = net.states[(b // JACOBIAN_EVERY) % STEPS][:REG_SAMPLES]
        us = net.states[0][:REG_SAMPLES]
        mu = log_norm2_estimate(lambda v: net.drive(v, us), xs, LANCZOS_STEPS, generator)
        loss = loss + JACOBIAN_EVERY * torch.relu(mu + RHO).mean()
    elif reg == "weight":
        loss = loss + torch.relu(weight_gamma(net.weight) + RHO).sum()
    return loss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batches = 10 if args.quick else 50
    reps = 3 if args.quick else 5
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(BATCH, 1, 28, 28, generator=g) for _ in range(batches)]
    labels = [torch.randint(0, 10, (BATCH,), generator=g) for _ in range(batches)]
    for reg in ("none", "jacobian", "weight"):
        torch.manual_seed(1)
        net = ConvNode()
        initial = {k: v.clone() for k, v in net.state_dict().items()}
        times = []
        for r in range(1 + reps):
            net.load_state_dict(initial)
            opt = torch.optim.Adam(net.parameters(), lr=LR)
            pg = torch.Generator().manual_seed(0)
            start = time.perf_counter()
            for b in range(batches):
                opt.zero_grad()
                loss_of(net, reg, images[b], labels[b], b, pg).backward()
                opt.step()
            if r > 0:
                times.append(time.perf_counter() - start)
        print(f"BENCH contractivity_epoch_{reg} pytorch {statistics.median(times):.6f}", flush=True)


if __name__ == "__main__":
    main()
