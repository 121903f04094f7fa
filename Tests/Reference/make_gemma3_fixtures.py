#!/usr/bin/env python3
"""Reference fixtures for the Swift Gemma-3 port: tiny random-weight Gemma-3 text checkpoints.

WHAT IT WRITES (all under Tests/Fixtures/gemma3/, relative to the repository root):
  <config-name>/                         one directory per config in CONFIGS below
      config.json, generation_config.json          (save_pretrained; softcap-mm: see LEGACY CONFIG)
      model.safetensors                            f32, tied embeddings (no lm_head tensor)
      tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json
                                                   copied from Tests/Fixtures/gemma2/tiny-f32 (the tiny
                                                   SentencePiece BPE vocab of 512 trained by
                                                   make_gemma2_fixtures.py; transformers 5.25 loads these
                                                   files and reproduces gemma2/tiny-f32/tokenized.json,
                                                   which is asserted here)
      reference.safetensors   f32/i32 reference tensors (names documented in write_reference())
      reference.json          settings (steer layer/scale, layer types, RoPE, sequence lengths, ...)
      meta.json               tool versions, seeds, file sizes and sha256s

CONFIGS:
  tiny-5to1    Gemma3ForCausalLM, 7 layers, default layer_types (5 sliding : 1 full -> layer 5 is full),
               window 6, GQA 4/1, RoPE local 1e4 / global 1e6, no softcaps.
  rope-scaled  Gemma3ForCausalLM, 4 layers, explicit layer_types [full, sliding, full, sliding],
               linear RoPE scaling factor 8 on the full layers, window 4, 8 query / 2 KV heads
               (q width 128 != hidden 64), query_pre_attn_scalar 24 != head_dim 16.
  softcap-mm   Gemma3ForConditionalGeneration (text + a minimal SigLIP vision tower and projector),
               attention / final softcaps 2 / 3 (small, so that both change the logits by O(0.1-1)). 5.25's save_pretrained writes the Hub's legacy
               tensor names: language_model.model.layers.N...., language_model.model.embed_tokens,
               language_model.model.norm, vision_tower.*, multi_modal_projector.*.
               LEGACY CONFIG: config.json is then rewritten in the style of the Hub's 4.50-era
               Gemma 3 4B+ configs: text_config with rope_theta, rope_local_base_freq, rope_scaling
               {linear, factor 8}, sliding_window_pattern (here 3 -> layers 2 and 5 full) and NO
               layer_types / rope_parameters. The script asserts that 5.25 resolves it to the intended
               layer_types and per-layer-type RoPE.

HOW TO RUN (from the repository root):
  /work/venv5/bin/python Tests/Reference/make_gemma3_fixtures.py        # ~1 min
  Optional: --out DIR (default Tests/Fixtures/gemma3).

VERSIONS (recorded in each meta.json): python 3.11, torch 2.13 (CPU), transformers 5.25.0.

DETERMINISM: every random draw comes from a torch.Generator seeded with the config's seed; torch
runs single-threaded with deterministic algorithms.

REFERENCE SEMANTICS (see /work/shared/docs/gemma3.md):
  * attn_implementation="eager", float32, references computed from the model RELOADED from disk.
  * "resid_post L" = the output of model.model.layers[L] (a forward hook; in 5.x a decoder layer
    returns a plain tensor), i.e. the residual stream after block L, BEFORE the final norm.
  * Steering = add steer_scale * steer_vector to the output of layers[steer_layer] at every position
    of every forward call (prefill and each decode step), via a forward hook returning the new output.
  * Greedy: model.generate(do_sample=False) with its default cache (5.25: DynamicCache with
    sliding-window layers); asserted equal to a cache-free recompute (argmax of full-sequence logits
    each step), including a prompt shorter than the window. Every stored step has a top-1/top-2
    logit gap >= MIN_GREEDY_MARGIN.
  * An independent float64 numpy forward written from gemma3.md §2 (not from HF code) is checked
    against HF on every sequence (plain and steered); the max difference goes to reference.json.
"""

import argparse
import glob
import hashlib
import json
import math
import os
import platform
import shutil
import tempfile

import numpy as np
import torch

