#!/usr/bin/env python3
"""Reference outputs of the real google/gemma-3-270m (Q4_K_M GGUF) as transformers 5.25 runs it.

WHAT IT WRITES (Tests/Fixtures/gemma3/real-270m/, relative to the repository root; no weights and
no tokenizer are written: Gemma Terms of Use):
  reference.safetensors   per prompt p = 0..7 (64 tokens each, BOS first):
      tokens.{p}              I32 [64]
      logsumexp.{p}           F32 [64]        logsumexp over all 262,144 logits of each row
      top_ids.{p}             I32 [64, 20]    top-20 token ids per row, by descending logit
      top_values.{p}          F32 [64, 20]    their logits
      sampled_logits.{p}      F32 [64, 1024]  logits at the columns sampled_columns
      sampled_columns         I32 [1024]      sorted vocabulary ids (seeded draw), same for every row
      resid_post.{p}.{L}      F32 [64, 640]   raw output of model.model.layers[L], p in {0,1},
                                              L in {5, 11, 17}
      steer_vector            F32 [640]       seeded random unit vector
      greedy.{p}.output       I32 [64 + n]    greedy continuation incl. the prompt, n <= 32 (stops after EOS=1)
      greedy.{p}.margins      F32 [n]         top-1 minus top-2 logit at each greedy step
      greedy_steered.{p}.output, greedy_steered.{p}.margins
                                              the same with steer_scale * steer_vector added to the
                                              output of model.model.layers[steer_layer] at every
                                              position of prefill and every decode step
  reference.json          prompts, decoded continuations, settings, resolved config, confirmed
                          GGUF facts (tensor name map, norm shift, no q/k permutation, ...),
                          residual norms per block, timings
  NOTICE                  Gemma Terms of Use notice
  meta.json               versions, seeds, GGUF sha256, file sizes and sha256s

HOW TO RUN (from the repository root; ~6 min on 2 cores, most of it the GGUF dequantisation):
  /work/venv5/bin/python Tests/Reference/make_gemma3_real_reference.py
  Options: --gguf PATH (default $STEER_CACHE/gemma-3-270m/gemma-3-270m-q4_k_m.gguf, STEER_CACHE
  defaulting to .cache), --out DIR, --scales 100,200,... (print steered texts for each scale and
  exit), --no-bench (skip the timings).

SEMANTICS: transformers 5.25 AutoModelForCausalLM.from_pretrained(dir, gguf_file=name,
dtype=float32, attn_implementation="eager"): every tensor is dequantised to f32 by gguf's numpy
dequantiser; Gemma norm weights get 1 subtracted. All prompts are 64 tokens, shorter than the
sliding window (512), so the window never masks anything here.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import time

import numpy as np
import torch

import gguf
import safetensors
import tokenizers
import transformers
from gguf import GGUFReader, dequantize
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SEED = 2701
PROMPT_LEN = 64
NEW_TOKENS = 32
TOP_K = 20
N_COLUMNS = 1024
RESID_LAYERS = [5, 11, 17]
RESID_PROMPTS = [0, 1]
STEER_LAYER = 6
STEER_SCALE = 250.0
EOS = 1
THREADS = 2
NOTICE = ("Derived from google/gemma-3-270m. Gemma is provided under and subject to the Gemma Terms "
          "of Use found at ai.google.dev/gemma/terms.\n")

# Written for this reference; each is longer than 63 tokens and is cut to BOS + 63 tokens.
PROMPTS = [
    # prose
    "The old lighthouse stood at the edge of the cliff for more than a hundred years. Every night the "
    "keeper climbed the narrow stairs, trimmed the wick, and watched the beam sweep across the dark "
    "water. Ships passed far out at sea, and sometimes a small fishing boat came close enough that he "
    "could hear the men singing as they pulled in their nets. One winter evening, a storm rolled in "
    "from the west, and",
    # explanatory
    "Photosynthesis is the process by which green plants, algae and some bacteria turn light energy "
    "into chemical energy. Inside the chloroplasts, chlorophyll absorbs mostly red and blue light. The "
    "energy is used to split water molecules, releasing oxygen as a by-product, and to build sugars "
    "from carbon dioxide taken in through small pores in the leaves called stomata. The overall "
    "reaction can be summarised as",
    # code
    "def merge_sorted(a, b):\n    \"\"\"Merge two sorted lists into one sorted list.\"\"\"\n"
    "    result = []\n    i, j = 0, 0\n    while i < len(a) and j < len(b):\n"
    "        if a[i] <= b[j]:\n            result.append(a[i])\n            i += 1\n"
    "        else:\n            result.append(b[j])\n            j += 1\n"
    "    result.extend(a[i:])\n    result.extend(b[j:])\n    return result\n\n\n"
    "def binary_search(items, target):\n",
    # list
    "Packing list for a weekend hiking trip:\n1. A waterproof jacket and an extra warm layer\n"
    "2. Two litres of water and a small filter\n3. Sandwiches, nuts, dried fruit and chocolate\n"
    "4. A map, a compass and a fully charged phone\n5. A first aid kit with plasters and bandages\n"
    "6. A head torch with spare batteries\n7.",
    # dialogue
    "\"Are you sure this is the right road?\" Maria asked, looking at the map again.\n"
    "\"Of course I am,\" said Tom. \"We turned left at the church, just like the farmer told us.\"\n"
    "\"The farmer said right, not left.\"\n\"He said left. I remember it clearly.\"\n"
    "Maria sighed and folded the map. \"Then why are we driving into a lake?\"\n\"",
    # news-style
    "City officials announced on Tuesday that the main library will reopen next month after a two-year "
    "renovation. The building, first opened in 1912, now has a new roof, solar panels, a children's "
    "reading room and a larger space for local history archives. The mayor said the project was "
    "finished on time and slightly under budget, and thanked the volunteers who helped move more "
    "than",
    # recipe / instructions
    "To make a simple loaf of bread, mix five hundred grams of strong flour with ten grams of salt and "
    "seven grams of dried yeast. Add about three hundred and fifty millilitres of warm water and stir "
    "until a rough dough forms. Knead it on a floured table for ten minutes until it feels smooth and "
    "elastic. Put the dough in an oiled bowl, cover it, and",
    # letter / formal
    "Dear Ms Thompson,\n\nThank you for your letter of 3 March regarding the delayed delivery of your "
    "order. I am sorry for the inconvenience this has caused. Our records show that the parcel left "
    "our warehouse on 28 February but was held at the regional sorting centre because the address "
    "label was damaged. We have now arranged for",
]


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def versions():
    return dict(python=platform.python_version(), torch=torch.__version__,
                transformers=transformers.__version__, tokenizers=tokenizers.__version__,
                gguf=getattr(gguf, "__version__", None) or _dist_version("gguf"),
                safetensors=safetensors.__version__, numpy=np.__version__,
                platform=platform.platform())


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


class Steer:
    def __init__(self, model, layer, vector, scale):
        self.delta = (vector * scale).to(torch.float32)
        self.handle = model.model.layers[layer].register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        if isinstance(output, tuple):
            return (output[0] + self.delta,) + tuple(output[1:])
        return output + self.delta

    def remove(self):
        self.handle.remove()


class Recorder:
    def __init__(self, model, layers):
        self.out = {}
        self.handles = [model.model.layers[i].register_forward_hook(self._make(i)) for i in layers]

    def _make(self, i):
        def hook(module, args, output):
            self.out[i] = (output[0] if isinstance(output, tuple) else output).detach().clone()
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def greedy(model, prompt, steer=None):
    """model.generate(do_sample=False) for up to NEW_TOKENS tokens (stops after EOS=1), plus a
    teacher-forced full-sequence forward over the result (no cache) whose argmax must reproduce
    every generated token. Returns (sequence, margins from the no-cache logits, max |cache - nocache|)."""
    st = Steer(model, *steer) if steer else None
    try:
        inp = torch.tensor([prompt])
        out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), do_sample=False,
                             max_new_tokens=NEW_TOKENS, eos_token_id=EOS,
                             output_scores=True, return_dict_in_generate=True, pad_token_id=0)
        seq = out.sequences[0].tolist()
        full = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0].float()
    finally:
        if st is not None:
            st.remove()
    P = len(prompt)
    rows = full[P - 1: len(seq) - 1]
    top2 = torch.topk(rows, 2, dim=-1).values
    margins = (top2[:, 0] - top2[:, 1]).clone()
    # Where the cached and the cache-free argmax disagree, it must be a near tie.
    for t, (a, b) in enumerate(zip(rows.argmax(-1).tolist(), seq[P:])):
        if a != b:
            lag = float(rows[t].max() - rows[t, b])
            assert lag < 1e-3, f"step {t}: generate chose {b}, cache-free argmax {a}, lag {lag}"
    gap = max(float((s[0].float() - rows[t]).abs().max()) for t, s in enumerate(out.scores))
    return seq, margins, gap


def robust_prefix(margins, threshold=0.01):
    """Number of leading new tokens whose step margin is >= threshold: a port must reproduce these;
    the token at the first near-tie step (and everything after it) may legitimately differ."""
    low = (margins < threshold).nonzero()
    return int(low[0, 0]) if len(low) else len(margins)


def confirm_gguf_facts(model, reader, gguf_path):
    """Check against the file what transformers did to the weights; return the facts as a dict."""
    from transformers.modeling_gguf_pytorch_utils import (TENSOR_PROCESSORS,
                                                           get_gguf_hf_weights_map)
    processor = TENSOR_PROCESSORS["gemma3"](config={})
    name_map = get_gguf_hf_weights_map(model, processor)
    sd = model.state_dict()
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    # Norm shift and no permutation: compare the raw (dequantised) GGUF tensors with the parameters.
    norm_checks, perm_checks = {}, {}
    for t in reader.tensors:
        hf = name_map.get(t.name)
        if t.name.startswith("blk.0.") or t.name in ("output_norm.weight",):
            raw = dequantize(t.data, t.tensor_type)
            p = sd[hf].numpy()
            raw = raw.reshape(p.shape)
            if "norm.weight" in t.name:
                norm_checks[t.name] = dict(hf=hf, equals_raw_minus_1=bool(np.array_equal(p, (raw - 1).astype(np.float32))),
                                           raw_mean=float(raw.mean()), hf_mean=float(p.mean()))
            else:
                perm_checks[t.name] = dict(hf=hf, equals_raw_unpermuted=bool(np.array_equal(p, raw)))
    assert all(v["equals_raw_minus_1"] for v in norm_checks.values()), norm_checks
    assert all(v["equals_raw_unpermuted"] for v in perm_checks.values()), perm_checks
    tensor_map = {}
    for t in reader.tensors:
        if t.name.startswith("blk.0.") or not t.name.startswith("blk."):
            hf = name_map.get(t.name)
            tensor_map[t.name.replace("blk.0.", "blk.N.")] = hf.replace("layers.0.", "layers.N.") if hf else None
    tensor_map["(output.weight, absent)"] = name_map.get("output.weight")
    return dict(
        tensor_name_map_gguf_to_hf=tensor_map,
        tensor_types={k: types[k] for k in sorted(types) if k.startswith("blk.0.") or not k.startswith("blk.")},
        tensor_type_counts={n: sum(1 for v in types.values() if v == n) for n in sorted(set(types.values()))},
        norm_shift=("transformers' Gemma2TensorProcessor (used for gemma3) subtracts 1 from every GGUF "
                    "tensor whose name contains 'norm.weight' (attn_norm, post_attention_norm, ffn_norm, "
                    "post_ffw_norm, attn_q_norm, attn_k_norm, output_norm); confirmed bit-exact on block 0 "
                    "and output_norm"),
        norm_checks=norm_checks,
        qk_permutation=("none: LlamaTensorProcessor's reverse permutation is applied only for the llama "
                        "architecture; gemma3 attn_q/attn_k dequantise straight to q_proj/k_proj "
                        "(confirmed bit-exact on block 0, reshaped to [out, in])"),
        permutation_checks=perm_checks,
        output_tensor_present=any(t.name == "output.weight" for t in reader.tensors),
        lm_head_tied_to_embed=bool(model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()),
    )


def gguf_metadata(reader):
    md = {}
    for k, f in reader.fields.items():
        if k.startswith("tokenizer.ggml.") and k.split(".")[-1] in ("tokens", "scores", "token_type", "merges"):
            md[k] = f"array[{len(f.data)}]"
            continue
        try:
            md[k] = f.contents()
        except Exception:  # noqa: BLE001 - unreadable field types are just skipped
            md[k] = None
    return md


@torch.no_grad()
def bench(model, prompts_64):
    """Timings on THREADS threads: one forward of 8 x 64 tokens (all-position logits, and last only),
    and a batch-1 greedy decode of 64 new tokens after a 3-token prompt (min_new_tokens=64)."""
    torch.set_num_threads(THREADS)
    x = torch.tensor(prompts_64)
    res = {}

    def timed(fn, repeats=2):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts), min(ts)

    med, best = timed(lambda: model(input_ids=x, use_cache=False))
    res["forward_8x64_all_logits"] = dict(median_s=med, best_s=best, tok_per_s=512 / med)
    med, best = timed(lambda: model(input_ids=x, use_cache=False, logits_to_keep=1))
    res["forward_8x64_last_logits"] = dict(median_s=med, best_s=best, tok_per_s=512 / med)
    p3 = torch.tensor([prompts_64[0][:3]])

    def decode():
        out = model.generate(input_ids=p3, attention_mask=torch.ones_like(p3), do_sample=False,
                             max_new_tokens=64, min_new_tokens=64, pad_token_id=0)
        assert out.shape[1] == 67

    med, best = timed(decode)
    res["greedy_decode_b1_64_new_after_3"] = dict(median_s=med, best_s=best, new_tok_per_s=64 / med,
                                                  note="includes the 3-token prompt forward")
    res["threads"] = THREADS
    res["loadavg_1min_after"] = os.getloadavg()[0]
    res["cpu_count"] = os.cpu_count()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = os.environ.get("STEER_CACHE", os.path.join(REPO, ".cache"))
    ap.add_argument("--gguf", default=os.path.join(cache, "gemma-3-270m", GGUF_NAME))
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "gemma3", "real-270m"))
    ap.add_argument("--scales", default=None)
    ap.add_argument("--no-bench", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    transformers.logging.set_verbosity_error()
    gguf_path = os.path.abspath(args.gguf)
    gdir, gname = os.path.dirname(gguf_path), os.path.basename(gguf_path)
    digest = sha256_file(gguf_path)
    assert digest == GGUF_SHA256, f"{gguf_path}: sha256 {digest}, expected {GGUF_SHA256}"

    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(gdir, gguf_file=gname)
    model = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    load_s = time.perf_counter() - t0
    cfg = model.config
    assert cfg._attn_implementation == "eager"
    print(f"loaded in {load_s:.1f} s: {type(model).__name__}, tokenizer {type(tok).__name__} ({len(tok)})")
    print(cfg)

    gen = torch.Generator().manual_seed(SEED)
    steer_vec = torch.randn(cfg.hidden_size, generator=gen, dtype=torch.float32)
    steer_vec = steer_vec / steer_vec.norm()
    columns = torch.randperm(cfg.vocab_size, generator=gen)[:N_COLUMNS].sort().values

    prompts = []
    for text in PROMPTS:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        assert ids[0] == cfg.bos_token_id and len(ids) >= PROMPT_LEN, (len(ids), text[:40])
        prompts.append(ids[:PROMPT_LEN])

    if args.scales:
        for s in [float(v) for v in args.scales.split(",")]:
            for p in range(len(prompts)):
                seq, margins, _ = greedy(model, prompts[p], (STEER_LAYER, steer_vec, s))
                print(f"scale {s:g} prompt {p}: {tok.decode(seq[PROMPT_LEN:])!r}")
        return

    tensors = {"steer_vector": steer_vec.clone(), "sampled_columns": columns.to(torch.int32)}
    # Forward of all 8 prompts in one batch (equal lengths, no padding), all layers recorded.
    L = cfg.num_hidden_layers
    rec = Recorder(model, range(L))
    with torch.no_grad():
        try:
            logits = model(input_ids=torch.tensor(prompts), use_cache=False).logits.float()
        finally:
            rec.remove()
    # Batched vs single-sequence forward: the stored rows are the batched ones; record the gap.
    with torch.no_grad():
        single = model(input_ids=torch.tensor(prompts[:1]), use_cache=False).logits[0].float()
    batch_vs_single = float((single - logits[0]).abs().max())
    norms = []
    for l in range(L):
        r = rec.out[l]
        n = r.norm(dim=-1)  # [8, 64]
        norms.append(dict(layer=l, mean_norm_excl_bos=float(n[:, 1:].mean()), bos_norm=float(n[:, 0].mean()),
                          max_abs_channel_excl_bos=float(r[:, 1:].abs().max()),
                          mean_top1_channel_share=float((r[:, 1:].abs().max(-1).values / n[:, 1:]).mean())))
    for p, ids in enumerate(prompts):
        row = logits[p]
        tensors[f"tokens.{p}"] = torch.tensor(ids, dtype=torch.int32)
        tensors[f"logsumexp.{p}"] = torch.logsumexp(row.double(), dim=-1).float()
        tv, ti = torch.topk(row, TOP_K, dim=-1)
        tensors[f"top_ids.{p}"] = ti.to(torch.int32)
        tensors[f"top_values.{p}"] = tv.contiguous()
        tensors[f"sampled_logits.{p}"] = row[:, columns].contiguous()
        if p in RESID_PROMPTS:
            for l in RESID_LAYERS:
                tensors[f"resid_post.{p}.{l}"] = rec.out[l][p].float().contiguous()
    top_gaps = [float((tensors[f"top_values.{p}"][:, 0] - tensors[f"top_values.{p}"][:, 1]).min())
                for p in range(len(prompts))]
    del logits

    # Greedy, plain and steered.
    runs = []
    for p, ids in enumerate(prompts):
        r = dict(prompt=p)
        for tag, steer in (("greedy", None), ("greedy_steered", (STEER_LAYER, steer_vec, STEER_SCALE))):
            seq, margins, gap = greedy(model, ids, steer)
            tensors[f"{tag}.{p}.output"] = torch.tensor(seq, dtype=torch.int32)
            tensors[f"{tag}.{p}.margins"] = margins
            r[tag] = dict(text=tok.decode(seq[PROMPT_LEN:]), min_margin=float(margins.min()),
                          compare_new_tokens=robust_prefix(margins),
                          steps_with_margin_below_0_01=int((margins < 0.01).sum()),
                          generate_vs_nocache_max_abs_logit_gap=gap,
                          contains_eos=bool(cfg.eos_token_id in seq[PROMPT_LEN:]))
            print(f"prompt {p} {tag}: min margin {float(margins.min()):.4f}: {r[tag]['text']!r}")
        runs.append(r)

    # Confirmed facts about the GGUF and what transformers built from it.
    reader = GGUFReader(gguf_path)
    facts = confirm_gguf_facts(model, reader, gguf_path)

    timings = None if args.no_bench else bench(model, prompts)
    if timings:
        print("timings:", json.dumps(timings))

    os.makedirs(args.out, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sorted(tensors.items())},
              os.path.join(args.out, "reference.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(args.out, "NOTICE"), "w") as f:
        f.write(NOTICE)
    ref = dict(
        model="google/gemma-3-270m (pretrained base), " + GGUF_NAME,
        gguf_sha256=GGUF_SHA256,
        loader=("transformers 5.25 AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, "
                "dtype=torch.float32, attn_implementation='eager'); AutoTokenizer.from_pretrained(dir, "
                "gguf_file=name)"),
        weights=("every GGUF tensor dequantised to float32 by gguf.dequantize (numpy), norm weights "
                 "minus 1; computation in float32"),
        model_class=type(model).__name__,
        tokenizer_class=type(tok).__name__,
        resolved_config=dict(
            vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=L,
            num_attention_heads=cfg.num_attention_heads, num_key_value_heads=cfg.num_key_value_heads,
            head_dim=cfg.head_dim, intermediate_size=cfg.intermediate_size,
            layer_types=list(cfg.layer_types),
            full_attention_layers=[i for i, t in enumerate(cfg.layer_types) if t == "full_attention"],
            sliding_window=cfg.sliding_window, rope_parameters=json.loads(json.dumps(cfg.rope_parameters)),
            query_pre_attn_scalar=cfg.query_pre_attn_scalar, rms_norm_eps=cfg.rms_norm_eps,
            attn_logit_softcapping=cfg.attn_logit_softcapping,
            final_logit_softcapping=cfg.final_logit_softcapping,
            hidden_activation=cfg.hidden_activation, max_position_embeddings=cfg.max_position_embeddings,
            tie_word_embeddings=cfg.tie_word_embeddings,
            bos_token_id=cfg.bos_token_id, eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
            unk_token_id=getattr(cfg, "unk_token_id", None),
            generation_eos_token_id=model.generation_config.eos_token_id,
            embedding_normalizer_f32=float(torch.tensor(cfg.hidden_size ** 0.5, dtype=torch.float32)),
            not_in_the_gguf=("rope local base 10000 (Gemma3TextConfig.default_theta['local']), "
                             "layer_types (default pattern: layer i full when (i+1) % 6 == 0), "
                             "query_pre_attn_scalar 256 (config default; equals head_dim here), "
                             "softcaps (null by default)"),
        ),
        tokenizer=dict(len=len(tok), bos=tok.bos_token_id, eos=tok.eos_token_id, pad=tok.pad_token_id,
                       unk=tok.unk_token_id, adds_bos=True),
        gguf_metadata=gguf_metadata(reader),
        gguf_facts=facts,
        prompts=PROMPTS,
        prompt_len=PROMPT_LEN,
        prompts_cut_to="BOS + the first 63 tokens of each text (HF tokenizer, add_special_tokens=True)",
        stored=dict(
            per_row=("logsumexp over all 262,144 logits; top-20 ids and values; the logits at "
                     f"{N_COLUMNS} sampled columns (sampled_columns, sorted, seed {SEED}); rows = all 64 "
                     "positions of all 8 prompts, from ONE batched forward of the 8 prompts"),
            full_logit_rows="none (262,144 wide)",
            resid_post=f"prompts {RESID_PROMPTS}, layers {RESID_LAYERS}: raw output of model.model.layers[L]",
            why_1024_columns=("8 x 64 rows x 2,048 f32 columns would be 4 MB on its own; 1,024 keeps the "
                              "whole fixture near 3 MB"),
        ),
        batched_vs_single_forward_max_abs_logit_diff=batch_vs_single,
        min_top1_top2_gap_per_prompt=top_gaps,
        steer_layer=STEER_LAYER,
        steer_scale=STEER_SCALE,
        steer_vector_seed=f"torch.Generator().manual_seed({SEED}); randn(640), normalised (first draw)",
        steer_hook=("forward hook on model.model.layers[steer_layer] returning output + "
                    "steer_scale * steer_vector, at every position of prefill and every decode step"),
        greedy_new_tokens=NEW_TOKENS,
        greedy_note=("model.generate(do_sample=False, max_new_tokens=32, eos_token_id=1): stops after "
                     "EOS, so an output can be shorter than 64 + 32; asserted equal to the argmax of a cache-free forward of the whole output. "
                     "Where they differ the cache-free top-1 leads generate's token by < 1e-3 (asserted). "
                     "margins are top-1 minus top-2 of that cache-free forward; compare_new_tokens = the "
                     "number of leading new tokens before the first step with margin < 0.01: a float32 "
                     "port must reproduce those exactly, later tokens may legitimately differ"),
        greedy=runs,
        residual_norms_per_block=norms,
        residual_norms_note=("L2 norm of the output of each block over the 8 prompts x 64 positions; "
                             "BOS (position 0) reported separately"),
        suggested_tolerances=dict(
            logits_abs=2e-3, logsumexp_abs=2e-3, resid_post_rel_to_row_norm=1e-4,
            note="f32 vs f32 with a different summation order; logits are O(10-30), residual rows O(1e3-1e4)"),
        timings=timings,
        load_seconds=load_s,
    )
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    files = {fn: dict(bytes=os.path.getsize(os.path.join(args.out, fn)),
                      sha256=sha256_file(os.path.join(args.out, fn)))
             for fn in sorted(os.listdir(args.out)) if fn != "meta.json"}
    meta = dict(script="Tests/Reference/make_gemma3_real_reference.py", seed=SEED, versions=versions(),
                torch_threads=THREADS, gguf=dict(name=GGUF_NAME, sha256=GGUF_SHA256,
                                                 bytes=os.path.getsize(gguf_path)),
                files=files)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("residual norms:", [round(n["mean_norm_excl_bos"]) for n in norms])
    print("facts:", json.dumps({k: v for k, v in facts.items() if k not in ("norm_checks", "permutation_checks")}, indent=1))


if __name__ == "__main__":
    main()
