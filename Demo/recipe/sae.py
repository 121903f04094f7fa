"""Stages 5-6: residual-stream activations and JumpReLU SAEs in the Gemma Scope parameterisation.

Site: the output of decoder layer SAE_LAYER = 3 (0-based) = HF hidden_states[4] =
blocks.3.hook_resid_post, the "middle" of the 6-layer model. Activations come from the float32
checkpoint reloaded from disk. Position 0 of every window is <bos>; its residual is an outlier
(about 10x the norm of other positions) and, as in Gemma Scope practice, it is EXCLUDED from SAE
training and from the reported metrics (the SAEs still encode it: see results.json "bos").

SAE (Gemma Scope / SAELens JumpReLU semantics, docs gemma2.md §5.3):
    pre = x @ W_enc + b_enc              (no b_dec subtraction)
    f   = pre * 1[pre > threshold]
    x^  = f @ W_dec + b_dec
Training (Rajamanoharan et al. 2024, "Jumping Ahead"): inputs scaled by a constant c so that
E||c x||^2 = d_model; loss = ||x - x^||^2 + lambda * L0 with straight-through pseudo-derivatives
for the threshold (rectangle kernel, bandwidth EPS) in both the JumpReLU and the L0 step function;
threshold stored as exp(log_threshold); decoder rows renormalised to unit norm after every step;
Adam; bf16 autocast for the matmuls. lambda is steered towards a target L0 by a multiplicative
controller (lambda *= exp(clip(GAIN * (L0_ema/target - 1), +-MAX_STEP)) per step) instead of being swept.
Initialisation: W_dec rows random unit vectors, W_enc = W_dec^T, b_dec = mean input,
b_enc = -(mean input) @ W_enc, threshold = THETA0.
Export: the scale c is folded in and the features are rescaled so that W_dec rows have unit norm
exactly (a positive per-feature rescaling of pre, threshold and W_enc column leaves x^ unchanged):
W_enc = W_enc_n, b_enc = b_enc_n / c, threshold = theta_n / c, W_dec = W_dec_n, b_dec = b_dec_n / c.
"""

import math
import os

import numpy as np
import torch

from common import SAE_DIR, SAE_LAYER, Timer, log, rng
from lm import CONTEXT, load_f32, tokenize_corpus

N_TRAIN_WINDOWS = 5000           # windows of the training split whose activations are cached
ACT_SEED = 99
SAES = [
    dict(name="width_2k", width=2048, target_l0=50, steps=1000, batch=4096, lr=1e-3, seed=2048),
    dict(name="width_4k", width=4096, target_l0=50, steps=600, batch=4096, lr=1e-3, seed=4096),
]
EPS = 0.05            # pseudo-derivative bandwidth (in normalised units)
THETA0 = 0.5          # initial threshold (normalised units)
THETA_LR_SCALE = 10.0 # log-threshold learning rate = THETA_LR_SCALE x the base learning rate
LAMBDA0 = 1e-2        # initial L0 coefficient
GAIN = 0.02           # controller gain
MAX_STEP = 0.05       # the controller changes lambda by at most a factor exp(0.05) per step
LAMBDA_RANGE = (1e-3, 10.0)
WARMUP = 100          # lr warmup steps; cosine decay to 10% over the last 30% of steps


class StopForward(Exception):
    pass


@torch.no_grad()
def residuals(model, windows, batch=32):
    """Output of layer SAE_LAYER for every position of every window: float32 [N, T, d]."""
    store = {}

    def hook(mod, args, out):
        store["h"] = out[0]
        raise StopForward

    handle = model.model.layers[SAE_LAYER].register_forward_hook(hook)
    outs = []
    try:
        for i in range(0, len(windows), batch):
            x = torch.from_numpy(windows[i:i + batch].astype(np.int64))
            try:
                model(input_ids=x, use_cache=False)
            except StopForward:
                pass
            outs.append(store["h"].float().numpy().copy())
    finally:
        handle.remove()
    return np.concatenate(outs, axis=0)


