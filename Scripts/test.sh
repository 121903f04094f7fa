#!/usr/bin/env bash
# The project's test command: installs missing system libraries, fetches the real Gemma tokenizer
# and google/gemma-3-270m into .cache/ (not committed; see Tests/Reference/README.md), builds everything and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh
if [[ -x Tests/Reference/fetch_gemma_tokenizer.sh ]]; then Tests/Reference/fetch_gemma_tokenizer.sh; fi
# The real google/gemma-3-270m (Gemma Terms of Use: cached, never committed); its tests fail without it.
Scripts/fetch-gemma3-270m.sh >/dev/null
# Python readers that some tests drive (the store's lmdb reader, the gguf check); those tests skip with a
# message when the packages cannot be installed.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import lmdb, gguf, numpy" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check lmdb gguf numpy >/dev/null 2>&1 \
        || echo "note: could not pip-install lmdb/gguf; the Python interop tests will be skipped" >&2
fi
# Release mode: the numeric kernels need the optimizer, and the package sets no unsafe flags (it is meant to
# be depended on by version), so the tests are built optimised with -enable-testing for @testable imports.
build=(-c release -Xswiftc -enable-testing)
swift build "${build[@]}" --build-tests
swift test "${build[@]}" --skip-build "$@"
# Scale-out on a real scheduler: a private single-node Slurm on loopback runs a sharded effect
# measurement (Tests/Slurm/run.sh, about a minute); it says so and is skipped where Slurm cannot be
# installed or started. Runs with the full suite only (not when test.sh is given a --filter).
if [[ $# -eq 0 ]]; then STEER_BIN="$(swift build "${build[@]}" --show-bin-path)/steer" Tests/Slurm/run.sh; fi
