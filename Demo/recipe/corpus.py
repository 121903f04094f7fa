"""Stage 1: the training corpus, built from openly licensed Debian packages.

Downloads the pinned .deb files with `apt-get download` (no root needed), unpacks them with
`dpkg -x` under WORK/, normalises every source into plain-text documents, shuffles them with a
seeded numpy Generator and holds out HELDOUT_FRACTION of them. Writes WORK/corpus/{train,heldout}.jsonl
(one {"source","id","text"} object per line) and WORK/corpus/stats.json.

Sources (licences in Docs/DemoModel.md; each package's /usr/share/doc/<pkg>/copyright is copied to
WORK/corpus/licences/):
  fortunes, fortunes-min   fortune-cookie files; one document per cookie ('%' separators).
                           Skipped: ascii-art (pictures), ethnic (ethnic jokes).
  bible-kjv-text           King James Version, decompressed with the `bible` program of the
  (+ bible-kjv)            bible-kjv package (extracted, not installed; needs libreadline8).
                           One document per chapter: "Genesis 1" and then one verse per line.
  wordnet-base             WordNet 3.0 glosses as "lemma, lemma: gloss" lines; one document per
                           WORDNET_GROUP consecutive synsets of a data.<pos> file; only every
                           WORDNET_KEEP-th document is kept (WordNet would otherwise be half the corpus).
  debian-faq-fr            the Debian FAQ in French (plain-text edition); one document per
                           numbered section, wrapped lines re-flowed into paragraphs. The training
                           split is repeated FRENCH_REPEAT times (the only French source; small).
"""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess

from common import log, rng, sha256_file, write_json

# (package, version, sha256 of the .deb or None for architecture-specific packages)
PACKAGES = [
    ("fortunes", "1:1.99.1-7.3", "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"),
    ("fortunes-min", "1:1.99.1-7.3", "9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07"),
    ("bible-kjv-text", "4.38", "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a"),
    ("bible-kjv", "4.38", None),  # amd64 build: 75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d
    ("wordnet-base", "1:3.0-37", "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"),
    ("debian-faq-fr", "11.1", "e83cbcc28106fc35f6665a6b0c54c2bd66db481de409764ce35b715baca510df"),
]
# The decompressed KJV text is checked instead of the architecture-specific bible-kjv binary.
KJV_TEXT_SHA256 = None  # filled in after the first run
FORTUNE_SKIP = {"ascii-art", "ethnic"}
WORDNET_GROUP = 24
WORDNET_KEEP = 8
FRENCH_REPEAT = 2
HELDOUT_FRACTION = 0.02
CORPUS_SEED = 20241102

KJV_BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah",
    "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi",
    "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians",
    "Galatians", "Ephesians", "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians",
    "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter",
    "1 John", "2 John", "3 John", "Jude", "Revelation",
]


def deb_name(pkg, version):
    return f"{pkg}_{version.replace(':', '%3a')}_"


