//! Membership changes through the log (thesis §4.3): learners, promotion,
//! joint consensus, one change at a time, fallback on truncation, restart,
//! and a removed leader stepping down. Nodes run on the test network of
//! `node_tests` (every batch persisted, every message delivered).

use super::*;
use crate::membership::{Change, ConfChange, Transition};

/// `node_tests`' cluster, with a few heartbeats more (see `run_all`).
fn cluster(voters: &[u64]) -> Vec<RaftNode> {
    let mut nodes = super::cluster(voters);
    run_all(&mut nodes);
    nodes
}

/// A node joining with an empty disk (its bootstrap configuration is the
/// cluster's initial one).
fn joiner(id: u64, bootstrap: &[u64]) -> RaftNode {
    new_node(cfg_no_pre_vote(id, bootstrap))
}

/// Runs the network until quiet, then heartbeats from the first node (the
/// leader) a few times, so that followers that were away catch up.
fn run_all(nodes: &mut [RaftNode]) -> Vec<Message> {
    let mut refs: Vec<&mut RaftNode> = nodes.iter_mut().collect();
    let mut delivered = run(&mut refs);
    for _ in 0..3 {
        refs[0].tick();
        delivered.extend(run(&mut refs));
    }
    delivered
}

fn change(changes: Vec<Change>) -> ConfChange {
    ConfChange::auto(changes)
}

fn propose_and_run(nodes: &mut [RaftNode]) -> LogIndex {
    let (index, _) = nodes[0]
        .propose(Bytes::from_static(b"x"))
        .expect("the leader");
    run_all(nodes);
    index
}

fn assert_invariants(nodes: &[RaftNode]) {
    for n in nodes {
        n.check_invariants().expect("invariants hold");
    }
}

/// Rule: a learner receives the log (from an empty disk), is never counted
/// in a quorum and never campaigns.
#[test]
fn a_learner_catches_up_but_neither_counts_nor_campaigns() {
    let mut c = cluster(&[1, 2, 3]);
    c.push(joiner(4, &[1, 2, 3]));
    let add = change(vec![Change::AddLearner(NodeId(4))]);
    let (index, _) = c[0].propose_conf_change(&add).expect("a valid change");
    run_all(&mut c);
    for n in &c {
        assert!(n.membership().is_learner(NodeId(4)), "n{} knows", n.id());
        assert_eq!(n.membership_index(), index);
    }
    assert_eq!(
        c[3].log().last_index(),
        c[0].log().last_index(),
        "caught up"
    );
    assert_eq!(c[0].members(), &ids(&[1, 2, 3, 4])[..]);
    assert!(
        c[0].progress(NodeId(4)).is_some(),
        "the leader tracks the learner"
    );
    // Without n3 and the learner, n1 and n2 are still a majority of 3.
    let mut learner = c.pop().expect("n4");
    c.pop();
    let index = propose_and_run(&mut c);
    assert_eq!(c[0].log().committed(), index);
    for _ in 0..100 {
        learner.tick();
    }
    assert_eq!(learner.role(), Role::Follower, "a learner never campaigns");
    assert!(outgoing(&learner.ready()).is_empty());
    assert_invariants(&c);
}

/// Rule: a promoted learner counts: four voters need three for a commit.
#[test]
fn a_promoted_learner_counts_in_the_quorum() {
    let mut c = cluster(&[1, 2, 3]);
    c.push(joiner(4, &[1, 2, 3]));
    c[0].propose_conf_change(&change(vec![Change::AddLearner(NodeId(4))]))
        .expect("valid");
    run_all(&mut c);
    c[0].propose_conf_change(&change(vec![Change::AddVoter(NodeId(4))]))
        .expect("valid");
    run_all(&mut c);
    assert!(c.iter().all(|n| n.membership().is_voter(NodeId(4))));
    assert!(
        !c[0].membership().is_joint(),
        "one voter added: a simple change"
    );
    let n4 = c.pop().expect("n4");
    let n3 = c.pop().expect("n3");
    let index = propose_and_run(&mut c);
    assert!(c[0].log().committed() < index, "n1 and n2 are 2 of 4");
    c.push(n3);
    run_all(&mut c);
    assert_eq!(c[0].log().committed(), index, "n1, n2 and n3 are 3 of 4");
    c.push(n4);
    run_all(&mut c);
    assert_invariants(&c);
}

