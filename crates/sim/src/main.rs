//! `sim`: the command line of the deterministic Raft simulator.
//!
//! Exit codes: 0 every seed passed, 1 a seed failed, 2 bad usage or input.

use clap::{Args, Parser, Subcommand};
use sim::case::Case;
use sim::engine::Simulation;
use sim::profile::{self, Profile, DEFAULT_PROFILE, NODES_MAX, PROFILES};
use sim::stats::RunResult;
use sim::sweep::{self, replay_command, Stopped, Summary, SweepOptions};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The simulator allocates small objects at a high rate (messages, log
/// entries, commands); mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sim",
    version,
    about = "Deterministic simulation testing for raft-core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a sweep of seeds (in parallel) and summarize.
    Run(RunArgs),
    /// Rerun one seed and show what happened.
    Replay(ReplayArgs),
    /// Minimize a failing seed or case while the same property still fails.
    Shrink(ShrinkArgs),
    /// Replay every case of the regression corpus.
    Corpus(CorpusArgs),
    /// Merge the JSON summaries of a sweep's shards into one summary.
    Merge(MergeArgs),
    /// Check a client history file (JSON lines) for linearizability; exit
    /// 0 linearizable, 1 not, 3 unknown (the search ran out of budget).
    CheckHistory(CheckHistoryArgs),
    /// List the fault profiles and their ranges.
    Profiles,
}

#[derive(Args)]
struct RunArgs {
    /// Seed range A..B (B exclusive).
    #[arg(long, value_parser = parse_range, conflicts_with = "seed")]
    seeds: Option<(u64, u64)>,
    /// A single seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Fault profile (see `sim profiles`).
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Force the cluster size (otherwise drawn per seed: 3 or 5).
    #[arg(long)]
    nodes: Option<usize>,
    /// Sweep a case (JSON or script) over the seeds instead of a profile:
    /// its faults and operations, with each seed's delays, loss and jitter.
    #[arg(long, conflicts_with_all = ["profile", "nodes"])]
    case: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only seeds with seed % N == K, given as K/N.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Print only the JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// Run each seed twice and compare trace hashes.
    #[arg(long)]
    check_determinism: bool,
    /// Stop after this many failing seeds.
    #[arg(long)]
    max_failures: Option<u64>,
    /// Run without the safety, durability and linearizability checks (to
    /// measure what they cost); liveness is still checked.
    #[arg(long)]
    no_checker: bool,
}

#[derive(Args)]
struct ReplayArgs {
    /// The seed to replay (with --case: the seed that replaces the case's own).
    #[arg(long, required_unless_present = "case")]
    seed: Option<u64>,
    /// Replay a case file (JSON or script) instead of a profile's seed.
    #[arg(long, conflicts_with_all = ["profile", "nodes"])]
    case: Option<PathBuf>,
    /// Write the run as a case file (JSON) that replays it exactly.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Write a self-contained HTML timeline of the run.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write the run's client history (the `check-history` format).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Fault profile the seed ran under.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Force the cluster size, as in the sweep.
    #[arg(long)]
    nodes: Option<usize>,
    /// Print an event-by-event timeline.
    #[arg(long)]
    trace: bool,
    /// Print each node's final log and kv state.
    #[arg(long)]
    dump: bool,
    /// Print one JSON document (with --trace and --dump inside it). The
    /// verdict is `result.verdict`; the exit code is then 0 once the
    /// document is written (2 on bad input), so a failing seed's JSON pipes
    /// into other tools.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ShrinkArgs {
    /// The failing seed.
    #[arg(long, required_unless_present = "case", conflicts_with = "case")]
    seed: Option<u64>,
    /// A failing case file (JSON or script) instead of a seed.
    #[arg(long, conflicts_with_all = ["profile", "nodes"])]
    case: Option<PathBuf>,
    /// Fault profile the seed ran under.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Force the cluster size, as in the sweep.
    #[arg(long)]
    nodes: Option<usize>,
    /// Write the minimal case here (JSON if the name ends in .json, else a script).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Most replays to spend.
    #[arg(long, default_value_t = 3000)]
    max_runs: u64,
}

#[derive(Args)]
struct MergeArgs {
    /// The summaries (`sim run --json` output, e.g. ci/sweep.sh's).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print only the merged JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CheckHistoryArgs {
    /// The history: one operation per line (format in the README).
    file: PathBuf,
    /// Most search steps per key before the verdict is "unknown".
    #[arg(long, default_value_t = sim::engine::LINEARIZABILITY_STEPS_MAX)]
    budget: u64,
}

