#!/usr/bin/env bash
# The whole test suite, against real PostgreSQL, Redis and NATS servers that each test file
# starts on loopback (test/harness), plus a chosen set of files again on a Citus cluster
# (test/citus/*.citus.test.ts). Missing Debian packages are installed first when we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/install-services.sh
# Citus, for the test files in test/citus (built once per machine; see docs/scaling.md). Where it
# cannot be had (no FENQI_CITUS_SOURCE, no network) those files skip with the installer's reason.
citus_rc=0
citus_err="$(bash scripts/install-citus.sh 2>&1 >/dev/null)" || citus_rc=$?
if [ "$citus_rc" -eq 3 ]; then
  export FENQI_CITUS_UNAVAILABLE="${citus_err##*citus: unavailable: }"
  echo "Citus unavailable, its tests will be skipped: $FENQI_CITUS_UNAVAILABLE"
elif [ "$citus_rc" -ne 0 ]; then
  echo "$citus_err" >&2
  echo "scripts/install-citus.sh failed" >&2
  exit 1
fi
npx biome check . >/dev/null 2>&1 || { npx biome check . 2>&1 | tail -40; echo "lint failed (npm run lint)"; exit 1; }
npx tsc --noEmit
# Each file runs in its own process; two at a time on a 2-core machine. The longest files go first
# (measured in CI; they start clusters or run a sale), so the two lanes end together instead of one
# long file running alone at the end.
LONGEST_FIRST='^test/(ops/drills|citus/|redis-cluster/|settlement/month|flash/|web/|debit/auto-debit|notify/notifier|lending/workload|api/fuzz|cob/|ops/|foundation/(repo-paths|embedded)|risk/parallel-train)'
mapfile -t all_files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
mapfile -t files < <(printf '%s\n' "${all_files[@]}" | grep -E "$LONGEST_FIRST"; printf '%s\n' "${all_files[@]}" | grep -vE "$LONGEST_FIRST")
run_tests() {
  node --import tsx --test --test-concurrency="${FENQI_TEST_CONCURRENCY:-2}" \
    --test-timeout="${FENQI_TEST_TIMEOUT_MS:-300000}" --test-reporter=spec "$@"
}
if [ "$#" -gt 0 ]; then
  run_tests "$@"
  exit
fi
# The matrices are files of their own in the same run: test/citus (a Citus cluster) and
# test/redis-cluster (the cache contract and the flash Redis fault test on a Redis Cluster).
run_tests "${files[@]}"
