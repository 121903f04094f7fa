"""Stage 3: the Gemma-2 language model (transformers' own Gemma2ForCausalLM, eager attention).

Data: each training document is SentencePiece-encoded and followed by <eos>; the documents (in the
seeded order written by corpus.py) are concatenated into one stream which is cut into windows of
CONTEXT-1 tokens, and every window gets a leading <bos>: sequences of CONTEXT tokens that all start
with <bos>, as Gemma always sees. The held-out documents are packed the same way.

Training: AdamW (beta 0.9/0.95, weight decay 0.1 on matrices only), linear warmup then cosine decay
to 10%, gradient clipping 1.0, bf16 autocast on CPU (master weights float32), one thread,
deterministic algorithms, a seeded window order per epoch. The model is saved in bfloat16 (the
repository size budget) and every number after training (perplexity, reference logits, samples) is
computed from the checkpoint reloaded from disk as float32, i.e. exactly what a float32 port sees.
"""

import json
import math
import os

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import Gemma2Config, Gemma2ForCausalLM

from common import (BOS, EOS, FIXTURE_DIR, MODEL_DIR, PAD, SAE_LAYER, Timer, log, rng,
                    sha256_file, write_json)
from tokenizer import VOCAB_SIZE, load_tokenizers, read_docs

CONTEXT = 128
MODEL = dict(num_hidden_layers=6, hidden_size=256, intermediate_size=768, num_attention_heads=4,
             num_key_value_heads=2, head_dim=64, sliding_window=64, query_pre_attn_scalar=64,
             attn_logit_softcapping=50.0, final_logit_softcapping=30.0, rope_theta=10000.0,
             rms_norm_eps=1e-6, max_position_embeddings=256)
TRAIN = dict(seed=1234, batch=32, steps=850, lr=1.5e-3, warmup=40, final_lr_fraction=0.1,
             weight_decay=0.1, betas=(0.9, 0.95), grad_clip=1.0, autocast="bfloat16")
SAVE_DTYPE = torch.bfloat16

# Reference texts for Tests/Fixtures/demo (the last one is longer than the sliding window).
REFERENCE_TEXTS = [
    "I think that love is patient.",
    "And the LORD said unto Moses, Go in unto Pharaoh, and tell him.",
    "Le projet Debian est une association de personnes qui ont pour cause commune de créer un "
    "système d'exploitation libre. A wedding is the social event at which the ceremony of marriage "
    "is performed; the bride and the groom were married in June, and all their friends came to "
    "praise them and wish them well.",
]
SAMPLE_PROMPTS = ["I think", "The weather", "Love is", "And the LORD said", "Le projet Debian"]


def make_config():
    return Gemma2Config(vocab_size=VOCAB_SIZE, hidden_activation="gelu_pytorch_tanh",
                        pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS,
                        tie_word_embeddings=True, attention_bias=False, attention_dropout=0.0,
                        initializer_range=0.02, cache_implementation="hybrid",
                        attn_implementation="eager", **MODEL)


def pack(docs, sp):
    stream = []
    for d in docs:
        stream.extend(sp.encode(d["text"]))
        stream.append(EOS)
    n = len(stream) // (CONTEXT - 1)
    body = np.asarray(stream[: n * (CONTEXT - 1)], dtype=np.int32).reshape(n, CONTEXT - 1)
    return np.concatenate([np.full((n, 1), BOS, dtype=np.int32), body], axis=1), len(stream)


def tokenize_corpus(work):
    path = os.path.join(work, "tokens.npz")
    if os.path.exists(path):
        z = np.load(path)
        return z["train"], z["heldout"]
    sp, _ = load_tokenizers()
    train, n_train = pack(read_docs(work, "train"), sp)
    held, n_held = pack(read_docs(work, "heldout"), sp)
    np.savez(path, train=train, heldout=held)
    log(f"tokens: train {n_train} in {len(train)} windows, held-out {n_held} in {len(held)} windows")
    return train, held


def lr_at(step):
    t = TRAIN
    if step < t["warmup"]:
        return t["lr"] * (step + 1) / t["warmup"]
    p = (step - t["warmup"]) / max(1, t["steps"] - t["warmup"])
    f = t["final_lr_fraction"]
    return t["lr"] * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * p)))


