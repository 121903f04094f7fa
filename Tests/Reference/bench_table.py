#!/usr/bin/env python3
"""Prints the Markdown tables of Docs/Benchmarks.md from the JSON files bench_side_by_side.sh wrote.

Usage: python3 Tests/Reference/bench_table.py OUT_DIR
Reads OUT_DIR/steer-f32.json, steer-f16.json, steer-bf16.json (steer-bench --json), llama.json
(bench_llama_cpp.sh) and torch.json (bench_torch.py --json); missing files leave their columns empty.
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
    # bench_llama_cpp.sh prints progress elsewhere; its JSON object is the last thing on stdout.
    return json.loads(text[text.index("{"):])


def fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    out = sys.argv[1]
    ours = load(out, "steer-f32.json") or {}
    ours16 = load(out, "steer-f16.json") or {}
    oursbf = load(out, "steer-bf16.json") or {}
    llama = (load(out, "llama.json") or {}).get("models", {})
    torch = (load(out, "torch.json") or {})
    tfig = torch.get("figures", {})

    def s(d, key):
        return d.get(key + "_tokens_per_second")

    def l(kind, figure, key):
        return llama.get(kind, {}).get(figure, {}).get(key)

    def t(key):
        return tfig.get(key, {}).get("tok_s_median")

    rows = [
        ("(a) prefill 8 × 64, last-position logits", s(ours, "a_prefill_8x64_last_logits"),
         s(ours16, "a_prefill_8x64_last_logits"), l("f32", "prefill_8x64_last_logits", "tok_s_median"),
         l("f16", "prefill_8x64_last_logits", "tok_s_median"), t("a2_prefill_8x64_last_logits"),
         "≥ 1.1× llama.cpp f32"),
        ("(a) prefill 8 × 64, all-position logits", s(ours, "a_prefill_8x64_all_logits"),
         s(ours16, "a_prefill_8x64_all_logits"), None, None, t("a1_prefill_8x64_all_logits"), "≥ 2× PyTorch"),
        ("(b) generation 32 × 32, top-k 50, steered", s(ours, "b_generate_32x32_steered"),
         s(ours16, "b_generate_32x32_steered"), l("f32", "generate_32x32", "new_tok_s_incl_prompt_median"),
         l("f16", "generate_32x32", "new_tok_s_incl_prompt_median"), t("b_sample_32x32_steered"),
         "≥ 1.1× llama.cpp f32, ≥ 2.5× PyTorch"),
        ("(c) decode, batch 1, 64 tokens", s(ours, "c_decode_batch1_64"), s(ours16, "c_decode_batch1_64"),
         l("f32", "decode_b1_64", "tok_s_median"), l("f16", "decode_b1_64", "tok_s_median"), t("c_greedy_1x64"),
         "f32 ≥ 1.0× llama.cpp f32; f16 ≥ 1.0× llama.cpp f16"),
    ]
    print("| figure (tokens/s) | ours f32 | ours f16 | llama.cpp f32 | llama.cpp f16 | PyTorch f32 | "
          "ours/llama.cpp f32 | ours f16/llama.cpp f16 | ours/PyTorch | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, o32, o16, l32, l16, pt, target in rows:
        print(f"| {name} | {fmt(o32)} | {fmt(o16)} | {fmt(l32)} | {fmt(l16)} | {fmt(pt)} | "
              f"{fmt(ratio(o32, l32))}× | {fmt(ratio(o16, l16))}× | {fmt(ratio(o32, pt))}× | {target} |")
    bf = s(oursbf, "c_decode_batch1_64")
    if bf is not None:
        print(f"\nbf16-resident batch-1 decode: {bf:.2f} tok/s ({fmt(ratio(bf, l('f16', 'decode_b1_64', 'tok_s_median')))}× "
              "llama.cpp f16).")

    print("\n| our figure | value |")
    print("|---|---|")
    for key, label in [
        ("e_sgemm_gflops_m512", "OpenBLAS sgemm, the block's shapes, 512 rows (GFLOP/s)"),
        ("e_kernel_gflops_m512", "our product kernel, same shapes, 512 rows (GFLOP/s)"),
        ("e_sgemm_gflops_m32", "OpenBLAS sgemm, 32 rows (GFLOP/s)"),
        ("e_kernel_gflops_m32", "our product kernel, 32 rows (GFLOP/s)"),
        ("e_sgemm_gflops_256x2304x9216", "OpenBLAS sgemm 256 × 2304 × 9216 (GFLOP/s)"),
        ("e_memory_read_gbps", "memory read bandwidth, streaming row kernel (GB/s)"),
        ("a_prefill_8x64_last_logits_gflops", "(a) last-position logits, effective GFLOP/s"),
        ("a_prefill_8x64_last_logits_percent_of_sgemm", "(a) last-position logits, % of the sgemm rate"),
        ("a_prefill_8x64_all_logits_gflops", "(a) all-position logits, effective GFLOP/s"),
        ("a_prefill_8x64_all_logits_percent_of_sgemm", "(a) all-position logits, % of the sgemm rate"),
        ("b_generate_32x32_steered_gflops", "(b) effective GFLOP/s"),
        ("b_generate_32x32_steered_percent_of_sgemm", "(b) % of the 32-row sgemm rate"),
        ("c_decode_batch1_64_weight_gbps", "(c) weights streamed per second (GB/s)"),
        ("ttft_seconds", "time to first token from the f32 safetensors, warm page cache (s)"),
        ("peak_rss_over_weights", "peak RSS / resident weight bytes"),
    ]:
        if key in ours:
            print(f"| {label} | {fmt(ours[key])} |")
    d_key = next((k for k in ours if k.startswith("d_reencode") and k.endswith("_tokens_per_second")), None)
    b_rate = s(ours, "b_generate_32x32_steered")
    if d_key and b_rate:
        d_rate = ours[d_key]
        print(f"| (d) re-encode to layer 12 + 16k SAE ({d_key[:-len('_tokens_per_second')]}), tokens/s | {d_rate:.1f} |")
        tokens = 896 * 32
        all_rate = s(ours, "a_prefill_8x64_all_logits")
        base = tokens / b_rate + tokens / d_rate
        print(f"| one probe, generation (896 × 32 new tokens) + re-encoding (896 × 32 tokens), s | {base:.0f} |")
        if all_rate:
            # Calibration: 128 sequences × 32 tokens with every position's logits per grid point; the
            # grid walk evaluates 2 to 11 points (Docs/Effects: interpolation stops early).
            low, high = base + 2 * 4096 / all_rate, base + 11 * 4096 / all_rate
            print(f"| one probe including calibration (2–11 evaluations of 4,096 tokens), s | {low:.0f}–{high:.0f} |")
            print(f"| **hours per 1,000 probe vectors** | **{low * 1000 / 3600:.0f}–{high * 1000 / 3600:.0f}** |")
        else:
            print(f"| hours per 1,000 probe vectors (calibration excluded) | {base * 1000 / 3600:.0f} |")
    for name, data in [("f16", ours16)]:
        if "peak_rss_over_weights" in data:
            print(f"| {name} resident: peak RSS / resident weight bytes | {fmt(data['peak_rss_over_weights'])} |")
    if torch:
        print(f"\nPyTorch {torch.get('torch')}, transformers {torch.get('transformers')}, "
              f"{torch.get('threads')} threads, peak RSS {torch.get('peak_rss_gib')} GiB.")


if __name__ == "__main__":
    main()
