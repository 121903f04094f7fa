#!/usr/bin/env python3
"""Reference fixtures for the Swift Gemma-2 port: tiny random-weight Gemma2ForCausalLM checkpoints.

WHAT IT WRITES (all under Tests/Fixtures/gemma2/, relative to the repository root):
  <config-name>/                         one directory per config in CONFIGS below
      config.json, generation_config.json          (save_pretrained)
      model.safetensors  or  model-0000K-of-0000N.safetensors + model.safetensors.index.json
      tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json
      reference.safetensors   f32/i32 reference tensors (names documented in write_reference())
      reference.json          scalar settings (steer layer/scale, dtype saved, sequence lengths, ...)
      meta.json               tool versions, seeds, summary statistics
      tokenized.json          (tiny-f32 only) HF tokenizer.json encodings of a few texts
  The tokenizer is a tiny SentencePiece BPE model (vocab 512, byte fallback, Gemma-style special ids
  pad=0 eos=1 bos=2 unk=3, identity normaliser, no dummy prefix) trained here on TRAINING_TEXT, and
  converted to tokenizer.json with transformers' GemmaTokenizerFast(vocab_file=..., from_slow=True).

HOW TO RUN (from the repository root; see Tests/Reference/README.md for the venv):
  /work/venv-ref/bin/python Tests/Reference/make_gemma2_fixtures.py
  Optional: --out DIR (default Tests/Fixtures/gemma2).

VERSIONS USED for the committed fixtures (also recorded in each meta.json):
  python 3.11.7, torch 2.15.0 (CPU), transformers 4.46.3, tokenizers 0.20.3, sentencepiece 0.2.3,
  safetensors 0.8.0, numpy 2.4.6, protobuf 7.36.2.

DETERMINISM: every random draw comes from a torch.Generator seeded with the config's "seed" (CONFIGS
below); torch runs single-threaded with deterministic algorithms; SentencePiece is trained with
num_threads=1 on the fixed in-script TRAINING_TEXT. Two runs give byte-identical files.

GREEDY PROMPTS: 4 per config. Prompts 0..2 are at least sliding_window tokens long and their stored
continuations equal HF model.generate. Prompt 3 is 3 tokens long (shorter than every window): there
HF 4.46.3's HybridCache gives wrong logits once decoding reaches position sliding_window-1 (its
_sliding_update rolls the ring buffer one step too early, dropping position 0 and keeping an empty
zero slot), so the stored continuation is the cache-free recompute and HF's own output is stored
separately (hf_generate*.3.output). Every stored greedy step has a top-1/top-2 logit gap >= 0.01.
In tiny-f32 the EOS row of the tied embedding is set to 1.25 x another token's row so that prompt 2's
plain greedy run stops at EOS after 4 new tokens (see reference.json "eos_trick").

REFERENCE SEMANTICS (see /work/shared/docs/gemma2.md):
  * Models use attn_implementation="eager" and are evaluated in float32. Checkpoints saved in bf16/f16
    are RELOADED FROM DISK with torch_dtype=float32 before any reference is computed (gemma2.md §11),
    so the references are exactly what an f32 port should produce from the saved file.
  * "resid_post L" = output[0] of model.model.layers[L] (forward hook), i.e. blocks.L.hook_resid_post.
  * Steering = add steer_scale * steer_vector to the output of model.model.layers[steer_layer] at every
    position of every forward call (prefill and each decode step), via a forward hook.
"""

import argparse
import glob
import hashlib
import io
import json
import math
import os
import platform
import shutil
import tempfile

import numpy as np
import torch

import google.protobuf
import safetensors
import sentencepiece as spm
import tokenizers
import transformers
from safetensors.torch import load_file, save_file
from transformers import Gemma2Config, Gemma2ForCausalLM, GemmaTokenizerFast