/// n1..n3 led by n1, with n4 and n5 joining, and n1 proposing to replace
/// n3 by n4 and n5 (three voters change: through a joint configuration).
fn replacing_n3_by_n4_and_n5() -> (Vec<RaftNode>, LogIndex) {
    let mut c = cluster(&[1, 2, 3]);
    c.push(joiner(4, &[1, 2, 3]));
    c.push(joiner(5, &[1, 2, 3]));
    let replace = change(vec![
        Change::AddVoter(NodeId(4)),
        Change::AddVoter(NodeId(5)),
        Change::Remove(NodeId(3)),
    ]);
    let (joint_index, _) = c[0].propose_conf_change(&replace).expect("valid");
    assert!(c[0].membership().is_joint(), "the leader uses it at once");
    (c, joint_index)
}

/// Rule (§4.3): while joint, a commit needs a majority of the old voters
/// and one of the new; the leader then leaves the joint configuration.
#[test]
fn joint_consensus_needs_both_majorities_then_leaves() {
    // The old voters alone: 3 of the old 3, but only 2 of the new 4.
    let (mut c, joint_index) = replacing_n3_by_n4_and_n5();
    let _new = c.split_off(3);
    run_all(&mut c);
    assert!(c[0].log().committed() < joint_index);
    // n1 with the new ones: 3 of the new 4, but only 1 of the old 3.
    let (mut c, joint_index) = replacing_n3_by_n4_and_n5();
    let old = c.drain(1..3).collect::<Vec<_>>();
    run_all(&mut c);
    assert!(c[0].log().committed() < joint_index);
    // With n2 back: 2 of the old 3 and 4 of the new 4. The joint entry
    // commits, and the leader leaves at once.
    c.extend(old.into_iter().take(1));
    run_all(&mut c);
    let leader = &c[0];
    assert!(leader.log().committed() > joint_index);
    assert_eq!(leader.membership_index(), leader.log().committed());
    for n in &c {
        let m = n.membership();
        assert!(!m.is_joint(), "n{} left", n.id());
        assert_eq!(m.voters, ids(&[1, 2, 4, 5]), "n{}", n.id());
    }
    assert_invariants(&c);
}

/// Rule: one change at a time; a joint configuration changes only by
/// leaving it; a new leader changes nothing before it has committed an
/// entry of its term.
#[test]
fn changes_are_refused_while_one_is_pending_or_no_entry_of_the_term_committed() {
    let mut c = cluster(&[1, 2, 3]);
    let add = |id| change(vec![Change::AddLearner(NodeId(id))]);
    c[0].propose_conf_change(&add(4)).expect("valid");
    assert_eq!(
        c[0].propose_conf_change(&add(5)),
        Err(ProposeError::ConfChangePending)
    );
    run_all(&mut c);
    let explicit = ConfChange {
        changes: vec![Change::AddVoter(NodeId(4))],
        transition: Transition::JointExplicit,
    };
    c[0].propose_conf_change(&explicit).expect("valid");
    run_all(&mut c);
    assert!(c[0].membership().is_joint(), "left only on request");
    assert!(matches!(
        c[0].propose_conf_change(&add(5)),
        Err(ProposeError::InvalidConfChange(_))
    ));
    c[0].propose_conf_change(&ConfChange::leave_joint())
        .expect("leaving");
    run_all(&mut c);
    assert!(!c[0].membership().is_joint());
    assert_eq!(
        c[1].propose_conf_change(&add(5)),
        Err(ProposeError::NotLeader {
            leader: Some(NodeId(1))
        })
    );
    let mut fresh = new_node(cfg_no_pre_vote(1, &[1, 2, 3]));
    elect(&mut fresh);
    assert_eq!(
        fresh.propose_conf_change(&add(5)),
        Err(ProposeError::NoCommitInTerm)
    );
}

