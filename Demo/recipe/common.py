"""Shared settings and helpers for the demo-model recipe (see train_demo.py for the overview)."""

import hashlib
import json
import os
import time

import numpy as np
import torch

# --------------------------------------------------------------------------------------------------
# Paths. REPO is the repository root (this file lives in Demo/recipe/). WORK holds downloads,
# extracted packages, the normalised corpus, token arrays and activation caches: nothing in it is
# committed, and every stage can rebuild it.
# --------------------------------------------------------------------------------------------------
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_WORK = os.environ.get("DEMO_WORK", "/work/demo-data/work")
MODEL_DIR = os.path.join(REPO, "Demo", "model")
SAE_DIR = os.path.join(REPO, "Demo", "sae")
TASK_DIR = os.path.join(REPO, "Demo", "tasks")
FIXTURE_DIR = os.path.join(REPO, "Tests", "Fixtures", "demo")
RESULTS_PATH = os.path.join(REPO, "Demo", "recipe", "results.json")

# Special ids (Gemma convention).
PAD, EOS, BOS, UNK = 0, 1, 2, 3

# The residual-stream site the SAEs read: output of decoder layer SAE_LAYER (0-based), i.e.
# HF hidden_states[SAE_LAYER + 1], TransformerLens blocks.3.hook_resid_post.
SAE_LAYER = 3


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def set_determinism(threads=1):
    """Single-threaded, deterministic torch. One thread also makes the results independent of the
    machine's load and of the thread count (multi-threaded BLAS reductions may reorder sums)."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def update_results(section, value, path=RESULTS_PATH):
    """Merge one section into a results file (default Demo/recipe/results.json, quoted in Docs/DemoModel.md)."""
    res = read_json(path, {})
    res[section] = value
    write_json(path, res)


def run_stages(all_stages, selected, run_stage, results_path=RESULTS_PATH):
    """Runs the `selected` stages in the order of `all_stages`, each through `run_stage(name)`, logging its
    start and end and recording its wall time under "timings" in `results_path` as soon as it ends."""
    timings = read_json(results_path, {}).get("timings", {})
    for stage in all_stages:
        if stage not in selected:
            continue
        t0 = time.time()
        log(f"=== stage {stage}")
        run_stage(stage)
        timings[stage] = round(time.time() - t0, 1)
        update_results("timings", timings, results_path)
        log(f"=== stage {stage} done in {timings[stage]:.0f} s")


def rng(seed):
    return np.random.Generator(np.random.PCG64(seed))