import safetensors
import tokenizers
import transformers
from safetensors.torch import load_file, save_file
from transformers.models.gemma3 import modeling_gemma3
from transformers import (AutoTokenizer, Gemma3Config, Gemma3ForCausalLM,
                          Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER_SRC = os.path.join(REPO, "Tests", "Fixtures", "gemma2", "tiny-f32")
TOKENIZER_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json"]
VOCAB_SIZE = 512
BOS, EOS, PAD = 2, 1, 0

SEQ_TEXTS = ["Hello world", "The quick brown fox jumps over the lazy dog."]
PROMPT_TEXTS = ["Once upon a time", "The weather"]
SEQ_LENGTHS = [5, 13, 20]
MAX_NEW_TOKENS = 12
MIN_GREEDY_MARGIN = 0.01
SHORT_PROMPT_LEN = 3

# Initialisation gains (std = gain / sqrt(fan_in) for linears); norms are offsets from 1.
QK_GAIN = 2.0
LIN_GAIN = 1.2
NORM_STD = 0.2
QK_NORM_STD = 0.3

CONFIGS = [
    dict(name="tiny-5to1", seed=3001, kind="causal", num_hidden_layers=7, hidden_size=64,
         num_attention_heads=4, num_key_value_heads=1, head_dim=16, intermediate_size=64,
         sliding_window=6, query_pre_attn_scalar=16, layer_types=None, sliding_window_pattern=None,
         rope_local=10000.0, rope_global=1e6, rope_scaling=None,
         attn_logit_softcapping=None, final_logit_softcapping=None, rms_norm_eps=1e-6,
         steer_layer=2, steer_scale=8.0),
    dict(name="rope-scaled", seed=3002, kind="causal", num_hidden_layers=4, hidden_size=64,
         num_attention_heads=8, num_key_value_heads=2, head_dim=16, intermediate_size=96,
         sliding_window=4, query_pre_attn_scalar=24,
         layer_types=["full_attention", "sliding_attention", "full_attention", "sliding_attention"],
         sliding_window_pattern=None, rope_local=10000.0, rope_global=1e6,
         rope_scaling={"rope_type": "linear", "factor": 8.0},
         attn_logit_softcapping=None, final_logit_softcapping=None, rms_norm_eps=1e-6,
         steer_layer=1, steer_scale=8.0),
    dict(name="softcap-mm", seed=3003, kind="multimodal", num_hidden_layers=6, hidden_size=64,
         num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=64,
         sliding_window=5, query_pre_attn_scalar=16, layer_types=None, sliding_window_pattern=3,
         rope_local=10000.0, rope_global=1e6, rope_scaling={"rope_type": "linear", "factor": 8.0},
         attn_logit_softcapping=2.0, final_logit_softcapping=3.0, rms_norm_eps=1e-6,
         steer_layer=2, steer_scale=8.0),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def versions():
    return dict(python=platform.python_version(), torch=torch.__version__,
                transformers=transformers.__version__, tokenizers=tokenizers.__version__,
                safetensors=safetensors.__version__, numpy=np.__version__,
                platform=platform.platform())


def intended_layer_types(c):
    if c["layer_types"] is not None:
        return list(c["layer_types"])
    pat = c["sliding_window_pattern"] or 6
    return ["sliding_attention" if (i + 1) % pat else "full_attention"
            for i in range(c["num_hidden_layers"])]


def make_text_config(c):
    full = {"rope_type": "default", "rope_theta": c["rope_global"]}
    if c["rope_scaling"] is not None:
        full = dict(c["rope_scaling"], rope_theta=c["rope_global"])
    return Gemma3TextConfig(
        vocab_size=VOCAB_SIZE, hidden_size=c["hidden_size"],
        intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_key_value_heads"],
        head_dim=c["head_dim"], hidden_activation="gelu_pytorch_tanh", max_position_embeddings=256,
        rms_norm_eps=c["rms_norm_eps"], pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS,
        tie_word_embeddings=True,
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": c["rope_local"]},
                         "full_attention": full},
        query_pre_attn_scalar=c["query_pre_attn_scalar"], sliding_window=c["sliding_window"],
        layer_types=intended_layer_types(c),
        final_logit_softcapping=c["final_logit_softcapping"],
        attn_logit_softcapping=c["attn_logit_softcapping"],
    )


def make_model(c):
    tc = make_text_config(c)
    if c["kind"] == "causal":
        return Gemma3ForCausalLM(tc)
    vc = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                            num_attention_heads=2, image_size=28, patch_size=14,
                            vision_use_head=False)
    cfg = Gemma3Config(text_config=tc, vision_config=vc, mm_tokens_per_image=4,
                       boi_token_index=255_999, eoi_token_index=256_000, image_token_index=262_144)
    return Gemma3ForConditionalGeneration(cfg)


def model_class(c):
    return Gemma3ForCausalLM if c["kind"] == "causal" else Gemma3ForConditionalGeneration


def text_model(model):
    """The Gemma3TextModel inside either model class."""
    return model.model if isinstance(model, Gemma3ForCausalLM) else model.model.language_model


def text_config(model):
    return model.config if isinstance(model, Gemma3ForCausalLM) else model.config.text_config