/// Rule: a node uses the latest configuration in its log, committed or
/// not, and falls back to the one before when that entry is truncated.
#[test]
fn a_truncated_change_falls_back_to_the_configuration_before() {
    let mut f = new_node(cfg_no_pre_vote(2, &[1, 2, 3]));
    let conf = Entry {
        term: Term(1),
        index: LogIndex(2),
        kind: EntryKind::ConfChange,
        data: Bytes::from(change(vec![Change::AddLearner(NodeId(4))]).encode()),
    };
    f.step(append(1, 2, 1, (0, 0), vec![ent(1, 1), conf], 0));
    assert!(
        f.membership().is_learner(NodeId(4)),
        "uncommitted, in force"
    );
    assert_eq!(f.membership_index(), LogIndex(2));
    f.step(append(3, 2, 2, (1, 1), vec![ent(2, 2)], 0));
    assert_eq!(terms_of(&f), vec![1, 2]);
    assert_eq!(f.membership(), &Membership::bootstrap(&ids(&[1, 2, 3])));
    assert_eq!(f.membership_index(), LogIndex(0));
    f.check_invariants().expect("invariants hold");
}

/// Rule: after a restart the configuration is rebuilt from the durable log.
#[test]
fn a_restart_rebuilds_the_configuration_from_the_log() {
    let mut d = durable(1, None, &[1], 1);
    d.entries.push(Entry {
        term: Term(1),
        index: LogIndex(2),
        kind: EntryKind::ConfChange,
        data: Bytes::from(change(vec![Change::AddVoter(NodeId(4))]).encode()),
    });
    let n = RaftNode::restore(cfg(2, &[1, 2, 3]), d, rng(2)).expect("valid");
    assert_eq!(n.membership().voters, ids(&[1, 2, 3, 4]));
    assert_eq!(n.membership_index(), LogIndex(2));
}

/// Rule (§4.2.2): a leader that removed itself manages the cluster until
/// the change commits, then steps down and never campaigns again; the
/// others elect a leader among themselves.
#[test]
fn a_removed_leader_steps_down_once_the_change_commits() {
    let mut c = cluster(&[1, 2, 3]);
    let (index, _) = c[0]
        .propose_conf_change(&change(vec![Change::Remove(NodeId(1))]))
        .expect("valid");
    assert_eq!(c[0].role(), Role::Leader, "until committed");
    run_all(&mut c);
    assert!(c[0].log().committed() >= index);
    assert_eq!(c[0].role(), Role::Follower);
    for _ in 0..100 {
        c[0].tick();
    }
    assert_eq!(c[0].role(), Role::Follower, "no longer a voter");
    let mut rest = c.split_off(1);
    elect(&mut rest[0]);
    run_all(&mut rest);
    assert_eq!(rest[0].role(), Role::Leader);
    let index = propose_and_run(&mut rest);
    assert_eq!(rest[0].log().committed(), index, "2 of the new 2");
    assert_invariants(&rest);
}

