#!/usr/bin/env bash
# The project's test command: installs missing system libraries, fetches the real Gemma tokenizer
# into .cache/ (not committed; see Tests/Reference/README.md), builds everything and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh
if [[ -x Tests/Reference/fetch_gemma_tokenizer.sh ]]; then Tests/Reference/fetch_gemma_tokenizer.sh; fi
swift build --build-tests
swift test --skip-build "$@"