@torch.no_grad()
def init_weights(model, gen):
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if name.endswith("embed_tokens.weight"):
            std = 1.0 / math.sqrt(p.shape[1])
        elif name.endswith(("q_norm.weight", "k_norm.weight")):
            std = QK_NORM_STD
        elif name.endswith("norm.weight") or name.endswith("norm1.weight") \
                or name.endswith("norm2.weight") or name.endswith("layernorm.weight"):
            std = NORM_STD
        elif name.endswith("bias"):
            std = 0.02
        elif name.endswith(("q_proj.weight", "k_proj.weight")) and "vision" not in name:
            std = QK_GAIN / math.sqrt(p.shape[1])
        elif p.dim() >= 2:
            std = LIN_GAIN / math.sqrt(p[0].numel())
        else:
            raise RuntimeError(f"unexpected parameter {name}")
        p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32) * std)


def load_f32(c, path):
    m = model_class(c).from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    m.eval()
    tcfg = text_config(m)
    assert tcfg._attn_implementation == "eager", tcfg._attn_implementation
    return m


# --------------------------------------------------------------------------------------------------
# Legacy (Hub 4.50-style) config.json for the multimodal fixture
# --------------------------------------------------------------------------------------------------
def write_legacy_config(c, outdir):
    path = os.path.join(outdir, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    tc = cfg["text_config"]
    for k in ("layer_types", "rope_parameters", "_sliding_window_pattern"):
        tc.pop(k, None)
    tc["rope_theta"] = c["rope_global"]
    tc["rope_local_base_freq"] = c["rope_local"]
    tc["rope_scaling"] = dict(c["rope_scaling"]) if c["rope_scaling"] else None
    tc["sliding_window_pattern"] = c["sliding_window_pattern"]
    cfg["text_config"] = dict(sorted(tc.items()))
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


# --------------------------------------------------------------------------------------------------
# Attention softcap. transformers 5.25's Gemma3Attention keeps config.attn_logit_softcapping but never
# passes it to the attention function (Gemma2Attention passes softcap=...), so stock HF ignores it; and
# Gemma3ForConditionalGeneration.forward applies no final_logit_softcapping either (Gemma3ForCausalLM
# does). Real Gemma 3 configs set both to null. The fixtures honour a cap that a config sets (the
# Gemma 2 semantics): references come from Gemma3ForCausalLM with this wrapper installed as the module's
# eager attention function, which adds softcap=module.attn_logit_softcapping; the stock outputs are
# recorded too (hf_stock_logits.*, reference.json "hf_stock").
# --------------------------------------------------------------------------------------------------
_stock_eager = modeling_gemma3.eager_attention_forward
HONOUR_ATTN_SOFTCAP = [True]


def _eager_with_softcap(module, query, key, value, attention_mask, **kwargs):
    if HONOUR_ATTN_SOFTCAP[0] and kwargs.get("softcap") is None:
        kwargs["softcap"] = getattr(module, "attn_logit_softcapping", None)
    return _stock_eager(module, query, key, value, attention_mask, **kwargs)


modeling_gemma3.eager_attention_forward = _eager_with_softcap


# --------------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------------
def _out_tensor(output):
    return output[0] if isinstance(output, tuple) else output


class Steer:
    """Adds scale*vector to the output of one decoder layer at every position while active."""

    def __init__(self, model, layer, vector, scale):
        self.delta = (vector * scale).to(torch.float32)
        self.handle = text_model(model).layers[layer].register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        if isinstance(output, tuple):
            return (output[0] + self.delta,) + tuple(output[1:])
        return output + self.delta

    def remove(self):
        self.handle.remove()


class Recorder:
    """Records the output of every decoder layer (registered after a Steer hook, so it sees the
    steered value at the steered layer)."""

    def __init__(self, model):
        self.out = {}
        self.handles = [layer.register_forward_hook(self._make(i))
                        for i, layer in enumerate(text_model(model).layers)]

    def _make(self, i):
        def hook(module, args, output):
            self.out[i] = _out_tensor(output).detach().clone()
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def run_full(model, ids):
    rec = Recorder(model)
    try:
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        rec.remove()
    n = text_config(model).num_hidden_layers
    return out.logits[0].float(), [rec.out[i][0].float() for i in range(n)]


@torch.no_grad()
def greedy_generate(model, prompt):
    inp = torch.tensor([prompt])
    out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), do_sample=False,
                         max_new_tokens=MAX_NEW_TOKENS, pad_token_id=PAD, eos_token_id=EOS,
                         output_scores=True, return_dict_in_generate=True)
    cache = getattr(out, "past_key_values", None) or getattr(out, "cache", None)
    return out.sequences[0].tolist(), [s[0].float() for s in out.scores], cache


