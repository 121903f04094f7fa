#!/usr/bin/env python3
"""Reference fixtures for the Swift JumpReLU SAE port (Gemma Scope .npz and SAELens layouts).

WHAT IT WRITES (under Tests/Fixtures/sae/, relative to the repository root):
  gemma_scope/layer_1/width_256/average_l0_20/params.npz          np.savez            (ZIP_STORED)
  gemma_scope_deflate/layer_1/width_256/average_l0_20/params.npz  np.savez_compressed (ZIP_DEFLATED)
  gemma_scope_bf16/layer_1/width_256/average_l0_20/params.npz     np.savez of ml_dtypes.bfloat16 arrays
  saelens/cfg.json, saelens/sae_weights.safetensors               written by sae-lens' save_model()
  reference.safetensors   inputs and sae-lens outputs (names documented in reference.json)
  reference.json          shapes/meaning of every tensor, the exact-boundary cases, summary numbers
  meta.json               tool versions, seed, npz member descr/compression, file sizes and hashes

  Parameters: d_model (d_in) = 64 (= tiny-f32's hidden size), d_sae = 256; keys W_enc [64,256],
  W_dec [256,64], b_enc [256], b_dec [64], threshold [256] (all > 0), float32.
  Reference semantics are sae-lens' JumpReLUSAE (sae_lens/saes/jumprelu_sae.py), configured as its
  Gemma Scope loader does (apply_b_dec_to_input=False, normalize_activations none):
      pre  = x @ W_enc + b_enc ;  acts = relu(pre) * (pre > threshold) ;  recon = acts @ W_dec + b_dec
  The outputs are computed by sae-lens itself (JumpReLUSAE.encode / forward), not by this script.

INPUTS: `inputs` [40, 64] = rows of Tests/Fixtures/gemma2/tiny-f32/reference.safetensors
  resid_post.{0,1,2}.1 (5 + 13 + 20 = 38 rows, the real layer-1 residual stream of tiny-f32, i.e. what
  blocks.1.hook_resid_post would give) followed by 2 random rows. So make_gemma2_fixtures.py must have
  been run first; the sha256 of that file is recorded in meta.json.

HOW TO RUN (from the repository root; see Tests/Reference/README.md for the venv):
  /work/venv-ref/bin/python Tests/Reference/make_sae_fixtures.py        [--out DIR]

VERSIONS USED for the committed fixtures (also in meta.json): python 3.11.7, sae-lens 6.54.12
  (installed with --no-deps plus the modules its import needs), torch 2.15.0, numpy 2.4.6,
  safetensors 0.8.0, ml_dtypes 0.6.0.

DETERMINISM: numpy Generator(SEED); torch single-threaded. Every non-boundary (feature, row) pair has
  |pre - threshold| >= MIN_MARGIN, so float32 summation-order noise cannot flip a feature on or off.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import zipfile

import ml_dtypes
import numpy as np
import safetensors
import torch
from safetensors.torch import load_file, save_file

import sae_lens
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig
from sae_lens.saes.sae import SAEMetadata

SEED = 2024
D_IN, D_SAE = 64, 256
LAYER = 1
NPZ_SUBPATH = os.path.join(f"layer_{LAYER}", f"width_{D_SAE}", "average_l0_20", "params.npz")
GEMMA_FIXTURE = os.path.join("Tests", "Fixtures", "gemma2", "tiny-f32", "reference.safetensors")
MIN_MARGIN = 1e-3
KEYS = ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"]

# Exact-boundary construction (see make_boundary()).
UNIT = 2.0 ** -20            # grid of the "ulp" features; the ulp of float32 values in [8, 16)
ULP_FEATURES = [3, 77, 128, 201]      # pre(r0) == threshold, pre(r0 +/- e_c) == threshold +/- 1 ulp
EIGHTH_FEATURES = [42, 255]           # 1/8 grid, threshold = nextDown(pre) / threshold == pre


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def f32hex(x):
    return float(np.float32(x)).hex()


def make_inputs(rng):
    ref = load_file(GEMMA_FIXTURE)
    rows = [ref[f"resid_post.{i}.{LAYER}"].numpy() for i in range(3)]
    x = np.concatenate(rows, 0).astype(np.float32)
    scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    extra = (rng.standard_normal((40 - x.shape[0], D_IN)) * scale).astype(np.float32)
    return np.concatenate([x, extra], 0)


def make_boundary(rng, W_enc, b_enc, inputs):
    """Integer-valued boundary inputs and grid-valued encoder columns whose pre-activations are
    exact in float32 for ANY summation order (all partial sums lie on the grid and in range).

    ULP features (units u = 2^-20): column entries are integer multiples of u with |w| <= 2^12 u,
    inputs are integers with |x| <= 3, so |sum of any subset of x_i w_i| <= 64*3*2^12 u = 0.75, and
    b_enc puts pre(r0) in [10, 14]; every partial sum with or without b_enc is then a multiple of u
    below 16 in magnitude, hence exactly representable (float32 ulp in [8,16) is exactly u).
    Feature k uses coordinate c_k with w[c_k] = 1u, so rows r0 +/- e_{c_k} have pre = pre(r0) +/- 1 ulp.
    threshold = pre(r0): r0 -> 0 (strict >), r0 + e_c -> fires (value threshold + 1 ulp), r0 - e_c -> 0.

    EIGHTH features: entries k/8 with |w| <= 1, b_enc k/8; pre is a small multiple of 1/8 (exact).
    Feature 42: threshold = nextafter(pre(r0), -inf) -> r0 fires by one ulp of the threshold.
    Feature 255: threshold = pre(r3) exactly -> r3 gives 0.
    """
    coords = rng.choice(D_IN, size=4, replace=False)
    r0 = rng.integers(-2, 3, size=D_IN).astype(np.float64)
    rows = [r0]
    for c in coords[:3]:
        for sgn in (+1, -1):
            r = r0.copy()
            r[c] += sgn
            rows.append(r)
    r = r0.copy()
    r[coords[3]] += 1
    rows.append(r)
    X = np.stack(rows)                                  # [8, 64], integers in [-3, 3]
    thresholds = {}

    def clear_of_inputs(col, b, t):
        """True if every main input's pre-activation is at least MIN_MARGIN from threshold t, both
        with these float32 values and with their bfloat16 roundings (the bf16 .npz variant)."""
        return margin_ok(inputs, col, b, t) and margin_ok(inputs, bf16(col), bf16(b), bf16(t))

    for k, j in enumerate(ULP_FEATURES):
        c = coords[k]
        while True:   # redraw until the main inputs are clear of this threshold
            w_units = rng.integers(-(2 ** 12), 2 ** 12 + 1, size=D_IN)
            w_units[c] = 1
            s0 = int(np.dot(r0.astype(np.int64), w_units))           # exact integer, units of u
            target = int(rng.integers(10 * 2 ** 20, 14 * 2 ** 20))   # pre(r0) in [10, 14), units of u
            col = (w_units * UNIT).astype(np.float32)
            b = np.float32((target - s0) * UNIT)
            t = np.float32(target * UNIT)
            assert float(b) == (target - s0) * UNIT and float(t) == target * UNIT
            if clear_of_inputs(col, b, t):
                break
        W_enc[:, j], b_enc[j], thresholds[j] = col, b, t
    # eighth-grid features: (feature, row whose pre defines the threshold, threshold rule, base)
    for j, row, below, base in ((EIGHTH_FEATURES[0], 0, True, 24), (EIGHTH_FEATURES[1], 3, False, 20)):
        while True:
            w8 = rng.integers(-8, 9, size=D_IN)
            s = int(np.dot(X[row].astype(np.int64), w8))
            b8 = base - s if s < 8 else 0       # pre(row) = base/8, or s/8 when that is >= 1
            col = (w8 / 8.0).astype(np.float32)
            b = np.float32(b8 / 8.0)
            pre = np.float32((s + b8) / 8.0)
            t = np.nextafter(pre, np.float32(-np.inf), dtype=np.float32) if below else pre
            if clear_of_inputs(col, b, t):
                break
        W_enc[:, j], b_enc[j], thresholds[j] = col, b, t
    return X.astype(np.float32), coords, thresholds


def bf16(a):
    """float32 -> bfloat16 (round to nearest even) -> float32."""
    return np.asarray(a, dtype=np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)


def margin_ok(X, col, b, t):
    pre = X.astype(np.float64) @ np.asarray(col, dtype=np.float64) + float(b)
    return np.min(np.abs(pre - float(t))) >= MIN_MARGIN


def exact_pre(X, W_enc, b_enc, j):
    """pre-activation of feature j in float64 (exact for the grid-valued boundary features)."""
    return X.astype(np.float64) @ W_enc[:, j].astype(np.float64) + float(b_enc[j])


def make_params(rng, inputs):
    W_dec = rng.standard_normal((D_SAE, D_IN))
    W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)            # unit decoder rows
    W_enc = (W_dec.T + 0.3 * rng.standard_normal((D_IN, D_SAE)) / np.sqrt(D_IN)).astype(np.float32)
    W_dec = W_dec.astype(np.float32)
    b_enc = (0.1 * rng.standard_normal(D_SAE)).astype(np.float32)
    b_dec = (0.1 * rng.standard_normal(D_IN)).astype(np.float32)
    X_b, coords, special = make_boundary(rng, W_enc, b_enc, inputs)
    threshold = np.zeros(D_SAE, dtype=np.float32)
    boundary_set = set(ULP_FEATURES) | set(EIGHTH_FEATURES)
    for j in range(D_SAE):
        pre_main = exact_pre(inputs, W_enc, b_enc, j)
        if j in boundary_set:
            threshold[j] = special[j]
            continue
        allpre = np.sort(pre_main)
        for _ in range(1000):
            q = rng.uniform(0.88, 0.99)
            k = int(q * len(allpre))
            t = 0.5 * (allpre[k - 1] + allpre[k])
            if t <= 0.05:
                t = 0.05 + rng.uniform(0.0, 1.0)
            t32 = np.float32(t)
            col, b = W_enc[:, j], b_enc[j]
            if (margin_ok(inputs, col, b, t32) and margin_ok(X_b, col, b, t32)
                    and margin_ok(inputs, bf16(col), bf16(b), bf16(t32))):
                threshold[j] = t32
                break
        else:
            raise RuntimeError(f"no threshold for feature {j}")
    # main inputs must also be clear of the boundary features' thresholds
    for j in boundary_set:
        m = np.min(np.abs(exact_pre(inputs, W_enc, b_enc, j) - float(threshold[j])))
        assert m >= MIN_MARGIN, (j, m)
    params = dict(W_enc=W_enc, W_dec=W_dec, b_enc=b_enc, b_dec=b_dec, threshold=threshold)
    return params, X_b, coords


def boundary_cases(X_b, params):
    W_enc, b_enc, thr = params["W_enc"], params["b_enc"], params["threshold"]
    cases = []
    for j in ULP_FEATURES + EIGHTH_FEATURES:
        pre = exact_pre(X_b, W_enc, b_enc, j)
        for r in range(X_b.shape[0]):
            p32 = np.float32(pre[r])
            assert float(p32) == pre[r], "boundary pre-activation not exactly representable"
            t = thr[j]
            if p32 == t:
                rel = "equal (feature must be 0)"
            elif p32 == np.nextafter(t, np.float32(np.inf), dtype=np.float32):
                rel = "above by exactly 1 ulp (feature fires)"
            elif p32 == np.nextafter(t, np.float32(-np.inf), dtype=np.float32):
                rel = "below by exactly 1 ulp (feature must be 0)"
            else:
                continue
            cases.append(dict(feature=j, row=r, relation=rel, pre=f32hex(p32), threshold=f32hex(t),
                              pre_decimal=repr(float(p32)), threshold_decimal=repr(float(t))))
    return cases


def sae_from_params(params, hook_name):
    cfg = JumpReLUSAEConfig(
        d_in=D_IN, d_sae=D_SAE, dtype="float32", device="cpu",
        apply_b_dec_to_input=False, normalize_activations="none",
        metadata=SAEMetadata(model_name="tiny-f32", hook_name=hook_name, hook_head_index=None,
                             prepend_bos=True, context_size=1024,
                             dataset_path="Tests/Fixtures/gemma2 (synthetic)",
                             sae_lens_version=sae_lens.__version__))
    sae = JumpReLUSAE(cfg)
    # the same key handling and dtype conversion as sae-lens' gemma_2_sae_huggingface_loader
    state = {("W_" + k[2:] if k.startswith("w_") else k): torch.tensor(v).to(dtype=torch.float32)
             for k, v in params.items()}
    sae.load_state_dict(state, strict=True)
    sae.eval()
    return sae


@torch.no_grad()
def run_sae(sae, x):
    xt = torch.from_numpy(np.ascontiguousarray(x))
    feats = sae.encode(xt)
    recon = sae(xt)
    assert torch.equal(recon, sae.decode(feats))
    return feats.float(), recon.float()


def npz_info(path):
    """Compression method and .npy header descr of every member."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for zi in z.infolist():
            raw = z.read(zi.filename)
            major = raw[6]
            hlen = int.from_bytes(raw[8:10] if major == 1 else raw[8:12], "little")
            hstart = 10 if major == 1 else 12
            header = raw[hstart:hstart + hlen].decode("latin1").strip()
            out[zi.filename] = dict(compress_type=zi.compress_type,
                                    method="STORED" if zi.compress_type == 0 else
                                    "DEFLATED" if zi.compress_type == 8 else str(zi.compress_type),
                                    npy_version=f"{major}.{raw[7]}", header=header,
                                    data_offset_in_member=hstart + hlen)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("Tests", "Fixtures", "sae"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)

    inputs = make_inputs(rng)
    params, X_b, coords = make_params(rng, inputs)
    cases = boundary_cases(X_b, params)

    if os.path.isdir(args.out):
        # gemma_scope_2/ belongs to make_gemma_scope_2_fixtures.py (which reads reference.safetensors).
        for entry in os.listdir(args.out):
            if entry != "gemma_scope_2":
                full = os.path.join(args.out, entry)
                shutil.rmtree(full) if os.path.isdir(full) else os.remove(full)
    hook_name = f"blocks.{LAYER}.hook_resid_post"

    # (a) Gemma Scope layout: STORED, DEFLATE and bf16 .npz files.
    paths = {}
    for variant, writer in (("gemma_scope", np.savez), ("gemma_scope_deflate", np.savez_compressed)):
        p = os.path.join(args.out, variant, NPZ_SUBPATH)
        os.makedirs(os.path.dirname(p))
        writer(p, **{k: params[k] for k in KEYS})
        paths[variant] = p
    p = os.path.join(args.out, "gemma_scope_bf16", NPZ_SUBPATH)
    os.makedirs(os.path.dirname(p))
    params_bf16 = {k: params[k].astype(ml_dtypes.bfloat16) for k in KEYS}
    np.savez(p, **params_bf16)
    paths["gemma_scope_bf16"] = p

    # Read the npz files back the way sae-lens' Gemma Scope loader does and check them.
    loaded = {}
    for variant in ("gemma_scope", "gemma_scope_deflate"):
        with np.load(paths[variant]) as data:
            loaded[variant] = {k: data[k] for k in data}
        for k in KEYS:
            assert loaded[variant][k].dtype == np.float32 and np.array_equal(loaded[variant][k], params[k])
    with np.load(paths["gemma_scope_bf16"]) as data:
        raw_bf16 = {k: data[k] for k in data}
    bf16_loaded_dtype = str(raw_bf16["W_enc"].dtype)
    try:
        torch.tensor(raw_bf16["W_enc"])
        saelens_loader_on_bf16 = "accepted"
    except Exception as e:          # record what sae-lens' loader conversion would do
        saelens_loader_on_bf16 = f"{type(e).__name__}: {e}"
    params_bf16_f32 = {k: raw_bf16[k].view(ml_dtypes.bfloat16).astype(np.float32) for k in KEYS}
    for k in KEYS:
        assert np.array_equal(params_bf16_f32[k], params_bf16[k].astype(np.float32))

    # (b) SAELens directory, written by sae-lens; reload it with sae-lens and compare.
    sae = sae_from_params(loaded["gemma_scope"], hook_name)
    sae_dir = os.path.join(args.out, "saelens")
    sae.save_model(sae_dir)
    sae2 = JumpReLUSAE.load_from_disk(sae_dir)
    for k in KEYS:
        assert torch.equal(getattr(sae, k), getattr(sae2, k)), k

    # Reference outputs (sae-lens).
    feats, recon = run_sae(sae, inputs)
    feats2, recon2 = run_sae(sae2, inputs)
    assert torch.equal(feats, feats2) and torch.equal(recon, recon2)
    b_feats, b_recon = run_sae(sae, X_b)
    sae_bf16 = sae_from_params(params_bf16_f32, hook_name)
    bf_feats, bf_recon = run_sae(sae_bf16, inputs)

    # Checks of the boundary semantics against sae-lens' own output.
    for cse in cases:
        v = float(b_feats[cse["row"], cse["feature"]])
        if cse["relation"].startswith("above"):
            assert v == float.fromhex(cse["pre"]) and v > 0, cse
        else:
            assert v == 0.0, cse
    # bf16 variant: margins of the f32-upcast parameters on the main inputs
    pre_bf = inputs.astype(np.float64) @ params_bf16_f32["W_enc"].astype(np.float64) \
        + params_bf16_f32["b_enc"].astype(np.float64)
    bf16_margin = float(np.min(np.abs(pre_bf - params_bf16_f32["threshold"].astype(np.float64))))
    assert bf16_margin >= MIN_MARGIN, bf16_margin
    pre_main = inputs.astype(np.float64) @ params["W_enc"].astype(np.float64) + params["b_enc"]
    main_margin = float(np.min(np.abs(pre_main - params["threshold"].astype(np.float64))))

    bfeat_idx = np.array(ULP_FEATURES + EIGHTH_FEATURES, dtype=np.int32)
    tensors = {
        "inputs": torch.from_numpy(inputs),
        "features": feats,
        "reconstruction": recon,
        "boundary_inputs": torch.from_numpy(X_b),
        "boundary_features": torch.from_numpy(bfeat_idx),
        "boundary_expected": b_feats[:, torch.from_numpy(bfeat_idx).long()].contiguous(),
        "boundary_all_features": b_feats,
        "boundary_reconstruction": b_recon,
        "bf16_features": bf_feats,
        "bf16_reconstruction": bf_recon,
    }
    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(args.out, "reference.safetensors"), metadata={"format": "pt"})

    l0 = (feats > 0).sum(-1).double()
    ref = dict(
        d_in=D_IN, d_sae=D_SAE, layer=LAYER, hook_name=hook_name,
        semantics="pre = x @ W_enc + b_enc; acts = relu(pre) * (pre > threshold) (strict); "
                  "recon = acts @ W_dec + b_dec; no b_dec subtraction before encoding",
        computed_by=f"sae-lens {sae_lens.__version__} JumpReLUSAE (encode, forward) with "
                    "apply_b_dec_to_input=False, normalize_activations='none'",
        npz_paths={k: os.path.relpath(v, args.out) for k, v in paths.items()},
        saelens_dir="saelens",
        min_margin_nonboundary=MIN_MARGIN,
        main_inputs_min_abs_pre_minus_threshold=main_margin,
        bf16_main_inputs_min_abs_pre_minus_threshold=bf16_margin,
        mean_l0_main_inputs=float(l0.mean()),
        l0_main_inputs=[int(v) for v in l0],
        decoder_rows_unit_norm=True,
        inputs_source=f"rows 0..37 = {GEMMA_FIXTURE} resid_post.0.1 (5 rows), resid_post.1.1 (13), "
                      "resid_post.2.1 (20); rows 38..39 random normal at the same RMS",
        boundary=dict(
            ulp_features=ULP_FEATURES, eighth_features=EIGHTH_FEATURES,
            perturbed_coordinates=[int(c) for c in coords],
            rows="row 0 = r0; rows 1,2 = r0 +/- e[c0]; rows 3,4 = r0 +/- e[c1]; rows 5,6 = r0 +/- e[c2]; "
                 "row 7 = r0 + e[c3]",
            exactness="boundary pre-activations are exact in float32 for any summation order",
            cases=cases),
        bf16_variant=dict(npz=os.path.relpath(paths["gemma_scope_bf16"], args.out),
                          numpy_loaded_dtype=bf16_loaded_dtype,
                          reference="params upcast bf16 -> f32 exactly, then sae-lens; tensors "
                                    "bf16_features / bf16_reconstruction (main inputs only)",
                          saelens_gemma_loader_conversion=saelens_loader_on_bf16),
        tensor_names={
            "inputs": "F32 [40, 64] SAE inputs (raw residual stream)",
            "features": "F32 [40, 256] sae.encode(inputs)",
            "reconstruction": "F32 [40, 64] sae(inputs) = decode(encode(inputs))",
            "boundary_inputs": "F32 [8, 64] small integer-valued inputs",
            "boundary_features": "I32 [6] feature indices with exact-boundary constructions",
            "boundary_expected": "F32 [8, 6] sae.encode(boundary_inputs)[:, boundary_features]",
            "boundary_all_features": "F32 [8, 256] sae.encode(boundary_inputs)",
            "boundary_reconstruction": "F32 [8, 64] sae(boundary_inputs)",
            "bf16_features": "F32 [40, 256] encode(inputs) with the bf16 npz params upcast to f32",
            "bf16_reconstruction": "F32 [40, 64] forward(inputs) with the bf16 params",
        },
    )
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")

    with open(os.path.join(sae_dir, "cfg.json")) as f:
        saelens_cfg = json.load(f)
    files = {}
    for root, dirs, fns in os.walk(args.out):
        dirs[:] = [d for d in dirs if not (root == args.out and d == "gemma_scope_2")]
        for fn in sorted(fns):
            full = os.path.join(root, fn)
            files[os.path.relpath(full, args.out)] = dict(bytes=os.path.getsize(full), sha256=sha256(full))
    meta = dict(
        script="Tests/Reference/make_sae_fixtures.py", seed=SEED,
        versions=dict(python=platform.python_version(), sae_lens=sae_lens.__version__,
                      torch=torch.__version__, numpy=np.__version__,
                      safetensors=safetensors.__version__, ml_dtypes=ml_dtypes.__version__,
                      platform=platform.platform()),
        sae_lens_install="pip install --no-deps sae-lens==6.54.12 plus the modules its import needs",
        gemma_fixture_sha256=sha256(GEMMA_FIXTURE),
        npz_members={k: npz_info(v) for k, v in paths.items()},
        bf16_npz_descr=npz_info(paths["gemma_scope_bf16"])["W_enc.npy"]["header"],
        saelens_cfg=saelens_cfg,
        files=files,
    )
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(json.dumps(dict(mean_l0=ref["mean_l0_main_inputs"], main_margin=main_margin,
                          bf16_margin=bf16_margin, n_cases=len(cases),
                          bf16_descr=meta["bf16_npz_descr"],
                          loader_on_bf16=saelens_loader_on_bf16), indent=1))


if __name__ == "__main__":
    main()
