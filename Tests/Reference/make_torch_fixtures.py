#!/usr/bin/env python3
"""Writes the small PyTorch checkpoint fixtures that Tests/TensorFormatsTests/PyTorch*.swift read back.

Usage:  /work/venv-ref/bin/python Tests/Reference/make_torch_fixtures.py [--out DIR]
Needs:  torch (2.x; the committed files were written by 2.15.0) and numpy.
Output: Tests/Fixtures/torch/
  good checkpoints, written by torch.save itself:
    adapter.pt        nn.Module state_dict {"W": [6, 10], "b": [10]} f32 (the authors' adapter layout;
                      an OrderedDict with `_metadata` set by BUILD)
    effects.pt        plain dict {"features": [5, 6], "effects": [5, 10]} f32 (the authors' effects layout)
    dtypes.pt         one tensor per storage type: f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool
    views.pt          a base [3, 4] and views of its storage: transposed, strided slice with offset, one row,
                      a stride-0 expansion; a 0-d tensor and an empty tensor
    shared.pt         two tensors viewing one storage
    nested.pt         lists, tuples, nested dicts and non-tensor leaves
    bare.pt           a single tensor (no container)
    parameter.pt      an nn.Parameter (torch._utils._rebuild_parameter)
  rewritten from effects.pt by re-zipping (torch's own bytes for data.pkl and the records):
    archive_prefix.pt every member renamed to the legacy `archive/` prefix
    bigendian.pt      `byteorder` = "big" and every storage byte-swapped
    deflated.pt       members DEFLATE-compressed
  broken or malicious (the Swift reader must refuse them; nothing here is ever unpickled):
    os_system.pt      data.pkl calls os.system via GLOBAL (pickle bytes written by hand)
    builtins_exec.pt  data.pkl calls builtins.exec via STACK_GLOBAL (by hand)
    bad_storage_type.pt a persistent id whose storage type is subprocess.Popen (by hand)
    truncated.pt      the first 60% of effects.pt
    short_record.pt   effects.pt with the `features` storage record cut to half its length
    missing_record.pt effects.pt without the record of `effects`
    view_out_of_bounds.pt a tensor whose size/stride reach past its storage (by hand)
    legacy.pt         torch.save(..., _use_new_zipfile_serialization=False), the pre-1.6 non-zip format
    no_pickle.pt      a ZIP holding no data.pkl
  expected values:
    <stem>.expected.npz  for each good checkpoint, every tensor by its flattened name: float tensors as
                         float32 (exact for f32/f16/bf16; f64 rounded to nearest, as Swift does), integer and
                         bool tensors as int64
    manifest.json        per checkpoint, per flattened name: dtype (safetensors spelling) and shape
Two runs write identical bytes, except legacy.pt: the pre-1.6 format keys storages by memory address.
"""
import argparse
import io
import json
import os
import struct
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "Fixtures", "torch")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}
FLOAT_DTYPES = {torch.float32, torch.float16, torch.bfloat16, torch.float64}


def flatten(obj, prefix, out):
    """Flattened names exactly as the Swift reader forms them: dict keys, list/tuple indices, joined by '.'."""
    if isinstance(obj, torch.Tensor):
        out[prefix if prefix else "tensor"] = obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            flatten(value, f"{prefix}.{index}" if prefix else str(index), out)


def expected_array(tensor):
    tensor = tensor.detach()
    if tensor.dtype == torch.float64:
        with np.errstate(over="ignore"):  # beyond the f32 range becomes an infinity, as in Swift
            return tensor.numpy().astype(np.float32)
    if tensor.dtype in FLOAT_DTYPES:
        return tensor.to(torch.float32).numpy()
    return tensor.to(torch.int64).numpy()


def save_good(out, stem, obj, manifest):
    path = os.path.join(out, f"{stem}.pt")
    torch.save(obj, path)
    flat = {}
    flatten(obj, "", flat)
    manifest[stem] = {name: {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape)} for name, t in flat.items()}
    arrays = {name: expected_array(t) for name, t in flat.items()}
    np.savez(os.path.join(out, f"{stem}.expected.npz"), **arrays)