# --------------------------------------------------------------------------------------------------
# Tokenizer training text (written for this fixture; plain prose, some code, numbers and accents).
# --------------------------------------------------------------------------------------------------
TRAINING_TEXT = """\
The weather was cold and clear on the morning the small boat left the harbour.
Once upon a time there was a lighthouse keeper who counted the waves every night.
She wrote the numbers in a thin notebook: 12, 48, 256, 1024 and sometimes 4096.
Hello world! Hello again, world. The world is wide and the sea is deep.
I think that the best way to learn a language is to read it slowly and then read it again.
Breaking news: the bakery on the corner will open early tomorrow, and bread will be free.
Last night the wind turned to the north, and the stars were very bright above the town.
For sale: one old bicycle, two wheels, a bell that rings, and a basket for apples.
Dear Sir or Madam, thank you for your letter about the garden and the river path.
Preheat the oven to 180 degrees, mix the flour with the butter, and bake for 25 minutes.
It is interesting that the model can predict the next word after reading the previous ones.
New study suggests that people who walk every day sleep better and think more clearly.
The quick brown fox jumps over the lazy dog, and the dog does not seem to mind at all.
A steering vector is added to the residual stream at every position of the sequence.
The sparse autoencoder reads the residual stream and writes a few active features.
Each feature has a threshold; a feature fires only when its value is above the threshold.
def forward(x):
    h = embed(x) * scale
    for layer in layers:
        h = layer(h)
    return norm(h)
for i in range(10):
    print(i, i * i)
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 100 2024 3.14159
Café, naïve, résumé, déjà vu, über, señor, façade: some words keep their accents.
The river ran past the mill, the mill ground the wheat, and the wheat became bread.
In the evening the children played by the water and the parents talked about the harvest.
The teacher asked a question and the students answered it together in one voice.
When the rain stopped, the streets were shining and the air smelled of wet stone.
The library was quiet; only the sound of turning pages could be heard between the shelves.
We walked up the hill to see the sunrise, and it was worth the early start.
Please remember to close the window before you leave the room at night.
The market sells fish, fruit, vegetables, cheese, honey and fresh flowers every Saturday.
My grandmother told stories about the sea, the ships, and the people who sailed them.
The train left the station at seven and arrived in the city just before noon.
Model outputs are compared with the reference implementation to float rounding.
The tokenizer splits text into pieces; rare characters fall back to single bytes.
Good morning! How are you today? I am fine, thank you, and how is your family?
The mountain was covered with snow, and the path to the top was long and narrow.
Light travels faster than sound, which is why we see lightning before we hear thunder.
He opened the door, looked at the empty street, and decided to stay at home.
"""

# User-defined pieces in the spirit of Gemma's (control-like tokens, newline and space runs, HTML).
USER_DEFINED = ["<mask>", "<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "\u2581\u2581",
                "\u2581\u2581\u2581", "<b>", "</b>"]
VOCAB_SIZE = 512
TOKENIZER_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json"]

# Texts for the tokenizer check (tiny-f32/tokenized.json) and real-text prompts.
TOKENIZE_TEXTS = [
    "Hello world",
    "The  quick\nbrown fox\n\njumps",
    "Caf\u00e9 \U0001F642 <start_of_turn>user 42\t<b>x</b>",
]
SEQ_TEXTS = ["Hello world", "The quick brown fox jumps over the lazy dog."]
PROMPT_TEXTS = ["Once upon a time", "The weather"]

SEQ_LENGTHS = [5, 13, 20]
MAX_NEW_TOKENS = 12
MIN_GREEDY_MARGIN = 0.01     # min top1-top2 logit gap at every greedy step of every stored generation
SHORT_PROMPT_LEN = 3         # prompt 3: shorter than every sliding window (exercises the cache fill)
EOS_PROMPT = 2               # in configs with eos_trick, this prompt's greedy run stops at EOS
EOS_TRICK_SCALE = 1.25       # embed[EOS] := EOS_TRICK_SCALE * embed[T] (tied, so also the LM head row)
BOS, EOS, PAD = 2, 1, 0

# --------------------------------------------------------------------------------------------------
# Model configurations
# --------------------------------------------------------------------------------------------------
CONFIGS = [
    dict(name="tiny-f32", seed=1001, save_dtype="float32", shard_size=None,
         num_hidden_layers=3, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
         head_dim=16, intermediate_size=128, sliding_window=8, query_pre_attn_scalar=16,
         attn_logit_softcapping=50.0, final_logit_softcapping=30.0, rope_theta=10000.0,
         rms_norm_eps=1e-6, steer_layer=1, steer_scale=8.0, emb_gain=1.0, eos_trick=True),
    dict(name="mqa-odd-bf16", seed=1002, save_dtype="bfloat16", shard_size=None,
         num_hidden_layers=5, hidden_size=48, num_attention_heads=4, num_key_value_heads=1,
         head_dim=8, intermediate_size=96, sliding_window=6, query_pre_attn_scalar=12,
         attn_logit_softcapping=5.0, final_logit_softcapping=3.0, rope_theta=10000.0,
         rms_norm_eps=1e-6, steer_layer=2, steer_scale=6.0, emb_gain=1.0, eos_trick=False),
    dict(name="mha-sharded", seed=1003, save_dtype="float32", shard_size="200KB",
         num_hidden_layers=4, hidden_size=80, num_attention_heads=4, num_key_value_heads=4,
         head_dim=12, intermediate_size=160, sliding_window=7, query_pre_attn_scalar=12,
         attn_logit_softcapping=20.0, final_logit_softcapping=30.0, rope_theta=1000.0,
         rms_norm_eps=1e-6, steer_layer=2, steer_scale=8.0, emb_gain=1.5, eos_trick=False),
    dict(name="gqa-f16", seed=1004, save_dtype="float16", shard_size=None,
         num_hidden_layers=2, hidden_size=72, num_attention_heads=8, num_key_value_heads=2,
         head_dim=8, intermediate_size=144, sliding_window=4, query_pre_attn_scalar=8,
         attn_logit_softcapping=50.0, final_logit_softcapping=30.0, rope_theta=10000.0,
         rms_norm_eps=1e-5, steer_layer=0, steer_scale=8.0, emb_gain=1.0, eos_trick=False),
]

