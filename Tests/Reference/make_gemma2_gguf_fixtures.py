#!/usr/bin/env python3
"""Reference fixtures for Gemma-2 GGUF loading: the tiny Gemma-2 checkpoint converted by llama.cpp's own
converter, and transformers' outputs on those files.

WHAT IT WRITES (under Tests/Fixtures/gemma2-gguf/):
  tiny-f32.gguf, tiny-q8_0.gguf   Tests/Fixtures/gemma2/tiny-f32 converted by the vendored llama.cpp's
                                  convert_hf_to_gguf.py (--outtype f32 / q8_0): gemma2.* metadata,
                                  tokenizer.ggml.* from the tiny SentencePiece model, norms stored 1 + w.
  reference.safetensors           logits.<type>  f32 [3, 20, 512]: transformers' logits on the GGUF
                                  (dequantised to f32, eager attention) for the token rows in reference.json
                                  (rows shorter than 20 are zero-padded at the end; only their own
                                  positions are meaningful)
                                  greedy.<type>  i32 [3, 8]: greedy continuations of the prompts
  reference.json                  token rows, their lengths, tokenizer strings and transformers' ids for
                                  them (HF tokenizer built from the same GGUF), versions.

ONE CORRECTION to transformers' GGUF config: its gemma2 mapping does not read a query_pre_attn_scalar (it
is not in the metadata) and leaves Gemma2Config's default 256, which is wrong for this checkpoint
(head_dim 16) and for the real Gemma-2 27B (144 = hidden / heads). llama.cpp derives it as head_dim
(hidden / heads for the 46-layer 27B); so do we, and this script sets config.query_pre_attn_scalar to
head_dim before loading, saying so in reference.json.

HOW TO RUN (from the repository root; ~1 min):
  /work/venv5/bin/python Tests/Reference/make_gemma2_gguf_fixtures.py \
      --llama-cpp /work/llama-bench-cache/src/llama_cpp_python-0.3.36/vendor/llama.cpp
Needs torch, transformers 5.x, gguf, sentencepiece, numpy, safetensors.
"""
import argparse, json, os, subprocess, sys
import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "Tests/Fixtures/gemma2/tiny-f32")
TYPES = ["f32", "q8_0"]
ROWS = [[2, 17, 301, 44, 9], [2] + [(7 * i + 3) % 509 + 3 for i in range(12)], [2] + [(31 * i + 11) % 509 + 3 for i in range(19)]]
STRINGS = ["Hello world, this is a test.", "  leading spaces and\ttabs\n", "numbers 12345 and émoji 🙂", "<bos>special"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", required=True, help="llama.cpp source tree (convert_hf_to_gguf.py, gguf-py)")
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/gemma2-gguf"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.path.join(args.llama_cpp, "gguf-py"))
    tensors, settings = {}, {"rows": ROWS, "lengths": [len(r) for r in ROWS], "strings": STRINGS, "types": TYPES,
                             "query_pre_attn_scalar_override": "set to head_dim (transformers' GGUF loader leaves 256)",
                             "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                          "llama_cpp": os.path.basename(os.path.dirname(os.path.dirname(args.llama_cpp)))},
                             "greedy_new_tokens": 8, "token_ids": {}}
    for kind in TYPES:
        name = f"tiny-{kind}.gguf"
        subprocess.run([sys.executable, os.path.join(args.llama_cpp, "convert_hf_to_gguf.py"), SOURCE, "--outtype", kind,
                        "--outfile", os.path.join(args.out, name)], check=True, env=env, stdout=subprocess.DEVNULL)
        config = AutoConfig.from_pretrained(args.out, gguf_file=name)
        config.query_pre_attn_scalar = config.head_dim
        model = AutoModelForCausalLM.from_pretrained(args.out, gguf_file=name, config=config, torch_dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        width = max(len(r) for r in ROWS)
        logits = np.zeros((len(ROWS), width, config.vocab_size), dtype=np.float32)
        greedy = np.zeros((len(ROWS), 8), dtype=np.int32)
        with torch.no_grad():
            for i, row in enumerate(ROWS):
                ids = torch.tensor([row])
                logits[i, :len(row)] = model(ids).logits[0].numpy()
                out = model.generate(ids, max_new_tokens=8, do_sample=False, min_new_tokens=8)
                greedy[i] = out[0, len(row):].numpy()
        tensors[f"logits.{kind}"] = logits
        tensors[f"greedy.{kind}"] = greedy
        tokenizer = AutoTokenizer.from_pretrained(args.out, gguf_file=name)
        settings["token_ids"][kind] = [tokenizer(s).input_ids for s in STRINGS]
    save_file(tensors, os.path.join(args.out, "reference.safetensors"))
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(settings, f, indent=1, ensure_ascii=False)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
