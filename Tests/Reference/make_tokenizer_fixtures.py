#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer/gemma_reference.jsonl.gz: reference encodings and decodings of the
real Gemma tokenizer, produced by Hugging Face `tokenizers` and cross-checked with `sentencepiece`.

Run Tests/Reference/fetch_gemma_tokenizer.sh first (it caches tokenizer.model and converts it to
tokenizer.json with transformers<5). Requirements: tokenizers, sentencepiece (pip).

Usage: python3 Tests/Reference/make_tokenizer_fixtures.py [--cache DIR] [--out FILE] [--seed N]

Output format (one JSON object per line, UTF-8, gzip with mtime 0 so reruns are byte-identical):
  line 1      {"header": {seed, tool versions, tokenizer sha256, counts, notes}}
  encode case {"text": str, "ids": [int, ...]}             HF encode, add_special_tokens=True
  decode case {"ids": [int, ...], "text": str, "text_skip": str}
                                                        HF decode, skip_special_tokens False / True
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
import unicodedata

EXPECTED_SHA256 = "61a7b147390c64585d6c3543dd6fc636906c9af3865a5548f27f31aee1d4c8e2"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_CACHE = os.path.join(os.environ.get("STEER_CACHE", os.path.join(REPO_ROOT, ".cache")), "gemma-tokenizer")
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "tokenizer", "gemma_reference.jsonl.gz")

# The gemma2.md §4.3 table: (text, ids with BOS).
SPEC_VECTORS = [
    ("Hello world", [2, 4521, 2134]),
    ("The capital of France is", [2, 651, 6037, 576, 6081, 603]),
    (" Hello", [2, 25957]),
    ("  Hello", [2, 139, 4521]),
    ("a  b   c", [2, 235250, 139, 235268, 140, 235260]),
    ("Hello\nWorld", [2, 4521, 108, 10772]),
    ("x\n\n\ny", [2, 235297, 110, 235267]),
    ("\tfoo\t\tbar", [2, 226, 14214, 255969, 2191]),
    ("1234567", [2, 235274, 235284, 235304, 235310, 235308, 235318, 235324]),
    ("h\u00e9llo w\u00f6rld", [2, 21454, 3979, 513, 2864, 706]),
    ("e\u0301", [2, 235249, 236703]),
    ("\u00e9", [2, 235335]),
    ("\U0001d573\U0001d574", [2, 255967, 457, 374, 366, 397]),
    ("\U0001f9d1\u200d\U0001f680", [2, 243634, 235879, 239304]),
    ("<start_of_turn>user\nHi<end_of_turn>\n", [2, 106, 1645, 108, 2151, 107, 108]),
    ("<b>bold</b>", [2, 201, 8766, 210]),
    ("trailing ", [2, 100504, 235248]),
]

WORDS = (
    "the of and to in is was for that with as on by at from his her it be are this which or an had not but "
    "what all were when we there can more one so if out about up them some into time has two like other "
    "could people over only new very after first also made did many before must through back years where "
    "steering sparse autoencoder feature residual stream layer token model language Gemma transformer"
).split()

SCRIPTS = {
    "cjk": "我们的模型是一个语言模型今天天气很好中文字符测试东京大学北京上海漢字繁體",
    "kana": "ひらがなカタカナこんにちはありがとうございますテストです",
    "hangul": "안녕하세요한국어테스트입니다감사합니다",
    "arabic": "مرحبا بالعالم هذا اختبار للغة العربية",
    "hebrew": "שלום עולם זה מבחן",
    "devanagari": "नमस्ते दुनिया यह हिंदी परीक्षण है क़ ख़ ग़ ज़ ड़ ढ़ फ़",
    "thai": "สวัสดีชาวโลกภาษาไทย",
    "greek": "Καλημέρα κόσμε ελληνικά",
    "cyrillic": "Привет мир это тест русского языка",
    "latin_ext": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœšžł Ångström naïve café façade",
}

EMOJI = [
    "\U0001f600", "\U0001f680", "\U0001f9d1\u200d\U0001f680", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f1eb\U0001f1f7", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\U0001f9d1\U0001f3ff\u200d\U0001f4bb", "\u263a", "\U0001f4a9", "\U0001fae0", "#\ufe0f\u20e3",
]

COMBINING = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u0327", "\u0323", "\u093c", "\u094d", "\u05b8"]

