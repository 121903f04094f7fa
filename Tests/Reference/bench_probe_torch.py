#!/usr/bin/env python3
"""The method's effect protocol for N probe vectors, the authors' way, in PyTorch + transformers (CPU, f32).

Per probe (method.md §2; the SAE-TS code's order of work):
  calibration  for each scale 0, 20, ... of the grid: the mean next-token loss of every calibration batch
               (BOS + random ids) through the whole model, steered at layer L (hook on decoder layer L's
               output, every position); the whole grid is walked (the worst case of the method's walk,
               as `steer-bench --probe` does)
  generation   for each prompt: its rollouts in one batch, model.generate(do_sample, top_k 50,
               temperature 1, exactly LENGTH - prompt tokens new tokens), steered at layer L
  re-encode    the rollouts again without steering, stopped after layer L (a hook raises once layer L's
               output is stored, as TransformerLens' stop_at_layer does)
  SAE          JumpReLU encode (x W_enc + b_enc, kept where above the threshold) and the mean over
               every position
The baseline (unsteered rollouts x --baseline-multiplier, re-encoded and encoded) runs once and is
reported apart. Prompts: the method's 14 strings; a model without a tokenizer (random weights) gets
BOS only, as `steer-bench --probe` does.

Usage:
  python Tests/Reference/bench_probe_torch.py --shape gemma2-2b|demo|gemma3-270m [--model DIR]
      [--probes 2] [--rollouts 64] [--length 32] [--grid-points 11] [--calibration 2x64]
      [--layer 12] [--sae-width 16384] [--baseline-multiplier 10] [--threads 2] [--json]
Needs torch, transformers (run with torch 2.15, transformers 5.25). Progress on stderr, result on stdout.
"""
import argparse
import json
import os
import sys
import time

import torch
import transformers

PROMPTS = ["", "", "", "I think", "Breaking news", "Last night", "For sale", "The weather", "Dear Sir/Madam",
           "Preheat the oven", "It's interesting that", "Assistant:", "I went up to", "New study suggests"]

GEMMA2_2B = dict(
    architectures=["Gemma2ForCausalLM"], model_type="gemma2", vocab_size=256000, hidden_size=2304,
    intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4, head_dim=256,
    hidden_activation="gelu_pytorch_tanh", max_position_embeddings=8192, rms_norm_eps=1e-6, rope_theta=10000.0,
    attention_bias=False, query_pre_attn_scalar=256, sliding_window=4096, final_logit_softcapping=30.0,
    attn_logit_softcapping=50.0, bos_token_id=2, eos_token_id=1, pad_token_id=0)

GEMMA3_270M = dict(
    architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", vocab_size=262144, hidden_size=640,
    intermediate_size=2048, num_hidden_layers=18, num_attention_heads=4, num_key_value_heads=1, head_dim=256,
    hidden_activation="gelu_pytorch_tanh", max_position_embeddings=32768, rms_norm_eps=1e-6,
    rope_theta=1000000.0, rope_local_base_freq=10000.0, attention_bias=False, query_pre_attn_scalar=256,
    sliding_window=512, final_logit_softcapping=None, attn_logit_softcapping=None, bos_token_id=2,
    eos_token_id=1, pad_token_id=0, layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 3)