# Initialisation gains (std = gain / sqrt(fan_in) for linears). The embedding std is
# emb_gain / sqrt(hidden) per config (logits ~ N(0, emb_gain^2) before the final softcap, plus the
# tied-embedding self-similarity term for the current token).
QK_GAIN = 2.0       # q/k projections: attention scores O(1-10) before the softcap
LIN_GAIN = 1.2      # v/o/gate/up/down projections
NORM_STD = 0.2      # RMSNorm weights are offsets from 1: w ~ N(0, 0.2^2)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------------
def train_tokenizer(workdir):
    """Train the SentencePiece BPE model, convert it, return (model_path, fast_tokenizer)."""
    model_buf = io.BytesIO()
    lines = TRAINING_TEXT.splitlines()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model_buf,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        split_digits=True,
        split_by_whitespace=True,
        split_by_unicode_script=True,
        split_by_number=True,
        allow_whitespace_only_pieces=True,
        treat_whitespace_as_suffix=False,
        max_sentencepiece_length=16,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=USER_DEFINED,
        num_threads=1,
        minloglevel=2,
    )
    model_path = os.path.join(workdir, "tokenizer.model")
    with open(model_path, "wb") as f:
        f.write(model_buf.getvalue())
    fast = GemmaTokenizerFast(vocab_file=model_path, from_slow=True)
    fast_dir = os.path.join(workdir, "tok")
    fast.save_pretrained(fast_dir)
    # Round-trip through disk so every checkpoint directory holds the same saved files.
    fast = GemmaTokenizerFast.from_pretrained(fast_dir)
    return model_path, fast_dir, fast


def tokenizer_checks(model_path, fast):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    assert sp.get_piece_size() == VOCAB_SIZE, sp.get_piece_size()
    assert [sp.id_to_piece(i) for i in range(4)] == ["<pad>", "<eos>", "<bos>", "<unk>"]
    assert len(fast) == VOCAB_SIZE, len(fast)
    byte_ids = [i for i in range(VOCAB_SIZE) if sp.is_byte(i)]
    rows = []
    for text in TOKENIZE_TEXTS:
        ids = fast(text, add_special_tokens=True)["input_ids"]
        sp_ids = [BOS] + sp.encode(text)
        rows.append(dict(text=text, ids=ids, tokens=fast.convert_ids_to_tokens(ids),
                         sentencepiece_ids_with_bos=sp_ids, same_as_sentencepiece=(ids == sp_ids)))
    info = dict(vocab_size=sp.get_piece_size(), byte_piece_first_id=min(byte_ids),
                byte_piece_last_id=max(byte_ids), n_byte_pieces=len(byte_ids),
                user_defined_ids={p: sp.piece_to_id(p) for p in USER_DEFINED})
    return rows, info


# --------------------------------------------------------------------------------------------------
# Model construction
# --------------------------------------------------------------------------------------------------
def make_config(c):
    return Gemma2Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=c["hidden_size"],
        intermediate_size=c["intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c["num_key_value_heads"],
        head_dim=c["head_dim"],
        hidden_activation="gelu_pytorch_tanh",
        max_position_embeddings=256,
        rms_norm_eps=c["rms_norm_eps"],
        pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS,
        tie_word_embeddings=True,
        rope_theta=c["rope_theta"],
        attention_bias=False,
        attention_dropout=0.0,
        query_pre_attn_scalar=c["query_pre_attn_scalar"],
        sliding_window=c["sliding_window"],
        final_logit_softcapping=c["final_logit_softcapping"],
        attn_logit_softcapping=c["attn_logit_softcapping"],
        cache_implementation="hybrid",
        attn_implementation="eager",
    )


