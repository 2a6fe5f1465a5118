//! ReadIndex (thesis §6.4): a read is served at the commit index of its
//! arrival, only after a quorum confirmed the leader still leads, never
//! before the leader committed an entry of its term; lost leadership
//! refuses pending reads. Nodes run on the test network of `node_tests`.

use super::*;
use crate::ready::ReadState;

/// Runs the network like `run`, delivering only what `deliver` allows,
/// and returns the read states the nodes handed out.
fn run_reads(nodes: &mut [RaftNode], deliver: impl Fn(&Message) -> bool) -> Vec<ReadState> {
    let mut reads = Vec::new();
    for _round in 0..1_000 {
        let mut queue = Vec::new();
        for node in nodes.iter_mut() {
            while node.has_ready() {
                let ready = handle(node);
                reads.extend(ready.read_states.iter().copied());
                queue.extend(outgoing(&ready));
            }
        }
        queue.retain(|m| deliver(m));
        if queue.is_empty() {
            return reads;
        }
        for m in queue {
            if let Some(node) = nodes.iter_mut().find(|n| n.id() == m.to) {
                node.step(m);
            }
        }
    }
    panic!("the network did not become quiescent");
}

fn served(ctx: u64, index: u64) -> ReadState {
    ReadState {
        ctx,
        index: Some(LogIndex(index)),
    }
}

/// Rule: a read is served at the commit index it arrived at, once a
/// quorum answered a heartbeat sent after it; not before.
#[test]
fn a_read_waits_for_a_quorum_round_and_is_served_at_the_commit_index() {
    let mut c = cluster(&[1, 2, 3]);
    let commit = c[0].log().committed().0;
    c[0].read_index(7).expect("the leader");
    // No answer reaches the leader: nothing is served.
    assert_eq!(run_reads(&mut c, |_| false), vec![]);
    assert_eq!(run_reads(&mut c, |m| m.to != NodeId(1)), vec![]);
    // The heartbeats went out with round 1; answers from n2 alone make a
    // quorum of three with the leader.
    c[0].tick(); // (a heartbeat resend changes nothing)
    let reads = run_reads(&mut c, |m| m.from != NodeId(3) && m.to != NodeId(3));
    assert_eq!(reads, vec![served(7, commit)]);
}

/// Rule: a follower refuses a read and names the leader; a single node
/// serves at once.
#[test]
fn a_follower_refuses_and_a_single_node_serves_at_once() {
    let mut c = cluster(&[1, 2, 3]);
    assert_eq!(
        c[1].read_index(1),
        Err(ReadError::NotLeader {
            leader: Some(NodeId(1))
        })
    );
    let mut solo = vec![new_node(cfg_no_pre_vote(1, &[1]))];
    elect(&mut solo[0]);
    run_reads(&mut solo, |_| true);
    solo[0].read_index(5).expect("the leader");
    let commit = solo[0].log().committed().0;
    assert_eq!(run_reads(&mut solo, |_| true), vec![served(5, commit)]);
}

/// Rule (thesis §6.4): a new leader serves no read before it committed an
/// entry of its own term; then at that commit index.
#[test]
fn a_new_leader_serves_reads_only_after_committing_in_its_term() {
    let voters = [1, 2, 3];
    let mut c: Vec<RaftNode> = voters
        .iter()
        .map(|&v| new_node(cfg_no_pre_vote(v, &voters)))
        .collect();
    elect(&mut c[0]);
    // Leader, its no-op not yet committed.
    assert_ne!(c[0].log().term(c[0].log().committed()), Some(c[0].term()));
    c[0].read_index(3).expect("the leader accepts and waits");
    let reads = run_reads(&mut c, |_| true);
    let noop = c[0].log().committed();
    assert_eq!(c[0].log().term(noop), Some(c[0].term()));
    assert_eq!(reads, vec![served(3, noop.0)]);
}

/// Rule: reads that arrive while a round is in flight share the next
/// round; answers to an older round confirm nothing newer.
#[test]
fn reads_share_rounds_and_old_answers_confirm_nothing_newer() {
    let mut c = cluster(&[1, 2, 3]);
    c[0].read_index(1).expect("leader");
    // Round 1 goes out; hold every answer.
    let held: Vec<Message> = {
        let ready = handle(&mut c[0]);
        outgoing(&ready)
    };
    assert!(held
        .iter()
        .all(|m| matches!(m.body, MessageBody::Heartbeat { read_round: 1, .. })));
    let term = c[0].term().0;
    c[0].read_index(2).expect("leader");
    c[0].read_index(3).expect("leader");
    // No new round while round 1 is in flight.
    assert!(outgoing(&handle(&mut c[0]))
        .iter()
        .all(|m| !matches!(m.body, MessageBody::Heartbeat { .. })));
    // An answer to round 0 (an earlier heartbeat) confirms nothing.
    c[0].step(msg(
        2,
        1,
        term,
        MessageBody::HeartbeatResponse { read_round: 0 },
    ));
    assert!(handle(&mut c[0]).read_states.is_empty());
    // Round 1 answered by n2: read 1 is served, and round 2 starts for 2 and 3.
    let commit = c[0].log().committed().0;
    c[0].step(msg(
        2,
        1,
        term,
        MessageBody::HeartbeatResponse { read_round: 1 },
    ));
    let ready = handle(&mut c[0]);
    assert_eq!(ready.read_states, vec![served(1, commit)]);
    assert!(outgoing(&ready)
        .iter()
        .any(|m| matches!(m.body, MessageBody::Heartbeat { read_round: 2, .. })));
    c[0].step(msg(
        3,
        1,
        term,
        MessageBody::HeartbeatResponse { read_round: 2 },
    ));
    assert_eq!(
        handle(&mut c[0]).read_states,
        vec![served(2, commit), served(3, commit)]
    );
}

