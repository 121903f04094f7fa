#!/usr/bin/env python3
"""Read a SAETargetedSteering artifact store from Python, without Swift.

The store is an LMDB environment (a directory holding data.mdb and lock.mdb) with three named
databases; Docs/Artifacts.md documents the layout this script implements:

  artifacts   key: 32 raw bytes (SHA-256 of the recipe's canonical JSON)
              value: b"STRA" | u32 LE layout version (1) | u32 LE header length H
                     | H bytes of header JSON (space-padded) | payload (little-endian, row-major)
  aliases     key: UTF-8 alias name   value: 32 raw key bytes
  meta        key: b"format"          value: u32 LE store format version (1)

USAGE
  python3 read_store.py STORE ls [--kind KIND] [--json]
  python3 read_store.py STORE get KEY|PREFIX|ALIAS [--json] [--out FILE.npy]

  `ls` prints one artifact per line (or a JSON list with --json); `get` verifies the payload digest
  and prints the array (or JSON with key, recipeKey, dtype, shape, recipe and values; --out saves a
  .npy file). recipeKey is the key recomputed here from the recipe (canonical_json below), so tools
  can compute the key of an artifact they are about to look up.

REQUIREMENTS
  pip install lmdb numpy   (tested with lmdb 3.0.0, numpy 2.4.6, Python 3.11)

The environment is opened read-only with locking on, so this script may run while a Swift process
writes to the store; it sees the last committed state.
"""

import argparse
import hashlib
import json
import struct
import sys

import lmdb
import numpy as np

MAGIC = b"STRA"
LAYOUT_VERSION = 1
STORE_FORMAT = 1
NUMPY_DTYPES = {"f32": "<f4", "i32": "<i4", "u8": "|u1"}


def canonical_json(value):
    """The canonical JSON text of a recipe value, byte for byte as Swift's RecipeValue.canonicalJSON writes it:
    object keys sorted, no whitespace, integers in decimal, doubles in shortest round-trip form, strings
    with only quote, backslash and control characters escaped."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return '"NaN"'
        if value in (float("inf"), float("-inf")):
            return '"Infinity"' if value > 0 else '"-Infinity"'
        text = repr(value)
        if 2.0**53 <= abs(value) < 1e16:  # Swift switches to exponent notation at 2**53, Python at 1e16
            digits = text.lstrip("-").split(".")[0]
            mantissa = digits.rstrip("0")
            text = ("-" if value < 0 else "") + mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
            text += "e+%02d" % (len(digits) - 1)
        return text
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20:
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(canonical_json(k) + ":" + canonical_json(value[k]) for k in keys) + "}"
    raise TypeError(f"not a recipe value: {value!r}")


def recipe_key(recipe):
    """The artifact key of a recipe (as found in a header): SHA-256 of its canonical JSON, in hex."""
    return hashlib.sha256(canonical_json(recipe).encode("utf-8")).hexdigest()


def open_store(path):
    """Opens the store read-only; returns (env, artifacts_db, aliases_db)."""
    env = lmdb.open(path, readonly=True, max_dbs=4, subdir=True)
    artifacts = env.open_db(b"artifacts", create=False)
    aliases = env.open_db(b"aliases", create=False)
    meta = env.open_db(b"meta", create=False)
    with env.begin(db=meta) as txn:
        raw = txn.get(b"format")
    if raw is None or struct.unpack("<I", raw)[0] > STORE_FORMAT:
        raise SystemExit(f"{path}: unsupported store format {raw!r}")
    return env, artifacts, aliases


def parse_value(value):
    """Splits a stored value into (header dict, payload memoryview)."""
    value = memoryview(value)
    if bytes(value[:4]) != MAGIC:
        raise ValueError("value does not start with b'STRA'")
    version, header_length = struct.unpack_from("<II", value, 4)
    if version != LAYOUT_VERSION:
        raise ValueError(f"unsupported value layout version {version}")
    header = json.loads(bytes(value[12 : 12 + header_length]))  # trailing spaces are JSON whitespace
    payload = value[12 + header_length :]
    if len(payload) != header["payloadSize"]:
        raise ValueError("payload size differs from the header")
    return header, payload


def payload_array(header, payload):
    """The payload as a numpy array of the header's shape, or the decoded JSON for dtype 'json'."""
    if header["dtype"] == "json":
        return json.loads(bytes(payload))
    return np.frombuffer(payload, dtype=NUMPY_DTYPES[header["dtype"]]).reshape(header["shape"]).copy()


