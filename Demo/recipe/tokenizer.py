"""Stage 2: a Gemma-style SentencePiece BPE tokenizer trained on the training split.

Settings follow the real Gemma tokenizer (docs gemma2.md §4.1): BPE, byte fallback, identity
normaliser, no dummy prefix, no whitespace removal, split digits, whitespace-only pieces allowed,
pad/eos/bos/unk = 0/1/2/3, and user-defined pieces for chat markers and runs of newlines/spaces.
Trained single-threaded on the lines of the training documents (French repeats excluded).
Writes tokenizer.model and the HF files (tokenizer.json, tokenizer_config.json,
special_tokens_map.json) converted with transformers' GemmaTokenizerFast(from_slow=True) into
Demo/model/, then checks that the HF tokenizer and SentencePiece agree on every held-out document.
"""

import io
import json
import os
import shutil

import sentencepiece as spm
from transformers import GemmaTokenizerFast

from common import BOS, MODEL_DIR, log

VOCAB_SIZE = 8192
USER_DEFINED = (["<mask>", "<start_of_turn>", "<end_of_turn>"]
                + ["\n" * k for k in range(1, 9)]
                + ["\u2581" * k for k in range(2, 9)])
TOKENIZER_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json"]


def read_docs(work, split):
    with open(os.path.join(work, "corpus", f"{split}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_tokenizer(work):
    docs = [d for d in read_docs(work, "train") if d.get("repeat", 0) == 0]
    lines = [line for d in docs for line in d["text"].split("\n") if line]
    log(f"training SentencePiece on {len(lines)} lines")
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        character_coverage=0.9999,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        split_digits=True,
        split_by_whitespace=True,
        split_by_unicode_script=True,
        split_by_number=True,
        allow_whitespace_only_pieces=True,
        treat_whitespace_as_suffix=False,
        max_sentencepiece_length=16,
        max_sentence_length=16384,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=USER_DEFINED,
        num_threads=1,
        minloglevel=2,
    )
    os.makedirs(MODEL_DIR, exist_ok=True)
    model_path = os.path.join(MODEL_DIR, "tokenizer.model")
    with open(model_path, "wb") as f:
        f.write(buf.getvalue())
    tmp = os.path.join(work, "hf-tokenizer")
    shutil.rmtree(tmp, ignore_errors=True)
    GemmaTokenizerFast(vocab_file=model_path, from_slow=True).save_pretrained(tmp)
    for name in TOKENIZER_FILES[1:]:
        shutil.copy(os.path.join(tmp, name), os.path.join(MODEL_DIR, name))
    return check_tokenizer(work)


def load_tokenizers():
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    fast = GemmaTokenizerFast.from_pretrained(MODEL_DIR)
    return sp, fast


def check_tokenizer(work):
    sp, fast = load_tokenizers()
    assert sp.get_piece_size() == VOCAB_SIZE and len(fast) == VOCAB_SIZE
    assert [sp.id_to_piece(i) for i in range(4)] == ["<pad>", "<eos>", "<bos>", "<unk>"]
    held = read_docs(work, "heldout")
    mismatches = 0
    n_tok = n_chr = 0
    for d in held:
        ids = fast(d["text"], add_special_tokens=True)["input_ids"]
        ref = [BOS] + sp.encode(d["text"])
        mismatches += ids != ref
        n_tok += len(ref) - 1
        n_chr += len(d["text"])
    assert mismatches == 0, f"{mismatches} held-out documents tokenise differently in HF and SentencePiece"
    byte_ids = [i for i in range(VOCAB_SIZE) if sp.is_byte(i)]
    info = dict(vocab_size=VOCAB_SIZE, n_byte_pieces=len(byte_ids),
                byte_piece_ids=[min(byte_ids), max(byte_ids)],
                user_defined={p: sp.piece_to_id(p) for p in USER_DEFINED},
                heldout_chars_per_token=round(n_chr / n_tok, 3),
                hf_equals_sentencepiece_on_heldout_docs=len(held))
    log(f"tokenizer ok: {n_chr / n_tok:.2f} characters per token on held-out text")
    return info