CODE = [
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "func encode(_ text: String, addBOS: Bool = true) -> [Int32] {\n    return []\n}",
    '{"key": "value", "n": [1, 2, 3], "ok": true}',
    "SELECT * FROM users WHERE id = 42;",
    "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); }\r\n",
    "if x == 1:\n\tpass\n\telse:\n\t\tpass\n",
    "let π = 3.14159 // pi\n",
    "    indented\n        more\n            most",
    "x=1;y=2;z=x+y*3-4/5%6",
]

HTML = [
    "<table>", "</table>", "<tr>", "<td>", "<b>", "</b>", "<h1>", "</h1>", "<p>", "</p>", "<div>",
    "<code>", "</code>", "<br>", "<span class=\"x\">", "<a href=\"https://example.com\">", "</a>", "<li>",
    "<ul>", "<em>", "<strong>", "<pre>", "<blockquote>", "<hr>", "<img src=x>",
]

SPECIAL_LITERALS = [
    "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<2mass>", "[@BOS@]",
    "[toxicity=0]", "<unused0>", "<unused5>", "<unused42>", "<unused98>", "<unused99>", "<unused100>",
    "<start_of_turn", "start_of_turn>", "<bos", "<eo", "<unused", "<<bos>>", "<bos><bos>",
    "<start_of_turn>model\n", "<start_of_turn>user\n",
]

WS_UNITS = [" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2581", "\u2009", "\v", "\f"]


def rand_ws(rng):
    kind = rng.random()
    if kind < 0.4:
        return rng.choice([" ", "\t", "\n"]) * rng.randint(1, 80)
    if kind < 0.8:
        return "".join(rng.choice(WS_UNITS[:5]) for _ in range(rng.randint(1, 12)))
    return "".join(rng.choice(WS_UNITS) for _ in range(rng.randint(1, 6)))


def rand_scalar(rng):
    r = rng.random()
    if r < 0.3:
        lo, hi = 0x20, 0x7E
    elif r < 0.45:
        lo, hi = 0x00, 0x7FF
    elif r < 0.75:
        lo, hi = 0x800, 0xFFFF
    elif r < 0.9:
        lo, hi = 0x10000, 0x1FFFF
    else:
        lo, hi = 0x20000, 0x10FFFF
    while True:
        c = rng.randint(lo, hi)
        if not (0xD800 <= c <= 0xDFFF):
            return chr(c)


def rand_word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.15:
        w = w.capitalize()
    elif r < 0.2:
        w = w.upper()
    return w


def rand_script_run(rng):
    s = SCRIPTS[rng.choice(sorted(SCRIPTS))]
    a = rng.randrange(len(s))
    return s[a : a + rng.randint(1, 20)]


def rand_number(rng):
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 10 ** rng.randint(1, 12)))
    if r < 0.6:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 6)}f}"
    if r < 0.8:
        return f"{rng.randint(0, 999)},{rng.randint(0, 999):03d},{rng.randint(0, 999):03d}"
    return "".join(rng.choice("0123456789٠١٢٣٤٥٦٧٨٩０１２３") for _ in range(rng.randint(1, 10)))


def rand_vocab_mix(rng, pieces):
    out = []
    for _ in range(rng.randint(1, 12)):
        p = rng.choice(pieces)
        out.append(p.replace("\u2581", " ") if rng.random() < 0.9 else p)
    return "".join(out)


def rand_component(rng, pieces):
    r = rng.random()
    if r < 0.25:
        return rand_word(rng)
    if r < 0.35:
        return rand_ws(rng)
    if r < 0.45:
        return rand_script_run(rng)
    if r < 0.5:
        return rng.choice(EMOJI)
    if r < 0.55:
        return rng.choice("aeiouAEIOUnNcC") + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3)))
    if r < 0.6:
        return rng.choice(CODE)
    if r < 0.65:
        return rng.choice(HTML)
    if r < 0.7:
        return rng.choice(SPECIAL_LITERALS)
    if r < 0.77:
        return rand_number(rng)
    if r < 0.85:
        return "".join(rand_scalar(rng) for _ in range(rng.randint(1, 6)))
    if r < 0.95:
        return rand_vocab_mix(rng, pieces)
    return rng.choice(".,;:!?-–—'\"()[]{}@#$%^&*/\\|~`+=_<>")


