#!/usr/bin/env python3
"""Peer benchmark: Hugging Face transformers + PyTorch (CPU, float32, eager attention) on a Gemma-2 checkpoint.

Figures (the median and the best of --repeats timed runs, after one untimed warm-up run):
  a1  prefill, 8 sequences x 64 tokens (BOS + 63 random ids), one plain forward, logits at every position
  a2  the same forward with logits at the last position only (num_logits_to_keep / logits_to_keep = 1)
  b   batched sampling: 32 sequences, 3-token prompt (BOS + 2 random ids), exactly 32 new tokens each,
      top-k 50, temperature 1, with a steering vector (random unit vector x 8) added to the output of
      decoder layer 12 at every position; model.generate with min_new_tokens = max_new_tokens
  c   batch-1 greedy decode of 64 new tokens after a 3-token prompt (model.generate, no steering)
tokens/s counts 512 tokens for a1/a2, 1024 new tokens for b and 64 new tokens for c; the times of b and c
include the prompt forward that produces the first new token.

Usage (--model also takes a .gguf file, e.g. google/gemma-3-270m's, loaded as transformers' GGUF loader does):
  python Tests/Reference/bench_torch.py --model /tmp/gemma-2-2b-random [--threads 2] [--repeats 3]
                                        [--only a,b,c] [--json]
'--only a' runs a1 and a2; 'a1' or 'a2' picks one. Needs torch, transformers, accelerate, numpy. Run
with transformers 4.46.3; the 5.x keyword (logits_to_keep) and layer output are handled, but no 5.x
run has been made. Progress goes to stderr; the result goes to stdout.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

BOS = 2


def log(msg):
    print(f"[bench_torch {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def memory_now():
    """Current resident memory split into private (anonymous) and file-backed pages, in GiB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = round(int(line.split()[1]) / 2**20, 2)
    return out


SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def safetensors_files(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as fh:
            return sorted({os.path.join(model_dir, f) for f in json.load(fh)["weight_map"].values()})
    return [os.path.join(model_dir, "model.safetensors")]


def read_header(path):
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        return json.loads(fh.read(n)), 8 + n


def has_pt_metadata(model_dir):
    return all((read_header(f)[0].get("__metadata__") or {}).get("format") == "pt"
               for f in safetensors_files(model_dir))


def load_without_metadata(model_dir):
    """transformers 4.46 refuses safetensors files without {"format": "pt"} metadata, which random
    checkpoints from before make_random_checkpoint.py wrote it lack. This builds the same model with
    transformers on the meta device and reads every tensor straight into its parameter with plain
    file reads (no mmap, no second copy), so the peak is the model's own 10.5 GB."""
    from accelerate import init_empty_weights

    config = AutoConfig.from_pretrained(model_dir)
    with init_empty_weights():  # parameters on meta; buffers (rotary inv_freq) real
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32, attn_implementation="eager")
    for path in safetensors_files(model_dir):
        header, base = read_header(path)
        with open(path, "rb", buffering=0) as fh:
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                start, end = info["data_offsets"]
                t = torch.empty(info["shape"], dtype=SAFETENSORS_DTYPES[info["dtype"]])
                fh.seek(base + start)
                view = memoryview(t.view(-1).view(torch.uint8).numpy())
                done = 0
                while done < end - start:
                    done += fh.readinto(view[done:])
                module_name, _, leaf = name.rpartition(".")
                module = model.get_submodule(module_name)
                module._parameters[leaf] = torch.nn.Parameter(t.to(torch.float32), requires_grad=False)
    model.tie_weights()  # lm_head shares embed_tokens, as in from_pretrained
    missing = [n for n, p in model.named_parameters() if p.device.type == "meta"]
    if missing:
        raise RuntimeError(f"tensors missing from the checkpoint: {missing[:5]}")
    return model


