"""Cross-checks a `steer demo` report with the tasks' lexicons (issue #20).

For each task and strategy, the cell at the strategy's best scale (from the report's results.json) is read back
from the demo's store with `steer store export`, and the share of its completions that contain at least one
word of the task's lexicon (whole words, case-insensitive) is printed next to the mean number of matches. It
is a second opinion on the behaviour judge, computed on the same completions; it enters no verdict.

Usage: python3 Demo/gemma3-270m/recipe/lexicon_check.py STORE REPORT_DIR [--steer .build/release/steer]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("store")
parser.add_argument("report")
parser.add_argument("--steer", default=".build/release/steer")
parser.add_argument("--tasks", default="Demo/gemma3-270m/tasks")
args = parser.parse_args()

with open(os.path.join(args.report, "results.json")) as f:
    results = json.load(f)
print("task         strategy    scale  with a lexicon word  matches per completion")
with tempfile.TemporaryDirectory() as work:
    for summary in sorted(results["summaries"], key=lambda s: (s["task"], s["strategy"])):
        task, strategy, scale = summary["task"], summary["strategy"], summary["bestScale"]
        cell = next(c for c in results["cells"] if c["task"] == task and c["strategy"] == strategy and c["scale"] == scale)
        path = os.path.join(work, cell["generationsKey"] + ".json")
        done = subprocess.run(
            [args.steer, "store", "export", cell["generationsKey"], "--store", args.store, "--out", path],
            capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"steer store export failed for {task}/{strategy}: {done.stderr.strip()}")
        with open(path) as f:
            texts = json.load(f)["texts"]
        with open(os.path.join(args.tasks, task + ".json")) as f:
            lexicon = json.load(f)["lexicon"]
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, lexicon)) + r")\b", re.IGNORECASE)
        hits = [len(pattern.findall(text)) for text in texts]
        share = sum(1 for h in hits if h) / len(hits)
        print(f"{task:12} {strategy:10} {scale:6g}  {share:19.3f}  {sum(hits) / len(hits):22.2f}")