def collect_activations(work):
    train, held = tokenize_corpus(work)
    idx = np.sort(rng(ACT_SEED).permutation(len(train))[:N_TRAIN_WINDOWS])
    model = load_f32()
    t = Timer()
    tr = residuals(model, train[idx])
    he = residuals(model, held)
    np.save(os.path.join(work, "acts_train.npy"), tr)
    np.save(os.path.join(work, "acts_heldout.npy"), he)
    np.save(os.path.join(work, "acts_train_windows.npy"), idx)
    bos_norm = float(np.linalg.norm(tr[:, 0], axis=-1).mean())
    other_norm = float(np.linalg.norm(tr[:, 1:], axis=-1).mean())
    log(f"activations: {tr.shape} train, {he.shape} held-out in {t():.0f} s; "
        f"mean norm bos {bos_norm:.1f}, other positions {other_norm:.1f}")
    return dict(layer=SAE_LAYER, site="output of model.model.layers[3] = hidden_states[4]",
                train_windows=int(len(idx)), train_tokens_excluding_bos=int(tr.shape[0] * (CONTEXT - 1)),
                heldout_tokens_excluding_bos=int(he.shape[0] * (CONTEXT - 1)),
                mean_norm_bos=round(bos_norm, 3), mean_norm_other=round(other_norm, 3),
                seconds=round(t(), 1))


# --------------------------------------------------------------------------------------------------
# JumpReLU with pseudo-derivatives
# --------------------------------------------------------------------------------------------------
class JumpReLUWithL0(torch.autograd.Function):
    """f = pre * 1[pre > theta] and l0 = sum_i 1[pre_i > theta_i], with the pseudo-derivatives of
    Rajamanoharan et al. (2024) for theta (rectangle kernel K(u) = 1[|u| < 1/2], bandwidth EPS):
        d f_i / d theta_i  = -(theta_i / EPS) K((pre_i - theta_i) / EPS)
        d l0  / d theta_i  = -(1 / EPS)       K((pre_i - theta_i) / EPS)
        d f_i / d pre_i    = 1[pre_i > theta_i],   d l0 / d pre = 0."""

    @staticmethod
    def forward(ctx, pre, theta):
        mask = pre > theta
        ctx.save_for_backward(pre, theta, mask)
        return pre * mask, mask.sum(-1, dtype=pre.dtype)

    @staticmethod
    def backward(ctx, g_f, g_l0):
        pre, theta, mask = ctx.saved_tensors
        near = (pre - theta).abs_() < (EPS / 2)
        g_pre = g_f * mask
        w = (g_f * theta).add_(g_l0[:, None])
        g_theta = -(w * near).sum(0) / EPS
        return g_pre, g_theta


class TrainSAE(torch.nn.Module):
    def __init__(self, d, m, mean, gen):
        super().__init__()
        w = torch.randn(m, d, generator=gen)
        w = w / w.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(w.clone())
        self.W_enc = torch.nn.Parameter(w.t().clone())
        self.b_dec = torch.nn.Parameter(mean.clone())
        self.b_enc = torch.nn.Parameter(-(mean @ w.t()))
        self.log_theta = torch.nn.Parameter(torch.full((m,), math.log(THETA0)))

    def forward(self, x, bf16=True):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pre = x @ self.W_enc
        pre = pre.float() + self.b_enc
        self.last_pre = pre   # for the optional pre-activation loss (train_sae)
        f, l0 = JumpReLUWithL0.apply(pre, self.log_theta.exp())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            rec = f @ self.W_dec
        return rec.float() + self.b_dec, f, l0

    @torch.no_grad()
    def renorm(self):
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True)


def export_params(sae, c):
    """Fold the input scale c into the parameters; unit-norm decoder rows (see module doc)."""
    W_dec = sae.W_dec.detach().double()
    n = W_dec.norm(dim=1, keepdim=True)
    W_dec = W_dec / n
    W_enc = sae.W_enc.detach().double() * n.t()
    p = dict(W_enc=W_enc, W_dec=W_dec,
             b_enc=sae.b_enc.detach().double() * n[:, 0] / c,
             threshold=sae.log_theta.detach().double().exp() * n[:, 0] / c,
             b_dec=sae.b_dec.detach().double() / c)
    return {k: v.float().numpy().copy() for k, v in p.items()}


