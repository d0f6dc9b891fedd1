#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target for a bounded time from the committed seeds; fails on any finding.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
cd "$(dirname "$0")/.."
status=0
# Undefined behaviour must stop the run, not scroll past.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
for t in http1 apidef jwt analytics jsonschema template h2; do
  corpus=$(mktemp -d)
  log=$(mktemp)
  cp tests/fuzz/seeds/$t/* "$corpus"/
  echo "fuzz_$t: ${seconds}s"
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$build/" "$corpus" >"$log" 2>&1; then
    grep -E 'stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" || true
  else
    echo "fuzz_$t FAILED:"; grep -vE '^#[0-9]+' "$log" | tail -n 60
    status=1
  fi
  rm -rf "$corpus" "$log"
done
exit $status