@torch.no_grad()
def greedy_nocache(model, prompt):
    seq = list(prompt)
    margins = []
    for _ in range(MAX_NEW_TOKENS):
        logits = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1].float()
        top2 = torch.topk(logits, 2).values
        margins.append(float(top2[0] - top2[1]))
        nxt = int(torch.argmax(logits))
        seq.append(nxt)
        if nxt == EOS:
            break
    return seq, margins


# --------------------------------------------------------------------------------------------------
# Independent float64 numpy forward written from /work/shared/docs/gemma3.md §2 (not HF's code).
# --------------------------------------------------------------------------------------------------
def load_numpy_weights(model_dir):
    """Text-model tensors of model*.safetensors as float64 numpy arrays, keyed without the
    'language_model.' / 'model.' prefixes (e.g. 'layers.0.self_attn.q_proj.weight')."""
    w = {}
    for fn in sorted(glob.glob(os.path.join(model_dir, "model*.safetensors"))):
        for k, v in load_file(fn).items():
            if k.startswith("language_model.model."):
                w[k[len("language_model.model."):]] = v.to(torch.float64).numpy()
            elif k.startswith("model.") and not k.startswith("model.language_model"):
                w[k[len("model."):]] = v.to(torch.float64).numpy()
    return w


def spec_forward(w, c, ids, steer=None):
    D, H, Hkv, hd = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps, types = c["rms_norm_eps"], intended_layer_types(c)
    E = w["embed_tokens.weight"]
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1.0 + g)

    def gelu_tanh(x):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    def cos_sin(base, factor):
        inv = 1.0 / (base ** (np.arange(0, hd, 2, dtype=np.float64) / hd)) / factor
        ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
        return np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    factor = c["rope_scaling"]["factor"] if c["rope_scaling"] else 1.0
    rope_tab = {"sliding_attention": cos_sin(c["rope_local"], 1.0),
                "full_attention": cos_sin(c["rope_global"], factor)}

    def rope(x, cs):  # x [T, heads, hd]
        cos, sin = cs
        half = hd // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos[:, None, :] + rot * sin[:, None, :]

    x = E[ids] * math.sqrt(D)
    for L in range(c["num_hidden_layers"]):
        p = f"layers.{L}."
        a = rms(x, w[p + "input_layernorm.weight"])
        q = (a @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).reshape(T, Hkv, hd)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).reshape(T, Hkv, hd)
        q = rope(rms(q, w[p + "self_attn.q_norm.weight"]), rope_tab[types[L]])
        k = rope(rms(k, w[p + "self_attn.k_norm.weight"]), rope_tab[types[L]])
        o = np.zeros((T, H, hd))
        for h in range(H):
            kv = h // (H // Hkv)
            sc = (q[:, h, :] @ k[:, kv, :].T) * c["query_pre_attn_scalar"] ** -0.5
            if c["attn_logit_softcapping"] is not None:
                cap = c["attn_logit_softcapping"]
                sc = np.tanh(sc / cap) * cap
            i_idx, j_idx = np.arange(T)[:, None], np.arange(T)[None, :]
            allowed = j_idx <= i_idx
            if types[L] == "sliding_attention":
                allowed &= (i_idx - j_idx) < c["sliding_window"]
            sc = np.where(allowed, sc, -np.inf)
            pr = np.exp(sc - sc.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            o[:, h, :] = pr @ v[:, kv, :]
        attn = o.reshape(T, H * hd) @ w[p + "self_attn.o_proj.weight"].T
        x = x + rms(attn, w[p + "post_attention_layernorm.weight"])
        m = rms(x, w[p + "pre_feedforward_layernorm.weight"])
        y = (gelu_tanh(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)) \
            @ w[p + "mlp.down_proj.weight"].T
        x = x + rms(y, w[p + "post_feedforward_layernorm.weight"])
        if steer is not None and L == steer[0]:
            x = x + steer[1] * steer[2]
    logits = rms(x, w["norm.weight"]) @ E.T
    cap = c["final_logit_softcapping"]
    return np.tanh(logits / cap) * cap if cap is not None else logits


# --------------------------------------------------------------------------------------------------
def build_sequences(tok, gen):
    seqs = []
    for k, T in enumerate(SEQ_LENGTHS):
        body = [] if k == 1 else tok(SEQ_TEXTS[min(k, 1)], add_special_tokens=False)["input_ids"]
        body = body[: T - 1]
        rnd = torch.randint(0, VOCAB_SIZE, (T - 1 - len(body),), generator=gen).tolist()
        seqs.append([BOS] + body + rnd)
    return seqs


def greedy_pair(model, prompt, steer_args):
    plain, m_plain = greedy_nocache(model, prompt)
    st = Steer(model, *steer_args)
    try:
        steered, m_steered = greedy_nocache(model, prompt)
    finally:
        st.remove()
    return plain, steered, min(m_plain + m_steered)


def select_prompts(model, c, tok, gen, steer_args):
    """4 prompts: 0,1 = text + random ids up to >= window; 2 = random >= window; 3 = 3 tokens
    (shorter than every window). Each has top-1/top-2 margin >= MIN_GREEDY_MARGIN at every step."""
    W = c["sliding_window"]
    prompts, notes = [], []
    for j in range(4):
        for attempt in range(200):
            if j < 2:
                base = [BOS] + tok(PROMPT_TEXTS[j], add_special_tokens=False)["input_ids"]
                extra = max(0, W - len(base)) + attempt
                cand = base + torch.randint(4, VOCAB_SIZE, (extra,), generator=gen).tolist()
            elif j == 2:
                cand = [BOS] + torch.randint(4, VOCAB_SIZE, (max(W, 9),), generator=gen).tolist()
            else:
                cand = [BOS] + torch.randint(4, VOCAB_SIZE, (SHORT_PROMPT_LEN - 1,),
                                             generator=gen).tolist()
            _, _, margin = greedy_pair(model, cand, steer_args)
            if margin < MIN_GREEDY_MARGIN:
                continue
            prompts.append(cand)
            notes.append(dict(attempts=attempt + 1))
            break
        else:
            raise RuntimeError(f"no acceptable prompt {j} for {c['name']}")
    return prompts, notes


def check_resolved_config(c, model):
    """Assert that transformers resolved the saved config.json to the intended architecture."""
    tc = text_config(model)
    assert list(tc.layer_types) == intended_layer_types(c), (tc.layer_types, intended_layer_types(c))
    rp = tc.rope_parameters
    assert rp["sliding_attention"]["rope_theta"] == c["rope_local"], rp
    assert rp["sliding_attention"]["rope_type"] == "default", rp
    assert rp["full_attention"]["rope_theta"] == c["rope_global"], rp
    if c["rope_scaling"]:
        assert rp["full_attention"]["rope_type"] == "linear", rp
        assert rp["full_attention"]["factor"] == c["rope_scaling"]["factor"], rp
    else:
        assert rp["full_attention"]["rope_type"] == "default", rp
    assert tc.sliding_window == c["sliding_window"]
    assert tc.query_pre_attn_scalar == c["query_pre_attn_scalar"]
    assert tc.attn_logit_softcapping == c["attn_logit_softcapping"]
    assert tc.final_logit_softcapping == c["final_logit_softcapping"]
    return dict(layer_types=list(tc.layer_types),
                rope_parameters=json.loads(json.dumps(rp)),
                sliding_window=tc.sliding_window, query_pre_attn_scalar=tc.query_pre_attn_scalar,
                attn_logit_softcapping=tc.attn_logit_softcapping,
                final_logit_softcapping=tc.final_logit_softcapping)


@torch.no_grad()
def write_reference(c, outdir, tok):
    name = c["name"]
    gen = torch.Generator().manual_seed(c["seed"])
    torch.manual_seed(c["seed"])

    # 1. Build, initialise, save (f32), and for the multimodal fixture rewrite config.json.
    model = make_model(c)
    init_weights(model, gen)
    model.config._name_or_path = ""
    model.save_pretrained(outdir)
    del model
    if c["kind"] == "multimodal":
        write_legacy_config(c, outdir)

    # 2. Reload as float32 and compute everything from that.
    model = load_f32(c, outdir)
    resolved = check_resolved_config(c, model)
    L = c["num_hidden_layers"]
    D = c["hidden_size"]
    with open(os.path.join(outdir, "model.safetensors"), "rb") as f:
        n_hdr = int.from_bytes(f.read(8), "little")
        tensor_names = sorted(k for k in json.loads(f.read(n_hdr)) if k != "__metadata__")
    assert not any("lm_head" in k for k in tensor_names), "tied head must not be saved"

    # Multimodal: the references come from a Gemma3ForCausalLM holding the same text weights (stock
    # Gemma3ForConditionalGeneration applies no final softcap; see the softcap note above). The
    # stock multimodal model's own logits are kept as hf_stock_logits.{i}.
    stock_model = None
    if c["kind"] == "multimodal":
        stock_model = model
        model = Gemma3ForCausalLM(text_config(stock_model)).eval()
        sd = {k.replace("model.language_model.", "model."): v
              for k, v in stock_model.state_dict().items() if k.startswith("model.language_model.")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
        model.tie_weights()
        assert model.config._attn_implementation == "eager", model.config._attn_implementation
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()

    seqs = build_sequences(tok, gen)
    steer_vec = torch.randn(D, generator=gen, dtype=torch.float32)
    steer_vec = steer_vec / steer_vec.norm()
    steer_layer, steer_scale = c["steer_layer"], c["steer_scale"]
    steer_args = (steer_layer, steer_vec, steer_scale)
    prompts, prompt_notes = select_prompts(model, c, tok, gen, steer_args)

    tensors = {"steer_vector": steer_vec.clone()}
    stats = dict(max_abs_logit=0.0)
    for i, ids in enumerate(seqs):
        logits, resid = run_full(model, ids)
        tensors[f"tokens.{i}"] = torch.tensor(ids, dtype=torch.int32)
        tensors[f"logits.{i}"] = logits
        for l in range(L):
            tensors[f"resid_post.{i}.{l}"] = resid[l]
        stats["max_abs_logit"] = max(stats["max_abs_logit"], float(logits.abs().max()))
        if stock_model is not None:
            HONOUR_ATTN_SOFTCAP[0] = False
            try:
                stock = stock_model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].float()
            finally:
                HONOUR_ATTN_SOFTCAP[0] = True
            tensors[f"hf_stock_logits.{i}"] = stock
            stats.setdefault("hf_stock_vs_reference_max_abs_logit_diff_per_seq", []).append(
                float((stock - logits).abs().max()))
        st = Steer(model, *steer_args)
        try:
            s_logits, s_resid = run_full(model, ids)
        finally:
            st.remove()
        tensors[f"steered_logits.{i}"] = s_logits
        for l in range(L):
            tensors[f"steered_resid_post.{i}.{l}"] = s_resid[l]
        assert torch.equal(s_resid[steer_layer], resid[steer_layer] + steer_vec * steer_scale)
        for l in range(steer_layer):
            assert torch.equal(s_resid[l], resid[l])

    # Independent float64 spec forward vs HF.
    w64 = load_numpy_weights(outdir)
    spec_plain, spec_steered = [], []
    for i, ids in enumerate(seqs):
        lg = spec_forward(w64, c, ids)
        spec_plain.append(float(np.abs(lg - tensors[f"logits.{i}"].double().numpy()).max()))
        lg = spec_forward(w64, c, ids, (steer_layer, steer_vec.double().numpy(), steer_scale))
        spec_steered.append(float(np.abs(lg - tensors[f"steered_logits.{i}"].double().numpy()).max()))
    stats["spec_f64_vs_hf_max_abs_logit_diff"] = max(spec_plain)
    stats["spec_f64_vs_hf_max_abs_steered_logit_diff"] = max(spec_steered)
    assert max(spec_plain + spec_steered) < 1e-3, (spec_plain, spec_steered)
    if stock_model is not None:
        nocap = dict(c, attn_logit_softcapping=None, final_logit_softcapping=None)
        d = max(float(np.abs(spec_forward(w64, nocap, ids) - tensors[f"hf_stock_logits.{i}"].double().numpy()).max())
                for i, ids in enumerate(seqs))
        stats["hf_stock_vs_spec_without_softcaps_max_abs_logit_diff"] = d
        assert d < 1e-3, d

    # Diagnostics: how much each feature matters (so a port that ignores it fails the test).
    c_noswin = dict(c, sliding_window=10 ** 6)
    stats["sliding_window_effect_max_abs_logit_diff_per_seq"] = [
        float(np.abs(spec_forward(w64, c_noswin, ids) - tensors[f"logits.{i}"].double().numpy()).max())
        for i, ids in enumerate(seqs)]
    c_onerope = dict(c, rope_local=c["rope_global"])
    stats["local_rope_base_effect_max_abs_logit_diff"] = float(np.abs(
        spec_forward(w64, c_onerope, seqs[2]) - tensors["logits.2"].double().numpy()).max())
    if c["rope_scaling"]:
        c_noscale = dict(c, rope_scaling=None)
        stats["rope_scaling_effect_max_abs_logit_diff"] = float(np.abs(
            spec_forward(w64, c_noscale, seqs[2]) - tensors["logits.2"].double().numpy()).max())
    if c["attn_logit_softcapping"] is not None:
        stats["attn_softcap_effect_max_abs_logit_diff"] = float(np.abs(
            spec_forward(w64, dict(c, attn_logit_softcapping=None), seqs[2])
            - tensors["logits.2"].double().numpy()).max())
    if c["final_logit_softcapping"] is not None:
        stats["max_abs_logit_before_final_softcap"] = float(np.abs(
            spec_forward(w64, dict(c, final_logit_softcapping=None), seqs[2])).max())
    w_noqk = dict(w64)
    for l in range(L):
        w_noqk[f"layers.{l}.self_attn.q_norm.weight"] = np.zeros_like(w64[f"layers.{l}.self_attn.q_norm.weight"])
        w_noqk[f"layers.{l}.self_attn.k_norm.weight"] = np.zeros_like(w64[f"layers.{l}.self_attn.k_norm.weight"])
    stats["qk_norm_weight_effect_max_abs_logit_diff"] = float(np.abs(
        spec_forward(w_noqk, c, seqs[2]) - tensors["logits.2"].double().numpy()).max())
    stats["steered_vs_plain_max_abs_logit_diff"] = max(
        float((tensors[f"steered_logits.{i}"] - tensors[f"logits.{i}"]).abs().max())
        for i in range(len(seqs)))

    # 3. Greedy: HF generate (KV cache) must equal the cache-free recompute.
    greedy = []
    cache_classes = set()
    for j, prompt in enumerate(prompts):
        rec = dict(prompt_len=len(prompt), prompt_shorter_than_window=len(prompt) < c["sliding_window"],
                   selection=prompt_notes[j])
        tensors[f"greedy.{j}.prompt"] = torch.tensor(prompt, dtype=torch.int32)
        for tag, steer in (("greedy", False), ("greedy_steered", True)):
            st = Steer(model, *steer_args) if steer else None
            try:
                hf_seq, scores, cache = greedy_generate(model, prompt)
                ref_seq, margins = greedy_nocache(model, prompt)
                gaps = []
                for t, sc in enumerate(scores):
                    full = model(input_ids=torch.tensor([hf_seq[: len(prompt) + t]]),
                                 use_cache=False).logits[0, -1].float()
                    gaps.append(float((full - sc).abs().max()))
            finally:
                if st is not None:
                    st.remove()
            if cache is not None:
                cache_classes.add(type(cache).__name__ + "[" + ",".join(
                    sorted({type(layer).__name__ for layer in getattr(cache, "layers", [])})) + "]")
            assert hf_seq == ref_seq, (name, j, tag, hf_seq, ref_seq)
            assert max(gaps) < 1e-4, (name, j, tag, gaps)
            assert min(margins) >= MIN_GREEDY_MARGIN
            tensors[f"{tag}.{j}.output"] = torch.tensor(ref_seq, dtype=torch.int32)
            rec[tag] = dict(output_len=len(ref_seq), new_tokens=len(ref_seq) - len(prompt),
                            hit_eos=(EOS in ref_seq[len(prompt):]),
                            hf_generate_equals_reference=True,
                            hf_generate_max_abs_logit_gap_vs_recompute=max(gaps),
                            min_top2_margin=min(margins))
        greedy.append(rec)
    stats["generate_cache_classes"] = sorted(cache_classes)

    save_file({k: v.contiguous() for k, v in sorted(tensors.items())},
              os.path.join(outdir, "reference.safetensors"), metadata={"format": "pt"})

    ref = dict(
        config_name=name,
        model_class=model_class(c).__name__,
        references_computed_by=("Gemma3ForCausalLM" if c["kind"] == "causal" else
                                "Gemma3ForCausalLM holding this checkpoint's text weights"),
        softcap_semantics=("honoured as in Gemma 2: scores = cap*tanh(scores/cap) after the "
                           "query_pre_attn_scalar^-0.5 scaling and before the mask; logits = "
                           "cap*tanh(logits/cap). Stock transformers 5.25 Gemma3 ignores "
                           "attn_logit_softcapping, and Gemma3ForConditionalGeneration also ignores "
                           "final_logit_softcapping (hf_stock_logits.{i})"),
        config_json_style=("legacy Hub 4.50 style (rope_theta, rope_local_base_freq, rope_scaling, "
                           "sliding_window_pattern; no layer_types / rope_parameters)"
                           if c["kind"] == "multimodal" else "transformers 5.25 save_pretrained"),
        weight_prefix=("language_model.model." if c["kind"] == "multimodal" else "model."),
        weight_names=tensor_names,
        saved_dtype="float32",
        reference_dtype="float32",
        reloaded_from_disk_as_float32=True,
        resolved_by_transformers=resolved,
        num_hidden_layers=L,
        hidden_size=D,
        vocab_size=VOCAB_SIZE,
        embedding_normalizer_f32=float(torch.tensor(D ** 0.5, dtype=torch.float32)),
        num_sequences=len(seqs),
        sequence_lengths=[len(s) for s in seqs],
        steer_layer=steer_layer,
        steer_scale=steer_scale,
        steer_positions="all (every position of every forward call: prefill and each decode step)",
        steer_hook="forward hook on the text model's layers[steer_layer]: output + steer_scale*steer_vector",
        steered_resid_post_at_steer_layer_includes_steering=True,
        num_greedy_prompts=len(prompts),
        min_greedy_margin_required=MIN_GREEDY_MARGIN,
        max_new_tokens=MAX_NEW_TOKENS,
        eos_token_id=EOS,
        greedy=greedy,
        suggested_tolerances=dict(
            logits_abs=2e-4, resid_post_rel_to_row_norm=1e-5,
            note="HF f32 vs independent f64 numpy is stats.spec_f64_vs_hf_*; a float32 port should "
                 "match logits to ~1e-4 absolute; greedy tokens exactly (margins >= 0.01)"),
        tensor_names={
            "tokens.{i}": "I32 [T_i] input ids (BOS=2 first)",
            "logits.{i}": "F32 [T_i, vocab] logits (final softcap applied when set)",
            "resid_post.{i}.{L}": "F32 [T_i, hidden] raw output of the text model's layers[L] "
                                  "(before the final norm)",
            "steer_vector": "F32 [hidden] unit vector",
            "steered_logits.{i}": "F32 [T_i, vocab] logits with steering at all positions",
            "steered_resid_post.{i}.{L}": "F32 [T_i, hidden] layer outputs with steering "
                                          "(at L=steer_layer: after the addition)",
            "greedy.{j}.prompt": "I32 [P_j] prompt ids (j=3 is shorter than sliding_window)",
            "greedy.{j}.output": "I32 [P_j + n] greedy continuation incl. prompt (n <= 12, stops "
                                 "after EOS=1); equals HF generate(do_sample=False) and the "
                                 "cache-free recompute",
            "greedy_steered.{j}.output": "I32 same, with the steering hook active (all positions)",
            **({"hf_stock_logits.{i}": "F32 [T_i, vocab] what stock transformers 5.25 "
                "Gemma3ForConditionalGeneration returns: NO attention softcap and NO final softcap "
                "(do not test against it except to show the difference)"}
               if c["kind"] == "multimodal" else {}),
        },
        stats=stats,
    )
    with open(os.path.join(outdir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return ref


def check_tokenizer(tok):
    assert len(tok) == VOCAB_SIZE, len(tok)
    rows = json.load(open(os.path.join(TOKENIZER_SRC, "tokenized.json")))
    for r in rows:
        ids = tok(r["text"], add_special_tokens=True)["input_ids"]
        assert ids == r["ids"], (r["text"], ids, r["ids"])
    return len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "gemma3"))
    ap.add_argument("--only", default=None, help="comma-separated config names")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()

    tok = AutoTokenizer.from_pretrained(TOKENIZER_SRC)
    n_tok_checks = check_tokenizer(tok)
    os.makedirs(args.out, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    for c in CONFIGS:
        if only and c["name"] not in only:
            continue
        outdir = os.path.join(args.out, c["name"])
        if os.path.isdir(outdir):
            shutil.rmtree(outdir)
        os.makedirs(outdir)
        for fn in TOKENIZER_FILES:
            shutil.copyfile(os.path.join(TOKENIZER_SRC, fn), os.path.join(outdir, fn))
        ref = write_reference(c, outdir, tok)
        meta = dict(
            script="Tests/Reference/make_gemma3_fixtures.py",
            config_name=c["name"],
            seed=c["seed"],
            settings=c,
            init=dict(embedding_std="1/sqrt(hidden)", q_k_std=f"{QK_GAIN}/sqrt(fan_in)",
                      other_linear_std=f"{LIN_GAIN}/sqrt(fan_in)", rmsnorm_weight_std=NORM_STD,
                      qk_norm_weight_std=QK_NORM_STD),
            versions=versions(),
            torch_threads=1,
            tokenizer=dict(source="Tests/Fixtures/gemma2/tiny-f32 (copied)",
                           checked_against_tokenized_json=n_tok_checks),
            files={fn: dict(bytes=os.path.getsize(os.path.join(outdir, fn)),
                            sha256=sha256(os.path.join(outdir, fn)))
                   for fn in sorted(os.listdir(outdir)) if fn != "meta.json"},
        )
        with open(os.path.join(outdir, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{c['name']}: stats={json.dumps(ref['stats'])}")
        for j, r in enumerate(ref["greedy"]):
            print(f"  prompt {j}: len {r['prompt_len']} "
                  + " ".join(f"{t}: new={r[t]['new_tokens']} eos={r[t]['hit_eos']} "
                             f"hfgap={r[t]['hf_generate_max_abs_logit_gap_vs_recompute']:.2e} "
                             f"margin={r[t]['min_top2_margin']:.4f}"
                             for t in ("greedy", "greedy_steered")))


if __name__ == "__main__":
    main()
