//! Sweep-level properties: determinism, thread-count independence, and that
//! each profile really produces the faults it targets.

use sim::engine::Simulation;
use sim::profile::profile;
use sim::sweep::{sweep, Summary, SweepOptions};

fn options(name: &str, seeds: std::ops::Range<u64>, threads: usize) -> SweepOptions {
    SweepOptions {
        seed_start: seeds.start,
        seed_end: seeds.end,
        profile: profile(name).expect("built-in profile"),
        threads,
        shard: None,
        check_determinism: false,
        max_failures: None,
        progress: false,
        nodes: None,
        checker: true,
        report_failures: false,
        case: None,
    }
}

fn assert_all_passed(s: &Summary) {
    assert_eq!(s.failed, 0, "failures: {:#?}", s.failures);
    assert_eq!(s.passed, s.seeds);
}

#[test]
fn the_same_seed_gives_the_same_trace_and_other_seeds_differ() {
    let chaos = profile("chaos").expect("chaos");
    let a = Simulation::from_seed(7, chaos).run();
    let b = Simulation::from_seed(7, chaos).run();
    assert_eq!(a, b, "a seed must replay identically");
    let c = Simulation::from_seed(8, chaos).run();
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn the_thread_count_does_not_change_the_summary() {
    let one = sweep(&options("chaos", 0..48, 1));
    let two = sweep(&options("chaos", 0..48, 2));
    assert_eq!(one.seeds, 48);
    assert_eq!(
        serde_json::to_value(&one.stats).expect("json"),
        serde_json::to_value(&two.stats).expect("json")
    );
    assert_eq!(
        (one.events, one.sim_time_ms, one.failed),
        (two.events, two.sim_time_ms, two.failed)
    );
}

#[test]
fn sharding_splits_a_range_without_overlap() {
    let whole = sweep(&options("calm", 0..30, 2));
    let mut parts = Vec::new();
    for k in 0..3 {
        let mut o = options("calm", 0..30, 2);
        o.shard = Some((k, 3));
        parts.push(sweep(&o));
    }
    assert_eq!(parts.iter().map(|p| p.seeds).sum::<u64>(), 30);
    assert_eq!(parts.iter().map(|p| p.events).sum::<u64>(), whole.events);
}

#[test]
fn lossy_profile_drops_and_duplicates_messages() {
    let s = sweep(&options("lossy", 0..40, 2));
    assert_all_passed(&s);
    assert!(s.stats.messages_dropped > 1_000, "{:?}", s.stats);
    assert!(s.stats.messages_duplicated > 1_000, "{:?}", s.stats);
    assert!(s.stats.client_timeouts > 0, "{:?}", s.stats);
}

#[test]
fn partitions_profile_partitions() {
    let s = sweep(&options("partitions", 0..40, 2));
    assert_all_passed(&s);
    assert!(s.stats.partitions > 40, "{:?}", s.stats);
    // More than one leader per seed on average: partitions replace leaders
    // (the first election of each seed accounts for one).
    assert!(
        s.stats.leaders_elected > 3 * s.seeds / 2,
        "leaders are replaced: {:?}",
        s.stats
    );
}

#[test]
fn crashes_profile_crashes_pauses_and_loses_unsynced_writes() {
    let s = sweep(&options("crashes", 0..40, 2));
    assert_all_passed(&s);
    assert!(s.stats.crashes > 40, "{:?}", s.stats);
    assert_eq!(
        s.stats.crashes, s.stats.restarts,
        "every crashed node restarts"
    );
    assert!(s.stats.unsynced_bytes_lost > 0, "{:?}", s.stats);
    assert!(s.stats.pauses > 0, "{:?}", s.stats);
}

#[test]
fn calm_profile_has_no_faults_and_does_real_work() {
    let s = sweep(&options("calm", 0..20, 2));
    assert_all_passed(&s);
    let st = &s.stats;
    assert_eq!(
        (
            st.crashes,
            st.partitions,
            st.messages_dropped,
            st.messages_duplicated
        ),
        (0, 0, 0, 0)
    );
    assert!(
        st.leaders_elected >= 20 && st.entries_committed > 20 * 50,
        "{st:?}"
    );
    assert!(st.client_ops_ok > 20 * 50, "{st:?}");
    assert_eq!(st.liveness_checks_passed, 20);
}
