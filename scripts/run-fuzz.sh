#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target for a bounded time from the committed seeds.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
cd "$(dirname "$0")/.."
for t in http1 apidef; do
  corpus=$(mktemp -d)
  cp tests/fuzz/seeds/$t/* "$corpus"/
  echo "fuzz_$t: ${seconds}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$build/" "$corpus" 2>&1 | tail -n 4
  rm -rf "$corpus"
done