def log(message):
    print(f"[bench_probe_torch {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Stop(Exception):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=["gemma2-2b", "gemma3-270m", "demo"], default="gemma2-2b")
    parser.add_argument("--model", help="checkpoint directory (default for demo: Demo/model; else random weights)")
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--rollouts", type=int, default=64)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--grid-points", type=int, default=11)
    parser.add_argument("--calibration", default="2x64")
    parser.add_argument("--layer", type=int, default=None)
    parser.add_argument("--sae-width", type=int, default=16384)
    parser.add_argument("--baseline-multiplier", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    tokenizer = None
    model_dir = args.model or ("Demo/model" if args.shape == "demo" else None)
    if model_dir:
        model = transformers.AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=torch.float32, attn_implementation="eager")
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    else:
        config_dict = GEMMA2_2B if args.shape == "gemma2-2b" else GEMMA3_270M
        config = transformers.AutoConfig.for_model(**config_dict)
        config.torch_dtype = torch.float32
        log(f"building random {args.shape} weights")
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    model.eval()
    config = model.config
    layers = model.model.layers
    layer = args.layer if args.layer is not None else (12 if args.shape == "gemma2-2b" else len(layers) // 2)
    d_model, vocab = config.hidden_size, config.vocab_size
    batches, size = (int(v) for v in args.calibration.split("x"))
    generator = torch.Generator().manual_seed(17)
    calibration = [torch.cat([torch.full((size, 1), 2), torch.randint(3, vocab, (size, args.length - 1),
                                                                        generator=generator)], dim=1)
                   for _ in range(batches)]
    w_enc = (torch.rand(d_model, args.sae_width, generator=generator) * 2 - 1) * 0.05
    b_enc = (torch.rand(args.sae_width, generator=generator) * 2 - 1) * 0.1
    threshold = ((torch.rand(args.sae_width, generator=generator) * 2 - 1) * 0.5).abs()
    vectors = torch.rand(args.probes, d_model, generator=generator) - 0.5
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    if tokenizer is not None:
        prompts = [tokenizer(p, return_tensors="pt").input_ids[0] for p in PROMPTS]
        prompts = [p if p[0] == 2 else torch.cat([torch.tensor([2]), p]) for p in prompts]
    else:
        prompts = [torch.tensor([2]) for _ in PROMPTS]

    steering = {"vector": None}

    def steer_hook(module, inputs, output):
        if steering["vector"] is None:
            return output
        if isinstance(output, tuple):
            return (output[0] + steering["vector"],) + tuple(output[1:])
        return output + steering["vector"]

    layers[layer].register_forward_hook(steer_hook)
    captured = {}

    def stop_hook(module, inputs, output):
        if captured.get("armed"):
            captured["x"] = output[0] if isinstance(output, tuple) else output
            raise Stop()
        return output

    layers[layer].register_forward_hook(stop_hook)
    timings = {"generation": 0.0, "reencode": 0.0, "sae_encoding": 0.0, "calibration": 0.0}

    def mean_features(multiplier):
        total = torch.zeros(args.sae_width, dtype=torch.float64)
        count = 0
        for repetition in range(multiplier):
            for prompt in prompts:
                batch = prompt.unsqueeze(0).repeat(args.rollouts, 1)
                new = args.length - batch.shape[1]
                t0 = time.perf_counter()
                with torch.no_grad():
                    rollouts = model.generate(batch, attention_mask=torch.ones_like(batch), do_sample=True, top_k=50,
                                              top_p=1.0, temperature=1.0, max_new_tokens=new, min_new_tokens=new,
                                              pad_token_id=0)
                t1 = time.perf_counter()
                saved, steering["vector"] = steering["vector"], None
                captured["armed"] = True
                try:
                    with torch.no_grad():
                        model.model(rollouts)
                except Stop:
                    pass
                captured["armed"] = False
                steering["vector"] = saved
                t2 = time.perf_counter()
                x = captured.pop("x").reshape(-1, d_model)
                pre = x @ w_enc + b_enc
                acts = torch.where(pre > threshold, pre, torch.zeros_like(pre)).clamp(min=0)
                total += acts.sum(dim=0, dtype=torch.float64)
                count += x.shape[0]
                t3 = time.perf_counter()
                timings["generation"] += t1 - t0
                timings["reencode"] += t2 - t1
                timings["sae_encoding"] += t3 - t2
        return total / count

    log(f"baseline: {len(prompts)} prompts x {args.rollouts} rollouts x {args.baseline_multiplier}")
    b0 = time.perf_counter()
    baseline = mean_features(args.baseline_multiplier)
    baseline_seconds = time.perf_counter() - b0
    baseline_timings = dict(timings)
    for key in timings:
        timings[key] = 0.0
    grid = [20.0 * i for i in range(args.grid_points)]
    p0, cpu0 = time.perf_counter(), time.process_time()
    for index in range(args.probes):
        log(f"probe {index}: calibration over {len(grid)} scales, then rollouts")
        c0 = time.perf_counter()
        losses = []
        for scale in grid:
            steering["vector"] = None if scale == 0 else vectors[index] * scale
            with torch.no_grad():
                losses.append(sum(model(b, labels=b).loss.item() for b in calibration) / len(calibration))
        timings["calibration"] += time.perf_counter() - c0
        steering["vector"] = vectors[index] * 8.0
        effect = mean_features(1) - baseline
        steering["vector"] = None
    probe_seconds = (time.perf_counter() - p0) / args.probes
    probe_cpu_seconds = (time.process_time() - cpu0) / args.probes
    result = {
        "peer": "pytorch", "torch": torch.__version__, "transformers": transformers.__version__,
        "threads": args.threads, "shape": args.shape, "layer": layer, "probes": args.probes,
        "rollouts_per_prompt": args.rollouts, "length": args.length, "grid_points": args.grid_points,
        "calibration": args.calibration, "sae_width": args.sae_width,
        "baseline_multiplier": args.baseline_multiplier, "baseline_seconds": baseline_seconds,
        "baseline_parts_seconds": baseline_timings, "seconds_per_probe": probe_seconds,
        "cpu_seconds_per_probe": probe_cpu_seconds,
        "parts_seconds_per_probe": {k: v / args.probes for k, v in timings.items()},
        "effect_norm_last_probe": float(effect.norm()),
    }
    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
