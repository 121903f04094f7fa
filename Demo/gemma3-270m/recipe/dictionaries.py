"""JumpReLU dictionaries on google/gemma-3-270m's residual stream, in the Gemma Scope 2 layout.

WHAT: writes Demo/gemma3-270m/sae/resid_post/layer_<L>_width_<W>/{params.safetensors, config.json}
(bf16 weights, lowercase w_enc/w_dec/b_enc/b_dec/threshold, config.json as Gemma Scope 2 writes it)
and the section "dictionaries" of Demo/gemma3-270m/recipe/results.json, whose numbers
Docs/Gemma3Demo.md quotes.

Stages (each reads what the previous ones wrote under WORK; nothing in WORK is committed):
  corpus   the demo recipe's openly licensed Debian corpus (Demo/recipe/corpus.py, same packages,
           checksums and held-out split)
  tokens   the model's own tokenizer (transformers, from the GGUF) packs each split into windows of
           CONTEXT tokens: <bos> + CONTEXT-1 tokens of the concatenated documents, each followed by <eos>
  acts     the output of decoder layer LAYER (HF hidden_states[LAYER + 1], our site `resid_post`
           after block LAYER) for every window, float32, <bos> positions dropped (their residual is an
           outlier, as in Gemma Scope practice), computed by our own `steer activations` (blocks
           0..LAYER only, resumable: rerun the stage after a kill); transformers recomputes
           CHECK_WINDOWS held-out windows and the largest per-row relative difference is recorded
  check    transformers' residuals of the committed held-out sample Tests/Fixtures/gemma3/heldout-kjv.txt
           (four King James chapters, public domain; one sequence each, <bos> first and dropped)
           encoded by each committed dictionary: FVE and mean L0, which the Swift test of the shipped
           dictionaries reproduces with our runtime
  sae      trains each dictionary of SAES with the demo recipe's JumpReLU trainer (Demo/recipe/sae.py:
           pseudo-derivatives, L0 controller, unit decoder rows) in float32, then measures it on the
           held-out windows: fraction of variance explained, mean L0, dead features (no activation on
           HELD_DEAD_ROWS training rows nor on the held-out rows), and the next-token loss with the
           reconstruction spliced in (on SPLICE_WINDOWS held-out windows). The committed width_2k was
           trained with the pre-activation loss against dead features (cfg preact); dead-feature
           resampling (cfg resample_every / resample_until) is available but left more dead features
           here (Docs/Gemma3Demo.md)
  tasks    the method's nine concepts: target features of width_2k by the mechanical rule of
           gemma3_tasks.py, task files Demo/gemma3-270m/tasks/<name>.json for the clean ones

The model is transformers' Gemma3ForCausalLM loaded from the Q4_K_M GGUF (dequantised to float32),
the same reference the Gemma-3 parity tests use. Gemma terms: the dictionaries are derived from the
Gemma weights, so a NOTICE sits next to them.

HOW TO RUN (from the repository root; the GGUF from Scripts/fetch-gemma3-270m.sh):
  PY=/work/venv6/bin/python   # torch 2.15.0, transformers 5.25.0, accelerate, gguf, safetensors, numpy
  $PY Demo/gemma3-270m/recipe/dictionaries.py --gguf .cache/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
  $PY Demo/gemma3-270m/recipe/dictionaries.py --stages sae --only width_2k --work /tmp/w
Threads: --threads (default 2) for torch. Unlike the demo recipe this one is not single-threaded:
training and the transformers check use every core, and multi-threaded reductions may change the
last bits between machines, so two runs agree to rounding, not bit for bit.
"""

import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Demo", "recipe"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import corpus  # noqa: E402
from common import update_results as common_update_results  # noqa: E402
from common import Timer, log, read_json, rng, run_stages, write_json  # noqa: E402
from sae import decode_np, encode_np, evaluate_sae, export_params, spliced_loss, train_sae  # noqa: E402