@torch.no_grad()
def init_weights(model, gen, emb_gain):
    d = model.config.hidden_size
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if name == "model.embed_tokens.weight":
            std = emb_gain / math.sqrt(d)
        elif name.endswith("norm.weight"):
            std = NORM_STD
        elif name.endswith(("q_proj.weight", "k_proj.weight")):
            std = QK_GAIN / math.sqrt(p.shape[1])
        elif p.dim() == 2:
            std = LIN_GAIN / math.sqrt(p.shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {name}")
        p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32) * std)


def load_f32(path):
    m = Gemma2ForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager")
    m.eval()
    assert m.config._attn_implementation == "eager"
    return m


# --------------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------------
class Steer:
    """Adds scale*vector to the output of one decoder layer at every position while active."""

    def __init__(self, model, layer, vector, scale):
        self.delta = (vector * scale).to(torch.float32)
        self.handle = model.model.layers[layer].register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        return (output[0] + self.delta,) + tuple(output[1:])

    def remove(self):
        self.handle.remove()


class Recorder:
    """Records output[0] of every decoder layer (registered AFTER a Steer hook, so it sees the steered
    value at the steered layer, i.e. what layer L+1 receives)."""

    def __init__(self, model):
        self.out = {}
        self.handles = [layer.register_forward_hook(self._make(i))
                        for i, layer in enumerate(model.model.layers)]

    def _make(self, i):
        def hook(module, args, output):
            self.out[i] = output[0].detach().clone()
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def run_full(model, ids):
    rec = Recorder(model)
    try:
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    finally:
        rec.remove()
    return out.logits[0].float(), [h[0].float() for h in out.hidden_states], \
        [rec.out[i][0].float() for i in range(model.config.num_hidden_layers)]


@torch.no_grad()
def greedy_generate(model, prompt):
    inp = torch.tensor([prompt])
    out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), do_sample=False,
                         max_new_tokens=MAX_NEW_TOKENS, pad_token_id=PAD, eos_token_id=EOS,
                         output_scores=True, return_dict_in_generate=True)
    seq = out.sequences[0].tolist()
    return seq, [s[0].float() for s in out.scores]


@torch.no_grad()
def greedy_nocache(model, prompt):
    """Greedy decoding by recomputing the full sequence every step (no KV cache, no mask tricks).
    Returns the sequence and the minimum top1-top2 logit margin seen (near-tie diagnostic)."""
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
# Independent float64 numpy forward pass written from /work/shared/docs/gemma2.md §2 (not from HF's
# code). It reads the saved safetensors files directly; its only job is to confirm that the spec the
# Swift port follows and the HF reference agree on these checkpoints (results go into reference.json).
# --------------------------------------------------------------------------------------------------
def load_numpy_weights(model_dir):
    """All tensors of every model*.safetensors file in model_dir, as float64 numpy arrays (read with
    safetensors.torch because bf16 is not a numpy dtype)."""
    w = {}
    for fn in sorted(glob.glob(os.path.join(model_dir, "model*.safetensors"))):
        for k, v in load_file(fn).items():
            w[k] = v.to(torch.float64).numpy()
    return w