/// Rule: a leader that proposed its own removal and lost its leadership
/// before the change committed may campaign again (it votes in the
/// configuration before the uncommitted one): it alone may hold the
/// change, and the others, whose configuration still counts it, cannot win
/// without its vote, which a longer log keeps from them.
#[test]
fn a_removed_leader_that_lost_leadership_before_the_commit_finishes_the_change() {
    let mut c = cluster(&[1, 2]);
    let (index, _) = c[0]
        .propose_conf_change(&change(vec![Change::Remove(NodeId(1))]))
        .expect("valid");
    // Cut off (its messages lost), n1 alone holds the change, and steps
    // down when check-quorum finds n2 silent.
    for _ in 0..100 {
        c[0].tick();
        while c[0].has_ready() {
            handle(&mut c[0]);
        }
    }
    assert_ne!(c[0].role(), Role::Leader, "check-quorum deposed n1");
    tick_until_campaign(&mut c[1]);
    {
        let mut refs: Vec<&mut RaftNode> = c.iter_mut().collect();
        run(&mut refs);
    }
    assert_ne!(
        c[1].role(),
        Role::Leader,
        "n1 refuses n2: its log is longer"
    );
    assert!(!c[0].membership().is_voter(NodeId(1)));
    // n1 campaigns (it votes in the committed configuration) and wins with
    // n2's vote, then commits its removal and steps down; n2 leads alone.
    let limit = 2 * c[0].config().election_timeout_ticks_min;
    for _ in 0..limit {
        c[0].tick();
        let mut refs: Vec<&mut RaftNode> = c.iter_mut().collect();
        run(&mut refs);
    }
    assert!(c[1].log().committed() >= index, "the removal committed");
    assert_eq!(c[0].role(), Role::Follower, "stepped down again");
    let mut rest = c.split_off(1);
    elect(&mut rest[0]);
    run_all(&mut rest);
    assert_eq!(rest[0].role(), Role::Leader);
    assert_eq!(rest[0].membership().voters, ids(&[2]));
    assert_invariants(&rest);
}

// ----- leadership transfer (thesis §3.10) ------------------------------------

/// Rule: the leader refuses proposals during a transfer, brings the target
/// up to date, sends it TimeoutNow; the target campaigns at once and wins,
/// past the others' leader leases (check-quorum on).
#[test]
fn a_transfer_brings_the_target_up_to_date_and_it_wins_at_once() {
    let mut c = cluster(&[1, 2, 3]);
    let lagging = c.pop().expect("n3");
    let index = propose_and_run(&mut c);
    c.push(lagging);
    assert!(c[2].log().last_index() < index, "n3 lags");
    c[0].transfer_leadership(NodeId(3)).expect("n3 votes");
    assert_eq!(c[0].transfer_target(), Some(NodeId(3)));
    assert_eq!(
        c[0].propose(Bytes::from_static(b"y")),
        Err(ProposeError::TransferInProgress)
    );
    let delivered = run_all(&mut c);
    let timeout_now: Vec<_> = delivered
        .iter()
        .filter(|m| matches!(m.body, MessageBody::TimeoutNow { .. }))
        .collect();
    assert_eq!(timeout_now.len(), 1, "sent once, when n3 caught up");
    assert_eq!(c[2].role(), Role::Leader, "n3 won");
    assert_eq!(c[2].term(), Term(2));
    assert_eq!(c[0].role(), Role::Follower);
    assert_eq!(c[0].transfer_target(), None);
    c.rotate_left(2);
    let index = propose_and_run(&mut c);
    assert_eq!(c[0].log().committed(), index);
    assert_invariants(&c);
}

/// Rule: a transfer that does not finish within an election timeout is
/// abandoned, and the leader takes proposals again.
#[test]
fn a_transfer_to_an_absent_target_is_abandoned_after_an_election_timeout() {
    let mut c = cluster(&[1, 2, 3]);
    c.pop();
    c[0].transfer_leadership(NodeId(3)).expect("n3 votes");
    for _ in 0..c[0].config().election_timeout_ticks_min {
        assert_eq!(c[0].transfer_target(), Some(NodeId(3)));
        c[0].tick();
        let mut refs: Vec<&mut RaftNode> = c.iter_mut().collect();
        run(&mut refs);
    }
    assert_eq!(c[0].transfer_target(), None);
    assert_eq!(c[0].role(), Role::Leader);
    propose_and_run(&mut c);
    assert_eq!(
        c[0].transfer_leadership(NodeId(9)),
        Err(TransferError::NotAVoter(NodeId(9)))
    );
    assert!(matches!(
        c[1].transfer_leadership(NodeId(1)),
        Err(TransferError::NotLeader { .. })
    ));
}

