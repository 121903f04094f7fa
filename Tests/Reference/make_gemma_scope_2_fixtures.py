#!/usr/bin/env python3
"""Reference fixtures for the Gemma Scope 2 layout of the Swift JumpReLU SAE loader.

Gemma Scope 2 (JumpReLU SAEs for Gemma 3) ships one folder per SAE, e.g.
resid_post/layer_12_width_16k_l0_medium/, holding
  params.safetensors  lowercase tensors w_enc [d_model, n], w_dec [n, d_model], b_enc [n],
                      b_dec [d_model], threshold [n]
  config.json         architecture "jump_relu", hf_hook_point_in ("model.layers.L.output" for the
                      residual stream after block L), hf_hook_point_out, width, l0, model_name, and
                      for transcoders affine_connection
(facts from sae-lens 6.54.12, sae_lens/loading/pretrained_sae_loaders.py: _infer_gemma_3_raw_cfg_dict,
get_gemma_3_config_from_hf, gemma_3_sae_huggingface_loader).

WHAT IT WRITES (under Tests/Fixtures/sae/gemma_scope_2/, relative to the repository root):
  {f32,bf16,f16}/resid_post/layer_1_width_256_l0_small/params.safetensors   one small random SAE,
      d_model 64, width 256, stored as F32, and rounded (nearest even) to BF16 and to F16
  {f32,bf16,f16}/resid_post/layer_1_width_256_l0_small/config.json           the same config
  reference.safetensors   inputs and sae-lens outputs, per variant V in f32, bf16, f16:
      inputs [40, 64]            the inputs of ../reference.safetensors (the real layer-1 residual
                                 stream of Tests/Fixtures/gemma2/tiny-f32 plus two random rows)
      V.features [40, 256]       sae.encode(inputs)
      V.reconstruction [40, 64]  sae(inputs) = decode(encode(inputs))
  reference.json          meanings, margins, L0 per row
  meta.json               tool versions, seed, file sizes and sha256s

REFERENCE: sae-lens' own Gemma 3 loader (gemma_3_sae_huggingface_loader) reads each folder, with
  hf_hub_download and get_safetensors_tensor_shapes redirected to the local files (the same mocking
  as sae-lens' own test of that loader); the SAE is then built by SAE.from_dict and run with
  encode/forward. That loader upcasts every tensor to float32. The JumpReLU semantics it yields:
      pre = x @ W_enc + b_enc ;  f = relu(pre) * (pre > threshold) ;  recon = f @ W_dec + b_dec
  The script also evaluates that formula directly in float64 and asserts agreement.

DETERMINISM: numpy Generator(SEED); torch single-threaded. Every (feature, row) pair of every
  variant has |pre - threshold| >= MIN_MARGIN, so summation-order noise cannot flip a feature.

HOW TO RUN (from the repository root), in a venv that has torch, safetensors, numpy and sae-lens
  (installed as Tests/Reference/README.md describes, --no-deps):
  python Tests/Reference/make_gemma_scope_2_fixtures.py [--out DIR]
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import struct

import numpy as np
import safetensors
import torch
from safetensors.torch import load_file, save_file

import sae_lens
import sae_lens.loading.pretrained_sae_loaders as loaders
from sae_lens import SAE
from sae_lens.loading.pretrained_sae_loaders import gemma_3_sae_huggingface_loader, handle_config_defaulting

SEED = 2025
D_IN, D_SAE = 64, 256
LAYER = 1
FOLDER = os.path.join("resid_post", f"layer_{LAYER}_width_{D_SAE}_l0_small")
REPO_ID = "google/gemma-scope-2-270m-pt"
MIN_MARGIN = 1e-3
INPUTS = os.path.join("Tests", "Fixtures", "sae", "reference.safetensors")
VARIANTS = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
CONFIG = {
    "architecture": "jump_relu",
    "model_name": "gemma-v3-270m-pt",
    "hf_hook_point_in": f"model.layers.{LAYER}.output",
    "hf_hook_point_out": f"model.layers.{LAYER}.output",
    "width": D_SAE,
    "l0": 20,
    "affine_connection": False,
    "type": "sae",
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def rounded(params, dtype):
    """Each float32 tensor rounded to `dtype` (nearest even), as float64."""
    return {k: torch.from_numpy(v).to(dtype).double().numpy() for k, v in params.items()}


def margin(x, p):
    pre = x.astype(np.float64) @ p["w_enc"] + p["b_enc"]
    return float(np.min(np.abs(pre - p["threshold"])))


def make_params(rng, x):
    w_dec = rng.standard_normal((D_SAE, D_IN))
    w_dec /= np.linalg.norm(w_dec, axis=1, keepdims=True)
    w_enc = (w_dec.T + 0.3 * rng.standard_normal((D_IN, D_SAE)) / np.sqrt(D_IN)).astype(np.float32)
    b_enc = (0.1 * rng.standard_normal(D_SAE)).astype(np.float32)
    b_dec = (0.1 * rng.standard_normal(D_IN)).astype(np.float32)
    threshold = np.zeros(D_SAE, dtype=np.float32)
    for j in range(D_SAE):
        for _ in range(1000):
            # between two neighbouring pre-activations of the f32 parameters, 80-98% of the rows below
            pre = np.sort(x.astype(np.float64) @ w_enc[:, j].astype(np.float64) + float(b_enc[j]))
            k = int(rng.uniform(0.80, 0.98) * len(pre))
            t = 0.5 * (pre[k - 1] + pre[k])
            if t <= 0.05:
                t = 0.05 + rng.uniform(0.0, 1.0)
            column = dict(w_enc=w_enc[:, j:j + 1], b_enc=b_enc[j:j + 1], threshold=np.float32([t]))
            if all(margin(x, rounded(column, dtype)) >= MIN_MARGIN for dtype in VARIANTS.values()):
                threshold[j] = np.float32(t)
                break
        else:
            raise RuntimeError(f"no threshold clear of every input for feature {j}")
    return dict(w_enc=w_enc, w_dec=w_dec.astype(np.float32), b_enc=b_enc, b_dec=b_dec, threshold=threshold)


def safetensors_shapes(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}, \
        {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}


def load_with_saelens(root):
    """sae-lens' Gemma 3 loader on the local folder root/FOLDER (downloads redirected to disk)."""
    def download(repo_id, filename, subfolder=None, force_download=False, revision=None):
        assert repo_id == REPO_ID
        return os.path.join(root, subfolder, filename) if subfolder else os.path.join(root, filename)

    def shapes(repo_id, filename):
        return safetensors_shapes(os.path.join(root, filename))[0]

    saved = loaders.hf_hub_download, loaders.get_safetensors_tensor_shapes
    loaders.hf_hub_download, loaders.get_safetensors_tensor_shapes = download, shapes
    try:
        cfg, state, sparsity = gemma_3_sae_huggingface_loader(REPO_ID, FOLDER.replace(os.sep, "/"), "cpu")
    finally:
        loaders.hf_hub_download, loaders.get_safetensors_tensor_shapes = saved
    assert sparsity is None
    assert cfg["hook_name"] == f"blocks.{LAYER}.hook_resid_post", cfg
    assert cfg["hf_hook_name"] == CONFIG["hf_hook_point_in"] and cfg["architecture"] == "jumprelu", cfg
    sae = SAE.from_dict(handle_config_defaulting(dict(cfg)))
    sae.load_state_dict(state, strict=True)
    sae.eval()
    return sae, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("Tests", "Fixtures", "sae", "gemma_scope_2"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)
    x = load_file(INPUTS)["inputs"].numpy()
    assert x.shape == (40, D_IN) and x.dtype == np.float32
    params = make_params(rng, x)

    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    tensors = {"inputs": torch.from_numpy(x)}
    summary = {}
    for variant, dtype in VARIANTS.items():
        folder = os.path.join(args.out, variant, FOLDER)
        os.makedirs(folder)
        save_file({k: torch.from_numpy(v).to(dtype).contiguous() for k, v in params.items()},
                  os.path.join(folder, "params.safetensors"))
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=2)
            f.write("\n")
        stored = safetensors_shapes(os.path.join(folder, "params.safetensors"))[1]
        assert set(stored.values()) == {{"f32": "F32", "bf16": "BF16", "f16": "F16"}[variant]}, stored

        sae, cfg = load_with_saelens(os.path.join(args.out, variant))
        with torch.no_grad():
            xt = torch.from_numpy(x)
            features = sae.encode(xt).float()
            reconstruction = sae(xt).float()
            assert torch.equal(reconstruction, sae.decode(features))
        # The same JumpReLU in float64 from the stored values: agreement, and the margins.
        p = rounded(params, dtype)
        pre = x.astype(np.float64) @ p["w_enc"] + p["b_enc"]
        f64 = np.where(pre > p["threshold"], np.maximum(pre, 0), 0)
        r64 = f64 @ p["w_dec"] + p["b_dec"]
        assert np.array_equal(f64 != 0, features.numpy() != 0)
        assert np.max(np.abs(f64 - features.numpy())) < 1e-4
        assert np.max(np.abs(r64 - reconstruction.numpy())) < 1e-4
        m = margin(x, p)
        assert m >= MIN_MARGIN, (variant, m)
        tensors[f"{variant}.features"] = features
        tensors[f"{variant}.reconstruction"] = reconstruction
        l0 = (features > 0).sum(-1)
        summary[variant] = dict(
            stored_dtype={"f32": "F32", "bf16": "BF16", "f16": "F16"}[variant],
            min_abs_pre_minus_threshold=m, mean_l0=float(l0.double().mean()), l0=[int(v) for v in l0],
            saelens_hook_name=cfg["hook_name"], saelens_architecture=cfg["architecture"],
            max_abs_float64_vs_saelens_features=float(np.max(np.abs(f64 - features.numpy()))))
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(args.out, "reference.safetensors"),
              metadata={"format": "pt"})

    reference = dict(
        d_model=D_IN, width=D_SAE, layer=LAYER, folder=FOLDER.replace(os.sep, "/"), config=CONFIG,
        site="blocks.1.hook_resid_post (hf_hook_point_in model.layers.1.output)",
        semantics="pre = x @ w_enc + b_enc; f = relu(pre) * (pre > threshold) (strict); "
                  "recon = f @ w_dec + b_dec; tensors upcast to float32 first",
        computed_by=f"sae-lens {sae_lens.__version__} gemma_3_sae_huggingface_loader + SAE.from_dict "
                    "(encode, forward), downloads redirected to the local folders",
        inputs_source="inputs of Tests/Fixtures/sae/reference.safetensors (see ../reference.json)",
        min_margin=MIN_MARGIN, variants=summary,
        tensor_names={
            "inputs": "F32 [40, 64] SAE inputs (raw residual stream)",
            "V.features": "F32 [40, 256] encode(inputs) with variant V's stored parameters (V = f32, bf16, f16)",
            "V.reconstruction": "F32 [40, 64] decode(encode(inputs)) with variant V's parameters",
        },
    )
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    files = {}
    for root, _, names in os.walk(args.out):
        for name in sorted(names):
            full = os.path.join(root, name)
            files[os.path.relpath(full, args.out)] = dict(bytes=os.path.getsize(full), sha256=sha256(full))
    meta = dict(
        script="Tests/Reference/make_gemma_scope_2_fixtures.py", seed=SEED,
        versions=dict(python=platform.python_version(), sae_lens=sae_lens.__version__, torch=torch.__version__,
                      numpy=np.__version__, safetensors=safetensors.__version__,
                      platform=platform.platform()),
        inputs_sha256=sha256(INPUTS), files=dict(sorted(files.items())))
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(json.dumps({k: dict(margin=v["min_abs_pre_minus_threshold"], mean_l0=v["mean_l0"])
                      for k, v in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
