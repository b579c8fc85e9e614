#!/usr/bin/env bash
# Every benchmark in bench/*.bench.ts, one after another (they measure, so never in parallel).
# Each prints progress, then one JSON line with its figures and ratio against a same-run baseline.
# `npm run bench -- quote` runs only the benchmarks whose file name contains "quote".
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
filter="${1:-}"
mkdir -p bench/out
for file in bench/*.bench.ts; do
  [[ -z "$filter" || "$file" == *"$filter"* ]] || continue
  echo "== $file"
  node --import tsx "$file"
done
