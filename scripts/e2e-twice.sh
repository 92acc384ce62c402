#!/usr/bin/env bash
# The end-to-end suite twice at the same time on this machine, as two
# independent vitest runs: each claims its own test slot (test/harness/slot.ts:
# its own namespace and link prefix, lab address block and ports), so they must
# not collide. Passes only when both runs pass. As root, so the namespace and
# lab tests run too (without root they skip, as in any run).
#
#   bash scripts/e2e-twice.sh [vitest filters/options, e.g. test/netns.test.ts]
#
# Each run's output is kept in a temporary directory, named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run -s build
logs=$(mktemp -d "${TMPDIR:-/tmp}/nm-e2e-twice.XXXXXX")
pids=()
for run in a b; do
  # No slot given: each run's global setup claims a free one.
  env -u NETMATRIX_TEST_SLOT npx vitest run --project e2e "$@" >"$logs/$run.log" 2>&1 &
  pids+=("$!")
done
failed=0
for i in 0 1; do
  run=$([ "$i" = 0 ] && echo a || echo b)
  if wait "${pids[$i]}"; then status=passed; else status=FAILED; failed=$((failed + 1)); fi
  echo "== run $run: $status ($(grep -o 'e2e test slot [0-9]*' "$logs/$run.log" | head -1))"
  grep -E '^\s+(Test Files|Tests)\s' "$logs/$run.log" || tail -20 "$logs/$run.log"
  if [ "$status" = FAILED ]; then grep -E '^ *(FAIL|×) ' "$logs/$run.log" | head -40 || true; fi
done
echo "logs: $logs"
echo "e2e-twice: $((2 - failed)) passed, $failed failed"
[ "$failed" = 0 ]