def encode_np(p, x):
    pre = x @ p["W_enc"] + p["b_enc"]
    return pre * (pre > p["threshold"])


def decode_np(p, f):
    return f @ p["W_dec"] + p["b_dec"]


@torch.no_grad()
def resample_dead(sae, opt, x, rec, dead, gen):
    """Give every feature in `dead` (indices) a new direction: the normalised reconstruction error of a
    batch row x_j drawn with probability proportional to its squared error (Bricken et al. 2023's
    resampling, adapted to JumpReLU). The decoder row becomes that direction d; the encoder computes
    pre(x) = 2 THETA0 + alpha (x - x_j) . d with alpha = 2 THETA0 / |error_j|, so the feature fires
    on its source row at twice the reset threshold THETA0 and on rows further along d; the Adam moments
    of every touched parameter entry are zeroed."""
    err = x - rec
    weight = err.pow(2).sum(-1).double()
    rows = torch.multinomial(weight / weight.sum(), len(dead), replacement=False, generator=gen)
    norms = err[rows].norm(dim=1).clamp_min(1e-12)
    dirs = err[rows] / norms[:, None]
    alpha = 2 * THETA0 / norms
    sae.W_dec[dead] = dirs
    sae.W_enc[:, dead] = (dirs * alpha[:, None]).t()
    sae.b_enc[dead] = 2 * THETA0 - alpha * (x[rows] * dirs).sum(-1)
    sae.log_theta[dead] = math.log(THETA0)
    for param, index in [(sae.W_dec, (dead,)), (sae.W_enc, (slice(None), dead)), (sae.b_enc, (dead,)),
                         (sae.log_theta, (dead,))]:
        state = opt.state.get(param, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][index] = 0


