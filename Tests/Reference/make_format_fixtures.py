#!/usr/bin/env python3
"""Writes the small numpy/safetensors fixtures that Tests/TensorFormatsTests read back.

Usage:  python3 Tests/Reference/make_format_fixtures.py
Needs:  numpy (any 2.x); `safetensors` (pip) for model.safetensors, otherwise that file is built by hand
        from the format description (8-byte length, JSON header padded to 8, data buffer).
Output: Tests/Fixtures/formats/*.npy, *.npz, *.safetensors and expected.json, which records for every
        array its dtype, shape and C-order values (floats as float32 bit patterns, integers as decimal
        strings) so the Swift tests can compare exactly, NaN and infinities included.
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "formats")


def float_entry(values, descr):
    """Expected entry for a float array: values as float32 bit patterns in C order."""
    flat = np.ascontiguousarray(values).reshape(-1)
    with np.errstate(over="ignore"):  # f64 values beyond the f32 range become infinities, as in Swift
        as32 = flat.astype(np.float32)
    entry = {
        "descr": descr,
        "shape": list(values.shape),
        "f32bits": [int(b) for b in as32.view(np.uint32)],
    }
    if flat.dtype.itemsize == 8:
        entry["f64bits"] = [str(int(b)) for b in flat.astype("<f8").view(np.uint64)]
    return entry


def int_entry(values, descr):
    """Expected entry for an integer/bool array: values as decimal strings in C order."""
    flat = np.ascontiguousarray(values).reshape(-1)
    return {"descr": descr, "shape": list(values.shape), "ints": [str(int(v)) for v in flat]}


def npy_fixtures(rng):
    expected = {}
    specials = np.array([0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 65504.0, 6e-8, 1e-3, 3.14159, -7.0])

    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    f32[0, :] = specials[:4].astype(np.float32)
    f32[1, 0] = np.float32(np.inf)
    f32[1, 1] = np.float32(np.nan)
    f32[1, 2] = np.float32(1e-40)  # subnormal
    arrays = {
        "f32.npy": (f32, "<f4"),
        "f16.npy": (specials.astype(np.float16).reshape(3, 4), "<f2"),
        "f64.npy": (np.array([[1.0 / 3.0, -1e300, 2.0**-1074], [np.pi, -0.0, 12345.678]]), "<f8"),
        "i32.npy": (np.array([[0, 1, -1], [2147483647, -2147483648, 42]], dtype=np.int32), "<i4"),
        "i64.npy": (np.array([0, -1, 9223372036854775807, -9223372036854775808, 1 << 40], dtype=np.int64), "<i8"),
        "u8.npy": (np.array([0, 1, 127, 255], dtype=np.uint8), "|u1"),
        "bool.npy": (np.array([True, False, True]), "|b1"),
        "scalar.npy": (np.array(2.75, dtype=np.float32), "<f4"),
        "vector.npy": (np.arange(7, dtype=np.float32) * np.float32(0.5), "<f4"),
        "empty.npy": (np.zeros((0, 3), dtype=np.float32), "<f4"),
    }
    for name, (array, descr) in arrays.items():
        assert array.dtype.str == descr, (name, array.dtype.str)
        np.save(os.path.join(OUT, name), array)
        is_float = array.dtype.kind == "f"
        expected[name] = float_entry(array, descr) if is_float else int_entry(array, descr)

    # Column-major storage: the reader must transpose to C order.
    fortran2 = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5)
    np.save(os.path.join(OUT, "fortran.npy"), fortran2)
    expected["fortran.npy"] = float_entry(fortran2, "<f4")
    fortran3 = np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 3 - 7)
    np.save(os.path.join(OUT, "fortran3d.npy"), fortran3)
    expected["fortran3d.npy"] = int_entry(fortran3, "<i4")

    # Big-endian data: the reader converts it to little-endian.
    big = np.array([1.5, -2.0, 1e10], dtype=">f4")
    np.save(os.path.join(OUT, "bigendian.npy"), big)
    expected["bigendian.npy"] = float_entry(big, ">f4")

    # bfloat16 as ml_dtypes saves it: a 2-byte void dtype holding the top half of each float32.
    bf = np.array([1.0, -2.5, 0.15625, 3.0e38], dtype=np.float32)
    bits = (bf.view(np.uint32) >> 16).astype("<u2")
    void = np.frombuffer(bits.tobytes(), dtype="V2")
    np.save(os.path.join(OUT, "bf16void.npy"), void)
    truncated = (bits.astype(np.uint32) << 16).view(np.float32)
    expected["bf16void.npy"] = float_entry(truncated, "|V2")
    return expected


def npz_fixtures(rng):
    expected = {}
    members = {
        "W_enc": rng.standard_normal((4, 6)).astype(np.float32),
        "b_enc": rng.standard_normal(6).astype(np.float32),
        "threshold": np.abs(rng.standard_normal(6)).astype(np.float32),
        "steps": np.array([3, 1, 4, 1, 5], dtype=np.int64),
        "half": rng.standard_normal((2, 2)).astype(np.float16),
    }
    np.savez(os.path.join(OUT, "stored.npz"), **members)
    np.savez_compressed(os.path.join(OUT, "deflated.npz"), **members)
    entries = {}
    for key, array in members.items():
        is_float = array.dtype.kind == "f"
        entries[key] = float_entry(array, array.dtype.str) if is_float else int_entry(array, array.dtype.str)
    expected["stored.npz"] = entries
    expected["deflated.npz"] = entries
    return expected


def safetensors_fixtures(rng):
    expected = {}
    tensors = {
        "model.embed.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "model.norm.weight": rng.standard_normal(4).astype(np.float16),
        "scale": np.array(0.125, dtype=np.float64),
        "ids": np.array([[1, -2], [3, 2147483647]], dtype=np.int32),
        "steps": np.array([-9223372036854775808, 5], dtype=np.int64),
        "empty": np.zeros((0, 2), dtype=np.float32),
    }
    metadata = {"format": "np"}
    path = os.path.join(OUT, "model.safetensors")
    try:
        from safetensors.numpy import save_file

        save_file(tensors, path, metadata=metadata)
        writer = "safetensors"
    except ImportError:
        write_safetensors_by_hand(tensors, metadata, path)
        writer = "by hand"
    names = {
        np.dtype(np.float32): "F32",
        np.dtype(np.float16): "F16",
        np.dtype(np.float64): "F64",
        np.dtype(np.int32): "I32",
        np.dtype(np.int64): "I64",
    }
    entries = {}
    for key, array in tensors.items():
        entry = float_entry(array, names[array.dtype]) if array.dtype.kind == "f" else int_entry(array, names[array.dtype])
        entries[key] = entry
    expected["model.safetensors"] = {"metadata": metadata, "writer": writer, "tensors": entries}

    # BF16 cannot be expressed in numpy, so this file is assembled by hand.
    bf = np.array([[1.0, -0.5], [65280.0, -3.0e-39]], dtype=np.float32)
    bits = (bf.view(np.uint32) >> 16).astype("<u2")
    header = {"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}
    write_raw_safetensors(header, bits.tobytes(), os.path.join(OUT, "bf16.safetensors"))
    truncated = (bits.astype(np.uint32) << 16).view(np.float32)
    expected["bf16.safetensors"] = {"metadata": {}, "writer": "by hand", "tensors": {"w": float_entry(truncated, "BF16")}}
    return expected


def write_raw_safetensors(header, data, path):
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        handle.write(data)


def write_safetensors_by_hand(tensors, metadata, path):
    codes = {"f": {4: "F32", 2: "F16", 8: "F64"}, "i": {4: "I32", 8: "I64"}}
    header = {"__metadata__": metadata}
    offset = 0
    chunks = []
    for name in sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n)):
        array = np.ascontiguousarray(tensors[name])
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": codes[array.dtype.kind][array.dtype.itemsize],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset += len(raw)
        chunks.append(raw)
    write_raw_safetensors(header, b"".join(chunks), path)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20241104)
    expected = {
        "numpy_version": np.__version__,
        "npy": npy_fixtures(rng),
        "npz": npz_fixtures(rng),
        "safetensors": safetensors_fixtures(rng),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as handle:
        json.dump(expected, handle, indent=1, sort_keys=True)
        handle.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