LAYER = 6                # the residual stream after block 6 of 18 (0-based): HF hidden_states[7]
CONTEXT = 128            # tokens per window, <bos> first
HELD_DEAD_ROWS = 200_000
CHECK_WINDOWS = 32        # held-out windows transformers recomputes to check our harvest
SPLICE_WINDOWS = 64
SAES = [
    dict(name="width_2k", width=2048, target_l0=50, steps=1500, batch=4096, lr=1e-3, seed=2048, bf16=False,
         preact=1e-4),
]
RESULTS_PATH = os.path.join(HERE, "results.json")
OUT_DIR = os.path.join(REPO, "Demo", "gemma3-270m", "sae", "resid_post")
DEFAULT_WORK = os.environ.get("GEMMA3_DEMO_WORK", "/work/gemma3-demo/work")
STAGES = ["corpus", "tokens", "acts", "sae", "check", "tasks"]


def update_results(section, value):
    common_update_results(section, value, RESULTS_PATH)


def load_model(gguf):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf),
                                                 torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def load_tokenizer(gguf):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))


def read_split(work, split):
    with open(os.path.join(work, "corpus", f"{split}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def pack_windows(tok, docs, bos, eos):
    """One stream of (document tokens + <eos>) cut into windows of CONTEXT-1 tokens, <bos> prepended."""
    stream = []
    for text in docs:
        stream.extend(tok(text, add_special_tokens=False)["input_ids"])
        stream.append(eos)
    n = len(stream) // (CONTEXT - 1)
    body = np.asarray(stream[: n * (CONTEXT - 1)], dtype=np.int32).reshape(n, CONTEXT - 1)
    return np.concatenate([np.full((n, 1), bos, dtype=np.int32), body], axis=1), len(stream)


def stage_tokens(work, gguf):
    tok = load_tokenizer(gguf)
    out = {}
    for split in ["train", "heldout"]:
        t = Timer()
        windows, n_tokens = pack_windows(tok, read_split(work, split), tok.bos_token_id, tok.eos_token_id)
        np.save(os.path.join(work, f"windows_{split}.npy"), windows)
        out[split] = dict(documents=len(read_split(work, split)), tokens=n_tokens, windows=int(len(windows)),
                          seconds=round(t(), 1))
        log(f"tokens {split}: {out[split]}")
    out.update(context=CONTEXT, bos=int(tok.bos_token_id), eos=int(tok.eos_token_id))
    return out


class StopForward(Exception):
    pass


@torch.no_grad()
def transformers_residuals(model, windows, batch=16):
    """The non-<bos> outputs of decoder layer LAYER for `windows` through transformers, [rows, d_model]."""
    store = {}

    def hook(mod, args, output):
        store["h"] = output[0] if isinstance(output, tuple) else output
        raise StopForward

    handle = model.model.layers[LAYER].register_forward_hook(hook)
    parts = []
    try:
        for i in range(0, len(windows), batch):
            try:
                model(input_ids=torch.from_numpy(windows[i:i + batch].astype(np.int64)), use_cache=False)
            except StopForward:
                pass
            parts.append(store["h"][:, 1:].float().numpy().reshape(-1, model.config.hidden_size))
    finally:
        handle.remove()
    return np.concatenate(parts)


def stage_acts(work, gguf, threads, steer):
    """Our runtime harvests (`steer activations`: blocks 0..LAYER only, resumable); transformers checks
    it on CHECK_WINDOWS held-out windows."""
    out = {}
    for name in ["heldout", "train"]:
        windows = os.path.join(work, f"windows_{name}.npy")
        path = os.path.join(work, f"acts_{name}.npy")
        t = Timer()
        if not os.path.exists(path):
            subprocess.run([steer, "activations", "--model", gguf, "--layer", str(LAYER), "--windows", windows,
                            "--out", path, "--skip-first", "1"], check=True)
        rows = np.load(path, mmap_mode="r").shape[0]
        out[name] = dict(windows=int(len(np.load(windows, mmap_mode="r"))), rows=int(rows), seconds=round(t(), 1))
    torch.set_num_threads(threads)
    held = np.load(os.path.join(work, "windows_heldout.npy"))[:CHECK_WINDOWS]
    ours = np.load(os.path.join(work, "acts_heldout.npy"), mmap_mode="r")[: len(held) * (CONTEXT - 1)]
    reference = transformers_residuals(load_model(gguf), held)
    relative = np.linalg.norm(ours - reference, axis=-1) / np.linalg.norm(reference, axis=-1)
    out["transformers_check"] = dict(windows=int(len(held)), rows=int(len(reference)),
                                     max_row_relative=float(relative.max()), mean_row_relative=float(relative.mean()))
    x = np.load(os.path.join(work, "acts_train.npy"), mmap_mode="r")
    out["mean_norm"] = round(float(np.linalg.norm(x[:100000], axis=-1).mean()), 3)
    out.update(layer=LAYER, site=f"output of model.model.layers[{LAYER}] = hidden_states[{LAYER + 1}]",
               harvester="steer activations (float32 weights dequantised from the GGUF)")
    return out


def save_gemma_scope_2(p, folder, l0):
    """bf16 params.safetensors (lowercase keys, Gemma Scope 2) and its config.json."""
    from safetensors.torch import save_file
    os.makedirs(folder, exist_ok=True)
    names = {"W_enc": "w_enc", "W_dec": "w_dec", "b_enc": "b_enc", "b_dec": "b_dec", "threshold": "threshold"}
    tensors = {names[k]: torch.from_numpy(np.ascontiguousarray(v)).to(torch.bfloat16) for k, v in p.items()}
    tmp = os.path.join(folder, "params.safetensors.tmp")
    save_file(tensors, tmp)
    os.replace(tmp, os.path.join(folder, "params.safetensors"))
    width = int(p["threshold"].shape[0])
    write_json(os.path.join(folder, "config.json"), {
        "architecture": "jump_relu",
        "model_name": "gemma-v3-270m-pt",
        "hf_hook_point_in": f"model.layers.{LAYER}.output",
        "hf_hook_point_out": f"model.layers.{LAYER}.output",
        "width": width,
        "l0": int(round(l0)),
        "affine_connection": False,
        "type": "sae",
    })


def load_committed(folder):
    """A committed dictionary's parameters (Gemma Scope 2 names mapped to ours), float32 numpy arrays."""
    from safetensors.torch import load_file
    raw = load_file(os.path.join(folder, "params.safetensors"))
    names = {"W_enc": "w_enc", "b_enc": "b_enc", "threshold": "threshold", "W_dec": "w_dec", "b_dec": "b_dec"}
    return {k: raw[v].float().numpy() for k, v in names.items()}


def bf16_round(p):
    return {k: torch.from_numpy(v).to(torch.bfloat16).float().numpy() for k, v in p.items()}


def stage_sae(work, gguf, threads, only):
    torch.set_num_threads(threads)
    xtr = np.load(os.path.join(work, "acts_train.npy"))
    xhe = np.load(os.path.join(work, "acts_heldout.npy"))
    d = xtr.shape[1]
    c = float(math.sqrt(d / (xtr[:200000].astype(np.float64) ** 2).sum(-1).mean()))
    dead_x = xtr[rng(7).permutation(len(xtr))[:HELD_DEAD_ROWS]]
    held_windows = np.load(os.path.join(work, "windows_heldout.npy"))
    splice = held_windows[rng(5).permutation(len(held_windows))[:SPLICE_WINDOWS]]
    model = None
    results = read_json(RESULTS_PATH, {}).get("dictionaries", {})
    for cfg in SAES:
        if only and cfg["name"] not in only:
            continue
        sae, hist, secs = train_sae(cfg, xtr, c)
        p = bf16_round(export_params(sae, c))   # every figure below is of the committed bf16 weights
        m = evaluate_sae(p, xhe, dead_x)
        if model is None:
            model = load_model(gguf)
        m.update(spliced_loss(model, splice, p, batch=4, layer=LAYER))
        m["splice_windows"] = int(len(splice))
        folder = os.path.join(OUT_DIR, f"layer_{LAYER}_{cfg['name']}")
        save_gemma_scope_2(p, folder, m["mean_l0"])
        log(f"{cfg['name']}: {m}")
        results[cfg["name"]] = dict(config=cfg, input_scale=c, train_rows=int(len(xtr)), heldout_rows=int(len(xhe)),
                                    train_seconds=round(secs, 1), threads=threads, history=hist, metrics=m,
                                    path=os.path.relpath(folder, REPO))
        update_results("dictionaries", results)
    return results


CHECK_TEXT = os.path.join(REPO, "Tests", "Fixtures", "gemma3", "heldout-kjv.txt")


@torch.no_grad()
def stage_check(gguf, threads):
    torch.set_num_threads(threads)
    tok, model = load_tokenizer(gguf), load_model(gguf)
    chapters = [c.strip() for c in open(CHECK_TEXT, encoding="utf-8").read().split("\n\n") if c.strip()]
    rows = []
    for text in chapters:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        assert ids[0] == tok.bos_token_id
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True, use_cache=False)
        rows.append(out.hidden_states[LAYER + 1][0, 1:].float().numpy())
    x = np.concatenate(rows).astype(np.float64)
    results = {}
    for cfg in SAES:
        folder = os.path.join(OUT_DIR, f"layer_{LAYER}_{cfg['name']}")
        p = {k: v.astype(np.float64) for k, v in load_committed(folder).items()}
        f = encode_np(p, x)
        rec = decode_np(p, f)
        fve = 1 - ((rec - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
        results[cfg["name"]] = dict(rows=int(len(x)), fve=float(fve), mean_l0=float((f > 0).sum(-1).mean()))
        log(f"check {cfg['name']}: {results[cfg['name']]}")
    return dict(text=os.path.relpath(CHECK_TEXT, REPO), chapters=len(chapters), dictionaries=results)


def stage_tasks(work, gguf):
    """The nine concepts' target features of the width_2k dictionary (rule in gemma3_tasks.py)."""
    import gemma3_tasks
    folder = os.path.join(OUT_DIR, f"layer_{LAYER}_width_2k")
    p = load_committed(folder)
    return gemma3_tasks.select_tasks(work, load_tokenizer(gguf), p, os.path.relpath(folder, REPO), LAYER)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True, help="gemma-3-270m-q4_k_m.gguf (Scripts/fetch-gemma3-270m.sh)")
    ap.add_argument("--work", default=DEFAULT_WORK)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--only", default="", help="comma-separated dictionary names of the sae stage")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steer", default=os.path.join(REPO, ".build", "release", "steer"),
                    help="the steer binary that harvests activations (default .build/release/steer)")
    args = ap.parse_args()
    stages = args.stages.split(",")
    for s in stages:
        if s not in STAGES:
            ap.error(f"unknown stage {s}; stages: {', '.join(STAGES)}")
    gguf = os.path.abspath(args.gguf)
    if not os.path.isfile(gguf):
        ap.error(f"no GGUF at {gguf}: run Scripts/fetch-gemma3-270m.sh")
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(0)

    def run_stage(stage):
        if stage == "corpus":
            update_results("corpus", corpus.build_corpus(args.work))
        elif stage == "tokens":
            update_results("tokens", stage_tokens(args.work, gguf))
        elif stage == "acts":
            update_results("activations", stage_acts(args.work, gguf, args.threads, args.steer))
        elif stage == "sae":
            stage_sae(args.work, gguf, args.threads, [n for n in args.only.split(",") if n])
        elif stage == "check":
            update_results("check", stage_check(gguf, args.threads))
        elif stage == "tasks":
            update_results("tasks", stage_tasks(args.work, gguf))

    run_stages(STAGES, stages, run_stage, RESULTS_PATH)


if __name__ == "__main__":
    main()
