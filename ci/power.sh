#!/usr/bin/env bash
# The harness's power: with one Raft rule broken, does the simulator notice?
#
# power/NN-name.patch is a set of hand-written rule breaks (see
# power/README.md), each a small patch with a header naming the rule it
# breaks (`# Rule:`), the property expected to catch it (`# Expect:`) and the
# corpus case that guards it, if any (`# Guard:`, `-` for none). For each
# patch (all of them, or those named on the command line, by file or by name
# such as `06` or `06-commit-earlier-term-by-counting`) this script:
#
#   1. extracts HEAD (`git archive`, a clean checkout: uncommitted changes to
#      the code are not measured; the patches themselves are read from the
#      working tree) into a scratch folder and applies the patch there;
#   2. builds `sim` in release, with one CARGO_TARGET_DIR under the scratch
#      folder shared by all patches (the scratch sources keep their path and
#      each patch is reversed after use, so each build is incremental);
#   3. finds the lowest failing seed of the default profile in 0..N
#      (N = 10000 unless --seeds N), sweeping in chunks (0..250, 250..1000,
#      1000..2500, 2500..5000, 5000..10000, then doubling) and taking the
#      lowest failing seed of the first chunk that has one: every chunk runs
#      to its end, so the answer does not depend on thread timing. It
#      reports the property that caught the break and the CPU seconds
#      (user + system) the sweep took;
#   4. replays the regression corpus (`sim corpus`) and reports which cases
#      now fail, each with why: the property its run now breaks (from the
#      case's own replay), or `milestone` when the run breaks nothing but no
#      longer reaches the case's scenario. A guarding case must fail with a
#      violation.
#
# It prints one table row per patch:
#   patch | lowest failing seed | property | cpu s | corpus cases failing
# and exits 1 if a patch does not apply, does not build, is not caught within
# N seeds, or its guarding case does not fail with a violation; 2 on bad
# usage.
#
# Optional header fields: `# Seeds: N` widens the bound for that patch
# (a break the sweep reaches only past 10000); `# Profile: NAME` sweeps that profile instead of
# the default (e.g. `reconfig` for membership breaks); `# Test: PACKAGE FILTER` names unit tests
# (`cargo test -p PACKAGE -- FILTER`) that must fail with the break applied;
# `# Sweep: unreachable (why)` marks a break no execution of the
# implementation can observe (another rule masks it; the header says why):
# its sweep still runs, and not catching it is then expected, but such a
# break must name a Test that guards it. A marked break that the sweep does
# catch is reported (the mark is stale).
#
# Usage:
#   ci/power.sh [--seeds N] [--threads N] [PATCH...]
#   ci/power.sh --check [PATCH...]
#   ci/power.sh --mutants [CARGO-MUTANTS ARGS...]
#
#   --check       only check that every patch applies cleanly to HEAD and that
#                 its header names a rule, an expected property and an existing
#                 guarding case (no build; a second or two); exits 0 or 1
#   --seeds N     the bound: sweep seeds 0..N (default 10000)
#   --threads N   worker threads for the sweeps and jobs for cargo (default:
#                 all cores)
#   --mutants     mutation testing instead: `cargo mutants` over raft-core,
#                 each mutant judged by a short default sweep of the simulator
#                 (crates/raft-core/tests/mutants_sweep.rs, MUTANTS_SEEDS
#                 seeds, 2000 by default; configured in .cargo/mutants.toml);
#                 the other arguments go to cargo mutants (e.g. -f
#                 crates/raft-core/src/quorum.rs, --shard 1/8). Needs
#                 `cargo install cargo-mutants`; hours for all of raft-core,
#                 so a nightly job, not part of ci/test.sh. Results in
#                 mutants.out/ (caught, missed, unviable, timeout).
#
# POWER_TARGET_DIR=DIR builds into DIR instead of a target folder under the
# scratch area, and keeps it (third-party crates are then built only once
# across runs). The scratch folder is removed on exit, whatever happens.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

