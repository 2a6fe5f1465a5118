//! Shrinking keeps the failing property and removes what does not matter.

use sim::case::{Case, Expect};
use sim::engine::Simulation;
use sim::profile::profile;
use sim::shrink::{replay, shrink};

/// A recorded chaos run made to fail liveness (a recovery bound of 1 ms no
/// cluster can meet, with no long holds to widen it): every fault and
/// operation is irrelevant to that.
fn failing_case() -> Case {
    let mut sim = Simulation::from_seed(11, profile("chaos").expect("chaos"));
    sim.run();
    let mut case = sim.record_case();
    case.config.liveness_leader_us = 1_000;
    case.config.liveness_window_us = 1_000;
    case.config.long_delay_probability = 0.0;
    case
}

#[test]
fn shrinking_keeps_the_property_and_drops_what_does_not_matter() {
    let case = failing_case();
    assert!(
        case.faults.len() > 3 && case.ops.len() > 10,
        "a busy run to start from"
    );
    assert_eq!(replay(&case).verdict.failed_property(), "liveness");
    let mut replays_seen = 0;
    let report = shrink(case.clone(), 500, &mut |runs, _| replays_seen = runs).expect("it fails");
    assert_eq!(report.property, "liveness");
    assert_eq!(report.verdict.failed_property(), "liveness");
    assert!(
        report.after.faults < report.before.faults,
        "{} -> {}",
        report.before,
        report.after
    );
    assert!(
        report.after.ops < report.before.ops,
        "{} -> {}",
        report.before,
        report.after
    );
    assert_eq!(report.case.expect, Expect::Fail("liveness".into()));
    assert!(replays_seen > 0 && report.runs <= 500);
    // The minimal case, printed as a script and read back, still fails the same way.
    let again = Case::parse(&report.case.to_script()).expect("the printed script parses");
    assert_eq!(replay(&again).verdict.failed_property(), "liveness");
    // Shrinking is deterministic.
    let second = shrink(case, 500, &mut |_, _| {}).expect("it fails");
    assert_eq!(second.case, report.case);
}

#[test]
fn a_passing_run_has_nothing_to_shrink() {
    let mut sim = Simulation::from_seed(11, profile("calm").expect("calm"));
    sim.run();
    let err = shrink(sim.record_case(), 50, &mut |_, _| {}).expect_err("passes");
    assert!(err.to_string().contains("no failure to shrink"), "{err}");
}
