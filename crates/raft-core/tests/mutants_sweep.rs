//! The sweep `cargo mutants` runs against each mutant of raft-core
//! (`ci/power.sh --mutants`, configured in `.cargo/mutants.toml`): a short
//! default sweep of the simulator, which links the mutated raft-core.
//! Ignored in normal test runs: `ci/test.sh` sweeps correct code; this one
//! exists to fail on broken code, quickly.

use sim::profile::profile;
use sim::sweep::{sweep, SweepOptions};

#[test]
#[ignore = "run against mutants by ci/power.sh --mutants"]
fn a_short_default_sweep_passes() {
    let seeds: u64 = std::env::var("MUTANTS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    // MUTANTS_PROFILE=reconfig judges membership mutants by membership seeds.
    let name = std::env::var("MUTANTS_PROFILE").unwrap_or_else(|_| "chaos".into());
    let options = SweepOptions {
        seed_start: 0,
        seed_end: seeds,
        profile: profile(&name).expect("MUTANTS_PROFILE names a built-in profile"),
        threads: 2,
        shard: None,
        check_determinism: false,
        max_failures: Some(1),
        progress: false,
        nodes: None,
        checker: true,
        report_failures: false,
        case: None,
    };
    let s = sweep(&options);
    assert_eq!(s.failed, 0, "a seed failed: {:#?}", s.failures.first());
    assert_eq!(s.passed, s.seeds, "every seed ran");
    // A mutant that makes compaction or snapshot sending silently not
    // happen passes every check too: half the seeds compact, and lagging
    // nodes must have caught up through snapshots.
    let st = &s.stats;
    let snapshots = [
        ("snapshots_taken", st.snapshots_taken),
        ("snapshots_sent", st.snapshots_sent),
        ("snapshot_chunks_sent", st.snapshot_chunks_sent),
        ("snapshots_installed", st.snapshots_installed),
    ];
    for (what, count) in snapshots {
        assert!(count > 0, "no {what} in {seeds} {name} seeds");
    }
    // The same for reads without the log: a mutant that makes every
    // ReadIndex, lease or follower read refused, or never answered, passes
    // every check (clients give up and read again, through the log).
    // MUTANTS_PROFILE=reads judges read mutants by that profile's seeds.
    if name == "chaos" || name == "reads" {
        let reads = [
            ("reads_read_index", st.reads_read_index),
            ("reads_lease", st.reads_lease),
            ("reads_follower", st.reads_follower),
        ];
        for (what, count) in reads {
            assert!(count > 0, "no {what} in {seeds} {name} seeds");
        }
    }
    if name == "reconfig" {
        // A mutant that makes membership changes silently not happen
        // passes every check: the sweep must also have changed the
        // membership, in every way the profile asks for.
        let st = &s.stats;
        let progress = [
            ("config_changes_committed", st.config_changes_committed),
            ("joint_entered", st.joint_entered),
            ("joint_left", st.joint_left),
            ("learners_promoted", st.learners_promoted),
            ("leader_transfers_ok", st.leader_transfers_ok),
        ];
        for (what, count) in progress {
            assert!(count > 0, "no {what} in {seeds} reconfig seeds");
        }
    }
}