def list_artifacts(env, artifacts, kind=None):
    """Yields (key hex, header) for every artifact, or every one of `kind`, in key order."""
    with env.begin(db=artifacts) as txn:
        for key, value in txn.cursor():
            header, _ = parse_value(value)
            if kind is None or header["kind"] == kind:
                yield bytes(key).hex(), header


def resolve(env, artifacts, aliases, text):
    """An alias, a full 64-character hex key or a unique hex prefix (>= 6 characters) -> key bytes."""
    with env.begin() as txn:
        target = txn.get(text.encode(), db=aliases)
        if target is not None:
            return bytes(target)
        prefix = text.lower()
        if len(prefix) >= 6 and all(c in "0123456789abcdef" for c in prefix):
            cursor = txn.cursor(db=artifacts)
            matches = []
            if cursor.set_range(bytes.fromhex(prefix[: len(prefix) // 2 * 2])):
                for key in cursor.iternext(keys=True, values=False):
                    if not bytes(key).hex().startswith(prefix[: len(prefix) // 2 * 2]):
                        break
                    if bytes(key).hex().startswith(prefix):
                        matches.append(bytes(key))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise SystemExit(f"prefix {text} is ambiguous: {len(matches)} artifacts")
    raise SystemExit(f"no alias or artifact key '{text}' in the store")


def load(env, artifacts, key):
    """(header, array) for the artifact under `key` (raw bytes); checks the payload's SHA-256."""
    with env.begin(db=artifacts) as txn:
        value = txn.get(key)
        if value is None:
            raise SystemExit(f"no artifact {key.hex()}")
        header, payload = parse_value(value)
        if hashlib.sha256(payload).hexdigest() != header["payloadDigest"]:
            raise SystemExit(f"artifact {key.hex()} is damaged: payload digest mismatch")
        return header, payload_array(header, payload)  # copied before the transaction ends


def main(argv):
    parser = argparse.ArgumentParser(description="Read a SAETargetedSteering artifact store.")
    parser.add_argument("store")
    commands = parser.add_subparsers(dest="command", required=True)
    ls = commands.add_parser("ls")
    ls.add_argument("--kind")
    ls.add_argument("--json", action="store_true")
    get = commands.add_parser("get")
    get.add_argument("reference")
    get.add_argument("--json", action="store_true")
    get.add_argument("--out")
    args = parser.parse_args(argv)

    env, artifacts, aliases = open_store(args.store)
    if args.command == "ls":
        rows = [
            {"key": key, "kind": h["kind"], "dtype": h["dtype"], "shape": h["shape"],
             "algorithm": h["recipe"]["algorithm"]}
            for key, h in list_artifacts(env, artifacts, args.kind)
        ]
        if args.json:
            print(json.dumps(rows))
        else:
            for row in rows:
                print(f"{row['key'][:12]}  {row['kind']:<11} {row['dtype']:<4} {row['shape']}  {row['algorithm']}")
        return
    key = resolve(env, artifacts, aliases, args.reference)
    header, array = load(env, artifacts, key)
    if args.out:
        np.save(args.out, array)
    if args.json:
        values = array if header["dtype"] == "json" else array.reshape(-1).tolist()
        print(json.dumps({"key": key.hex(), "recipeKey": recipe_key(header["recipe"]), "dtype": header["dtype"],
                          "shape": header["shape"], "recipe": header["recipe"], "values": values}))
    else:
        print(array)


if __name__ == "__main__":
    main(sys.argv[1:])
