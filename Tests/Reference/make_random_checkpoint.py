#!/usr/bin/env python3
"""Write a random-weight Hugging Face Gemma-2 checkpoint of any size, streaming (numpy only).

Used to check that the Swift loader handles a checkpoint of the real google/gemma-2-2b shape
(10.46 GB of float32 weights) within this machine's memory, and to measure throughput on that
shape without downloading the real weights. The weights are N(0, std²) (norm offsets N(0, 0.1²),
embeddings N(0, 1)/sqrt(hidden)); nothing about them is meaningful beyond their shapes.

Usage:
    python3 Tests/Reference/make_random_checkpoint.py --out /tmp/gemma-2-2b-random [--config 2b] \
        [--tokenizer-dir .cache/gemma-tokenizer] [--seed 0] [--dtype F32|BF16]

The output directory gets config.json, model.safetensors and, when --tokenizer-dir holds the real
Gemma tokenizer (Tests/Reference/fetch_gemma_tokenizer.sh puts it in .cache/gemma-tokenizer), a
copy of tokenizer.json / tokenizer.model. Nothing here is committed.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

CONFIGS = {
    "2b": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
               num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256),
}


def tensor_specs(c):
    d, f = c["hidden_size"], c["intermediate_size"]
    q, kv = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    specs = [("model.embed_tokens.weight", (c["vocab_size"], d), "embedding")]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (d,), "norm"),
            (p + "self_attn.q_proj.weight", (q, d), "linear"),
            (p + "self_attn.k_proj.weight", (kv, d), "linear"),
            (p + "self_attn.v_proj.weight", (kv, d), "linear"),
            (p + "self_attn.o_proj.weight", (d, q), "linear"),
            (p + "post_attention_layernorm.weight", (d,), "norm"),
            (p + "pre_feedforward_layernorm.weight", (d,), "norm"),
            (p + "mlp.gate_proj.weight", (f, d), "linear"),
            (p + "mlp.up_proj.weight", (f, d), "linear"),
            (p + "mlp.down_proj.weight", (d, f), "linear"),
            (p + "post_feedforward_layernorm.weight", (d,), "norm"),
        ]
    specs.append(("model.norm.weight", (d,), "norm"))
    return specs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default="2b", choices=sorted(CONFIGS))
    ap.add_argument("--tokenizer-dir", default=".cache/gemma-tokenizer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--std", type=float, default=0.02)
    args = ap.parse_args()
    c = dict(CONFIGS[args.config])
    config = dict(architectures=["Gemma2ForCausalLM"], model_type="gemma2", attn_logit_softcapping=50.0,
                  final_logit_softcapping=30.0, sliding_window=4096, max_position_embeddings=8192,
                  rms_norm_eps=1e-6, rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh",
                  bos_token_id=2, eos_token_id=1, pad_token_id=0, torch_dtype="float32", **c)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
    for name in ("tokenizer.json", "tokenizer.model"):
        src = os.path.join(args.tokenizer_dir, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(args.out, name))

    specs = tensor_specs(c)
    # transformers 4.x loads only safetensors files that carry {"format": "pt"}, as real checkpoints do.
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in specs:
        size = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    rng = np.random.default_rng(args.seed)
    chunk = 1 << 24
    with open(os.path.join(args.out, "model.safetensors"), "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for name, shape, kind in specs:
            n = int(np.prod(shape))
            scale = {"linear": args.std, "norm": 0.1, "embedding": 1.0 / np.sqrt(c["hidden_size"])}[kind]
            for start in range(0, n, chunk):
                count = min(chunk, n - start)
                fh.write((rng.standard_normal(count, dtype=np.float32) * np.float32(scale)).tobytes())
    print(f"wrote {args.out}: {len(specs)} tensors, {offset / 1e9:.2f} GB of float32 weights")


if __name__ == "__main__":
    main()