def train_sae(cfg, xtr, c):
    gen = torch.Generator().manual_seed(cfg["seed"])
    g = rng(cfg["seed"])
    x_all = torch.from_numpy(xtr)
    mean = (x_all[:200000].double().mean(0) * c).float()
    d = xtr.shape[1]
    sae = TrainSAE(d, cfg["width"], mean, gen)
    main = [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_dec]
    opt = torch.optim.Adam([dict(params=main, lr_scale=1.0),
                            dict(params=[sae.log_theta], lr_scale=THETA_LR_SCALE)],
                           lr=cfg["lr"], betas=(0.9, 0.999))
    lam, l0_ema = LAMBDA0, None
    steps, B = cfg["steps"], cfg["batch"]
    order, pos = g.permutation(len(xtr)), 0
    t = Timer()
    hist = []
    # Optional dead-feature resampling (cfg "resample_every" > 0): every that many steps, until the fraction
    # "resample_until" of training, features that fired on none of the last "resample_every" batches are
    # re-initialised by resample_dead (its own generator, so a run without resampling is unchanged).
    every, until = cfg.get("resample_every", 0), cfg.get("resample_until", 0.0)
    preact = cfg.get("preact", 0.0)   # optional pre-activation loss coefficient (0: off, the run is unchanged)
    last_fired = torch.zeros(cfg["width"], dtype=torch.long)
    resample_gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    resampled = []
    for step in range(steps):
        if pos + B > len(order):
            order, pos = g.permutation(len(xtr)), 0
        x = x_all[np.sort(order[pos:pos + B])] * c
        pos += B
        if step < WARMUP:
            lr = cfg["lr"] * (step + 1) / WARMUP
        elif step < 0.7 * steps:
            lr = cfg["lr"]
        else:
            p = (step - 0.7 * steps) / (0.3 * steps)
            lr = cfg["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
        for grp in opt.param_groups:
            grp["lr"] = lr * grp["lr_scale"]
        rec, f, l0 = sae(x, bf16=cfg.get("bf16", True))
        mse = ((rec - x) ** 2).sum(-1).mean()
        l0m = l0.mean()
        loss = mse + lam * l0m
        if preact:
            # Pre-activation loss (Anthropic, "Circuits Updates", January 2025): preact * sum_i relu(theta_i - pre_i)
            # (decoder rows have unit norm). A feature below its threshold on every row gets no gradient from the
            # reconstruction or the L0 term; this one pulls its pre-activation up until it fires again.
            loss = loss + preact * torch.relu(sae.log_theta.exp() - sae.last_pre).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sae.renorm()
        if every:
            last_fired[(f.detach() > 0).any(0)] = step
            if (step + 1) % every == 0 and step + 1 < until * steps:
                dead = torch.nonzero(step - last_fired >= every).flatten()
                if len(dead):
                    resample_dead(sae, opt, x, rec.detach(), dead, resample_gen)
                    last_fired[dead] = step
                resampled.append(dict(step=step + 1, features=int(len(dead))))
                log(f"{cfg['name']} step {step + 1}: resampled {len(dead)} features")
        l0v = l0m.item()
        l0_ema = l0v if l0_ema is None else 0.9 * l0_ema + 0.1 * l0v
        lam *= math.exp(min(MAX_STEP, max(-MAX_STEP, GAIN * (l0_ema / cfg["target_l0"] - 1.0))))
        lam = min(LAMBDA_RANGE[1], max(LAMBDA_RANGE[0], lam))
        if (step + 1) % 100 == 0 or step == 0:
            fve = 1 - mse.item() / ((x - x.mean(0)) ** 2).sum(-1).mean().item()
            hist.append(dict(step=step + 1, mse=round(mse.item(), 3), fve=round(fve, 4),
                             l0=round(l0v, 2), lam=lam, seconds=round(t(), 1)))
            log(f"{cfg['name']} step {step + 1}/{steps} fve {fve:.3f} l0 {l0v:.1f} lambda {lam:.4g} "
                f"{(step + 1) * B / t():.0f} tok/s")
    if every:
        hist.append(dict(resampled=resampled))
    return sae, hist, t()


def evaluate_sae(p, x, dead_x):
    f = encode_np(p, x)
    rec = decode_np(p, f)
    sse = ((rec - x) ** 2).sum()
    sst = ((x - x.mean(0)) ** 2).sum()
    tut = 1 - ((rec - x) ** 2).mean() / x.var()
    fired = (encode_np(p, dead_x) > 0).any(0) | (f > 0).any(0)
    return dict(fve=round(float(1 - sse / sst), 4), fve_tutorial_style=round(float(tut), 4),
                mean_l0=round(float((f > 0).sum(-1).mean()), 2),
                dead_features=int((~fired).sum()), n_features=int(p["threshold"].shape[0]))


@torch.no_grad()
def spliced_loss(model, windows, p, batch=32, layer=SAE_LAYER):
    """Held-out next-token NLL with the output of decoder layer `layer` replaced by the SAE
    reconstruction at every non-<bos> position (zero-ablation of the whole residual is reported
    alongside). Works for decoder layers that return a tensor or a tuple whose first item it is."""
    tens = {k: torch.from_numpy(v) for k, v in p.items()}
    mode = {"m": None}

    def hook(mod, args, out):
        h = out[0] if isinstance(out, tuple) else out
        if mode["m"] is None:
            return None
        if mode["m"] == "sae":
            pre = h[:, 1:] @ tens["W_enc"] + tens["b_enc"]
            f = pre * (pre > tens["threshold"])
            h = torch.cat([h[:, :1], f @ tens["W_dec"] + tens["b_dec"]], dim=1)
        elif mode["m"] == "zero":
            h = torch.cat([h[:, :1], torch.zeros_like(h[:, 1:])], dim=1)
        return (h,) + tuple(out[1:]) if isinstance(out, tuple) else h

    handle = model.model.layers[layer].register_forward_hook(hook)
    res = {}
    try:
        for m in [None, "sae", "zero"]:
            mode["m"] = m
            tot = cnt = 0.0
            for i in range(0, len(windows), batch):
                x = torch.from_numpy(windows[i:i + batch].astype(np.int64))
                lp = torch.log_softmax(model(input_ids=x, use_cache=False).logits[:, :-1].double(), -1)
                nll = -lp.gather(-1, x[:, 1:, None]).squeeze(-1)
                tot += nll.sum().item()
                cnt += nll.numel()
            res[m or "clean"] = tot / cnt
    finally:
        handle.remove()
    rec = (res["zero"] - res["sae"]) / (res["zero"] - res["clean"])
    return dict(nll_clean=round(res["clean"], 4), nll_sae=round(res["sae"], 4),
                nll_zero_ablation=round(res["zero"], 4), loss_recovered=round(rec, 4))


def train_all(work, only=None):
    xtr3 = np.load(os.path.join(work, "acts_train.npy"), mmap_mode="r")
    xhe3 = np.load(os.path.join(work, "acts_heldout.npy"))
    d = xtr3.shape[-1]
    xtr = np.ascontiguousarray(xtr3[:, 1:].reshape(-1, d))
    xhe = np.ascontiguousarray(xhe3[:, 1:].reshape(-1, d))
    bos = np.ascontiguousarray(xhe3[:, 0])
    c = float(math.sqrt(d / (xtr[:200000].astype(np.float64) ** 2).sum(-1).mean()))
    dead_x = xtr[rng(7).permutation(len(xtr))[:100000]]
    _, held = tokenize_corpus(work)
    model = load_f32()
    out = {}
    for cfg in SAES:
        if only and cfg["name"] not in only:
            continue
        sae, hist, secs = train_sae(cfg, xtr, c)
        p = export_params(sae, c)
        # The export must not change the reconstruction (checked in float32 on 2000 held-out rows;
        # differences come only from rounding, plus rare features within rounding of threshold).
        with torch.no_grad():
            rec_n, f_n, _ = sae(torch.from_numpy(xhe[:2000]) * c, bf16=False)
        f_e = encode_np(p, xhe[:2000])
        same = ((f_e > 0) == (f_n.numpy() > 0)).all(-1)
        diff = np.abs(decode_np(p, f_e) - rec_n.numpy() / c).max(-1)
        export_check = dict(rows=2000, rows_with_a_threshold_flip=int((~same).sum()),
                            max_abs_difference_other_rows=float(diff[same].max()))
        m = evaluate_sae(p, xhe, dead_x)
        m["export_check"] = export_check
        fb = encode_np(p, bos)
        m["bos"] = dict(mean_l0=round(float((fb > 0).sum(-1).mean()), 2),
                        relative_error=round(float(np.linalg.norm(decode_np(p, fb) - bos, axis=-1).mean()
                                                   / np.linalg.norm(bos, axis=-1).mean()), 4))
        m.update(spliced_loss(model, held, p))
        rows = np.linalg.norm(p["W_dec"], axis=1)
        m["decoder_row_norm_range"] = [float(rows.min()), float(rows.max())]
        folder = os.path.join(SAE_DIR, f"layer_{SAE_LAYER}", cfg["name"],
                              f"average_l0_{int(round(m['mean_l0']))}")
        for old in sorted(os.listdir(os.path.dirname(folder))) if os.path.isdir(os.path.dirname(folder)) else []:
            oldp = os.path.join(os.path.dirname(folder), old, "params.npz")
            if os.path.exists(oldp):
                os.remove(oldp)
                os.rmdir(os.path.dirname(oldp))
        os.makedirs(folder, exist_ok=True)
        np.savez(os.path.join(folder, "params.npz"), **{k: p[k] for k in
                                                        ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"]})
        log(f"{cfg['name']}: {m}")
        out[cfg["name"]] = dict(config=cfg, input_scale=c, eps=EPS, theta0=THETA0, lambda0=LAMBDA0,
                                gain=GAIN, train_seconds=round(secs, 1), history=hist, metrics=m,
                                path=os.path.relpath(os.path.join(folder, "params.npz"),
                                                     os.path.dirname(os.path.dirname(SAE_DIR))))
    return out
