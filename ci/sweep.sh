#!/usr/bin/env bash
# One shard of a seed sweep, for CI matrices and batch schedulers.
#
# Writes into $OUT: the JSON summary, and for each failing seed (up to
# $MAX_ARTIFACTS) the shrunk case (a script) and an HTML timeline of it,
# ready to upload as artifacts. Exits 1 if any seed failed.
#
# The shard comes from, in order:
#   SHARD and SHARDS                         (explicit)
#   JOB_COMPLETION_INDEX and SHARDS          (Kubernetes indexed Job)
#   AWS_BATCH_JOB_ARRAY_INDEX and SHARDS     (AWS Batch array job)
#   GitHub Actions: pass SHARD=${{ strategy.job-index }} SHARDS=${{ strategy.job-total }}
# and defaults to the whole range (0/1).
#
# Settings: SEEDS (default 0..100000), PROFILE (chaos), OUT (sweep-out),
# MAX_ARTIFACTS (10), THREADS (all cores), SHRINK_RUNS (3000).
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS="${SEEDS:-0..100000}"
PROFILE="${PROFILE:-chaos}"
OUT="${OUT:-sweep-out}"
MAX_ARTIFACTS="${MAX_ARTIFACTS:-10}"
SHRINK_RUNS="${SHRINK_RUNS:-3000}"
SHARDS="${SHARDS:-1}"
SHARD="${SHARD:-${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-0}}}"

case "$SHARD$SHARDS" in
  *[!0-9]*) echo "ci/sweep.sh: SHARD ($SHARD) and SHARDS ($SHARDS) must be numbers" >&2; exit 2 ;;
esac
if [ "$SHARD" -ge "$SHARDS" ]; then
  echo "ci/sweep.sh: SHARD $SHARD must be below SHARDS $SHARDS" >&2
  exit 2
fi

cargo build --release --locked -p sim
# Where cargo put it (CARGO_TARGET_DIR, relative to the repository, or target).
SIM="${CARGO_TARGET_DIR:-target}/release/sim"
mkdir -p "$OUT"
summary="$OUT/summary-$PROFILE-shard-$SHARD-of-$SHARDS.json"
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")

echo "sweep: seeds $SEEDS, profile $PROFILE, shard $SHARD/$SHARDS -> $summary"
status=0
"$SIM" run --seeds "$SEEDS" --profile "$PROFILE" --shard "$SHARD/$SHARDS" --json "${threads[@]}" > "$summary" || status=$?
if [ "$status" -ge 2 ]; then
  echo "ci/sweep.sh: the sweep could not run (exit $status)" >&2
  exit "$status"
fi

# Failing seeds are the "seed" fields of the summary's failures.
failing=$(grep -o '"seed": [0-9]*' "$summary" | grep -o '[0-9]*$' | head -n "$MAX_ARTIFACTS" || true)
for seed in $failing; do
  echo "seed $seed failed: shrinking"
  "$SIM" shrink --seed "$seed" --profile "$PROFILE" --max-runs "$SHRINK_RUNS" \
    --out "$OUT/seed-$seed.case" > "$OUT/seed-$seed.shrink.txt" || true
  if [ -f "$OUT/seed-$seed.case" ]; then
    "$SIM" replay --case "$OUT/seed-$seed.case" --html "$OUT/seed-$seed.html" > "$OUT/seed-$seed.trace.txt" --trace || true
  else
    "$SIM" replay --seed "$seed" --profile "$PROFILE" --html "$OUT/seed-$seed.html" > "$OUT/seed-$seed.trace.txt" --trace || true
  fi
done

grep -E '"(seeds|passed|failed|seeds_per_sec)"' "$summary" | tr -d ' ,' | tr '\n' ' '
echo
exit "$status"