usage() {
  sed -n '/^# Usage:/,/^# POWER_TARGET_DIR/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

if [ "${1:-}" = "--mutants" ]; then
  shift
  command -v cargo-mutants >/dev/null 2>&1 || {
    echo "ci/power.sh: cargo-mutants is not installed: cargo install cargo-mutants" >&2
    exit 2
  }
  exec cargo mutants --package raft-core "$@"
fi

check_only=0
seeds=10000
threads=""
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check_only=1 ;;
    --seeds)
      [ $# -ge 2 ] || usage
      seeds="$2"
      shift
      ;;
    --threads)
      [ $# -ge 2 ] || usage
      threads="$2"
      shift
      ;;
    -h | --help) usage ;;
    -*) echo "ci/power.sh: unknown option $1" >&2; usage ;;
    *) names+=("$1") ;;
  esac
  shift
done
case "$seeds" in '' | *[!0-9]*) echo "ci/power.sh: --seeds takes a number" >&2; exit 2 ;; esac
case "$threads" in *[!0-9]*) echo "ci/power.sh: --threads takes a number" >&2; exit 2 ;; esac
[ "$seeds" -gt 0 ] || { echo "ci/power.sh: --seeds must be at least 1" >&2; exit 2; }

# The patches to measure, as absolute paths, in name order.
patches=()
if [ ${#names[@]} -eq 0 ]; then
  for p in "$ROOT"/power/*.patch; do
    if [ -e "$p" ]; then patches+=("$p"); fi
  done
else
  for n in "${names[@]}"; do
    if [ -f "$n" ]; then
      patches+=("$(cd "$(dirname "$n")" && pwd)/$(basename "$n")")
      continue
    fi
    n="${n%.patch}"
    matches=()
    for p in "$ROOT"/power/"$n".patch "$ROOT"/power/"$n"-*.patch; do
      if [ -e "$p" ]; then matches+=("$p"); fi
    done
    if [ ${#matches[@]} -ne 1 ]; then
      echo "ci/power.sh: '$n' names ${#matches[@]} patches in power/ (want exactly one)" >&2
      exit 2
    fi
    patches+=("${matches[0]}")
  done
fi
if [ ${#patches[@]} -eq 0 ]; then
  echo "ci/power.sh: no patches in power/" >&2
  exit 2
fi

# A header field of a patch: the text after `# Field:` on its first line.
field() {
  sed -n "/^diff --git/q; s/^# $2: *//p" "$1" | head -n 1
}

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/power.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM
SRC="$SCRATCH/src"

# A clean checkout of HEAD. It gets a repository of its own, so `git apply`
# patches exactly this folder even if the scratch area lies inside another
# repository.
extract() {
  rm -rf "$SRC"
  mkdir -p "$SRC"
  git -C "$ROOT" archive HEAD | tar -x -C "$SRC"
  git -C "$SRC" init -q
}
extract

status=0

# --- --check: every patch applies and its header is complete -----------------
if [ "$check_only" = 1 ]; then
  for p in "${patches[@]}"; do
    name="$(basename "$p" .patch)"
    problems=()
    if ! out="$(git -C "$SRC" apply --check "$p" 2>&1)"; then
      problems+=("does not apply: $(printf '%s' "$out" | head -n 1)")
    fi
    [ -n "$(field "$p" Rule)" ] || problems+=("no '# Rule:' line")
    [ -n "$(field "$p" Expect)" ] || problems+=("no '# Expect:' line")
    guard="$(field "$p" Guard)"
    if [ -n "$(field "$p" Sweep)" ]; then
      case "$(field "$p" Sweep)" in
        unreachable*) [ -n "$(field "$p" Test)" ] || problems+=("unreachable, but no '# Test:' guards it") ;;
        *) problems+=("'# Sweep:' takes 'unreachable (why)'") ;;
      esac
    fi
    test_spec="$(field "$p" Test)"
    if [ -n "$test_spec" ] && [ "$(printf '%s\n' "$test_spec" | wc -w)" -ne 2 ]; then
      problems+=("'# Test:' takes PACKAGE FILTER")
    fi
    if [ -z "$guard" ]; then
      problems+=("no '# Guard:' line (write '-' for none)")
    elif [ "$guard" != "-" ] && [ ! -e "$SRC/sim-runs/$guard.case" ] && [ ! -e "$SRC/sim-runs/$guard.json" ]; then
      problems+=("guarding case '$guard' is not in sim-runs/")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
      echo "ok   $name"
    else
      status=1
      for why in "${problems[@]}"; do echo "FAIL $name: $why"; done
    fi
  done
  echo "${#patches[@]} patches checked against HEAD"
  exit "$status"
