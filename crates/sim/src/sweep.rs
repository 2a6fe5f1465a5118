//! Seed sweeps: many independent runs spread over threads, summarized.
//!
//! Seeds are handed out in small chunks from a shared counter; each run is
//! independent of which thread ran it, and the summary only adds counters
//! (commutative), so the summary is the same for any thread count. Wall
//! time is measured here, around the runs, never inside one.

use crate::case::Case;
use crate::engine::Simulation;
use crate::profile::Profile;
use crate::stats::{RunResult, RunStats, Verdict};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Seeds handed to a worker at a time.
const CHUNK_SEEDS: u64 = 16;

/// What to sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// First seed (inclusive).
    pub seed_start: u64,
    /// Last seed (exclusive).
    pub seed_end: u64,
    /// The profile.
    pub profile: &'static Profile,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Run only seeds with `seed % shard_count == shard_index`.
    pub shard: Option<(u64, u64)>,
    /// Run each seed twice and compare trace hashes.
    pub check_determinism: bool,
    /// Stop taking new seeds after this many failures. Which seeds ran before
    /// the stop depends on thread timing, so a summary cut short this way is
    /// not reproducible across thread counts (every seed's result still is).
    pub max_failures: Option<u64>,
    /// Draw a progress bar on stderr (only if it is a terminal).
    pub progress: bool,
    /// Force the cluster size.
    pub nodes: Option<usize>,
    /// Run the checker (safety, durability, linearizability).
    pub checker: bool,
    /// Report each failing seed on stderr as soon as it is found (above the
    /// progress bar, if there is one).
    pub report_failures: bool,
    /// Sweep a case instead of a profile: each seed runs the case's faults
    /// and operations with that seed's remaining randomness (delays, loss,
    /// jitter).
    pub case: Option<CaseSweep>,
}

/// A case swept over seeds, and the file it came from (for replay commands).
#[derive(Clone, Debug)]
pub struct CaseSweep {
    /// The case.
    pub case: Case,
    /// Its file, as given.
    pub path: String,
}

impl SweepOptions {
    /// The run of `seed`: the profile's draw, or the case with that seed.
    fn simulation(&self, seed: u64) -> Simulation {
        match &self.case {
            Some(c) => {
                let mut case = c.case.clone();
                case.seed = seed;
                Simulation::from_case(&case)
            }
            None => Simulation::from_seed_with_nodes(seed, self.profile, self.nodes),
        }
    }

    /// The command that replays `seed` of this sweep.
    fn replay(&self, seed: u64) -> String {
        match &self.case {
            Some(c) => format!(
                "cargo run --release -p sim -- replay --case {} --seed {seed} --trace",
                c.path
            ),
            None => replay_command(seed, self.profile.name, self.nodes),
        }
    }
}

/// Set by [`interrupt`]: every sweep stops taking seeds.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stops every running sweep after the seeds in progress (for a SIGINT
/// handler): the sweep returns the summary of what ran, marked interrupted.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Why a sweep ended before running every selected seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stopped {
    /// `--max-failures` was reached.
    MaxFailures,
    /// The sweep was interrupted (Ctrl-C).
    Interrupted,
}

/// The seeds a sweep selects: those of `start..end` with `seed % count ==
/// index`, as (the first of them, how many), computed without walking the
/// range (which may be as large as u64 allows).
#[must_use]
pub fn selected_seeds(start: u64, end: u64, (index, count): (u64, u64)) -> (u64, u64) {
    let count = count.max(1);
    // The seeds below x with the shard's remainder.
    let below = |x: u64| x / count + u64::from(x % count > index);
    let total = below(end).saturating_sub(below(start));
    let offset =
        (u128::from(index) + u128::from(count) - u128::from(start % count)) % u128::from(count);
    // Below `count`, so it fits; past `end` only when nothing is selected.
    let offset = u64::try_from(offset).unwrap_or(0);
    (start.saturating_add(offset), total)
}

/// A failing seed, with the command that replays it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailureReport {
    /// The seed.
    pub seed: u64,
    /// The profile.
    pub profile: String,
    /// The property that failed.
    pub invariant: String,
    /// What happened.
    pub message: String,
    /// Where in the run it was detected.
    pub event_index: Option<u64>,
    /// The structured violation (property, nodes, term, index, expected, found).
    pub violation: Option<checker::Violation>,
    /// The exact command to replay it.
    pub replay: String,
}

/// Summaries written before the field existed ran the checker.
fn checker_on() -> bool {
    true
}