/// Rule: a leader that steps down refuses its pending reads (no index):
/// a newer leader may have committed what they would miss.
#[test]
fn a_deposed_leader_refuses_its_pending_reads() {
    let mut c = cluster(&[1, 2, 3]);
    c[0].read_index(9).expect("leader");
    handle(&mut c[0]);
    let term = c[0].term().0;
    c[0].step(heartbeat(2, 1, term + 1, 0));
    assert_eq!(c[0].role(), Role::Follower);
    assert_eq!(
        handle(&mut c[0]).read_states,
        vec![ReadState {
            ctx: 9,
            index: None
        }]
    );
}

/// Rule: a follower read asks the leader, which answers once its round is
/// confirmed; the follower hands the read out with the leader's commit
/// index (its host serves it once its own state machine reaches it).
#[test]
fn a_follower_read_gets_the_leaders_index_after_a_round() {
    let mut c = cluster(&[1, 2, 3]);
    let commit = c[0].log().committed().0;
    c[1].follower_read(4).expect("n2 follows n1");
    // n3 is away: the round needs n2's own answer.
    let reads = run_reads(&mut c, |m| m.to != NodeId(3) && m.from != NodeId(3));
    assert_eq!(reads, vec![served(4, commit)]);
}

/// Rule: a node that knows no leader, or leads, does not ask; a node that
/// is not the leader answers a `ReadIndex` with a refusal; a follower that
/// moves to a new term refuses what it still waits for.
#[test]
fn follower_reads_are_refused_where_no_leader_can_answer() {
    let mut c = cluster(&[1, 2, 3]);
    assert!(c[0].follower_read(1).is_err(), "the leader reads itself");
    let mut lone = new_node(cfg_no_pre_vote(2, &[1, 2, 3]));
    assert_eq!(
        lone.follower_read(1),
        Err(ReadError::NotLeader { leader: None })
    );
    // n3 asked by n2 (not a leader): refused at once.
    let term = c[2].term().0;
    c[2].step(msg(2, 3, term, MessageBody::ReadIndex { ctx: 8 }));
    let answer = outgoing(&handle(&mut c[2]));
    assert_eq!(
        answer,
        vec![msg(
            3,
            2,
            term,
            MessageBody::ReadIndexResponse {
                ctx: 8,
                index: None
            }
        )]
    );
    // n2 asks, then hears of a newer term before the answer: refused.
    c[1].follower_read(5).expect("n2 follows n1");
    handle(&mut c[1]);
    c[1].step(heartbeat(3, 2, term + 1, 0));
    assert_eq!(
        handle(&mut c[1]).read_states,
        vec![ReadState {
            ctx: 5,
            index: None
        }]
    );
}

/// Rule: a follower read the leader does not answer (the request or the
/// answer was lost) is refused after a minimum election timeout of the
/// follower's ticks, though the follower still hears its leader: no read
/// waits for ever.
#[test]
fn an_unanswered_follower_read_is_refused_after_an_election_timeout() {
    let mut c = cluster(&[1, 2, 3]);
    let term = c[0].term().0;
    let timeout = c[1].config().election_timeout_ticks_min;
    c[1].follower_read(9).expect("n2 follows n1");
    // The ReadIndex request is lost.
    assert!(outgoing(&handle(&mut c[1]))
        .iter()
        .any(|m| matches!(m.body, MessageBody::ReadIndex { ctx: 9 })));
    for _ in 1..timeout {
        c[1].tick();
        c[1].step(heartbeat(1, 2, term, 0));
        let ready = handle(&mut c[1]);
        assert!(ready.read_states.is_empty(), "refused too early");
    }
    c[1].tick();
    assert_eq!(c[1].role(), Role::Follower, "still following n1");
    assert_eq!(
        handle(&mut c[1]).read_states,
        vec![ReadState {
            ctx: 9,
            index: None
        }]
    );
}