#[derive(Args)]
struct CorpusArgs {
    /// The folder of cases.
    #[arg(long, default_value = "sim-runs")]
    dir: PathBuf,
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("'{s}' is not a range: expected A..B, e.g. 0..1000"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("'{a}' is not a seed number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("'{b}' is not a seed number"))?;
    if a >= b {
        return Err(format!(
            "empty range {a}..{b}: the end is exclusive and must exceed the start"
        ));
    }
    Ok((a, b))
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not a shard: expected K/N, e.g. 0/4"))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("shard index '{k}' is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("shard count '{n}' is not a number"))?;
    if n == 0 || k >= n {
        return Err(format!("shard {k}/{n}: need 0 <= K < N"));
    }
    Ok((k, n))
}

/// Most worker threads a sweep may ask for.
const THREADS_MAX: usize = 1024;

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn find_profile(name: &str) -> Result<&'static Profile, String> {
    profile::profile(name).ok_or_else(|| {
        format!(
            "unknown profile '{name}'; known: {}",
            profile::profile_names()
        )
    })
}

fn check_nodes(nodes: Option<usize>) -> Result<(), String> {
    match nodes {
        Some(n) if n == 0 || n > NODES_MAX => {
            Err(format!("--nodes {n}: must be in 1..={NODES_MAX}"))
        }
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::Replay(args) => replay(args),
        Command::Shrink(args) => shrink(args),
        Command::Corpus(args) => corpus(args),
        Command::Merge(args) => merge(args),
        Command::CheckHistory(args) => check_history(&args),
        Command::Profiles => {
            emit(print_profiles);
            ExitCode::SUCCESS
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let profile = match find_profile(&args.profile) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    if let Err(e) = check_nodes(args.nodes) {
        return usage_error(&e);
    }
    let (seed_start, seed_end) = match (args.seeds, args.seed) {
        (Some(range), _) => range,
        (None, Some(u64::MAX)) => return usage_error("--seed must be below 18446744073709551615"),
        (None, Some(s)) => (s, s + 1),
        (None, None) => return usage_error("give --seeds A..B or --seed N"),
    };
    if args.threads.is_some_and(|t| t == 0 || t > THREADS_MAX) {
        return usage_error(&format!("--threads must be in 1..={THREADS_MAX}"));
    }
    if args.max_failures == Some(0) {
        return usage_error("--max-failures must be at least 1 (omit it for no limit)");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let case = match &args.case {
        Some(path) => match Case::load(path) {
            Ok(case) => Some(sweep::CaseSweep {
                case,
                path: path.display().to_string(),
            }),
            Err(e) => return usage_error(&e.to_string()),
        },
        None => None,
    };
    let (_, selected) = sweep::selected_seeds(seed_start, seed_end, args.shard.unwrap_or((0, 1)));
    if selected == 0 {
        let (k, n) = args.shard.unwrap_or((0, 1));
        return usage_error(&format!(
            "shard {k}/{n} selects no seed of {seed_start}..{seed_end}"
        ));
    }
    // Ctrl-C stops the sweep after the seeds in progress and still prints
    // the summary and every failure found; a second one exits at once.
    let _ = ctrlc::set_handler(|| {
        static PRESSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if PRESSED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            std::process::exit(130);
        }
        sweep::interrupt();
    });
    let opts = SweepOptions {
        seed_start,
        seed_end,
        profile,
        threads,
        shard: args.shard,
        check_determinism: args.check_determinism,
        max_failures: args.max_failures,
        progress: std::io::stderr().is_terminal(),
        nodes: args.nodes,
        checker: !args.no_checker,
        report_failures: true,
        case,
    };
    let summary = sweep::sweep(&opts);
    show_summary(&summary, args.json);
    if summary.stopped == Some(Stopped::Interrupted) {
        ExitCode::from(130)
    } else if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check_history(args: &CheckHistoryArgs) -> ExitCode {
    use checker::LinearizabilityOutcome as L;
    let history = std::fs::read_to_string(&args.file)
        .map_err(|e| e.to_string())
        .and_then(|t| checker::parse_history(&t).map_err(|e| e.to_string()));
    let history = match history {
        Ok(h) => h,
        Err(e) => return usage_error(&format!("{}: {e}", args.file.display())),
    };
    let report = checker::check_linearizability_report(&history, args.budget);
    let (line, code) = match report.outcome {
        L::Linearizable => (
            format!(
                "linearizable ({} keys, {} search steps, at most {} on one key)",
                report.keys, report.steps, report.max_key_steps
            ),
            0,
        ),
        L::Violation(v) => (format!("NOT linearizable: {}", v.message()), 1),
        L::Unknown { key, steps } => (
            format!(
                "unknown: the search for key {key:?} ran out of its budget after {steps} steps"
            ),
            3,
        ),
    };
    emit(|out| writeln!(out, "{} operations: {line}", history.len()));
    ExitCode::from(code)
}

fn merge(args: MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage_error(&format!("{}: {e}", path.display())),
        };
        match serde_json::from_str::<Summary>(&text) {
            Ok(s) => parts.push(s),
            Err(e) => return usage_error(&format!("{}: not a sweep summary: {e}", path.display())),
        }
    }
    let summary = match sweep::merge(parts) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    show_summary(&summary, args.json);
    if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints a sweep's summary on stdout: the JSON object, or the table.
fn show_summary(summary: &Summary, json: bool) {
    if json {
        match serde_json::to_string_pretty(summary) {
            Ok(s) => emit(|out| writeln!(out, "{s}")),
            Err(e) => eprintln!("error: cannot encode the summary: {e}"),
        }
    } else {
        emit(|out| print_summary(out, summary));
    }
}

fn print_summary(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    let st = &s.stats;
    let mut checks = Vec::new();
    if !s.checker {
        checks.push("  checker off (--no-checker: liveness only)");
    }
    if s.check_determinism {
        checks.push("  each seed run twice (--check-determinism)");
    }
    let source = match &s.case {
        Some(path) => format!("case {path} (profile {})", s.profile),
        None => format!("profile {}", s.profile),
    };
    writeln!(
        out,
        "{source}  seeds {}  passed {}  failed {}{}",
        s.seeds,
        s.passed,
        s.failed,
        checks.concat()
    )?;
    match s.stopped {
        Some(Stopped::MaxFailures) => writeln!(
            out,
            "stopped early: --max-failures reached after {} of {} seeds (which seeds ran \
             depends on thread timing; each listed failure replays exactly)",
            s.seeds, s.seeds_selected
        )?,
        Some(Stopped::Interrupted) => writeln!(
            out,
            "stopped early: interrupted after {} of {} seeds",
            s.seeds, s.seeds_selected
        )?,
        None => {}
    }
    writeln!(
        out,
        "wall {:.1}s on {} threads  {:.0} seeds/s  {:.0} events/s  mean {:.2} sim-s and {:.0} events per seed",
        s.wall_ms as f64 / 1000.0,
        s.threads,
        s.seeds_per_sec,
        s.events_per_sec,
        s.mean_sim_seconds_per_seed,
        s.mean_events_per_seed
    )?;
    let rows: [(&str, u64); 41] = [
        ("elections", st.elections),
        ("leaders elected", st.leaders_elected),
        ("max term", st.max_term),
        ("entries committed", st.entries_committed),
        ("client ops invoked", st.client_ops_invoked),
        ("client ops ok", st.client_ops_ok),
        ("client attempts refused", st.client_ops_failed),
        ("client ops indeterminate", st.client_ops_indeterminate),
        ("client timeouts", st.client_timeouts),
        ("crashes", st.crashes),
        ("restarts", st.restarts),
        ("pauses", st.pauses),
        ("partitions", st.partitions),
        ("messages sent", st.messages_sent),
        ("messages delivered", st.messages_delivered),
        ("messages dropped", st.messages_dropped),
        ("messages duplicated", st.messages_duplicated),
        ("client messages lost", st.client_messages_lost),
        ("messages delayed long", st.messages_delayed_long),
        ("longest message delay (ms)", st.max_message_delay_ms),
        ("triggered faults", st.triggered_faults),
        ("burst proposals", st.burst_proposals),
        ("longest truncated suffix", st.longest_truncated_suffix),
        ("longest probe sequence", st.longest_probe_sequence),
        ("unsynced writes lost", st.unsynced_bytes_lost),
        ("liveness checks passed", st.liveness_checks_passed),
        ("stability windows passed", st.stability_windows_passed),
        ("latency probes passed", st.latency_probes_passed),
        ("histories linearizable", st.linearizability_checked),
        ("histories unknown (budget)", st.linearizability_unknown),
        ("most search steps on a key", st.linearizability_steps_max),
        ("longest follower read wait (ticks)", st.read_wait_ticks_max),
        ("durable writes checked", st.durable_writes_checked),
        ("config changes proposed", st.config_changes_proposed),
        ("config changes committed", st.config_changes_committed),
        ("joint configs entered", st.joint_entered),
        ("joint configs left", st.joint_left),
        ("learners promoted", st.learners_promoted),
        ("most voters", st.max_voters),
        ("leader transfers", st.leader_transfers),
        ("leader transfers ok", st.leader_transfers_ok),
    ];
    for (name, value) in rows {
        writeln!(out, "  {name:<26} {value:>14}")?;
    }
    for f in &s.failures {
        writeln!(out, "{}", sweep::failure_line(f))?;
    }
    Ok(())
}

fn replay(args: ReplayArgs) -> ExitCode {
    let mut sim = match simulation_for(&args) {
        Ok(sim) => sim,
        Err(e) => return usage_error(&e),
    };
    if args.trace {
        sim.enable_trace();
    }
    if args.html.is_some() {
        sim.enable_timeline(&describe_source(&args));
    }
    // A panic in node code is the run's verdict: the trace, the page and the
    // recorded case are written as for any failure.
    sim::sweep::install_quiet_panic_hook();
    let result = sim::sweep::run_guarded(&mut sim);
    if let (Some(path), Some(timeline)) = (&args.html, sim.timeline()) {
        if let Err(e) = std::fs::write(path, sim::html::render(&timeline)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.history {
        if let Err(e) = std::fs::write(path, checker::write_history(sim.history())) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.record {
        if let Err(e) = std::fs::write(path, sim.record_case().to_json()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let printed = print_replay(&mut io::stdout().lock(), &args, &sim, &result);
    if let Err(e) = printed {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the replay: {e}");
            return ExitCode::from(2);
        }
    }
    if result.verdict.passed() || args.json {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The run named on the command line: a case file, or a seed of a profile.
fn simulation_for(args: &ReplayArgs) -> Result<Simulation, String> {
    if let Some(path) = &args.case {
        let mut case = Case::load(path).map_err(|e| e.to_string())?;
        if let Some(seed) = args.seed {
            case.seed = seed;
        }
        return Ok(Simulation::from_case(&case));
    }
    let profile = find_profile(&args.profile)?;
    check_nodes(args.nodes)?;
    let seed = args.seed.ok_or("give --seed N or --case FILE")?;
    Ok(Simulation::from_seed_with_nodes(seed, profile, args.nodes))
}

/// The case named on the command line: a file, or a seed recorded as a case.
fn case_for(
    seed: Option<u64>,
    case: Option<&PathBuf>,
    profile: &str,
    nodes: Option<usize>,
) -> Result<Case, String> {
    if let Some(path) = case {
        return Case::load(path).map_err(|e| e.to_string());
    }
    let profile = find_profile(profile)?;
    check_nodes(nodes)?;
    let seed = seed.ok_or("give --seed N or --case FILE")?;
    let mut sim = Simulation::from_seed_with_nodes(seed, profile, nodes);
    // A panic in node code is a failure worth shrinking, not a crash of the tool.
    sim::sweep::install_quiet_panic_hook();
    let _ = sim::sweep::run_guarded(&mut sim);
    Ok(sim.record_case())
}

fn shrink(args: ShrinkArgs) -> ExitCode {
    if args.max_runs == 0 {
        return usage_error("--max-runs must be at least 1");
    }
    let case = match case_for(args.seed, args.case.as_ref(), &args.profile, args.nodes) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let bar = if io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut progress = |runs: u64, best: &Case| {
        bar.set_message(format!(
            "replay {runs}/{}: {} faults, {} ops",
            args.max_runs,
            best.faults.len(),
            best.ops.len()
        ));
        bar.tick();
    };
    let report = match sim::shrink::shrink(case, args.max_runs, &mut progress) {
        Ok(r) => r,
        Err(e) => return usage_error(&e.to_string()),
    };
    bar.finish_and_clear();
    if let Some(path) = &args.out {
        let text = if path.extension().is_some_and(|e| e == "json") {
            report.case.to_json()
        } else {
            report.case.to_script()
        };
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    emit(|out| {
        writeln!(
            out,
            "property: {} ({})",
            report.property,
            report.verdict.message()
        )?;
        writeln!(out, "before: {}", report.before)?;
        writeln!(out, "after:  {}", report.after)?;
        writeln!(out, "replays: {}", report.runs)?;
        if let Some(path) = &args.out {
            writeln!(out, "wrote {}", path.display())?;
        }
        writeln!(out, "--- minimal case ---")?;
        write!(out, "{}", report.case.to_script())
    });
    ExitCode::SUCCESS
}

fn corpus(args: CorpusArgs) -> ExitCode {
    let cases = match sim::corpus::load_dir(&args.dir) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let mut regressions = 0;
    emit(|out| {
        for (path, case) in &cases {
            let outcome = sim::corpus::check(case);
            let status = if outcome.is_ok() { "ok  " } else { "FAIL" };
            writeln!(out, "{status} {}", path.display())?;
            if let Err(why) = outcome {
                regressions += 1;
                writeln!(out, "     {why}")?;
                writeln!(
                    out,
                    "     replay: cargo run --release -p sim -- replay --case {} --trace",
                    path.display()
                )?;
            }
        }
        writeln!(out, "{} cases, {} regressions", cases.len(), regressions)
    });
    if regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn describe_source(args: &ReplayArgs) -> String {
    match (&args.case, args.seed) {
        (Some(path), None) => format!("case {}", path.display()),
        (Some(path), Some(seed)) => format!("case {} with seed {seed}", path.display()),
        (None, Some(seed)) => format!("seed {seed} profile {}", args.profile),
        (None, None) => "run".into(),
    }
}

fn replay_hint(args: &ReplayArgs) -> String {
    match (&args.case, args.seed) {
        (Some(path), None) => format!(
            "cargo run --release -p sim -- replay --case {} --trace",
            path.display()
        ),
        (Some(path), Some(seed)) => format!(
            "cargo run --release -p sim -- replay --case {} --seed {seed} --trace",
            path.display()
        ),
        (None, seed) => replay_command(seed.unwrap_or(0), &args.profile, args.nodes),
    }
}

fn print_replay(
    out: &mut impl Write,
    args: &ReplayArgs,
    sim: &Simulation,
    result: &RunResult,
) -> io::Result<()> {
    if args.json {
        // One JSON document, whatever else was asked for.
        let mut json = serde_json::json!({
            "result": result,
            "config": sim.config(),
            "faults": sim.schedule(),
        });
        if !result.verdict.passed() {
            json["replay"] = replay_hint(args).into();
        }
        if args.trace {
            json["trace"] = sim.trace_lines().into();
        }
        if args.dump {
            json["dump"] = serde_json::to_value(sim.dump()).unwrap_or_default();
        }
        return writeln!(out, "{json:#}");
    }
    writeln!(out, "{}: {:?}", describe_source(args), sim.config())?;
    for f in sim.schedule() {
        writeln!(
            out,
            "  fault t={} {}",
            sim::case::format_duration(f.at_us),
            sim::case::describe_fault(&f.fault, sim.config().nodes)
        )?;
    }
    for line in sim.trace_lines() {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "verdict: {:?}\nevents {}  sim time {:.3}s  trace hash {:#018x}\nstats: {:?}",
        result.verdict,
        result.events,
        result.sim_time_us as f64 / 1e6,
        result.trace_hash,
        result.stats
    )?;
    if args.dump {
        for d in sim.dump() {
            writeln!(
                out,
                "n{} {} term {} commit {} alive {} digest {:#018x}",
                d.node, d.role, d.term, d.commit, d.alive, d.digest
            )?;
            for (i, t, c) in &d.log {
                writeln!(out, "  log {i:>5} t{t:<4} {c}")?;
            }
            for (k, v) in &d.kv {
                writeln!(out, "  kv  {k} = {v}")?;
            }
        }
    }
    if !result.verdict.passed() {
        writeln!(out, "replay: {}", replay_hint(args))?;
    }
    Ok(())
}

/// Writes through `print`, treating a closed pipe (e.g. `| head`) as success.
fn emit(print: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
    if let Err(e) = print(&mut io::stdout().lock()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
        }
    }
}

fn print_profiles(out: &mut impl Write) -> io::Result<()> {
    for p in &PROFILES {
        let default = if p.name == DEFAULT_PROFILE {
            " (default)"
        } else {
            ""
        };
        writeln!(out, "{}{default}: {}", p.name, p.description)?;
        match serde_json::to_value(p) {
            Ok(serde_json::Value::Object(fields)) => {
                for (k, v) in fields {
                    if k != "name" && k != "description" {
                        writeln!(out, "    {k:<30} {v}")?;
                    }
                }
            }
            _ => writeln!(out, "    (cannot list ranges)")?,
        }
    }
    Ok(())
}