/// The result of a sweep (the `--json` object).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds the range and shard select (all of them run unless `stopped`).
    #[serde(default)]
    pub seeds_selected: u64,
    /// Why the sweep ended early, if it did (then `seeds` < `seeds_selected`
    /// may hold, and which seeds ran depends on thread timing).
    #[serde(default)]
    pub stopped: Option<Stopped>,
    /// Whether the checker ran (`--no-checker` turns it off).
    #[serde(default = "checker_on")]
    pub checker: bool,
    /// Whether each seed ran twice to compare traces (`--check-determinism`).
    #[serde(default)]
    pub check_determinism: bool,
    /// Seeds that passed.
    pub passed: u64,
    /// Seeds that failed.
    pub failed: u64,
    /// The profile.
    pub profile: String,
    /// The case swept over the seeds, if not a profile.
    #[serde(default)]
    pub case: Option<String>,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock time of the sweep.
    pub wall_ms: u64,
    /// Seeds per wall-clock second.
    pub seeds_per_sec: f64,
    /// Events processed over all seeds.
    pub events: u64,
    /// Events per wall-clock second.
    pub events_per_sec: f64,
    /// Simulated time over all seeds, in milliseconds.
    pub sim_time_ms: u64,
    /// Mean simulated seconds per seed.
    pub mean_sim_seconds_per_seed: f64,
    /// Mean events per seed.
    pub mean_events_per_seed: f64,
    /// Counters summed over all seeds.
    pub stats: RunStats,
    /// Failing seeds, by seed: every failure of the seeds that ran.
    pub failures: Vec<FailureReport>,
}

/// The replay command of a seed.
#[must_use]
pub fn replay_command(seed: u64, profile: &str, nodes: Option<usize>) -> String {
    let nodes = nodes.map(|n| format!(" --nodes {n}")).unwrap_or_default();
    format!("cargo run --release -p sim -- replay --seed {seed} --profile {profile}{nodes} --trace")
}

/// Runs one seed, turning a panic in node code into a failing verdict.
#[must_use]
pub fn run_seed(
    seed: u64,
    profile: &'static Profile,
    nodes: Option<usize>,
    checker: bool,
) -> RunResult {
    let mut sim = Simulation::from_seed_with_nodes(seed, profile, nodes);
    if !checker {
        sim.disable_checker();
    }
    run_guarded(&mut sim)
}

/// Runs `sim`, turning a panic in node code into its verdict: the result
/// then keeps the counters, and the trace and timeline (when on) end with
/// the panic.
pub fn run_guarded(sim: &mut Simulation) -> RunResult {
    let (seed, profile) = (sim.seed(), sim.config().profile.clone());
    let outcome = guarded_outcome(|| sim.run());
    match outcome {
        Ok(result) => result,
        Err(message) => {
            // Reading what the run recorded should not panic again; if it
            // does, the panic is still the verdict.
            let noted = guarded_outcome(|| sim.panicked(message.clone()));
            noted.unwrap_or_else(|_| panic_result(seed, &profile, message))
        }
    }
}

/// Runs `run` with the quiet panic hook's flag set; a panic becomes its message.
fn guarded_outcome<T>(run: impl FnOnce() -> T) -> Result<T, String> {
    IN_GUARDED_RUN.with(|f| f.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(run));
    IN_GUARDED_RUN.with(|f| f.set(false));
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".into());
        match PANIC_LOCATION.with(|p| p.borrow_mut().take()) {
            Some(at) => format!("{message} (at {at})"),
            None => message,
        }
    })
}

/// The result of a run that panicked before anything could be read from it.
fn panic_result(seed: u64, profile: &str, message: String) -> RunResult {
    RunResult {
        seed,
        profile: profile.into(),
        verdict: Verdict::Panic { message },
        stats: RunStats::default(),
        events: 0,
        sim_time_us: 0,
        trace_hash: 0,
    }
}

