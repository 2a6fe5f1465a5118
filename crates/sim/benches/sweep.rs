//! Times the default sweep: seeds per second and events per second, on one
//! thread and on every core, with the checker on and off (what the checker
//! costs). The seed set is fixed, so runs compare across builds; the
//! machine's own drift (a few percent over minutes) is the noise floor, so
//! compare alternating runs, or count instructions with
//! `valgrind --tool=callgrind` for a repeatable figure.
//!
//! ```sh
//! cargo bench -p sim --bench sweep            # seeds 0..3000
//! cargo bench -p sim --bench sweep -- 20000   # seeds 0..20000
//! ```

use sim::profile::{profile, DEFAULT_PROFILE};
use sim::sweep::{sweep, SweepOptions};
use std::process::ExitCode;

/// The allocator the `sim` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a number is the seed count.
    let mut seeds = 3_000;
    for arg in std::env::args().skip(1).filter(|a| a != "--bench") {
        match arg.parse::<u64>() {
            Ok(n) if n > 0 => seeds = n,
            _ => {
                eprintln!("usage: cargo bench -p sim --bench sweep [-- SEEDS]; got '{arg}'");
                return ExitCode::from(2);
            }
        }
    }
    let Some(default) = profile(DEFAULT_PROFILE) else {
        eprintln!("no default profile");
        return ExitCode::FAILURE;
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("default profile, seeds 0..{seeds}");
    let mut failed = 0;
    for (threads, checker) in [(1, true), (1, false), (cores, true)] {
        let opts = SweepOptions {
            seed_start: 0,
            seed_end: seeds,
            profile: default,
            threads,
            shard: None,
            check_determinism: false,
            max_failures: None,
            progress: false,
            nodes: None,
            checker,
            report_failures: false,
            case: None,
        };
        let s = sweep(&opts);
        failed += s.failed;
        println!(
            "{threads} thread(s), checker {}: {:>6.0} seeds/s  {:>10.0} events/s  ({} failed)",
            if checker { "on " } else { "off" },
            s.seeds_per_sec,
            s.events_per_sec,
            s.failed
        );
    }
    if failed > 0 {
        eprintln!("{failed} seeds failed: the figures time failing runs");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
