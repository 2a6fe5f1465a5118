//! Times the linearizability checker on large generated histories: many
//! concurrent clients over a few keys, each operation taking effect at a
//! random instant inside its interval (so the history is linearizable by
//! construction), and the same history with one read made stale (so one
//! key is not).
//!
//! ```sh
//! cargo bench -p checker --bench linearizability                          # seeds 1 to 5
//! cargo bench -p checker --bench linearizability -- CLIENTS KEYS OPS SEED
//! ```
//! Defaults: 50 clients, 10 keys, 2,000 operations.

use checker::{check_linearizability_report, HistoryOp, LinearizabilityOutcome};
use kv::{Op, OpResult};
use rand::Rng;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// A linearizable history: `clients` clients, each running operations one
/// after another on `keys` keys, `ops` operations in all.
/// The longest an operation takes, in microseconds.
const TOOK_MAX: u64 = 4_000;

/// The share of operations whose outcome the client never learns.
const INDETERMINATE: f64 = 0.05;

fn generate(clients: u64, keys: u64, ops: usize, seed: u64) -> Vec<HistoryOp> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // Each client's operations: (invoke, linearization point, complete).
    let mut free_at = vec![0u64; clients as usize];
    let mut planned = Vec::with_capacity(ops);
    for n in 0..ops {
        let c = rng.gen_range(0..clients) as usize;
        let invoke = free_at[c] + rng.gen_range(0..50);
        let took = rng.gen_range(1..TOOK_MAX);
        let point = invoke + rng.gen_range(0..took);
        let complete = invoke + took;
        free_at[c] = complete;
        let key = format!("k{}", rng.gen_range(0..keys));
        let v = rng.gen_range(0..4u32).to_string();
        let _ = n;
        let op = match rng.gen_range(0..10) {
            0..=3 => Op::Get { key },
            4..=5 => Op::Put { key, value: v },
            6..=7 => Op::Append { key, value: v },
            _ => Op::Cas {
                key,
                expected: None,
                new: v,
            },
        };
        planned.push((point, c as u64, invoke, complete, op));
    }
    // Run them at their linearization points to learn their results.
    planned.sort_by_key(|p| p.0);
    let mut store: BTreeMap<String, String> = BTreeMap::new();
    let mut seq: BTreeMap<u64, u64> = BTreeMap::new();
    let mut history = Vec::with_capacity(ops);
    for (_, client, invoke, complete, mut op) in planned {
        let result = match &mut op {
            Op::Get { key } => OpResult::Value(store.get(key).cloned()),
            Op::Put { key, value } => {
                store.insert(key.clone(), value.clone());
                OpResult::Ok
            }
            Op::Append { key, value } => {
                store.entry(key.clone()).or_default().push_str(value);
                OpResult::Ok
            }
            Op::Cas { key, expected, new } => {
                // Expect what is there half the time.
                let current = store.get(key).cloned();
                if rng.gen_bool(0.5) {
                    *expected = current.clone();
                }
                if *expected == current {
                    store.insert(key.clone(), new.clone());
                    OpResult::CasOk
                } else {
                    OpResult::CasFailed { current }
                }
            }
        };
        let s = seq.entry(client).or_insert(0);
        *s += 1;
        // Some operations time out at their client: the outcome unknown.
        let lost = rng.gen_bool(INDETERMINATE);
        history.push(HistoryOp {
            client_id: client,
            seq: *s,
            op,
            invoke_us: invoke,
            complete_us: (!lost).then_some(complete),
            result: (!lost).then_some(result),
            cas_current_unknown: false,
        });
    }
    history.sort_by_key(|h| h.invoke_us);
    history
}

/// The same history with one late read of `k0` answered with an older
/// value (stale: a value the key held before the read's invocation).
fn make_stale(history: &mut [HistoryOp]) -> bool {
    let mut earlier: Vec<(u64, Option<String>)> = Vec::new();
    for h in history.iter() {
        if let (Op::Get { key }, Some(OpResult::Value(v))) = (&h.op, &h.result) {
            if key == "k0" {
                earlier.push((h.complete_us.unwrap_or(0), v.clone()));
            }
        }
    }
    let n = history.len();
    for h in history[n / 2..].iter_mut() {
        if let (Op::Get { key }, Some(OpResult::Value(v))) = (&h.op, &mut h.result) {
            if key != "k0" {
                continue;
            }
            let stale = earlier
                .iter()
                .filter(|(t, old)| *t + 2_000 < h.invoke_us && old != v && old.is_some())
                .map(|(_, old)| old.clone())
                .next();
            if let Some(old) = stale {
                *v = old;
                return true;
            }
        }
    }
    false
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`.
    let mut args = Vec::new();
    for a in std::env::args().skip(1).filter(|a| a != "--bench") {
        match a.parse::<u64>() {
            Ok(n) => args.push(n),
            Err(_) => {
                eprintln!(
                    "usage: cargo bench -p checker --bench linearizability \
                     [-- CLIENTS KEYS OPS SEED]; '{a}' is not a number"
                );
                return ExitCode::from(2);
            }
        }
    }
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (clients, keys, ops) = (arg(0, 50), arg(1, 10), arg(2, 2_000) as usize);
    if clients == 0 || keys == 0 {
        eprintln!("at least one client and one key");
        return ExitCode::from(2);
    }
    let seeds = match args.get(3) {
        Some(&seed) => seed..=seed,
        None => 1..=5,
    };
    for seed in seeds {
        println!("seed {seed}");
        bench(clients, keys, ops, seed);
    }
    ExitCode::SUCCESS
}

/// Checks one generated history, then the same with one stale read.
fn bench(clients: u64, keys: u64, ops: usize, seed: u64) {
    let mut history = generate(clients, keys, ops, seed);
    let budget = 10_000_000;
    // The best of three runs: the first pays for cold caches.
    let time = |h: &[HistoryOp]| {
        let once = || {
            let start = Instant::now();
            let report = check_linearizability_report(h, budget);
            (start.elapsed(), report)
        };
        let mut best = once();
        for _ in 0..2 {
            let run = once();
            if run.0 < best.0 {
                best = run;
            }
        }
        best
    };
    let (took, report) = time(&history);
    let verdict = |o: &LinearizabilityOutcome| match o {
        LinearizabilityOutcome::Linearizable => "linearizable".to_string(),
        LinearizabilityOutcome::Violation(v) => format!("violation: {}", v.found),
        LinearizabilityOutcome::Unknown { key, steps } => format!("unknown ({key}, {steps} steps)"),
    };
    println!(
        "{clients} clients, {keys} keys, {ops} ops: {:.1} ms, {} steps (at most {} on a key), {}",
        took.as_secs_f64() * 1e3,
        report.steps,
        report.max_key_steps,
        verdict(&report.outcome)
    );
    if make_stale(&mut history) {
        let (took, report) = time(&history);
        let v = verdict(&report.outcome);
        let v = v.chars().take(60).collect::<String>();
        println!(
            "with one stale read of k0: {:.1} ms, {} steps, {v}",
            took.as_secs_f64() * 1e3,
            report.steps
        );
    }
}