thread_local! {
    /// Set while this thread runs a seed under [`guarded`].
    static IN_GUARDED_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the last panic of a guarded run on this thread happened.
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once per process, a panic hook that stays silent for panics
/// inside a guarded run (they become that seed's verdict, reported once)
/// and defers to the previous hook for every other panic.
pub fn install_quiet_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_GUARDED_RUN.with(std::cell::Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `run`, reporting a panic as the seed's failure instead of unwinding.
pub fn guarded(seed: u64, profile: &str, run: impl FnOnce() -> RunResult) -> RunResult {
    guarded_outcome(run).unwrap_or_else(|message| panic_result(seed, profile, message))
}

fn run_checked(seed: u64, opts: &SweepOptions) -> RunResult {
    let run = || {
        let mut sim = opts.simulation(seed);
        if !opts.checker {
            sim.disable_checker();
        }
        run_guarded(&mut sim)
    };
    let first = run();
    if !opts.check_determinism {
        return first;
    }
    let second = run();
    // A failing seed must replay too: it is the one someone will debug.
    if second.trace_hash == first.trace_hash && second.verdict == first.verdict {
        return first;
    }
    RunResult {
        verdict: Verdict::Nondeterministic {
            message: format!(
                "trace hash {:#x} then {:#x}",
                first.trace_hash, second.trace_hash
            ),
        },
        ..first
    }
}

#[derive(Default)]
struct Totals {
    seeds: u64,
    failed: u64,
    events: u64,
    sim_time_us: u64,
    stats: RunStats,
    failures: Vec<FailureReport>,
}

impl Totals {
    /// Adds one run; returns its failure report, if it failed.
    fn add(&mut self, r: &RunResult, replay: impl FnOnce() -> String) -> Option<&FailureReport> {
        self.seeds += 1;
        self.events += r.events;
        self.sim_time_us += r.sim_time_us;
        self.stats.add(&r.stats);
        if r.verdict.passed() {
            return None;
        }
        self.failed += 1;
        self.failures.push(FailureReport {
            seed: r.seed,
            profile: r.profile.clone(),
            invariant: r.verdict.failed_property().into(),
            message: r.verdict.message(),
            event_index: r.verdict.event_index(),
            violation: r.verdict.violation().cloned(),
            replay: replay(),
        });
        self.failures.last()
    }

    fn merge(&mut self, o: Totals) {
        self.seeds += o.seeds;
        self.failed += o.failed;
        self.events += o.events;
        self.sim_time_us += o.sim_time_us;
        self.stats.add(&o.stats);
        self.failures.extend(o.failures);
    }
}

fn progress_bar(opts: &SweepOptions, total: u64) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template =
        "{elapsed_precise} [{bar:30}] {pos}/{len} seeds  {per_sec}  failures: {msg}  ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("0");
    bar
}

/// One line for a failing seed, with the command that replays it.
#[must_use]
pub fn failure_line(f: &FailureReport) -> String {
    format!(
        "FAIL seed {} [{}] {}\n  replay: {}",
        f.seed, f.invariant, f.message, f.replay
    )
}

/// Merges the summaries of a sweep's shards (or of several sweeps of one
/// profile) into one: counters add up, failures are listed by seed, the
/// wall time is the longest shard's and the rates add up (shards run side
/// by side).
///
/// # Errors
/// Summaries of different profiles or cases, or none at all.
pub fn merge(parts: Vec<Summary>) -> Result<Summary, String> {
    let mut parts = parts.into_iter();
    let mut all = parts.next().ok_or("no summaries to merge")?;
    for p in parts {
        if (&p.profile, &p.case) != (&all.profile, &all.case) {
            return Err(format!(
                "summaries of different sweeps: profile {} case {:?} and profile {} case {:?}",
                all.profile, all.case, p.profile, p.case
            ));
        }
        all.seeds += p.seeds;
        all.seeds_selected += p.seeds_selected;
        all.passed += p.passed;
        all.failed += p.failed;
        all.stopped = all.stopped.or(p.stopped);
        all.checker &= p.checker;
        all.check_determinism &= p.check_determinism;
        all.threads += p.threads;
        all.wall_ms = all.wall_ms.max(p.wall_ms);
        all.seeds_per_sec += p.seeds_per_sec;
        all.events += p.events;
        all.events_per_sec += p.events_per_sec;
        all.sim_time_ms += p.sim_time_ms;
        all.stats.add(&p.stats);
        all.failures.extend(p.failures);
    }
    all.failures.sort_by_key(|f| f.seed);
    let per_seed = |x: f64| {
        if all.seeds == 0 {
            0.0
        } else {
            x / all.seeds as f64
        }
    };
    all.mean_sim_seconds_per_seed = per_seed(all.sim_time_ms as f64 / 1e3);
    all.mean_events_per_seed = per_seed(all.events as f64);
    Ok(all)
}

/// Runs every selected seed of the options (until `--max-failures` or an
/// interrupt) and summarizes.
#[must_use]
pub fn sweep(opts: &SweepOptions) -> Summary {
    let wall_start = std::time::Instant::now();
    let (shard_index, shard_count) = opts.shard.unwrap_or((0, 1));
    let (first, total) = selected_seeds(opts.seed_start, opts.seed_end, (shard_index, shard_count));
    let bar = progress_bar(opts, total);
    let next = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let max_reached = AtomicBool::new(false);
    let merged = Mutex::new(Totals::default());
    let threads = opts.threads.max(1);
    install_quiet_panic_hook();
    let stop = || {
        INTERRUPTED.load(Ordering::Relaxed)
            || opts
                .max_failures
                .is_some_and(|m| failures.load(Ordering::Relaxed) >= m)
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut totals = Totals::default();
                'chunks: loop {
                    let from = next.fetch_add(CHUNK_SEEDS, Ordering::Relaxed);
                    if from >= total {
                        break;
                    }
                    for i in from..(from + CHUNK_SEEDS).min(total) {
                        if stop() {
                            break 'chunks;
                        }
                        // The i-th selected seed (within the range: no overflow).
                        let seed = first + i * shard_count;
                        let r = run_checked(seed, opts);
                        if let Some(f) = totals.add(&r, || opts.replay(seed)) {
                            let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
                            if opts.max_failures.is_some_and(|m| n >= m) {
                                max_reached.store(true, Ordering::Relaxed);
                            }
                            bar.set_message(n.to_string());
                            if opts.report_failures {
                                let line = failure_line(f);
                                if bar.is_hidden() {
                                    eprintln!("{line}");
                                } else {
                                    bar.println(line);
                                }
                            }
                        }
                        bar.inc(1);
                    }
                }
                if let Ok(mut m) = merged.lock() {
                    m.merge(totals);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut totals = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    totals.failures.sort_by_key(|f| f.seed);
    let stopped = if totals.seeds == total {
        None
    } else if INTERRUPTED.load(Ordering::Relaxed) {
        Some(Stopped::Interrupted)
    } else if max_reached.load(Ordering::Relaxed) {
        Some(Stopped::MaxFailures)
    } else {
        None
    };
    let wall_ms = wall_start.elapsed().as_millis() as u64;
    let secs = (wall_ms as f64 / 1000.0).max(1e-3);
    let per_seed = |x: f64| {
        if totals.seeds == 0 {
            0.0
        } else {
            x / totals.seeds as f64
        }
    };
    Summary {
        seeds: totals.seeds,
        seeds_selected: total,
        stopped,
        checker: opts.checker,
        check_determinism: opts.check_determinism,
        passed: totals.seeds - totals.failed,
        failed: totals.failed,
        profile: opts
            .case
            .as_ref()
            .map_or(opts.profile.name, |c| c.case.config.profile.as_str())
            .into(),
        case: opts.case.as_ref().map(|c| c.path.clone()),
        threads,
        wall_ms,
        seeds_per_sec: totals.seeds as f64 / secs,
        events: totals.events,
        events_per_sec: totals.events as f64 / secs,
        sim_time_ms: totals.sim_time_us / 1_000,
        mean_sim_seconds_per_seed: per_seed(totals.sim_time_us as f64 / 1e6),
        mean_events_per_seed: per_seed(totals.events as f64),
        stats: totals.stats,
        failures: totals.failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_run_becomes_that_seed_failure() {
        install_quiet_panic_hook();
        let r = guarded(42, "chaos", || {
            panic!("entry 7 conflicts with committed index 9")
        });
        assert_eq!(r.seed, 42);
        assert_eq!(r.verdict.failed_property(), "panic");
        // The message, and where the panic happened.
        let message = r.verdict.message();
        assert!(
            message.starts_with("entry 7 conflicts with committed index 9 (at "),
            "{message}"
        );
        assert!(message.contains("sweep.rs:"), "{message}");
        let formatted = guarded(1, "chaos", || panic!("index {}", 3));
        assert!(formatted.verdict.message().starts_with("index 3 (at "));
    }

    #[test]
    fn selected_seeds_are_counted_without_walking_the_range() {
        let walk = |a: u64, b: u64, k: u64, n: u64| {
            let mut it = (a..b).filter(|s| s % n == k);
            let first = it.next();
            (first, 1 + it.count() as u64)
        };
        for (a, b, k, n) in [
            (0, 10, 0, 1),
            (0, 10, 3, 4),
            (5, 23, 1, 3),
            (7, 8, 0, 2),
            (7, 9, 0, 2),
        ] {
            let (first, total) = selected_seeds(a, b, (k, n));
            match walk(a, b, k, n) {
                (Some(f), count) => assert_eq!((first, total), (f, count), "{a}..{b} {k}/{n}"),
                (None, _) => assert_eq!(total, 0, "{a}..{b} {k}/{n}"),
            }
        }
        assert_eq!(
            selected_seeds(0, 10, (15, 20)).1,
            0,
            "a shard past the range"
        );
        assert_eq!(selected_seeds(0, u64::MAX, (0, 1)), (0, u64::MAX));
        let (first, total) = selected_seeds(u64::MAX - 10, u64::MAX, (1, u64::MAX / 2));
        assert_eq!(total, 0, "{first}");
        assert_eq!(selected_seeds(10, 20, (3, u64::MAX)).1, 0);
    }

    #[test]
    fn replay_command_names_seed_profile_and_forced_size() {
        assert_eq!(
            replay_command(9, "lossy", Some(5)),
            "cargo run --release -p sim -- replay --seed 9 --profile lossy --nodes 5 --trace"
        );
    }
}
