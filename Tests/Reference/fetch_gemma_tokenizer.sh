#!/usr/bin/env bash
# Fetches the real Gemma tokenizer (SentencePiece model) into a cache outside git and, when
# transformers<5 is available, converts it to an HF tokenizer.json next to it.
#
# The tokenizer ships inside the PyPI wheel maxtext==0.2.5 as maxtext/assets/tokenizers/tokenizer.gemma
# (4,241,003 bytes, sha256 below). It is covered by the Gemma Terms of Use: never commit it.
# The wheel is downloaded with --python-version 3.12 because it declares Requires-Python >=3.12 (it is
# pure Python, and only one file is extracted from it).
#
# Output: ${STEER_CACHE:-<repo>/.cache}/gemma-tokenizer/{tokenizer.model,tokenizer.json}
# Idempotent: does nothing when tokenizer.model has the right hash and tokenizer.json exists
# (or cannot be produced because transformers<5 is missing).
#
# Environment:
#   STEER_CACHE   cache root (default <repo>/.cache)
#   PYTHON        python interpreter (default python3)
#   STEER_NO_PIP  set to 1 to never pip-install the converter (then tokenizer.json needs transformers<5 in
#                 $PYTHON); by default it is installed into ${STEER_CACHE}/tokenizer-venv when missing
set -euo pipefail

EXPECTED_SHA256="61a7b147390c64585d6c3543dd6fc636906c9af3865a5548f27f31aee1d4c8e2"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${STEER_CACHE:-$REPO_ROOT/.cache}"
DEST="$CACHE_ROOT/gemma-tokenizer"
MODEL="$DEST/tokenizer.model"
JSON="$DEST/tokenizer.json"
PY="${PYTHON:-python3}"

sha256_of() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

mkdir -p "$DEST"

if [[ -f "$MODEL" && "$(sha256_of "$MODEL")" == "$EXPECTED_SHA256" ]]; then
    echo "fetch_gemma_tokenizer: $MODEL present, sha256 ok"
else
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    echo "fetch_gemma_tokenizer: downloading maxtext==0.2.5 wheel"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        maxtext==0.2.5 -d "$TMP"
    WHEEL="$(ls "$TMP"/maxtext-0.2.5-*.whl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$WHEEL" ]]; then
        echo "fetch_gemma_tokenizer: ERROR: pip did not produce a maxtext-0.2.5 wheel in $TMP" >&2
        exit 1
    fi
    "$PY" - "$WHEEL" "$TMP/tokenizer.model" <<'PYEOF'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read("maxtext/assets/tokenizers/tokenizer.gemma"))
PYEOF
    GOT="$(sha256_of "$TMP/tokenizer.model")"
    if [[ "$GOT" != "$EXPECTED_SHA256" ]]; then
        echo "fetch_gemma_tokenizer: ERROR: sha256 mismatch for tokenizer.gemma" >&2
        echo "  expected $EXPECTED_SHA256" >&2
        echo "  got      $GOT" >&2
        exit 1
    fi
    mv "$TMP/tokenizer.model" "$MODEL"
    rm -f "$JSON"  # a JSON converted from a different model is stale
    echo "fetch_gemma_tokenizer: wrote $MODEL"
fi

if [[ -f "$JSON" ]]; then
    echo "fetch_gemma_tokenizer: $JSON present"
    exit 0
fi

# The converter needs transformers<5 (5.x silently builds an empty vocab from a SentencePiece file),
# sentencepiece and protobuf. Use $PY when it has them; otherwise install them into a venv in the cache.
has_converter() {
    "$1" -c 'import sys, transformers, sentencepiece, tokenizers, google.protobuf
sys.exit(0 if int(transformers.__version__.split(".")[0]) < 5 else 1)' 2>/dev/null
}

CONVERT_PY=""
if has_converter "$PY"; then
    CONVERT_PY="$PY"
elif [[ "${STEER_NO_PIP:-0}" != "1" ]]; then
    VENV="$CACHE_ROOT/tokenizer-venv"
    echo "fetch_gemma_tokenizer: installing transformers<5, tokenizers, sentencepiece, protobuf into $VENV"
    if { [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"; } \
        && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "transformers>=4.46,<5" tokenizers sentencepiece protobuf \
        && has_converter "$VENV/bin/python"; then
        CONVERT_PY="$VENV/bin/python"
    fi
fi

if [[ -z "$CONVERT_PY" ]]; then
    echo "fetch_gemma_tokenizer: transformers<5 (with sentencepiece, tokenizers, protobuf) is not available;"
    echo "  only tokenizer.model is cached, so the tokenizer.json tests will be skipped."
    echo "  To enable them: $PY -m pip install sentencepiece tokenizers 'transformers<5' protobuf"
    exit 0
fi

TRANSFORMERS_VERBOSITY=error "$CONVERT_PY" - "$MODEL" "$DEST" <<'PYEOF'
import os, sys, tempfile
import transformers
from transformers import GemmaTokenizerFast
model, dest = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    tok = GemmaTokenizerFast(vocab_file=model, from_slow=True)
    tok.save_pretrained(tmp)
    os.replace(os.path.join(tmp, "tokenizer.json"), os.path.join(dest, "tokenizer.json"))
print(f"fetch_gemma_tokenizer: converted with transformers {transformers.__version__}")
PYEOF
echo "fetch_gemma_tokenizer: wrote $JSON"
