//! Node handler unit tests.

use super::*;
use crate::profile;
use raft_core::InvariantViolation;

#[test]
fn a_fault_the_driver_reports_ends_the_run_with_a_structured_violation() {
    let p = profile::profile("calm").expect("built-in profile");
    let config = p.draw(1, Some(3));
    let (mut queue, mut net, mut obs) = (
        EventQueue::default(),
        Net::new(1, &config),
        Observers::new(3, 3, 0),
    );
    let mut run = RunState::default();
    let mut nodes = Nodes::new(1, &config);
    let mut cx = Ctx {
        queue: &mut queue,
        net: &mut net,
        obs: &mut obs,
        run: &mut run,
        settle_target: None,
    };
    nodes.boot(1, &mut cx);
    let broken = InvariantViolation {
        rule: "log.applied_le_committed",
        detail: "applied 5 beyond committed 4".into(),
    };
    nodes.with_driver(1, &mut cx, |_, _, io| {
        io.fault(HostFault::NodeInvariant(broken));
    });
    assert!(run.done, "the run stops at once");
    let v = run.verdict.violation().expect("a structured violation");
    assert_eq!(v.property, Property::NodeInvariant);
    assert_eq!(v.nodes, vec![1]);
    assert!(v.found.contains("log.applied_le_committed"), "{}", v.found);
}