def make_texts(rng, pieces, count):
    texts = [t for t, _ in SPEC_VECTORS]
    # Deterministic edge cases: whitespace runs of every length, mixed newlines, empty, lone pieces.
    texts += ["", " ", "\u2581", "\u2581\u2581", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\x00", "a\x00b"]
    for n in range(1, 80):
        texts += [" " * n, "x" + " " * n + "y", "\n" * n, "\t" * n, "a" + "\t" * n + "b", " " * n + "x"]
    texts += ["a\r\nb\r\n\r\nc\n\rd", "line1\r\nline2\nline3\rline4", " \t \n \r\n "]
    texts += SPECIAL_LITERALS + HTML + EMOJI + CODE
    texts += [f"<unused{i}>" for i in range(0, 101)]
    base_nfc = [
        "café", "naïve", "Ångström", "Việt Nam", "한국어", "ड़", "\u095c", "\u1e9b\u0323", "Å", "Å", "ﬁ", "①",
    ] + list(SCRIPTS.values())
    for s in base_nfc:
        for form in ("NFC", "NFD", "NFKC", "NFKD"):
            texts.append(unicodedata.normalize(form, s))
    # Random compositions.
    while len(texts) < count - 20:
        k = rng.randint(1, 8)
        s = "".join(rand_component(rng, pieces) for _ in range(k))
        if rng.random() < 0.1:
            s = unicodedata.normalize(rng.choice(["NFC", "NFD"]), s)
        texts.append(s)
    # A few long texts (also useful for throughput).
    for _ in range(20):
        texts.append("".join(rand_component(rng, pieces) for _ in range(rng.randint(200, 600))))
    return texts


def utf8_invalid_runs(rng):
    """Byte sequences (as lists of ints) that are invalid, truncated or valid UTF-8."""
    r = rng.random()
    if r < 0.25:  # a valid scalar's bytes
        return list(rand_scalar(rng).encode("utf-8"))
    if r < 0.45:  # a valid multi-byte scalar, truncated
        b = list(chr(rng.choice([0xE9, 0x4E2D, 0x1F680, 0x10FFFF, 0x800])).encode("utf-8"))
        return b[: rng.randint(1, len(b) - 1)]
    if r < 0.6:  # classic invalid sequences: overlong, surrogate, too large, stray continuation
        return rng.choice(
            [[0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
             [0xBF, 0xBF], [0xFE], [0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3, 0x28], [0xE2, 0x82]]
        )
    return [rng.randrange(256) for _ in range(rng.randint(1, 8))]


def make_id_lists(rng, vocab_size, count):
    specials = [0, 1, 2, 3, 106, 107, 4, 5, 6, 7, 108, 109, 139, 169, 226, 255968, 255969, 255999]
    lists = [
        [], [2], [0, 1, 2, 3], [226], [217 + 0xC3, 226, 217 + 0xA9], [217 + 0xC3, 217 + 0xA9],
        [217 + 0xF0, 217 + 0x9F, 217 + 0x98, 217 + 0x80], [217 + 0xF0, 217 + 0x9F, 217 + 0x98],
        [2, 4521, 2134], [235248], [139, 140], [106, 1645, 108, 2151, 107, 108], [vocab_size], [vocab_size + 12345],
        [2, vocab_size, 4521], [217 + 0xE2, 2, 217 + 0x82, 217 + 0xAC], [217 + 0x09], [217 + 0x09, 217 + 0x80],
    ]
    while len(lists) < count:
        ids = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.35:
                ids += [217 + b for b in utf8_invalid_runs(rng)]
            elif r < 0.55:
                ids.append(rng.randrange(vocab_size))
            elif r < 0.7:
                ids.append(rng.choice(specials))
            elif r < 0.98:
                ids.append(rng.randrange(473, vocab_size))
            else:
                ids.append(vocab_size + rng.randrange(1000))
        lists.append(ids)
    return lists


def split_added_literals(text, literals):
    """HF-style pre-split of the raw text on the added tokens (CONTROL, UNKNOWN and USER_DEFINED pieces),
    leftmost-longest. sentencepiece treats literal CONTROL strings as text, and matches USER_DEFINED pieces
    only after U+0020 -> U+2581, so e.g. "\u2581 \u2581\u2581" is [139, 139] in HF but [141] in raw sentencepiece."""
    pattern = "|".join(re.escape(x) for x in sorted(literals, key=len, reverse=True))
    parts, pos = [], 0
    for m in re.finditer(pattern, text):
        parts.append(text[pos : m.start()])
        parts.append(literals[m.group(0)])
        pos = m.end()
    parts.append(text[pos:])
    return parts


def _user_defined_pieces(model_path):
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    with open(model_path, "rb") as f:
        proto.ParseFromString(f.read())
    return [p.piece for p in proto.pieces if p.type == sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("--texts", type=int, default=20000)
    ap.add_argument("--decodes", type=int, default=6000)
    args = ap.parse_args()

    import sentencepiece
    import tokenizers
    from tokenizers import Tokenizer

    model_path = os.path.join(args.cache, "tokenizer.model")
    json_path = os.path.join(args.cache, "tokenizer.json")
    for p in (model_path, json_path):
        if not os.path.exists(p):
            sys.exit(f"{p} missing: run Tests/Reference/fetch_gemma_tokenizer.sh (with transformers<5 installed)")
    sha = hashlib.sha256(open(model_path, "rb").read()).hexdigest()
    if sha != EXPECTED_SHA256:
        sys.exit(f"{model_path}: sha256 {sha} != expected {EXPECTED_SHA256}")
    try:
        import transformers

        transformers_version = transformers.__version__
    except ImportError:
        transformers_version = None

    hf = Tokenizer.from_file(json_path)
    sp = sentencepiece.SentencePieceProcessor(model_file=model_path)
    vocab_size = hf.get_vocab_size()
    user_defined = set(_user_defined_pieces(model_path))
    pieces = [sp.id_to_piece(i) for i in range(473, sp.get_piece_size())]
    added = {
        sp.id_to_piece(i): i
        for i in range(sp.get_piece_size())
        if sp.is_control(i) or sp.is_unknown(i) or sp.IdToPiece(i) in user_defined
    }

    rng = random.Random(args.seed)
    texts = make_texts(rng, pieces, args.texts)
    encodings = [e.ids for e in hf.encode_batch(texts, add_special_tokens=True)]

    # The §4.3 table must hold.
    for (text, ids), got in zip(SPEC_VECTORS, encodings):
        if got != ids:
            sys.exit(f"spec vector {text!r}: HF gives {got}, gemma2.md says {ids}")

    # sentencepiece must agree once the raw text is pre-split on the added tokens as HF does (gemma2.md §4.3
    # step 5). Without the pre-split it differs on literal special strings and literal U+2581 next to spaces.
    disagreements = 0
    raw_sp_differs = 0
    for text, ids in zip(texts, encodings):
        if [2] + sp.encode(text) != ids:
            raw_sp_differs += 1
        expected = [2]
        for part in split_added_literals(text, added):
            expected += [part] if isinstance(part, int) else sp.encode(part)
        if expected != ids:
            disagreements += 1
            if disagreements <= 5:
                print(f"sentencepiece disagrees on {text!r}: sp {expected} hf {ids}", file=sys.stderr)
    if disagreements:
        sys.exit(f"{disagreements} sentencepiece/HF disagreements")

    id_lists = make_id_lists(rng, vocab_size, args.decodes)
    decoded = [hf.decode(ids, skip_special_tokens=False) for ids in id_lists]
    decoded_skip = [hf.decode(ids, skip_special_tokens=True) for ids in id_lists]

    header = {
        "header": {
            "generator": "Tests/Reference/make_tokenizer_fixtures.py",
            "seed": args.seed,
            "tokenizer_sha256": sha,
            "tokenizer_source": "maxtext==0.2.5 maxtext/assets/tokenizers/tokenizer.gemma",
            "tokenizers_version": tokenizers.__version__,
            "sentencepiece_version": sentencepiece.__version__,
            "transformers_version": transformers_version,
            "python_version": sys.version.split()[0],
            "encode_cases": len(texts),
            "decode_cases": len(id_lists),
            "texts_where_unsplit_sentencepiece_differs": raw_sp_differs,
            "vocab_size": vocab_size,
            "notes": "encode: HF tokenizers encode(add_special_tokens=True) on tokenizer.json converted by "
            "transformers GemmaTokenizerFast(from_slow=True); sentencepiece agreed on every text after "
            "pre-splitting the raw text on CONTROL/UNKNOWN/USER_DEFINED pieces (leftmost-longest). decode: tokenizers decode with "
            "skip_special_tokens False (text) and True (text_skip).",
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
