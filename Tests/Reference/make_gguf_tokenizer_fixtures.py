#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer/gemma3_gguf_reference.jsonl.gz: reference encodings and decodings of the
tokenizer that transformers builds from the metadata of the real google/gemma-3-270m GGUF
(`AutoTokenizer.from_pretrained(dir, gguf_file=name)`: a `GemmaTokenizer` whose merges transformers derives
from the vocabulary, see transformers/integrations/gguf/gguf_tokenizer_mapping.py `gemma_tokenizer`).

Run Scripts/fetch-gemma3-270m.sh first. Requirements: transformers 5.25.0, tokenizers (the /work/venv5 set;
Tests/Reference/requirements-ref.txt pins transformers 4.46.3, whose GGUF tokenizer path differs). Building
the HF tokenizer takes about 30 s (transformers derives 514,906 merges in Python).

Usage: python3 Tests/Reference/make_gguf_tokenizer_fixtures.py [--gguf FILE] [--out FILE] [--seed N]

Output format (one JSON object per line, UTF-8, gzip with mtime 0 so reruns are byte-identical), the layout
of make_tokenizer_fixtures.py:
  line 1      {"header": {seed, tool versions, gguf sha256, counts, notes}}
  encode case {"text": str, "ids": [int, ...]}             transformers tok(text).input_ids (adds BOS)
  decode case {"ids": [int, ...], "text": str, "text_skip": str}
                                                        tok.decode(ids, skip_special_tokens False / True)

The ids are derived from the Gemma tokenizer: Gemma is provided under and subject to the Gemma Terms of Use
found at ai.google.dev/gemma/terms (see Tests/Fixtures/tokenizer/NOTICE).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_fixtures as base  # noqa: E402  (the Gemma-2 generators: words, scripts, emoji, code…)

EXPECTED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
REPO_ROOT = base.REPO_ROOT
DEFAULT_GGUF = os.path.join(
    os.environ.get("STEER_CACHE", os.path.join(REPO_ROOT, ".cache")), "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "tokenizer", "gemma3_gguf_reference.jsonl.gz")

# Gemma 3 layout: byte token <0xHH> is id 238 + HH; 262,144 ids.
BYTE_BASE = 238

GEMMA3_LITERALS = [
    "<start_of_image>", "<end_of_image>", "[multimodal]", "<mask>", "<unused6241>", "<unused6242>",
    "<unused1000>", "<unused98>", "<unused99>", "<start_of_turn>model\n<end_of_turn>", "<eos><eos>",
    "<0x41>", "<0x0A>", "<0xE2><0x96><0x81>", "<0xZZ>", "\u2581<bos>\u2581", " <pad> ", "<<unk>>",
    "<table><tr><td>x</td></tr></table>", "<h1>Title</h1>", "<iframe></iframe>", "<footer>", "<bbox>",
    "<caption>", "<s>", "</s>", "<sup>2</sup>", "<sub>i</sub>",
]

CONTROL_CHARS = [chr(c) for c in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0))] + [
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\ufeff", "\ufffd", "\ufff9",
]

EMOJI_EXTRA = [
    "\U0001f44b\U0001f3fb", "\U0001f44b\U0001f3ff", "\U0001f1ef\U0001f1f5", "\U0001f1fa\U0001f1f8\U0001f1e9\U0001f1ea",
    "\U0001f468\U0001f3fd\u200d\U0001f91d\u200d\U0001f468\U0001f3fb", "\U0001f3f4\U000e0067\U000e0062\U000e0065"
    "\U000e006e\U000e0067\U000e007f", "\U0001f469\u200d\u2764\ufe0f\u200d\U0001f48b\u200d\U0001f468",
    "1\ufe0f\u20e3", "\U0001f9ea", "\U0001fa75",
]

SCRIPTS_EXTRA = {
    "georgian": "გამარჯობა მსოფლიო",
    "armenian": "Բարեւ աշխարհ",
    "tamil": "வணக்கம் உலகம்",
    "bengali": "হ্যালো বিশ্ব",
    "amharic": "ሰላም ልዑል",
    "khmer": "សួស្តី​ពិភពលោក",
    "mongolian": "ᠮᠣᠩᠭᠣᠯ",
    "vietnamese": "Xin chào thế giới Tiếng Việt",
    "math": "∀x∈ℝ: x²≥0 ∑ᵢ aᵢ ≤ ∫₀¹ f(t) dt ≈ π√2",
}


