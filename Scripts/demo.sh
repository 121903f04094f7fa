#!/usr/bin/env bash
# Runs `steer demo` on the embedded demo model: installs missing system libraries, builds in release
# mode, and runs the whole SAE-TS method (see README). Extra arguments go to `steer demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh
swift build -c release --product steer
exec .build/release/steer demo "$@"
