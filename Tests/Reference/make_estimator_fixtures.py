#!/usr/bin/env python3
"""Reference run of the SAE-TS effect approximator training (method.md §4) for the Swift linear-adam parity test.

Trains the authors' LinearAdapter recipe — x̂ = x/‖x‖, ŷ = x̂·W + b, F.mse_loss (mean), torch.optim.Adam,
CosineAnnealingLR(T_max = epochs) stepped once per epoch — on tiny synthetic datasets, starting from a
FIXED initial W (b = 0) and visiting the rows in FIXED per-epoch permutations, and stores inputs, the
init, the permutations and the final W, b in Tests/Fixtures/estimators/linear_adam_reference.safetensors.

Run from the repository root:  /work/venv-ref/bin/python Tests/Reference/make_estimator_fixtures.py
"""
import argparse
import hashlib
import json
import math
import os

import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

CASES = {
    # name: rows, d_model, d_sae, batch, epochs, lr, noise
    "fast": dict(rows=50, d_model=6, d_sae=10, batch=16, epochs=3, lr=1e-2, noise=0.05),
    "authors": dict(rows=150, d_model=8, d_sae=12, batch=64, epochs=2, lr=2e-4, noise=0.1),
}


def make_case(name, rows, d_model, d_sae, batch, epochs, lr, noise, seed):
    g = torch.Generator().manual_seed(seed)
    scales = 0.5 + 2.5 * torch.rand(rows, 1, generator=g)
    features = torch.randn(rows, d_model, generator=g) * scales
    true_w = torch.randn(d_model, d_sae, generator=g)
    true_b = 0.1 * torch.randn(d_sae, generator=g)
    x_hat = features / features.norm(dim=-1, keepdim=True)
    effects = x_hat @ true_w + true_b + noise * torch.randn(rows, d_sae, generator=g)

    # The LinearAdapter: W is [d_model, d_sae], kaiming_uniform_ with fan_in = size(1) = d_sae; b = 0.
    init_w = torch.empty(d_model, d_sae)
    bound = math.sqrt(6.0 / d_sae)
    init_w.uniform_(-bound, bound, generator=g)
    perms = torch.stack([torch.randperm(rows, generator=g) for _ in range(epochs)])

    W = torch.nn.Parameter(init_w.clone())
    b = torch.nn.Parameter(torch.zeros(d_sae))
    optimizer = torch.optim.Adam([W, b], lr=lr)  # betas (0.9, 0.999), eps 1e-8: PyTorch defaults
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for start in range(0, rows, batch):
            idx = perms[epoch, start:start + batch]
            pred = x_hat[idx] @ W + b
            loss = F.mse_loss(pred, effects[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / rows)
        scheduler.step()

    tensors = {
        f"{name}.features": features.contiguous(),
        f"{name}.effects": effects.contiguous(),
        f"{name}.init_W": init_w.contiguous(),
        f"{name}.perms": perms.to(torch.int64).contiguous(),
        f"{name}.W": W.detach().contiguous(),
        f"{name}.b": b.detach().contiguous(),
        f"{name}.train_loss": torch.tensor(losses, dtype=torch.float32),
    }
    settings = dict(rows=rows, d_model=d_model, d_sae=d_sae, batch=batch, epochs=epochs, lr=lr, noise=noise,
                    betas=[0.9, 0.999], eps=1e-8, t_max=epochs, seed=seed)
    return tensors, settings


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="Tests/Fixtures/estimators")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    tensors, settings = {}, {}
    for offset, (name, case) in enumerate(sorted(CASES.items())):
        t, s = make_case(name, seed=1234 + offset, **case)
        tensors.update(t)
        settings[name] = s
    path = os.path.join(args.out, "linear_adam_reference.safetensors")
    save_file(tensors, path, metadata={"settings": json.dumps(settings, sort_keys=True)})
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "script": "Tests/Reference/make_estimator_fixtures.py",
        "torch": torch.__version__, "numpy": np.__version__, "safetensors": safetensors.__version__,
        "cases": settings,
        "files": {"linear_adam_reference.safetensors": {"bytes": os.path.getsize(path), "sha256": digest}},
    }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
