#!/usr/bin/env python3
"""Prints the Markdown table of bench_every_cpu.sh: our figures at each kernel level beside llama.cpp
f32 and PyTorch f32, with the CPU they come from.

Usage: python3 Tests/Reference/bench_levels_table.py OUT_DIR
Reads OUT_DIR/steer-native.json, steer-avx2.json, steer-avx2-blas.json (steer-bench --json),
llama.json (bench_llama_cpp.sh) and torch.json (bench_torch.py --json); missing files leave their
columns empty.
"""
import json
import os
import sys


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        text = f.read()
    return json.loads(text[text.index("{"):])


def fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    out = sys.argv[1]
    runs = [(name, load(out, f"steer-{name}.json")) for name in ("native", "avx2", "avx2-blas")]
    runs = [(name, data) for name, data in runs if data]
    if not runs:
        sys.exit(f"no steer-*.json in {out}")
    llama = ((load(out, "llama.json") or {}).get("models") or {}).get("f32", {})
    torch = (load(out, "torch.json") or {}).get("figures", {})
    first = runs[0][1]
    print(f"CPU: {first.get('cpu_model')} (avx2: {first.get('cpu_avx2')}, avx512f: {first.get('cpu_avx512f')}), "
          f"{first.get('cores')} cores; {first.get('weights')} weights, model {first.get('model')}.\n")

    def label(name, data):
        forced = " (forced)" if data.get("kernel_level_forced") and first.get("cpu_avx512f") else ""
        kind = data.get("products_32_rows")
        return f"ours {data.get('kernel_level')}{forced}, >8 rows: {kind}"

    figures = [
        ("(a) prefill 8 × 64, last-position logits", "a_prefill_8x64_last_logits",
         llama.get("prefill_8x64_last_logits", {}).get("tok_s_median"),
         torch.get("a2_prefill_8x64_last_logits", {}).get("tok_s_median")),
        ("(a) prefill 8 × 64, all-position logits", "a_prefill_8x64_all_logits", None,
         torch.get("a1_prefill_8x64_all_logits", {}).get("tok_s_median")),
        ("(b) generation 32 × 32, top-k 50, steered", "b_generate_32x32_steered",
         llama.get("generate_32x32", {}).get("new_tok_s_incl_prompt_median"),
         torch.get("b_sample_32x32_steered", {}).get("tok_s_median")),
        ("(c) decode, batch 1, 64 tokens", "c_decode_batch1_64",
         llama.get("decode_b1_64", {}).get("tok_s_median"), torch.get("c_greedy_1x64", {}).get("tok_s_median")),
    ]
    header = ["figure (tokens/s)"] + [label(n, d) for n, d in runs] + ["llama.cpp f32", "PyTorch f32"]
    header += [f"{n} / llama.cpp" for n, _ in runs] + [f"{n} / PyTorch" for n, _ in runs]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for title, key, lc, pt in figures:
        ours = [d.get(key + "_tokens_per_second") for _, d in runs]
        if all(v is None for v in ours):
            continue
        cells = [title] + [fmt(v) for v in ours] + [fmt(lc), fmt(pt)]
        cells += [f"{fmt(ratio(v, lc))}×" for v in ours] + [f"{fmt(ratio(v, pt))}×" for v in ours]
        print("| " + " | ".join(cells) + " |")
    # One probe vector at the default protocol (Docs/Benchmarks.md, "What one probe vector costs"):
    # 896 × 32 steered new tokens at the (b) rate, as many re-encoded at the (d) rate, and 2–11
    # calibration evaluations of 4,096 tokens with every position's logits at the (a) rate.
    probe = []
    for _, d in runs:
        b = d.get("b_generate_32x32_steered_tokens_per_second")
        a = d.get("a_prefill_8x64_all_logits_tokens_per_second")
        dk = next((k for k in d if k.startswith("d_reencode") and k.endswith("_tokens_per_second")), None)
        if b and a and dk:
            base = 896 * 32 / b + 896 * 32 / d[dk]
            probe.append(f"{base + 2 * 4096 / a:.0f}–{base + 11 * 4096 / a:.0f} s")
        else:
            probe.append("—")
    if any(p != "—" for p in probe):
        cells = ["one probe vector (arithmetic on (a), (b), (d); s)"] + probe
        cells += ["—", "—"] + ["—"] * (2 * len(runs))
        print("| " + " | ".join(cells) + " |")
    print("\n| our figure | " + " | ".join(n for n, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for key, title in [
        ("e_kernel_gflops_m32", "our products, the block's shapes, 32 rows (GFLOP/s)"),
        ("e_kernel_gflops_m512", "our products, the block's shapes, 512 rows (GFLOP/s)"),
        ("e_sgemm_gflops_m32", "OpenBLAS sgemm, 32 rows (GFLOP/s)"),
        ("e_sgemm_gflops_m512", "OpenBLAS sgemm, 512 rows (GFLOP/s)"),
        ("e_memory_read_gbps", "read bandwidth, one-row kernel (GB/s)"),
        ("b_generate_32x32_steered_gflops", "(b) effective GFLOP/s"),
        ("d_reencode_128x32_to_L12_sae16384_tokens_per_second", "(d) re-encode 128 × 32 to layer 12 + 16k SAE (tok/s)"),
        ("c_decode_batch1_64_weight_gbps", "(c) weights streamed (GB/s)"),
    ]:
        if any(key in d for _, d in runs):
            print(f"| {title} | " + " | ".join(fmt(d.get(key), 1) for _, d in runs) + " |")


if __name__ == "__main__":
    main()