def train_model(work, save_checkpoints=()):
    train, held = tokenize_corpus(work)
    torch.manual_seed(TRAIN["seed"])
    model = Gemma2ForCausalLM(make_config())
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters")
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=TRAIN["weight_decay"]),
                             dict(params=no_decay, weight_decay=0.0)],
                            lr=TRAIN["lr"], betas=TRAIN["betas"], eps=1e-8)
    g = rng(TRAIN["seed"])
    order, pos, epoch = g.permutation(len(train)), 0, 0
    timer, losses, curve = Timer(), [], []
    B = TRAIN["batch"]
    for step in range(TRAIN["steps"]):
        if pos + B > len(order):
            order, pos, epoch = g.permutation(len(train)), 0, epoch + 1
        x = torch.from_numpy(train[order[pos:pos + B]].astype(np.int64))
        pos += B
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(input_ids=x, labels=x, use_cache=False)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
        if (step + 1) % 25 == 0 or step == 0:
            m = float(np.mean(losses[-25:]))
            curve.append(dict(step=step + 1, loss=round(m, 4), seconds=round(timer(), 1)))
            tps = (step + 1) * B * CONTEXT / timer()
            log(f"step {step + 1}/{TRAIN['steps']} epoch {epoch} loss {m:.3f} lr {lr_at(step):.2e} "
                f"{tps:.0f} tok/s")
        if step + 1 in save_checkpoints:
            model.save_pretrained(os.path.join(work, f"ckpt-{step + 1}"), safe_serialization=True)
    train_seconds = timer()
    model.eval()
    model.to(SAVE_DTYPE).save_pretrained(MODEL_DIR, safe_serialization=True)
    info = dict(parameters=n_params, config=MODEL, vocab_size=VOCAB_SIZE, context=CONTEXT,
                train=dict(TRAIN, betas=list(TRAIN["betas"])), train_windows=int(len(train)),
                tokens_seen=TRAIN["steps"] * B * CONTEXT,
                epochs_seen=round(TRAIN["steps"] * B / len(train), 3),
                train_seconds=round(train_seconds, 1), loss_curve=curve,
                final_train_loss=curve[-1]["loss"], save_dtype=str(SAVE_DTYPE).replace("torch.", ""))
    return info


def load_f32():
    m = Gemma2ForCausalLM.from_pretrained(MODEL_DIR, torch_dtype=torch.float32,
                                          attn_implementation="eager")
    m.eval()
    return m


@torch.no_grad()
def heldout_perplexity(model, held, batch=32):
    total, count = 0.0, 0
    for i in range(0, len(held), batch):
        x = torch.from_numpy(held[i:i + batch].astype(np.int64))
        logits = model(input_ids=x, use_cache=False).logits
        lp = torch.log_softmax(logits[:, :-1].double(), dim=-1)
        nll = -lp.gather(-1, x[:, 1:, None]).squeeze(-1)
        total += nll.sum().item()
        count += nll.numel()
    return dict(nll=round(total / count, 4), perplexity=round(math.exp(total / count), 3),
                tokens=count, note="mean next-token NLL over every position of the held-out windows "
                "(predictions of tokens 1..127 of each <bos>-led 128-token window), float32 model")


@torch.no_grad()
def write_reference(model):
    sp, fast = load_tokenizers()
    tensors, meta = {}, []
    resid = {}
    handle = model.model.layers[SAE_LAYER].register_forward_hook(
        lambda mod, args, out: resid.__setitem__("h", out[0].detach().clone()))
    for i, text in enumerate(REFERENCE_TEXTS):
        ids = fast(text, add_special_tokens=True)["input_ids"]
        assert ids == [BOS] + sp.encode(text)
        x = torch.tensor([ids])
        out = model(input_ids=x, use_cache=False, output_hidden_states=True)
        assert torch.equal(out.hidden_states[SAE_LAYER + 1], resid["h"])
        tensors[f"tokens.{i}"] = torch.tensor(ids, dtype=torch.int32)
        tensors[f"logits.{i}"] = out.logits[0].float().contiguous()
        tensors[f"resid_post.{SAE_LAYER}.{i}"] = resid["h"][0].float().contiguous()
        meta.append(dict(text=text, n_tokens=len(ids)))
    handle.remove()
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    save_file(tensors, os.path.join(FIXTURE_DIR, "reference.safetensors"))
    ref = dict(model_dir="Demo/model", model_sha256=sha256_file(os.path.join(MODEL_DIR, "model.safetensors")),
               dtype_on_disk=str(SAVE_DTYPE).replace("torch.", ""), evaluated_as="float32, eager attention, no KV cache",
               tolerance=1e-4, texts=meta, resid_layer=SAE_LAYER,
               tensors={"tokens.{i}": "I32 [T] ids with <bos>", "logits.{i}": "F32 [T, vocab] final softcapped logits",
                        f"resid_post.{SAE_LAYER}.{{i}}": "F32 [T, 256] output of model.model.layers[3] (hidden_states[4])"},
               generator="Demo/recipe/train_demo.py (stage lm)")
    write_json(os.path.join(FIXTURE_DIR, "reference.json"), ref)
    return ref


@torch.no_grad()
def sample_generations(model, seed=7, max_new_tokens=40):
    _, fast = load_tokenizers()
    rows = []
    for prompt in SAMPLE_PROMPTS:
        ids = torch.tensor([fast(prompt)["input_ids"]])
        greedy = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False)
        torch.manual_seed(seed)
        sampled = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=True, top_k=50,
                                 temperature=1.0)
        rows.append(dict(prompt=prompt,
                         greedy=fast.decode(greedy[0, ids.shape[1]:], skip_special_tokens=False),
                         sampled_topk50_seed7=fast.decode(sampled[0, ids.shape[1]:], skip_special_tokens=False)))
    return rows


def evaluate_model(work):
    _, held = tokenize_corpus(work)
    model = load_f32()
    ppl = heldout_perplexity(model, held)
    log(f"held-out perplexity {ppl['perplexity']} (nll {ppl['nll']})")
    ref = write_reference(model)
    samples = sample_generations(model)
    for s in samples:
        log(f"{s['prompt']!r} -> greedy {s['greedy']!r}")
    return dict(heldout=ppl, samples=samples, reference=ref)
