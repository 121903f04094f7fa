#!/usr/bin/env python3
"""Demo model recipe: a small genuine Gemma-2 checkpoint, JumpReLU SAEs on it, and task features.

WHAT: builds everything under Demo/ that `steer demo` runs on:
  Demo/model/        Gemma2ForCausalLM checkpoint (config.json, generation_config.json,
                     model.safetensors in bfloat16) + Gemma-style SentencePiece tokenizer files
  Demo/sae/layer_3/  Gemma Scope-format JumpReLU SAEs (params.npz) on the output of decoder layer 3
                     width_2k/... (the measuring SAE) and width_4k/... (the probe-direction SAE)
  Demo/tasks/        one JSON per concept: mechanically selected SAE features + CAA prompt sets
  Tests/Fixtures/demo/reference.{safetensors,json}   float32 reference logits of the checkpoint
  Demo/recipe/results.json                            every number quoted in Docs/DemoModel.md
Stages (in order): corpus, tokenizer, lm, eval, acts, sae, tasks. Each stage reads what the previous
ones wrote (the corpus and caches live in WORK, default /work/demo-data/work, never committed).

HOW TO RUN (from the repository root, on Debian with apt-get; no root needed):
  /work/venv-ref/bin/python Demo/recipe/train_demo.py                 # everything
  /work/venv-ref/bin/python Demo/recipe/train_demo.py --stages sae,tasks --work /tmp/w
Requirements: Demo/recipe/requirements.txt (python 3.11.7, torch 2.15.0 CPU, transformers 4.46.3,
tokenizers 0.20.3, sentencepiece 0.2.3, safetensors 0.8.0, numpy 2.4.6, protobuf 7.36.2), plus
`apt-get` and `dpkg` for the corpus and libreadline8 for the KJV extractor.

DETERMINISM: torch runs single-threaded with deterministic algorithms (results do not depend on
the machine's load); every random draw comes from a fixed seed (numpy PCG64 Generators for data
order, torch.manual_seed for initialisation); SentencePiece trains with one thread on a fixed line
order. Two runs on the same machine and library versions give the same files.

RUNTIME (measured on the 2-core shared build machine, see results.json "timings"): about 50 min
in total, most of it the language model (stage lm).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import DEFAULT_WORK, run_stages, set_determinism, update_results  # noqa: E402

STAGES = ["corpus", "tokenizer", "lm", "eval", "acts", "sae", "tasks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=DEFAULT_WORK, help="scratch directory (downloads, corpus, caches)")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of " + ",".join(STAGES))
    args = ap.parse_args()
    stages = args.stages.split(",")
    for s in stages:
        if s not in STAGES:
            ap.error(f"unknown stage {s}")
    os.makedirs(args.work, exist_ok=True)
    set_determinism(1)

    def run_stage(stage):
        if stage == "corpus":
            import corpus
            update_results("corpus", corpus.build_corpus(args.work))
        elif stage == "tokenizer":
            import tokenizer
            update_results("tokenizer", tokenizer.train_tokenizer(args.work))
        elif stage == "lm":
            import lm
            update_results("lm", lm.train_model(args.work, save_checkpoints=(300,)))
        elif stage == "eval":
            import lm
            update_results("eval", lm.evaluate_model(args.work))
        elif stage == "acts":
            import sae
            update_results("activations", sae.collect_activations(args.work))
        elif stage == "sae":
            import sae
            update_results("sae", sae.train_all(args.work))
        elif stage == "tasks":
            import tasks
            update_results("tasks", tasks.select_all(args.work))

    run_stages(STAGES, stages, run_stage)


if __name__ == "__main__":
    main()