fi

# --- the measurement ----------------------------------------------------------
export CARGO_TARGET_DIR="${POWER_TARGET_DIR:-$SCRATCH/target}"
SIM="$CARGO_TARGET_DIR/release/sim"
cargo_jobs=()
sim_threads=()
if [ -n "$threads" ]; then
  cargo_jobs=(-j "$threads")
  sim_threads=(--threads "$threads")
fi

# Chunk ends: 250, 1000, 2500, 5000, 10000, then doubling, up to bound $1.
chunks_to() {
  chunk_ends=()
  local e
  for e in 250 1000 2500 5000 10000; do
    if [ "$e" -lt "$1" ]; then chunk_ends+=("$e"); fi
  done
  e=20000
  while [ "$e" -lt "$1" ]; do
    chunk_ends+=("$e")
    e=$((e * 2))
  done
  chunk_ends+=("$1")
}

# Sums the user and system seconds `time` wrote (TIMEFORMAT below) to $1.
cpu_of() { awk '{ s += $1 + $2 } END { printf "%.1f", s }' "$1"; }
TIMEFORMAT='%3U %3S'

rows=()
started=$SECONDS
for p in "${patches[@]}"; do
  name="$(basename "$p" .patch)"
  guard="$(field "$p" Guard)"
  if [ "$guard" = "-" ]; then guard=""; fi
  unreachable=""
  case "$(field "$p" Sweep)" in unreachable*) unreachable=1 ;; esac
  test_spec="$(field "$p" Test)"
  # A patch may ask for a wider bound (`# Seeds: N`) than --seeds gives.
  bound="$(field "$p" Seeds)"
  case "$bound" in '' | *[!0-9]*) bound=$seeds ;; esac
  if [ "$bound" -lt "$seeds" ]; then bound=$seeds; fi
  chunks_to "$bound"
  profile_args=()
  profile="$(field "$p" Profile)"
  if [ -n "$profile" ]; then profile_args=(--profile "$profile"); fi
  log="$SCRATCH/$name"
  echo "== $name" >&2

  if ! git -C "$SRC" apply "$p" 2>"$log.apply"; then
    sed 's/^/   /' "$log.apply" >&2
    rows+=("$name | - | does not apply | - | -")
    status=1
    continue
  fi

  build_started=$SECONDS
  if ! (cd "$SRC" && cargo build --release --locked -p sim "${cargo_jobs[@]}") >"$log.build" 2>&1; then
    tail -n 30 "$log.build" | sed 's/^/   /' >&2
    rows+=("$name | - | does not build | - | -")
    status=1
    git -C "$SRC" apply -R "$p" 2>/dev/null || extract
    continue
  fi
  echo "   built in $((SECONDS - build_started))s" >&2

  # The lowest failing seed: the first chunk with a failure, its lowest seed
  # (the summary lists failures by seed).
  seed="" property="" sweep_error=""
  : >"$log.cpu"
  from=0
  for to in "${chunk_ends[@]}"; do
    rc=0
    { time "$SIM" run --seeds "$from..$to" "${profile_args[@]}" --json "${sim_threads[@]}" >"$log.json" 2>"$log.sweep"; } 2>>"$log.cpu" || rc=$?
    if [ "$rc" -ge 2 ]; then
      sweep_error="sweep exited $rc on $from..$to"
      tail -n 5 "$log.sweep" | sed 's/^/   /' >&2
      break
    fi
    if [ "$rc" = 1 ]; then
      seed="$(grep -m 1 -o '"seed": [0-9]*' "$log.json" | grep -o '[0-9]*$' || true)"
      property="$(grep -m 1 -o '"invariant": "[^"]*"' "$log.json" | sed 's/.*: "//; s/"$//' || true)"
      if [ -z "$seed" ]; then
        sweep_error="sweep of $from..$to failed but lists no failing seed"
      fi
      break
    fi
    from="$to"
  done
  cpu="$(cpu_of "$log.cpu")"

  # The corpus: every case that now fails, with why. `sim corpus` checks a
  # case's milestones before its verdict, so a case whose run breaks a
  # property may be reported as a missed milestone; the case's own replay
  # gives the verdict.
  (cd "$SRC" && "$SIM" corpus --dir sim-runs) >"$log.corpus" 2>&1 || true
  failing=()
  guard_why=""
  while IFS= read -r line; do
    case "$line" in
      "FAIL "*) ;;
      *) continue ;;
    esac
    case_path="${line#FAIL }"
    case_name="$(basename "$case_path")"
    case_name="${case_name%.*}"
    (cd "$SRC" && "$SIM" replay --case "$case_path" --json) >"$log.replay" 2>&1 || true
    why="$(grep -m 1 -o '"property": "[^"]*"' "$log.replay" | sed 's/.*: "//; s/"$//' || true)"
    if [ -z "$why" ]; then
      if grep -q '"kind": "panic"' "$log.replay"; then why="panic"; else why="milestone"; fi
    fi
    failing+=("$case_name [$why]")
    if [ "$case_name" = "$guard" ]; then guard_why="$why"; fi
  done <"$log.corpus"
  corpus="-"
  if [ ${#failing[@]} -gt 0 ]; then
    corpus="$(printf '%s, ' "${failing[@]}")"
    corpus="${corpus%, }"
  fi
  # A guarding case must fail, and by a violation: a case that merely no
  # longer reaches its scenario guards nothing.
  if [ -n "$guard" ] && { [ -z "$guard_why" ] || [ "$guard_why" = "milestone" ]; }; then
    corpus="$corpus; GUARD $guard DOES NOT CATCH IT"
    status=1
  fi

  # The unit tests named by `# Test:` must fail (not merely not build).
  if [ -n "$test_spec" ]; then
    read -r test_pkg test_filter <<<"$test_spec"
    (cd "$SRC" && cargo test --locked -p "$test_pkg" "${cargo_jobs[@]}" -- "$test_filter") >"$log.test" 2>&1 || true
    if grep -q '^test result: FAILED' "$log.test"; then
      test_note="test $test_filter fails"
    else
      tail -n 5 "$log.test" | sed 's/^/   /' >&2
      test_note="TEST $test_filter DOES NOT CATCH IT"
      status=1
    fi
    if [ "$corpus" = "-" ]; then corpus="$test_note"; else corpus="$corpus; $test_note"; fi
  fi

  if [ -n "$sweep_error" ]; then
    rows+=("$name | - | $sweep_error | $cpu | $corpus")
    status=1
  elif [ -z "$seed" ] && [ -n "$unreachable" ]; then
    rows+=("$name | unreachable: not caught in 0..$bound (expected) | - | $cpu | $corpus")
  elif [ -z "$seed" ]; then
    rows+=("$name | not caught in 0..$bound | - | $cpu | $corpus")
    status=1
  elif [ -n "$unreachable" ]; then
    rows+=("$name | $seed (MARKED UNREACHABLE) | $property | $cpu | $corpus")
    status=1
  else
    rows+=("$name | $seed | $property | $cpu | $corpus")
  fi
  echo "   ${rows[${#rows[@]} - 1]}" >&2

  if ! git -C "$SRC" apply -R "$p" 2>/dev/null; then
    extract
  fi
done

echo
echo "patch | lowest failing seed | property | cpu s | corpus cases failing"
echo "--- | --- | --- | --- | ---"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "${#patches[@]} patches, seeds 0..$seeds, $((SECONDS - started))s wall"
exit "$status"