def read_members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = compression
            archive.writestr(info, data)


# MARK: hand-written pickles (byte by byte, so nothing is pickled or unpickled to make them)

def unicode(text):
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def binint(value):
    return b"J" + struct.pack("<i", value)


def global_op(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def hand_archive(path, prefix, pickle_bytes, records):
    members = [(f"{prefix}/data.pkl", pickle_bytes), (f"{prefix}/byteorder", b"little")]
    members += [(f"{prefix}/data/{key}", data) for key, data in records]
    members.append((f"{prefix}/version", b"3\n"))
    write_zip(path, members)


def malicious(out):
    marker = "/tmp/steer-pickle-was-executed"
    # {"x": os.system("touch <marker>")} — the call sits where a tensor would.
    body = b"\x80\x02}(" + unicode("x") + global_op("os", "system") + unicode(f"touch {marker}")
    body += b"\x85R" + b"u."
    hand_archive(os.path.join(out, "os_system.pt"), "os_system", body, [])

    # builtins.exec through STACK_GLOBAL (module and name pushed as strings first).
    body = b"\x80\x02" + unicode("builtins") + unicode("exec") + b"\x93"
    body += unicode(f"open('{marker}', 'w')") + b"\x85R."
    hand_archive(os.path.join(out, "builtins_exec.pt"), "builtins_exec", body, [])

    # A tensor whose persistent id names subprocess.Popen as its storage type.
    body = b"\x80\x02}(" + unicode("t") + global_op("torch._utils", "_rebuild_tensor_v2")
    body += b"((" + unicode("storage") + global_op("subprocess", "Popen") + unicode("0") + unicode("cpu")
    body += binint(2) + b"tQ" + binint(0) + binint(2) + b"\x85" + binint(1) + b"\x85\x89"
    body += global_op("collections", "OrderedDict") + b")RtRu."
    hand_archive(os.path.join(out, "bad_storage_type.pt"), "bad_storage_type", body, [("0", b"\0" * 8)])


def view_out_of_bounds(out):
    # {"t": tensor(storage numel 4, offset 0, size (3,), stride (2,))}: element 2 would be storage index 4.
    body = b"\x80\x02}(" + unicode("t") + global_op("torch._utils", "_rebuild_tensor_v2")
    body += b"((" + unicode("storage") + global_op("torch", "FloatStorage") + unicode("0") + unicode("cpu")
    body += binint(4) + b"tQ" + binint(0) + binint(3) + b"\x85" + binint(2) + b"\x85\x89"
    body += global_op("collections", "OrderedDict") + b")RtRu."
    records = [("0", struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))]
    hand_archive(os.path.join(out, "view_out_of_bounds.pt"), "view_out_of_bounds", body, records)


# MARK: rewrites of torch's own files

def rename_prefix(members, old, new):
    return [(new + name[len(old):], data) for name, data in members]