/// Rule: a follower in its leader lease ignores an ordinary vote request of
/// a newer term but answers a transfer's.
#[test]
fn a_transfer_vote_request_passes_the_leader_lease() {
    let mut c = cluster(&[1, 2, 3]);
    let request = |transfer| {
        let body = MessageBody::RequestVote {
            pre_vote: false,
            last_log_index: LogIndex(1),
            last_log_term: Term(1),
            transfer,
        };
        msg(3, 2, 2, body)
    };
    c[1].step(request(false));
    assert_eq!(c[1].term(), Term(1), "in its lease: ignored");
    c[1].step(request(true));
    assert_eq!(c[1].term(), Term(2));
    assert_eq!(c[1].vote(), Some(NodeId(3)));
}

// ----- vote re-issue -----------------------------------------------------------

/// Rule: a candidate re-sends its vote request to the voters that have not
/// answered after `vote_retry_ticks`, in the same term; never to those that
/// did, and not at all when off.
#[test]
fn a_candidate_re_sends_vote_requests_to_voters_that_did_not_answer() {
    let mut config = cfg_no_pre_vote(1, &[1, 2, 3, 4, 5]);
    config.vote_retry_ticks = 3;
    let mut n = new_node(config);
    tick_until_campaign(&mut n);
    let campaigns = n.campaigns();
    let ready = n.ready();
    deliver_to_self(&mut n, &ready);
    n.step(vote_response(2, 1, 1, false, false));
    for _ in 0..2 {
        n.tick();
        assert!(outgoing(&n.ready()).is_empty(), "not yet");
    }
    n.tick();
    let again: Vec<u64> = outgoing(&n.ready())
        .iter()
        .filter(|m| matches!(m.body, MessageBody::RequestVote { .. }))
        .map(|m| {
            assert_eq!(m.term, Term(1), "the same term");
            m.to.0
        })
        .collect();
    assert_eq!(again, vec![3, 4, 5], "only to those that did not answer");
    assert_eq!(n.campaigns(), campaigns, "the same campaign");
    assert_eq!(n.role(), Role::Candidate);
    let mut off = new_node(cfg_no_pre_vote(1, &[1, 2, 3]));
    tick_until_campaign(&mut off);
    let _ = off.ready();
    for _ in 0..5 {
        off.tick();
        if off.role() == Role::Candidate && off.term() == Term(1) {
            assert!(outgoing(&off.ready()).is_empty(), "off: nothing re-sent");
        }
    }
}

/// Rule: a target campaigns on TimeoutNow only if its log ends where the
/// leader's did when it sent it; a late copy of an abandoned transfer (the
/// log has moved on since) is ignored rather than depose the leader.
#[test]
fn a_late_timeout_now_is_ignored() {
    let mut c = cluster(&[1, 2, 3]);
    let sent_at = c[1].log().last_index();
    propose_and_run(&mut c);
    assert!(c[1].log().last_index() > sent_at, "the log moved on");
    let (term, leader) = (c[0].term(), c[0].id());
    let timeout_now = |last_index| Message {
        from: leader,
        to: NodeId(2),
        term,
        body: MessageBody::TimeoutNow { last_index },
    };
    c[1].step(timeout_now(sent_at));
    assert_eq!(c[1].role(), Role::Follower, "a late TimeoutNow is ignored");
    assert_eq!(c[1].term(), term);
    let now = c[1].log().last_index();
    c[1].step(timeout_now(now));
    assert_eq!(c[1].role(), Role::Candidate, "an up-to-date one is obeyed");
}
