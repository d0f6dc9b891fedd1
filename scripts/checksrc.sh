#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Refuses banned C functions (curl's list) and files without an SPDX line.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')
bad=$(grep -nHE '\b(sprintf|vsprintf|strcpy|strcat|gets|strtok|atoi|atol)\s*\(' $files || true)
if [ -n "$bad" ]; then
  echo "banned functions (use the bounded or checked forms):"; echo "$bad"; exit 1
fi
for f in $files; do
  head -n 2 "$f" | grep -q 'SPDX-License-Identifier' || { echo "$f: missing SPDX line"; exit 1; }
done