def big_endian(members, itemsizes):
    result = []
    for name, data in members:
        if name.endswith("/byteorder"):
            data = b"big"
        elif "/data/" in name:
            key = name.rsplit("/", 1)[1]
            size = itemsizes[key]
            data = np.frombuffer(data, dtype=np.dtype(f"<u{size}")).astype(f">u{size}").tobytes()
        result.append((name, data))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20241104)
    manifest = {}

    class LinearAdapter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.randn(6, 10))
            self.b = torch.nn.Parameter(torch.randn(10))

    save_good(out, "adapter", LinearAdapter().state_dict(), manifest)
    effects = {"features": torch.randn(5, 6) * 40, "effects": torch.randn(5, 10)}
    save_good(out, "effects", effects, manifest)

    specials = torch.tensor([0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), 65504.0, 1e-3, 3.14159, -7.0])
    dtypes = {
        "f32": torch.cat([specials, torch.tensor([float("nan"), 1e-40])]).reshape(3, 4),
        "f16": specials.to(torch.float16).reshape(2, 5),
        "bf16": specials.to(torch.bfloat16),
        "f64": torch.tensor([[1.0 / 3.0, -1e300], [2.0 ** -1074, 12345.678]], dtype=torch.float64),
        "i64": torch.tensor([0, -1, 2**63 - 1, -2**63, 1 << 40], dtype=torch.int64),
        "i32": torch.tensor([[0, 1, -1], [2**31 - 1, -2**31, 42]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }
    save_good(out, "dtypes", dtypes, manifest)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1.0
    views = {
        "base": base,
        "transposed": base.t(),
        "slice": base[1:, ::2],
        "row": base[2],
        "column": base[:, 3],
        "expanded": base[0, :3].expand(2, 3),
        "scalar": torch.tensor(2.75),
        "empty": torch.zeros(0, 3),
    }
    save_good(out, "views", views, manifest)

    storage_owner = torch.randn(20)
    save_good(out, "shared", {"first": storage_owner[:8].view(2, 4), "second": storage_owner[4:].view(4, 4)},
              manifest)

    nested = {
        "list": [torch.randn(2), (torch.randn(3), torch.ones(1, dtype=torch.int64))],
        "tuple": (torch.randn(2, 2),),
        "inner": {"a": torch.randn(3), "deeper": {"b": torch.zeros(2, dtype=torch.float16)}},
        "epoch": 3,
        "name": "checkpoint",
        "lr": 2e-4,
        "flag": None,
    }
    save_good(out, "nested", nested, manifest)
    save_good(out, "bare", torch.randn(4, 3), manifest)
    save_good(out, "parameter", {"p": torch.nn.Parameter(torch.randn(3))}, manifest)

    with open(os.path.join(out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write("\n")

    effects_members = read_members(os.path.join(out, "effects.pt"))
    write_zip(os.path.join(out, "archive_prefix.pt"), rename_prefix(effects_members, "effects/", "archive/"))
    write_zip(os.path.join(out, "bigendian.pt"),
              big_endian(rename_prefix(effects_members, "effects/", "bigendian/"), {"0": 4, "1": 4}))
    write_zip(os.path.join(out, "deflated.pt"), rename_prefix(effects_members, "effects/", "deflated/"),
              compression=zipfile.ZIP_DEFLATED)

    # Which record holds which tensor: read the persistent ids' keys from the raw pickle bytes.
    pickle_bytes = dict(effects_members)["effects/data.pkl"]
    features_key = "0" if pickle_bytes.index(b"features") < pickle_bytes.index(b"effects") else "1"
    effects_key = "1" if features_key == "0" else "0"
    short = [(name, data[: len(data) // 2] if name == f"effects/data/{features_key}" else data)
             for name, data in effects_members]
    write_zip(os.path.join(out, "short_record.pt"), rename_prefix(short, "effects/", "short_record/"))
    missing = [(name, data) for name, data in effects_members if name != f"effects/data/{effects_key}"]
    write_zip(os.path.join(out, "missing_record.pt"), rename_prefix(missing, "effects/", "missing_record/"))

    with open(os.path.join(out, "effects.pt"), "rb") as handle:
        whole = handle.read()
    with open(os.path.join(out, "truncated.pt"), "wb") as handle:
        handle.write(whole[: len(whole) * 6 // 10])

    malicious(out)
    view_out_of_bounds(out)
    buffer = io.BytesIO()
    torch.save({"w": torch.arange(3, dtype=torch.float32)}, buffer, _use_new_zipfile_serialization=False)
    with open(os.path.join(out, "legacy.pt"), "wb") as handle:
        handle.write(buffer.getvalue())
    write_zip(os.path.join(out, "no_pickle.pt"), [("no_pickle/readme.txt", b"not a checkpoint\n")])
    print(f"wrote {len(os.listdir(out))} files to {out}")


if __name__ == "__main__":
    main()
