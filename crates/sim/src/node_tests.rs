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

/// The transfer rules judge a node's answer: each fires on a broken one
/// and holds on the correct one.
#[test]
fn transfer_rules_fire_on_broken_answers() {
    let watch = |sent| {
        Some(TransferWatch {
            target: 2,
            term: Term(3),
            from_tick: 10,
            sent,
        })
    };
    let after = |role, term: u64, last: u64, transfer| TransferAfter {
        role,
        term: Term(term),
        last: LogIndex(last),
        transfer,
    };
    let rule = |b: Option<Broken>| b.map(|b| b.rule);
    // The target acknowledged the leader's whole log (to 7).
    let hand_over = TransferExpectation::HandOver { last: LogIndex(7) };
    let leader = |last, sent| after(Role::Leader, 3, last, watch(sent));
    assert_eq!(
        rule(transfer_answer_broken(0, hand_over, leader(7, true))),
        None
    );
    assert_eq!(
        rule(transfer_answer_broken(0, hand_over, leader(7, false))),
        Some("transfer-hand-over"),
        "no TimeoutNow"
    );
    assert_eq!(
        rule(transfer_answer_broken(0, hand_over, leader(8, false))),
        None,
        "the leader appended meanwhile: the target is behind again"
    );
    // Told to campaign with an up-to-date log, in term 3.
    let campaign = TransferExpectation::Campaign { term: Term(3) };
    let node = |role, term| after(role, term, 7, None);
    assert_eq!(
        rule(transfer_answer_broken(
            2,
            campaign,
            node(Role::Candidate, 4)
        )),
        None
    );
    for (role, term) in [
        (Role::Follower, 3),
        (Role::PreCandidate, 3),
        (Role::Candidate, 5),
    ] {
        assert_eq!(
            rule(transfer_answer_broken(2, campaign, node(role, term))),
            Some("transfer-obeys"),
            "{role:?} in {term}"
        );
    }
    // Told by a late TimeoutNow (or as a non-voter): stays a follower.
    let stay = TransferExpectation::Stay { term: Term(3) };
    assert_eq!(
        rule(transfer_answer_broken(2, stay, node(Role::Follower, 3))),
        None
    );
    assert_eq!(
        rule(transfer_answer_broken(2, stay, node(Role::Candidate, 4))),
        Some("transfer-obeys")
    );
}

/// A transfer is under way while its leader leads the term it was asked
/// in, for less than an election timeout of its ticks.
#[test]
fn a_transfer_is_under_way_for_an_election_timeout_of_its_leader() {
    let p = profile::profile("calm").expect("built-in profile");
    let config = p.draw(1, Some(3));
    let mut view = Nodes::new(1, &config).nodes[0].view;
    view.role = Role::Leader;
    view.term = Term(3);
    view.ticks = 100;
    view.transfer = Some(TransferWatch {
        target: 1,
        term: Term(3),
        from_tick: 95,
        sent: false,
    });
    assert!(view.transfer_under_way(10).is_some(), "5 of 10 ticks");
    view.ticks = 105;
    assert!(
        view.transfer_under_way(10).is_none(),
        "abandoned after 10 ticks"
    );
    view.ticks = 100;
    view.term = Term(4);
    assert!(view.transfer_under_way(10).is_none(), "a new term");
    view.term = Term(3);
    view.role = Role::Follower;
    assert!(view.transfer_under_way(10).is_none(), "no longer leads");
}