def download_and_extract(work):
    debs = os.path.join(work, "debs")
    root = os.path.join(work, "x")
    os.makedirs(debs, exist_ok=True)
    info = []
    for pkg, version, sha in PACKAGES:
        found = glob.glob(os.path.join(debs, deb_name(pkg, version) + "*.deb"))
        if not found:
            log(f"apt-get download {pkg}={version}")
            subprocess.run(["apt-get", "download", f"{pkg}={version}"], cwd=debs, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            found = glob.glob(os.path.join(debs, deb_name(pkg, version) + "*.deb"))
        assert len(found) == 1, (pkg, found)
        digest = sha256_file(found[0])
        if sha is not None and digest != sha:
            raise RuntimeError(f"{found[0]}: sha256 {digest} != pinned {sha}")
        dest = os.path.join(root, pkg)
        if not os.path.isdir(dest):
            os.makedirs(dest + ".tmp", exist_ok=True)
            subprocess.run(["dpkg", "-x", found[0], dest + ".tmp"], check=True)
            os.replace(dest + ".tmp", dest)
        info.append(dict(package=pkg, version=version, deb=os.path.basename(found[0]), sha256=digest))
    return root, info


# --------------------------------------------------------------------------------------------------
# Normalisers: each returns a list of (source, text) documents in a fixed order.
# --------------------------------------------------------------------------------------------------
def clean_lines(lines):
    """Tabs to spaces, leading/trailing whitespace stripped per line, outer blank lines dropped,
    runs of blank lines collapsed to one."""
    out = []
    for line in lines:
        line = line.replace("\t", " ").strip()
        line = re.sub(r" {2,}", " ", line)
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def fortune_docs(root):
    docs = []
    dirs = [os.path.join(root, "fortunes-min", "usr/share/games/fortunes"),
            os.path.join(root, "fortunes", "usr/share/games/fortunes")]
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*"))):
            name = os.path.basename(path)
            if "." in name or name in FORTUNE_SKIP:
                continue  # *.dat indexes, *.u8 symlinks
            with open(path, encoding="utf-8") as f:
                raw = f.read()
            for cookie in re.split(r"^%\n", raw, flags=re.M):
                text = clean_lines(cookie.split("\n"))
                if len(text) >= 20:
                    docs.append((f"fortunes/{name}", text))
    return docs


def kjv_text(root, work):
    out = os.path.join(work, "kjv.txt")
    if not os.path.exists(out):
        exe = os.path.join(root, "bible-kjv", "usr/bin/bible")
        data = os.path.join(root, "bible-kjv-text", "usr/lib")
        with open(out + ".tmp", "w") as f:
            subprocess.run([exe, "-f", "-p", data, "gen1:1-rev22:21"], check=True, stdout=f)
        os.replace(out + ".tmp", out)
    return out


def bible_docs(root, work):
    path = kjv_text(root, work)
    digest = sha256_file(path)
    docs = []
    book_idx, cur_abbrev, cur_chapter, verses = -1, None, None, []

    def flush():
        if verses:
            docs.append(("bible-kjv", f"{KJV_BOOKS[book_idx]} {cur_chapter}\n" + "\n".join(verses)))

    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$", line.rstrip("\n"))
            assert m, line
            abbrev, chapter, text = m.group(1), int(m.group(2)), m.group(4).strip()
            if abbrev != cur_abbrev or chapter != cur_chapter:
                flush()
                verses = []
                if abbrev != cur_abbrev:
                    book_idx += 1
                    cur_abbrev = abbrev
                cur_chapter = chapter
            verses.append(text)
    flush()
    assert book_idx == len(KJV_BOOKS) - 1 and len(docs) == 1189, (book_idx, len(docs))
    return docs, digest


def wordnet_docs(root):
    docs = []
    base = os.path.join(root, "wordnet-base", "usr/share/wordnet")
    for pos in ["noun", "verb", "adj", "adv"]:
        entries = []
        with open(os.path.join(base, f"data.{pos}"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # licence header
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                n_words = int(fields[3], 16)
                words = []
                for k in range(n_words):
                    w = fields[4 + 2 * k].replace("_", " ")
                    w = re.sub(r"\((a|p|ip)\)$", "", w)
                    if w not in words:
                        words.append(w)
                gloss = gloss.strip()
                entries.append(f"{', '.join(words)}: {gloss}")
        for g in range(0, len(entries), WORDNET_GROUP):
            if (g // WORDNET_GROUP) % WORDNET_KEEP == 0:
                docs.append((f"wordnet/{pos}", "\n".join(entries[g:g + WORDNET_GROUP])))
    return docs


def faq_fr_docs(root):
    path = os.path.join(root, "debian-faq-fr", "usr/share/doc/debian/FAQ/debian-faq.fr.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        # No-break spaces (French typography: "mot ?") become plain spaces.
        lines = f.read().replace("\u00a0", " ").replace("\u202f", " ").split("\n")
    heading = re.compile(r"^(\d+\.\d+(\.\d+)*\. \S|Chapitre \d+\. )")
    # The body starts at the first "1.1. " at column 0 (table-of-contents entries are indented).
    starts = [i for i, l in enumerate(lines) if l.startswith("1.1. ")]
    lines = lines[starts[0]:]
    sections, cur = [], []
    for line in lines:
        if heading.match(line) and cur:
            sections.append(cur)
            cur = []
        cur.append(line)
    sections.append(cur)
    docs = []
    for sec in sections:
        # Re-flow: paragraphs are separated by blank lines; a heading may wrap over several
        # lines at column 0 until the first blank line.
        paras, para = [], []
        for line in sec:
            if line.strip() == "":
                if para:
                    paras.append(" ".join(para))
                    para = []
            else:
                para.append(line.strip())
        if para:
            paras.append(" ".join(para))
        text = "\n".join(re.sub(r" {2,}", " ", p) for p in paras)
        if len(text) >= 40:
            docs.append(("debian-faq-fr", text))
    assert len(docs) > 100, len(docs)
    return docs


def build_corpus(work):
    root, packages = download_and_extract(work)
    out = os.path.join(work, "corpus")
    os.makedirs(out, exist_ok=True)
    lic = os.path.join(out, "licences")
    os.makedirs(lic, exist_ok=True)
    for p in packages:
        src = os.path.join(root, p["package"], "usr/share/doc", p["package"], "copyright")
        shutil.copy(src, os.path.join(lic, p["package"] + ".copyright"))

    docs = fortune_docs(root)
    bible, kjv_sha = bible_docs(root, work)
    docs += bible
    docs += wordnet_docs(root)
    docs += faq_fr_docs(root)
    log(f"{len(docs)} documents before the split")

    g = rng(CORPUS_SEED)
    order = g.permutation(len(docs))
    n_held = int(round(HELDOUT_FRACTION * len(docs)))
    held_idx = set(order[:n_held].tolist())
    train, held = [], []
    for rank, i in enumerate(order.tolist()):
        src, text = docs[i]
        rec = dict(source=src, id=i, text=text)
        (held if i in held_idx else train).append(rec)
    # French repeats: appended copies, then one more seeded shuffle of the training list.
    extra = [dict(r, repeat=k) for k in range(1, FRENCH_REPEAT) for r in train
             if r["source"] == "debian-faq-fr"]
    train = train + extra
    perm = rng(CORPUS_SEED + 1).permutation(len(train))
    train = [train[i] for i in perm.tolist()]

    for name, recs in [("train", train), ("heldout", held)]:
        with open(os.path.join(out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    def stats(recs):
        by = {}
        for r in recs:
            key = r["source"].split("/")[0]
            s = by.setdefault(key, dict(documents=0, characters=0, words=0))
            s["documents"] += 1
            s["characters"] += len(r["text"])
            s["words"] += len(r["text"].split())
        return by

    st = dict(packages=packages, kjv_text_sha256=kjv_sha, seed=CORPUS_SEED,
              heldout_fraction=HELDOUT_FRACTION, french_repeat=FRENCH_REPEAT,
              wordnet_group=WORDNET_GROUP, wordnet_keep=WORDNET_KEEP,
              fortune_files_skipped=sorted(FORTUNE_SKIP),
              train=stats(train), heldout=stats(held))
    write_json(os.path.join(out, "stats.json"), st)
    return st