def random_prompts(batch, length, vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, length), generator=gen, dtype=torch.long)
    ids[:, 0] = BOS
    return ids


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, repeats, label):
    """One warm-up call, then `repeats` timed calls; returns (seconds of each timed call, CPU percent).

    The CPU percent (process CPU time / wall time over the timed calls) is about 100 x threads when the
    process had its cores to itself; much less means another process competed for them."""
    t = time.perf_counter()
    fn()
    log(f"{label}: warm-up {time.perf_counter() - t:.2f} s")
    runs, cpu = [], 0.0
    for i in range(repeats):
        c, t = cpu_seconds(), time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
        cpu += cpu_seconds() - c
        log(f"{label}: run {i + 1}/{repeats} {runs[-1]:.2f} s, load {os.getloadavg()[0]:.2f}")
    return runs, round(100 * cpu / sum(runs))


def figure(timing, tokens, **extra):
    runs, cpu_percent = timing
    med = statistics.median(runs)
    # The best run is the least disturbed one when other processes share the cores (see cpu_percent).
    out = {"tokens": tokens, "seconds_median": round(med, 4), "tok_s_median": round(tokens / med, 3),
           "tok_s_best": round(tokens / min(runs), 3), "seconds_runs": [round(r, 4) for r in runs],
           "cpu_percent": cpu_percent}
    out.update(extra)
    out["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


class Steering:
    """Forward hook adding a fixed vector to the residual-stream output of one decoder layer."""

    def __init__(self, layer, vector):
        self.vector = vector
        self.handle = layer.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        # transformers 4.x decoder layers return a tuple (hidden_states, ...); 5.x may return the tensor.
        if isinstance(output, tuple):
            return (output[0] + self.vector,) + tuple(output[1:])
        return output + self.vector

    def remove(self):
        self.handle.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="/tmp/gemma-2-2b-random",
                    help="a checkpoint directory, or a .gguf file (loaded with from_pretrained(dir, gguf_file=...), "
                         "dequantised to float32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="a,b,c", help="comma list of a, a1, a2, b, c")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steer-layer", type=int, default=12)
    ap.add_argument("--steer-scale", type=float, default=8.0)
    args = ap.parse_args()

    wanted = set()
    for part in args.only.split(","):
        part = part.strip()
        wanted |= {"a1", "a2"} if part == "a" else {part}
    unknown = wanted - {"a1", "a2", "b", "c"}
    if unknown:
        ap.error(f"unknown figure(s) in --only: {sorted(unknown)}")

    try:
        import accelerate  # transformers 4.x needs it for low_cpu_mem_usage=True
        accelerate_version = accelerate.__version__
    except ImportError:
        accelerate_version = None
        if int(transformers.__version__.split(".")[0]) < 5:
            sys.exit("transformers 4.x needs `accelerate` to load the weights without a second full copy "
                     "in memory: pip install accelerate (see Tests/Reference/README.md)")
    torch.set_num_threads(args.threads)
    tf_major = int(transformers.__version__.split(".")[0])
    keep_kw = "logits_to_keep" if tf_major >= 5 else "num_logits_to_keep"

    result = {
        "peer": "transformers+torch",
        "torch": torch.__version__, "transformers": transformers.__version__, "accelerate": accelerate_version,
        "python": platform.python_version(), "threads": torch.get_num_threads(),
        "dtype": "float32", "attn_implementation": "eager", "model": os.path.abspath(args.model),
        "repeats": args.repeats, "seed": args.seed, "loadavg_1m_start": round(os.getloadavg()[0], 2),
        "figures": {},
    }

    log(f"loading {args.model} (torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{torch.get_num_threads()} threads)")
    t = time.perf_counter()
    if args.model.endswith(".gguf"):
        result["load_path"] = "from_pretrained(dir, gguf_file=...), dequantised to float32"
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(args.model)),
                                                     gguf_file=os.path.basename(args.model), torch_dtype=torch.float32,
                                                     attn_implementation="eager")
    elif has_pt_metadata(args.model):
        result["load_path"] = "from_pretrained(low_cpu_mem_usage=True)"
        model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32,
                                                     attn_implementation="eager", low_cpu_mem_usage=True)
    else:
        result["load_path"] = "from_config on meta + direct safetensors reads (file has no format metadata)"
        model = load_without_metadata(args.model)
    model.eval()
    result["load_seconds"] = round(time.perf_counter() - t, 2)
    result["memory_after_load_gib"] = memory_now()
    result["attn_implementation_loaded"] = model.config._attn_implementation
    cfg = model.config
    vocab = cfg.vocab_size
    result["params"] = sum(p.numel() for p in model.parameters())
    log(f"loaded in {result['load_seconds']} s, {result['params'] / 1e9:.2f} B parameters")

    with torch.inference_mode():
        if wanted & {"a1", "a2"}:
            ids = random_prompts(8, 64, vocab, args.seed)
            mask = torch.ones_like(ids)
            if "a1" in wanted:
                def prefill_all():
                    return model(input_ids=ids, attention_mask=mask, use_cache=False).logits
                shape = list(prefill_all().shape)
                runs = timed(prefill_all, args.repeats, "a1 prefill 8x64, all logits")
                result["figures"]["a1_prefill_8x64_all_logits"] = figure(runs, 512, logits_shape=shape)
            if "a2" in wanted:
                def prefill_last():
                    return model(input_ids=ids, attention_mask=mask, use_cache=False, **{keep_kw: 1}).logits
                shape = list(prefill_last().shape)
                runs = timed(prefill_last, args.repeats, "a2 prefill 8x64, last logits")
                result["figures"]["a2_prefill_8x64_last_logits"] = figure(runs, 512, logits_shape=shape,
                                                                          logits_kwarg=keep_kw)

        if "b" in wanted:
            ids = random_prompts(32, 3, vocab, args.seed + 1)
            gen = torch.Generator().manual_seed(args.seed + 2)
            vector = torch.randn(cfg.hidden_size, generator=gen)
            vector = vector / vector.norm() * args.steer_scale
            steering = Steering(model.model.layers[args.steer_layer], vector)
            lengths, caches, outputs = [], set(), []

            def sample():
                torch.manual_seed(args.seed + 3)
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                     top_k=50, top_p=1.0, temperature=1.0, max_new_tokens=32, min_new_tokens=32,
                                     pad_token_id=cfg.pad_token_id, return_dict_in_generate=True)
                lengths.append(out.sequences.shape[1] - ids.shape[1])
                caches.add(type(out.past_key_values).__name__)
                outputs.append(out.sequences)

            runs = timed(sample, args.repeats, "b sample 32x32, steered")
            steering.remove()
            assert all(n == 32 for n in lengths), lengths
            # Same seed every run, so every run must sample the same tokens.
            same = all(torch.equal(o, outputs[0]) for o in outputs)
            result["figures"]["b_sample_32x32_steered"] = figure(
                runs, 32 * 32, prompt_tokens=3, new_tokens_per_sequence=32, sequences=32, top_k=50,
                temperature=1.0, steer_layer=args.steer_layer, steer_norm=args.steer_scale,
                cache=sorted(caches), runs_identical=same)

        if "c" in wanted:
            ids = random_prompts(1, 3, vocab, args.seed + 4)
            lengths, caches = [], set()

            def greedy():
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                     max_new_tokens=64, min_new_tokens=64, pad_token_id=cfg.pad_token_id,
                                     return_dict_in_generate=True)
                lengths.append(out.sequences.shape[1] - ids.shape[1])
                caches.add(type(out.past_key_values).__name__)

            runs = timed(greedy, args.repeats, "c greedy decode 1x64")
            assert all(n == 64 for n in lengths), lengths
            result["figures"]["c_greedy_1x64"] = figure(runs, 64, prompt_tokens=3, cache=sorted(caches))

    result["peak_rss_gib"] = round(peak_rss_gib(), 2)
    result["memory_at_end_gib"] = memory_now()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"transformers {result['transformers']}, torch {result['torch']}, {result['threads']} threads, "
          f"load {result['load_seconds']} s, peak RSS {result['peak_rss_gib']} GiB")
    print(f"{'figure':30} {'tokens':>6} {'median s':>9} {'tok/s':>9} {'best tok/s':>10} {'cpu %':>6}")
    for name, fig in result["figures"].items():
        print(f"{name:30} {fig['tokens']:>6} {fig['seconds_median']:>9.3f} {fig['tok_s_median']:>9.2f} "
              f"{fig['tok_s_best']:>10.2f} {fig['cpu_percent']:>6}")


if __name__ == "__main__":
    main()
