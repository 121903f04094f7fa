#!/usr/bin/env python3
"""Writes the fixtures for GGUF dequantisation (Tests/TensorFormatsTests/GGUFQuantTests.swift).

Usage:  /work/venv5/bin/python Tests/Reference/make_gguf_quant_fixtures.py [--real PATH] [--skip-real]
Needs:  gguf (the committed fixtures were written by 0.19.0), numpy, safetensors.
Output: Tests/Fixtures/gguf/quants.gguf: written by gguf-py's GGUFWriter, one tensor per type (F32, F16, BF16,
        Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K), each a few blocks of random but valid bytes
        in a 2-D (one 3-D) shape of several rows. Random bytes are valid for every bit field; the f16 scale
        fields are random finite f16 bit patterns (zeros, subnormals and values up to 65504 included) and
        Q8_K's f32 `d` a random float32 in ±[2^-20, 2^20), so nothing starts out non-finite.
        The last tensor's data is a multiple of 32 bytes, so the file ends with it (no padding) and every
        truncation cuts tensor data or header.
        Tests/Fixtures/gguf/quants_expected.safetensors: the same tensor names as F32, the values
        `gguf.quants.dequantize` returns (row-major, the GGUF shape outermost first). gguf 0.19.0 has no Q8_K
        dequantiser, so Q8_K's reference is `dequantize_q8_k` below, which follows ggml's
        `dequantize_row_q8_K` (ggml-quants.c: y = d * q, f32 d, int8 q[256], int16 bsums[16] unused).
        Tests/Fixtures/gguf/gemma-3-270m/dequantized_sha256.json (unless --skip-real): for every tensor of
        google/gemma-3-270m's Q4_K_M GGUF (Scripts/fetch-gemma3-270m.sh; default path
        $STEER_CACHE/gemma-3-270m/gemma-3-270m-q4_k_m.gguf), its type, shape and the sha256 of its
        dequantised float32 bytes (little-endian, row-major), plus the file's size and sha256. Derived from
        Gemma weights: Gemma is provided under and subject to the Gemma Terms of Use (NOTICE beside it).
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES, GGUFReader, GGUFWriter
from gguf import quants
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "gguf")

# (type, shape outermost first, byte offsets of f16 scale fields within a block)
CASES = [
    (T.F32, (3, 8), None),
    (T.F16, (2, 16), None),
    (T.BF16, (2, 16), None),
    (T.Q4_0, (2, 3, 64), [0]),
    (T.Q4_1, (4, 64), [0, 2]),
    (T.Q5_0, (4, 64), [0]),
    (T.Q5_1, (3, 96), [0, 2]),
    (T.Q8_0, (5, 32), [0]),
    (T.Q5_K, (2, 256), [0, 2]),
    (T.Q6_K, (3, 256), [208]),
    (T.Q8_K, (2, 256), None),
    (T.Q4_K, (2, 512), [0, 2]),  # last: 4 blocks of 144 bytes = 576, a multiple of 32
]


def finite_f16_bits(rng, count):
    """Random finite binary16 bit patterns (exponent field not all ones)."""
    bits = rng.integers(0, 1 << 16, size=count, dtype=np.uint32).astype(np.uint16)
    bad = (bits & 0x7C00) == 0x7C00
    bits[bad] &= np.uint16(0xBFFF)  # clear the exponent's top bit: finite
    return bits


def random_blocks(rng, qtype, shape, f16_offsets):
    """Random bytes of the tensor's data, shape (*outer, row bytes), with valid scale fields."""
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    rows = int(np.prod(shape[:-1]))
    blocks_per_row = shape[-1] // block_size
    data = rng.integers(0, 256, size=(rows * blocks_per_row, type_size), dtype=np.uint32).astype(np.uint8)
    if qtype == T.Q8_K:
        magnitude = rng.uniform(-20, 20, size=len(data)).astype(np.float64)
        d = (np.sign(rng.uniform(-1, 1, size=len(data))) * np.exp2(magnitude)).astype("<f4")
        data[:, 0:4] = d.view(np.uint8).reshape(-1, 4)
    for offset in f16_offsets or []:
        data[:, offset:offset + 2] = finite_f16_bits(rng, len(data)).astype("<u2").view(np.uint8).reshape(-1, 2)
    return data.reshape(*shape[:-1], blocks_per_row * type_size)


def dequantize_q8_k(data):
    """ggml's dequantize_row_q8_K in the style of gguf.quants: y = q * d per 256-element block."""
    blocks = data.reshape(-1, GGML_QUANT_SIZES[T.Q8_K][1])
    d = blocks[:, 0:4].copy().view("<f4").astype(np.float32)
    q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return q * d