/// Rule: a leader that steps down with a follower's read pending tells
/// the follower, which refuses it.
#[test]
fn a_deposed_leader_refuses_a_followers_pending_read() {
    let mut c = cluster(&[1, 2, 3]);
    c[1].follower_read(6).expect("n2 follows n1");
    // The request reaches the leader; its round goes nowhere.
    let ask = outgoing(&handle(&mut c[1]));
    for m in ask {
        c[0].step(m);
    }
    handle(&mut c[0]);
    let term = c[0].term().0;
    c[0].step(heartbeat(3, 1, term + 1, 0));
    let refusal: Vec<Message> = outgoing(&handle(&mut c[0]))
        .into_iter()
        .filter(|m| matches!(m.body, MessageBody::ReadIndexResponse { .. }))
        .collect();
    assert_eq!(
        refusal,
        vec![msg(
            1,
            2,
            term + 1,
            MessageBody::ReadIndexResponse {
                ctx: 6,
                index: None
            }
        )]
    );
    for m in refusal {
        c[1].step(m);
    }
    assert_eq!(
        handle(&mut c[1]).read_states,
        vec![ReadState {
            ctx: 6,
            index: None
        }]
    );
}

/// Rule: a round whose answers were lost is confirmed once the
/// configuration in force no longer needs them (here: shrunk to the
/// leader alone); reads never wait on voters that left.
#[test]
fn a_round_in_flight_is_rechecked_when_the_configuration_changes() {
    use crate::membership::{Change, ConfChange};
    let mut c = cluster(&[1, 2, 3]);
    c[0].read_index(11).expect("leader");
    // The round's heartbeats and their answers are all lost.
    let no_heartbeats = |m: &Message| {
        !matches!(
            m.body,
            MessageBody::Heartbeat { .. } | MessageBody::HeartbeatResponse { .. }
        )
    };
    assert_eq!(run_reads(&mut c, no_heartbeats), vec![]);
    for gone in [3, 2] {
        let remove = ConfChange::auto(vec![Change::Remove(NodeId(gone))]);
        c[0].propose_conf_change(&remove)
            .expect("one change at a time");
        assert_eq!(run_reads(&mut c, no_heartbeats), vec![]);
    }
    assert_eq!(c[0].membership().voters, vec![NodeId(1)]);
    // The next heartbeat finds the round confirmed by the leader alone.
    let mut reads = Vec::new();
    for _ in 0..10 {
        c[0].tick();
        reads.extend(handle(&mut c[0]).read_states);
    }
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].ctx, 11);
}

/// A cluster of three with leases on (drift bound `drift` ticks; election
/// timeout 10 ticks, heartbeat every tick).
fn lease_cluster(drift: u32) -> Vec<RaftNode> {
    let voters = [1, 2, 3];
    let mut nodes: Vec<RaftNode> = voters
        .iter()
        .map(|&v| {
            let mut c = cfg_no_pre_vote(v, &voters);
            c.read_lease = true;
            c.clock_drift_bound_ticks = drift;
            new_node(c)
        })
        .collect();
    elect(&mut nodes[0]);
    let mut refs: Vec<&mut RaftNode> = nodes.iter_mut().collect();
    run(&mut refs);
    nodes
}

/// Rule (thesis §6.4.1): a leader serves a lease read at once while a
/// quorum answered a heartbeat round that started less than the election
/// timeout minus the drift bound ago; after that, by ReadIndex.
#[test]
fn a_lease_read_is_served_at_once_while_the_lease_holds() {
    let mut c = lease_cluster(2);
    // A heartbeat round answered by the followers grants the lease.
    c[0].tick();
    run_reads(&mut c, |_| true);
    assert!(c[0].lease_holds());
    let commit = c[0].log().committed().0;
    c[0].lease_read(1).expect("leader");
    let ready = handle(&mut c[0]);
    assert_eq!(ready.read_states, vec![served(1, commit)]);
    assert!(outgoing(&ready).is_empty(), "no round for a lease read");
    // Nothing answers for 10 - 2 = 8 ticks: the lease runs out, and a lease
    // read waits for a round like any ReadIndex read.
    for _ in 0..8 {
        c[0].tick();
        handle(&mut c[0]);
    }
    assert!(!c[0].lease_holds());
    c[0].lease_read(2).expect("leader");
    assert!(handle(&mut c[0]).read_states.is_empty());
    // (The round in flight began before the read: the read waits for the
    // next, which the first's answers start.)
    c[0].tick();
    assert_eq!(run_reads(&mut c, |_| true), vec![served(2, commit)]);
    assert!(c[0].lease_holds(), "the answered round renewed it");
}

/// Rule: a transfer ends the lease (its target campaigns at once and the
/// voters grant it); leases need check-quorum, and a drift bound below the
/// election timeout.
#[test]
fn a_transfer_ends_the_lease_and_bad_lease_configs_are_refused() {
    let mut c = lease_cluster(1);
    c[0].tick();
    run_reads(&mut c, |_| true);
    assert!(c[0].lease_holds());
    c[0].transfer_leadership(NodeId(2)).expect("a voter");
    assert!(!c[0].lease_holds());
    let mut no_quorum_check = cfg(1, &[1, 2, 3]);
    no_quorum_check.read_lease = true;
    no_quorum_check.check_quorum = false;
    assert!(no_quorum_check.validate().is_err());
    let mut too_much_drift = cfg(1, &[1, 2, 3]);
    too_much_drift.clock_drift_bound_ticks = too_much_drift.election_timeout_ticks_min;
    assert!(too_much_drift.validate().is_err());
}