def spec_forward(w, cfg, ids, steer=None):
    D, H, Hkv, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    E = w["model.embed_tokens.weight"]
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + cfg.rms_norm_eps) * (1.0 + g)

    def gelu_tanh(x):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    inv_freq = 1.0 / (cfg.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    ang = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(x):  # x [T, heads, hd]
        half = hd // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos[:, None, :] + rot * sin[:, None, :]

    x = E[ids] * math.sqrt(D)
    for L in range(cfg.num_hidden_layers):
        p = f"model.layers.{L}."
        a = rms(x, w[p + "input_layernorm.weight"])
        q = rope((a @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd))
        k = rope((a @ w[p + "self_attn.k_proj.weight"].T).reshape(T, Hkv, hd))
        v = (a @ w[p + "self_attn.v_proj.weight"].T).reshape(T, Hkv, hd)
        o = np.zeros((T, H, hd))
        for h in range(H):
            kv = h // (H // Hkv)
            sc = (q[:, h, :] @ k[:, kv, :].T) * cfg.query_pre_attn_scalar ** -0.5
            if cfg.attn_logit_softcapping is not None:
                sc = np.tanh(sc / cfg.attn_logit_softcapping) * cfg.attn_logit_softcapping
            i_idx, j_idx = np.arange(T)[:, None], np.arange(T)[None, :]
            allowed = j_idx <= i_idx
            if L % 2 == 0:
                allowed &= (i_idx - j_idx) < cfg.sliding_window
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
    logits = rms(x, w["model.norm.weight"]) @ E.T
    cap = cfg.final_logit_softcapping
    return np.tanh(logits / cap) * cap if cap is not None else logits


# --------------------------------------------------------------------------------------------------
def build_sequences(fast, gen):
    """Three forward-pass sequences of lengths SEQ_LENGTHS: BOS + (real text ids) + random ids."""
    seqs = []
    for k, T in enumerate(SEQ_LENGTHS):
        body = [] if k == 1 else fast(SEQ_TEXTS[min(k, 1)], add_special_tokens=False)["input_ids"]
        body = body[: T - 1]
        rnd = torch.randint(0, VOCAB_SIZE, (T - 1 - len(body),), generator=gen).tolist()
        seqs.append([BOS] + body + rnd)
    return seqs


def greedy_pair(model, prompt, steer_args):
    """Cache-free greedy continuation, plain and steered, with their per-step top-2 margins."""
    plain, m_plain = greedy_nocache(model, prompt)
    st = Steer(model, *steer_args)
    try:
        steered, m_steered = greedy_nocache(model, prompt)
    finally:
        st.remove()
    return plain, steered, min(m_plain + m_steered)


def select_prompts(model, c, fast, gen, steer_args):
    """Pick the greedy prompts. Every accepted prompt has a top-1/top-2 logit margin of at least
    MIN_GREEDY_MARGIN at every greedy step (plain and steered), so a float32 port reproduces the
    tokens despite summation-order noise. Prompts 0..2 are at least sliding_window long (see
    SHORT_PROMPT note); prompt 3 is shorter than the window. Candidates are tried in a fixed order:
    the text prompt with 0,1,2,... random ids appended, or fresh random draws."""
    W = c["sliding_window"]
    prompts, notes = [], []
    for j in range(4):
        for attempt in range(200):
            if j < 2:
                base = [BOS] + fast(PROMPT_TEXTS[j], add_special_tokens=False)["input_ids"]
                extra = max(0, W - len(base)) + attempt
                cand = base + torch.randint(4, VOCAB_SIZE, (extra,), generator=gen).tolist()
            elif j == 2:
                cand = [BOS] + torch.randint(4, VOCAB_SIZE, (max(W, 9),), generator=gen).tolist()
            else:
                cand = [BOS] + torch.randint(4, VOCAB_SIZE, (SHORT_PROMPT_LEN - 1,),
                                             generator=gen).tolist()
            plain, steered, margin = greedy_pair(model, cand, steer_args)
            if margin < MIN_GREEDY_MARGIN:
                continue
            gen_new = plain[len(cand):]
            eos_token = None
            if j == EOS_PROMPT and c["eos_trick"]:
                # first generated token at step >= 2 that was not generated before
                eos_token = next((t for s_, t in enumerate(gen_new)
                                  if s_ >= 2 and t not in gen_new[:s_] and t != EOS), None)
                if eos_token is None:
                    continue
            prompts.append(cand)
            notes.append(dict(attempts=attempt + 1, eos_trick_token=eos_token))
            break
        else:
            raise RuntimeError(f"no acceptable prompt {j} for {c['name']}")
    return prompts, notes


def versions():
    return dict(python=platform.python_version(), torch=torch.__version__,
                transformers=transformers.__version__, tokenizers=tokenizers.__version__,
                sentencepiece=spm.__version__, safetensors=safetensors.__version__,
                numpy=np.__version__, protobuf=google.protobuf.__version__,
                platform=platform.platform())


@torch.no_grad()
def write_reference(c, outdir, fast, tok_rows, tok_info):
    name = c["name"]
    gen = torch.Generator().manual_seed(c["seed"])
    torch.manual_seed(c["seed"])

    # 1. Build, initialise and save the checkpoint in the requested dtype.
    cfg = make_config(c)
    model = Gemma2ForCausalLM(cfg)
    init_weights(model, gen, c["emb_gain"])
    save_dtype = getattr(torch, c["save_dtype"])
    model = model.to(save_dtype)
    model.config.torch_dtype = save_dtype
    kw = dict(safe_serialization=True)
    if c["shard_size"] is not None:
        kw["max_shard_size"] = c["shard_size"]
    model.save_pretrained(outdir, **kw)
    del model

    # 2. Reload from disk as float32 (gemma2.md §11) and compute everything from that.
    model = load_f32(outdir)
    L = cfg.num_hidden_layers
    D = cfg.hidden_size

    seqs = build_sequences(fast, gen)
    steer_vec = torch.randn(D, generator=gen, dtype=torch.float32)
    steer_vec = steer_vec / steer_vec.norm()
    steer_layer, steer_scale = c["steer_layer"], c["steer_scale"]
    steer_args = (steer_layer, steer_vec, steer_scale)
    prompts, prompt_notes = select_prompts(model, c, fast, gen, steer_args)

    eos_trick = None
    if c["eos_trick"]:
        # Make greedy decoding of prompt EOS_PROMPT reach EOS mid-way: the EOS row of the tied
        # embedding becomes EOS_TRICK_SCALE x the row of a token T that this prompt's greedy run
        # emits at step >= 2. Then re-save (f32) and reload, and re-check every prompt's margins.
        assert c["save_dtype"] == "float32"
        T = prompt_notes[EOS_PROMPT]["eos_trick_token"]
        with torch.no_grad():
            w = model.model.embed_tokens.weight
            w[EOS] = w[T] * EOS_TRICK_SCALE
        model.config._name_or_path = ""     # keep the local path out of config.json
        model.save_pretrained(outdir, safe_serialization=True)
        model = load_f32(outdir)
        eos_trick = dict(prompt=EOS_PROMPT, token=T, scale=EOS_TRICK_SCALE,
                         rule="embed_tokens.weight[EOS] = scale * embed_tokens.weight[token]")
        for j, pr in enumerate(prompts):
            _, _, margin = greedy_pair(model, pr, steer_args)
            if margin < MIN_GREEDY_MARGIN:
                raise RuntimeError(f"{name}: prompt {j} margin {margin} after the EOS trick")

    tensors = {"steer_vector": steer_vec.clone()}
    stats = dict(max_abs_logit=0.0)
    for i, ids in enumerate(seqs):
        logits, hidden, resid = run_full(model, ids)
        assert len(hidden) == L + 1
        tensors[f"tokens.{i}"] = torch.tensor(ids, dtype=torch.int32)
        tensors[f"logits.{i}"] = logits
        for k in range(L + 1):
            tensors[f"hidden.{i}.{k}"] = hidden[k]
        for l in range(L):
            tensors[f"resid_post.{i}.{l}"] = resid[l]
            if l < L - 1:
                assert torch.equal(resid[l], hidden[l + 1]), (name, i, l)
        assert torch.equal(model.model.norm(resid[L - 1]), hidden[L])
        stats["max_abs_logit"] = max(stats["max_abs_logit"], float(logits.abs().max()))
        st = Steer(model, steer_layer, steer_vec, steer_scale)
        try:
            s_logits, _, s_resid = run_full(model, ids)
        finally:
            st.remove()
        tensors[f"steered_logits.{i}"] = s_logits
        for l in range(L):
            tensors[f"steered_resid_post.{i}.{l}"] = s_resid[l]
        assert torch.equal(s_resid[steer_layer], resid[steer_layer] + steer_vec * steer_scale)

    # Cross-check HF against the independent float64 spec implementation (gemma2.md §2).
    w64 = load_numpy_weights(outdir)
    spec_plain, spec_steered = [], []
    for i, ids in enumerate(seqs):
        lg = spec_forward(w64, cfg, ids)
        spec_plain.append(float(np.abs(lg - tensors[f"logits.{i}"].double().numpy()).max()))
        lg = spec_forward(w64, cfg, ids, (steer_layer, steer_vec.double().numpy(), steer_scale))
        spec_steered.append(float(np.abs(lg - tensors[f"steered_logits.{i}"].double().numpy()).max()))
    stats["spec_f64_vs_hf_max_abs_logit_diff"] = max(spec_plain)
    stats["spec_f64_vs_hf_max_abs_steered_logit_diff"] = max(spec_steered)
    assert max(spec_plain + spec_steered) < 1e-3, (spec_plain, spec_steered)

    # Layer-contribution diagnostic: relative change of the residual stream per layer (seq 2).
    h = [tensors["hidden.2.0"]] + [tensors[f"resid_post.2.{l}"] for l in range(L)]
    stats["rel_resid_change_per_layer"] = [float((h[l + 1] - h[l]).norm() / h[l].norm())
                                           for l in range(L)]
    stats["steered_vs_plain_max_abs_logit_diff"] = max(
        float((tensors[f"steered_logits.{i}"] - tensors[f"logits.{i}"]).abs().max())
        for i in range(len(seqs)))
    # How much the final softcap bites: the largest logit magnitude with the cap disabled.
    cap = cfg.final_logit_softcapping
    with torch.no_grad():
        model.config.final_logit_softcapping = None
        raw = [model(input_ids=torch.tensor([ids]), use_cache=False).logits[0] for ids in seqs]
        model.config.final_logit_softcapping = cap
        stats["max_abs_logit_before_final_softcap"] = max(float(r.abs().max()) for r in raw)
        # Effect of the attention-logit softcap: logits with the cap disabled vs enabled.
        acap = cfg.attn_logit_softcapping
        model.config.attn_logit_softcapping = None
        for layer in model.model.layers:
            layer.self_attn.config.attn_logit_softcapping = None
        nocap = [model(input_ids=torch.tensor([ids]), use_cache=False).logits[0] for ids in seqs]
        model.config.attn_logit_softcapping = acap
        for layer in model.model.layers:
            layer.self_attn.config.attn_logit_softcapping = acap
        stats["attn_softcap_effect_max_abs_logit_diff"] = max(
            float((nocap[i] - tensors[f"logits.{i}"]).abs().max()) for i in range(len(seqs)))
        # Effect of the sliding window: logits with the window disabled vs enabled.
        saved = [(layer.sliding_window, layer.self_attn.sliding_window) for layer in model.model.layers]
        for layer in model.model.layers:
            layer.sliding_window = 10 ** 6
            if layer.self_attn.sliding_window is not None:
                layer.self_attn.sliding_window = 10 ** 6
        nowin = [model(input_ids=torch.tensor([ids]), use_cache=False).logits[0] for ids in seqs]
        for layer, (a, b) in zip(model.model.layers, saved):
            layer.sliding_window, layer.self_attn.sliding_window = a, b
        stats["sliding_window_effect_max_abs_logit_diff_per_seq"] = [
            float((nowin[i] - tensors[f"logits.{i}"]).abs().max()) for i in range(len(seqs))]
        again = model(input_ids=torch.tensor([seqs[2]]), use_cache=False).logits[0]
        assert torch.equal(again, tensors["logits.2"])
    stats["min_top2_margin_last_position"] = min(
        float(torch.topk(tensors[f"logits.{i}"][-1], 2).values.diff().abs()) for i in range(len(seqs)))

    # 3. Greedy generation, plain and steered. The stored outputs are the cache-free recompute
    #    (argmax of the full-sequence logits at each step). For prompts 0..2 (length >=
    #    sliding_window) they are asserted equal to model.generate. For prompt 3 (shorter than the
    #    window) HF 4.46.3's HybridCache mis-handles the sliding-window cache (see README), so
    #    model.generate's own outputs are stored separately as hf_generate*.3.output.
    greedy = []
    for j, prompt in enumerate(prompts):
        rec = dict(prompt_len=len(prompt), prompt_shorter_than_window=len(prompt) < c["sliding_window"],
                   selection=prompt_notes[j])
        tensors[f"greedy.{j}.prompt"] = torch.tensor(prompt, dtype=torch.int32)
        for tag, steer in (("greedy", False), ("greedy_steered", True)):
            st = Steer(model, *steer_args) if steer else None
            try:
                hf_seq, scores = greedy_generate(model, prompt)
                ref_seq, margins = greedy_nocache(model, prompt)
                # per-step gap between generate's logits (KV cache) and a cache-free recompute of
                # the same prefix of generate's own output
                gaps = []
                for t, sc in enumerate(scores):
                    full = model(input_ids=torch.tensor([hf_seq[: len(prompt) + t]]),
                                 use_cache=False).logits[0, -1].float()
                    gaps.append(float((full - sc).abs().max()))
            finally:
                if st is not None:
                    st.remove()
            assert hf_seq[: len(prompt)] == prompt
            tensors[f"{tag}.{j}.output"] = torch.tensor(ref_seq, dtype=torch.int32)
            same = hf_seq == ref_seq
            if not same or rec["prompt_shorter_than_window"]:
                tensors[f"hf_generate{tag[6:]}.{j}.output"] = torch.tensor(hf_seq, dtype=torch.int32)
            if not rec["prompt_shorter_than_window"]:
                assert same, (name, j, tag, hf_seq, ref_seq)
            rec[tag] = dict(output_len=len(ref_seq), new_tokens=len(ref_seq) - len(prompt),
                            hit_eos=(EOS in ref_seq[len(prompt):]),
                            hf_generate_equals_reference=same,
                            hf_generate_max_abs_logit_gap_vs_recompute=max(gaps),
                            min_top2_margin=min(margins))
        greedy.append(rec)

    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(outdir, "reference.safetensors"), metadata={"format": "pt"})

    ref = dict(
        config_name=name,
        saved_dtype=c["save_dtype"],
        reference_dtype="float32",
        reloaded_from_disk_as_float32=True,
        sharded=c["shard_size"] is not None,
        max_shard_size=c["shard_size"],
        num_hidden_layers=L,
        hidden_size=D,
        vocab_size=VOCAB_SIZE,
        embedding_normalizer_f32=float(torch.tensor(D ** 0.5, dtype=torch.float32)),
        num_sequences=len(seqs),
        sequence_lengths=[len(s) for s in seqs],
        steer_layer=steer_layer,
        steer_scale=steer_scale,
        steer_positions="all (every position of every forward call: prefill and each decode step)",
        steer_hook="forward hook on model.model.layers[steer_layer]: output[0] + steer_scale*steer_vector",
        steered_resid_post_at_steer_layer_includes_steering=True,
        num_greedy_prompts=len(prompts),
        min_greedy_margin_required=MIN_GREEDY_MARGIN,
        eos_trick=eos_trick,
        max_new_tokens=MAX_NEW_TOKENS,
        eos_token_id=EOS,
        greedy=greedy,
        tensor_names={
            "tokens.{i}": "I32 [T_i] input ids (BOS=2 first)",
            "logits.{i}": "F32 [T_i, vocab] Gemma2ForCausalLM logits (final softcap applied)",
            "hidden.{i}.{k}": "F32 [T_i, hidden] HF output_hidden_states[k], k=0..num_layers; "
                              "k=0 scaled embeddings, k=num_layers is FINAL-NORMED",
            "resid_post.{i}.{L}": "F32 [T_i, hidden] raw output[0] of model.model.layers[L]",
            "steer_vector": "F32 [hidden] unit vector",
            "steered_logits.{i}": "F32 [T_i, vocab] logits with steering at all positions",
            "steered_resid_post.{i}.{L}": "F32 [T_i, hidden] layer outputs with steering "
                                          "(at L=steer_layer: after the addition)",
            "greedy.{j}.prompt": "I32 [P_j] prompt ids",
            "greedy.{j}.output": "I32 [P_j + n] greedy continuation incl. prompt (n <= 12; stops after "
                                 "EOS=1): argmax of full-sequence f32 logits each step; equals "
                                 "model.generate(do_sample=False, max_new_tokens=12) for j<3",
            "greedy_steered.{j}.output": "I32 same, with the steering hook active (all positions)",
            "hf_generate.{j}.output / hf_generate_steered.{j}.output": "I32 what HF 4.46.3 "
                "model.generate returned, stored only for prompts shorter than sliding_window "
                "(j=3), where HybridCache's sliding-window cache is wrong",
        },
        stats=stats,
    )
    if name == "tiny-f32":
        ref["tokenized_json"] = "tokenized.json"
    with open(os.path.join(outdir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return ref


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("Tests", "Fixtures", "gemma2"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, fast_dir, fast = train_tokenizer(tmp)
        tok_rows, tok_info = tokenizer_checks(model_path, fast)
        for c in CONFIGS:
            outdir = os.path.join(args.out, c["name"])
            if os.path.isdir(outdir):
                shutil.rmtree(outdir)
            os.makedirs(outdir)
            for fn in TOKENIZER_FILES:
                shutil.copyfile(os.path.join(fast_dir, fn), os.path.join(outdir, fn))
            ref = write_reference(c, outdir, fast, tok_rows, tok_info)
            if c["name"] == "tiny-f32":
                with open(os.path.join(outdir, "tokenized.json"), "w") as f:
                    json.dump(tok_rows, f, indent=1, ensure_ascii=False)
                    f.write("\n")
            meta = dict(
                script="Tests/Reference/make_gemma2_fixtures.py",
                config_name=c["name"],
                seed=c["seed"],
                settings=c,
                init=dict(embedding_std=f"{c['emb_gain']}/sqrt(hidden)",
                          q_k_std=f"{QK_GAIN}/sqrt(fan_in)",
                          other_linear_std=f"{LIN_GAIN}/sqrt(fan_in)",
                          rmsnorm_weight_std=NORM_STD),
                versions=versions(),
                torch_threads=1,
                tokenizer=tok_info,
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
                                 f"hf==ref={r[t]['hf_generate_equals_reference']} "
                                 f"hfgap={r[t]['hf_generate_max_abs_logit_gap_vs_recompute']:.2e} "
                                 f"margin={r[t]['min_top2_margin']:.4f}"
                                 for t in ("greedy", "greedy_steered")))


if __name__ == "__main__":
    main()