def make_quant_fixtures():
    rng = np.random.default_rng(20250604)
    writer = GGUFWriter(os.path.join(OUT, "quants.gguf"), "quanttest")
    writer.add_string("general.name", "dequantisation fixture")
    expected = {}
    for qtype, shape, f16_offsets in CASES:
        name = qtype.name.lower()
        if qtype == T.F32:
            values = rng.standard_normal(shape).astype(np.float32)
            writer.add_tensor(name, values)
            expected[name] = values
            continue
        if qtype in (T.F16, T.BF16):
            if qtype == T.F16:
                bits = finite_f16_bits(rng, int(np.prod(shape)))
            else:
                bits = rng.integers(0, 1 << 16, size=int(np.prod(shape)), dtype=np.uint32).astype(np.uint16)
                bits[(bits & 0x7F80) == 0x7F80] &= np.uint16(0xBFFF)
            raw = bits.reshape(shape).view(np.uint8).reshape(*shape[:-1], shape[-1] * 2)
        else:
            raw = random_blocks(rng, qtype, shape, f16_offsets)
        writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
        if qtype == T.Q8_K:
            values = dequantize_q8_k(raw).reshape(shape)
        else:
            values = quants.dequantize(raw, qtype)
        assert values.dtype == np.float32 and tuple(values.shape) == shape, (qtype.name, values.shape)
        assert np.isfinite(values).all(), qtype.name
        expected[name] = np.ascontiguousarray(values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    save_file(expected, os.path.join(OUT, "quants_expected.safetensors"))

    # The file must read back as written: every tensor's type and shape, and the file ends with the last data.
    reader = GGUFReader(os.path.join(OUT, "quants.gguf"))
    last = reader.tensors[-1]
    assert last.data_offset + last.n_bytes == os.path.getsize(os.path.join(OUT, "quants.gguf"))
    for tensor, (qtype, shape, _) in zip(reader.tensors, CASES):
        assert tensor.tensor_type == qtype and tuple(int(n) for n in reversed(tensor.shape)) == shape
    print(f"wrote quants.gguf ({os.path.getsize(os.path.join(OUT, 'quants.gguf'))} bytes) and "
          f"quants_expected.safetensors ({len(expected)} tensors)")


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_real_digests(path):
    reader = GGUFReader(path)
    tensors = {}
    started = time.perf_counter()
    for tensor in reader.tensors:
        values = quants.dequantize(tensor.data, tensor.tensor_type)
        shape = [int(n) for n in reversed(tensor.shape)]
        assert values.dtype == np.float32 and list(values.shape) == shape, (tensor.name, values.shape, shape)
        data = np.ascontiguousarray(values).astype("<f4", copy=False).tobytes()
        tensors[tensor.name] = {
            "type": tensor.tensor_type.name,
            "shape": shape,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    elapsed = time.perf_counter() - started
    record = {
        "note": "Derived from google/gemma-3-270m (Q4_K_M GGUF). Gemma is provided under and subject to the "
        "Gemma Terms of Use found at ai.google.dev/gemma/terms. Written by "
        "Tests/Reference/make_gguf_quant_fixtures.py with gguf 0.19.0 (gguf.quants.dequantize).",
        "file": os.path.basename(path),
        "file_size": os.path.getsize(path),
        "file_sha256": file_sha256(path),
        "tensors": tensors,
    }
    directory = os.path.join(OUT, "gemma-3-270m")
    os.makedirs(directory, exist_ok=True)
    # One line per tensor keeps the file small and its diffs readable.
    lines = [f' "{key}": {json.dumps(value)},' for key, value in record.items() if key != "tensors"]
    lines.append(' "tensors": {')
    entries = [f'  {json.dumps(name)}: {json.dumps(entry)}' for name, entry in tensors.items()]
    lines.append(",\n".join(entries))
    lines.append(" }")
    with open(os.path.join(directory, "dequantized_sha256.json"), "w") as handle:
        handle.write("{\n" + "\n".join(lines) + "\n}\n")
    json.load(open(os.path.join(directory, "dequantized_sha256.json")))  # well-formed
    print(f"recorded {len(tensors)} tensors of {path}; gguf-py dequantised them in {elapsed:.1f} s")


def main():
    cache = os.environ.get("STEER_CACHE") or os.path.join(HERE, "..", "..", ".cache")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", default=os.path.join(cache, "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    make_quant_fixtures()
    if not args.skip_real:
        if not os.path.exists(args.real):
            sys.exit(f"{args.real} is missing: run Scripts/fetch-gemma3-270m.sh or pass --skip-real")
        make_real_digests(args.real)


if __name__ == "__main__":
    main()