def rand_control(rng):
    return "".join(rng.choice(CONTROL_CHARS) for _ in range(rng.randint(1, 4)))


def rand_long_number(rng):
    r = rng.random()
    if r < 0.5:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(8, 60)))
    if r < 0.75:
        return f"{rng.randint(0, 10**9)}.{rng.randint(0, 10**9):09d}e{rng.choice('+-')}{rng.randint(0, 308)}"
    return "0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(rng.randint(1, 32)))


def rand_component(rng, pieces):
    r = rng.random()
    if r < 0.08:
        return rand_control(rng)
    if r < 0.13:
        return rng.choice(GEMMA3_LITERALS)
    if r < 0.17:
        return rng.choice(EMOJI_EXTRA)
    if r < 0.21:
        s = SCRIPTS_EXTRA[rng.choice(sorted(SCRIPTS_EXTRA))]
        a = rng.randrange(len(s))
        return s[a : a + rng.randint(1, 12)]
    if r < 0.24:
        return rand_long_number(rng)
    return base.rand_component(rng, pieces)


def make_texts(rng, pieces, count):
    texts = [t for t, _ in base.SPEC_VECTORS]
    texts += ["", " ", "\u2581", "\u2581\u2581", "\u2581 \u2581\u2581", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000",
              "\x00", "a\x00b", "\x7f", "\ufeff", "\ufffd"]
    for n in range(1, 40):
        texts += [" " * n, "x" + " " * n + "y", "\n" * n, "\t" * n, "a" + "\t" * n + "b", " " * n + "x",
                  "x" + " " * n, " \t" * n, "\u2581" * n]
    texts += ["a\r\nb\r\n\r\nc\n\rd", "line1\r\nline2\nline3\rline4", " \t \n \r\n "]
    texts += base.SPECIAL_LITERALS + GEMMA3_LITERALS + base.HTML + base.EMOJI + EMOJI_EXTRA + base.CODE
    texts += [f"<unused{i}>" for i in range(0, 6242, 97)] + CONTROL_CHARS
    texts += [chr(0xE000), chr(0xF8FF), chr(0xFFFF), chr(0x10FFFF), chr(0xE0001), "\U0001d573\U0001d574" * 3]
    for s in list(base.SCRIPTS.values()) + list(SCRIPTS_EXTRA.values()):
        for form in ("NFC", "NFD", "NFKC", "NFKD"):
            texts.append(unicodedata.normalize(form, s))
    while len(texts) < count - 5:
        s = "".join(rand_component(rng, pieces) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.1:
            s = unicodedata.normalize(rng.choice(["NFC", "NFD"]), s)
        texts.append(s)
    for _ in range(5):
        texts.append("".join(rand_component(rng, pieces) for _ in range(rng.randint(60, 120))))
    return texts


def make_id_lists(rng, vocab_size, count):
    specials = [0, 1, 2, 3, 4, 5, 6, 105, 106, 107, 108, 137, 138, 139, 167, 168, 200, 255968, 255969, 255999,
                256000, 262143, 236743]
    b = BYTE_BASE
    lists = [
        [], [2], [0, 1, 2, 3, 4], [255968], [b + 0xC3, 255968, b + 0xA9], [b + 0xC3, b + 0xA9],
        [b + 0xF0, b + 0x9F, b + 0x98, b + 0x80], [b + 0xF0, b + 0x9F, b + 0x98], [138, 139, 167], [236743],
        [105, 2364, 107, 106, 108], [vocab_size], [vocab_size + 12345], [2, vocab_size, 9259], [2**31 - 1],
        [b + 0xE2, 2, b + 0x82, b + 0xAC], [b + 0x09], [b + 0x09, b + 0x80], [b + 0x20, b + 0x20], [5, 6, 7],
    ]
    while len(lists) < count:
        ids = []
        for _ in range(rng.randint(1, 20)):
            r = rng.random()
            if r < 0.3:
                ids += [b + x for x in base.utf8_invalid_runs(rng)]
            elif r < 0.5:
                ids.append(rng.randrange(vocab_size))
            elif r < 0.68:
                ids.append(rng.choice(specials))
            elif r < 0.98:
                ids.append(rng.randrange(494, 255968))
            else:
                ids.append(vocab_size + rng.randrange(1000))
        lists.append(ids)
    return lists


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--texts", type=int, default=20000)
    ap.add_argument("--decodes", type=int, default=3000)
    args = ap.parse_args()

    import gguf
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    if not os.path.exists(args.gguf):
        sys.exit(f"{args.gguf} missing: run Scripts/fetch-gemma3-270m.sh")
    h = hashlib.sha256()
    with open(args.gguf, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    sha = h.hexdigest()
    if sha != EXPECTED_SHA256:
        sys.exit(f"{args.gguf}: sha256 {sha} != expected {EXPECTED_SHA256}")

    reader = gguf.GGUFReader(args.gguf)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    token_types = reader.fields["tokenizer.ggml.token_type"].contents()
    pieces = [t for t, k in zip(tokens, token_types) if k == 1]

    tok = AutoTokenizer.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf))
    backend = tok.backend_tokenizer
    vocab_size = backend.get_vocab_size()
    if type(tok).__name__ != "GemmaTokenizer" or vocab_size != len(tokens):
        sys.exit(f"unexpected tokenizer {type(tok).__name__} with {vocab_size} ids")

    rng = random.Random(args.seed)
    texts = make_texts(rng, pieces, args.texts)
    encodings = tok(texts, add_special_tokens=True)["input_ids"]
    # The transformers call must be the plain `tokenizers` encode with the BOS template.
    direct = [e.ids for e in backend.encode_batch(texts, add_special_tokens=True)]
    if direct != encodings:
        sys.exit("transformers and tokenizers encodings differ")
    if not all(ids[:1] == [2] for ids in encodings):
        sys.exit("some encoding does not start with <bos>")

    id_lists = make_id_lists(rng, vocab_size, args.decodes)
    decoded = [tok.decode(ids, skip_special_tokens=False) for ids in id_lists]
    decoded_skip = [tok.decode(ids, skip_special_tokens=True) for ids in id_lists]
    # Decodings of real encodings too (the first 1,000 texts, with their BOS).
    id_lists_from_texts = [ids for ids in encodings[:1000]]
    decoded += [tok.decode(ids, skip_special_tokens=False) for ids in id_lists_from_texts]
    decoded_skip += [tok.decode(ids, skip_special_tokens=True) for ids in id_lists_from_texts]
    id_lists += id_lists_from_texts

    header = {
        "header": {
            "generator": "Tests/Reference/make_gguf_tokenizer_fixtures.py",
            "seed": args.seed,
            "gguf_sha256": sha,
            "gguf_source": "google/gemma-3-270m, Q4_K_M GGUF (Scripts/fetch-gemma3-270m.sh)",
            "tokenizer_class": type(tok).__name__,
            "transformers_version": transformers.__version__,
            "tokenizers_version": tokenizers.__version__,
            "gguf_version": getattr(gguf, "__version__", None),
            "python_version": sys.version.split()[0],
            "encode_cases": len(texts),
            "decode_cases": len(id_lists),
            "vocab_size": vocab_size,
            "clean_up_tokenization_spaces": bool(getattr(tok, "clean_up_tokenization_spaces", False)),
            "notes": "encode: transformers AutoTokenizer.from_pretrained(dir, gguf_file=name)(text).input_ids "
            "(add_special_tokens=True, BOS added; equal to tokenizers encode_batch). decode: tok.decode(ids) with "
            "skip_special_tokens False (text) and True (text_skip); the last 1,000 decode cases are encodings of "
            "the first 1,000 texts. Gemma is provided under and subject to the Gemma Terms of Use found at "
            "ai.google.dev/gemma/terms.",
        }
    }
    buf = io.StringIO()
    buf.write(json.dumps(header, ensure_ascii=False) + "\n")
    for text, ids in zip(texts, encodings):
        buf.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False, separators=(",", ":")) + "\n")
    for ids, text, text_skip in zip(id_lists, decoded, decoded_skip):
        line = {"ids": ids, "text": text, "text_skip": text_skip}
        buf.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    raw = buf.getvalue().encode("utf-8")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    print(
        f"wrote {args.out}: {len(texts)} encode cases, {len(id_lists)} decode cases, "
        f"{len(raw)} bytes raw, {os.path.getsize(args.out)} bytes gzip"
    )


if __name__ == "__main__":
    main()
