//! Tests of [`RaftNode::check_invariants`]: healthy nodes pass after every
//! input, and a node corrupted in exactly one field fails with that field's
//! rule.

use super::InvariantViolation;
use crate::config::Config;
use crate::message::Message;
use crate::node::{DurableState, RaftNode, Role};
use crate::progress::Progress;
use crate::types::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};
use bytes::Bytes;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

// ----- helpers -------------------------------------------------------------

fn config(id: u64, voters: &[u64], pre_vote: bool) -> Config {
    let mut c = Config::new(NodeId(id), voters.iter().map(|&v| NodeId(v)).collect());
    c.pre_vote = pre_vote;
    c
}

/// A node with empty durable state, seeded with its id.
fn node(id: u64, voters: &[u64], pre_vote: bool) -> RaftNode {
    RaftNode::new(
        config(id, voters, pre_vote),
        Xoshiro256PlusPlus::seed_from_u64(id),
    )
    .expect("valid config")
}

fn assert_healthy(node: &RaftNode) {
    if let Err(v) = node.check_invariants() {
        panic!("{v}");
    }
}

/// Checks that `node` is healthy, corrupts it with `corrupt`, and checks that
/// `rule` (and no other) is reported.
fn assert_breaks(mut node: RaftNode, rule: &str, corrupt: impl FnOnce(&mut RaftNode)) {
    assert_healthy(&node);
    corrupt(&mut node);
    let violation = node
        .check_invariants()
        .expect_err("the corruption must be caught");
    assert_eq!(violation.rule, rule, "{violation}");
    assert!(violation.to_string().contains(rule));
}

/// Ticks `node` until its role changes from follower.
fn tick_until_campaign(node: &mut RaftNode) {
    for _ in 0..2 * node.config().election_timeout_ticks_min {
        node.tick();
        assert_healthy(node);
        if node.role() != Role::Follower {
            return;
        }
    }
    panic!("node {} did not campaign", node.id());
}

/// A follower restored with a compacted prefix ending at 2, entries 3..=5
/// and commit 3, whose first Ready was handled: prefix 2, applied 3,
/// committed 3, persisted 5, unstable_from 6, last index 5.
fn restored_follower() -> RaftNode {
    let entries = (3..=5)
        .map(|i| Entry {
            term: Term(1),
            index: LogIndex(i),
            kind: EntryKind::Normal,
            data: Bytes::new(),
        })
        .collect();
    let durable = DurableState {
        hard_state: HardState {
            term: Term(1),
            vote: None,
            commit: LogIndex(3),
        },
        snapshot: Some(crate::Snapshot {
            meta: crate::SnapshotMeta {
                index: LogIndex(2),
                term: Term(1),
                membership: crate::membership::Membership::bootstrap(&[
                    NodeId(1),
                    NodeId(2),
                    NodeId(3),
                ]),
                membership_index: LogIndex(0),
            },
            data: Bytes::new(),
        }),
        entries,
    };
    let mut node = RaftNode::restore(
        config(1, &[1, 2, 3], true),
        durable,
        Xoshiro256PlusPlus::seed_from_u64(1),
    )
    .expect("consistent durable state");
    let ready = node.ready();
    assert_eq!(ready.committed_entries.len(), 1);
    let log = node.log();
    assert_eq!(
        (log.first_index(), log.applied(), log.committed()),
        (LogIndex(3), LogIndex(3), LogIndex(3))
    );
    assert_eq!(
        (log.persisted(), log.unstable_from(), log.last_index()),
        (LogIndex(5), LogIndex(6), LogIndex(5))
    );
    node
}

/// An in-memory cluster: every Ready is persisted, then its messages are
/// delivered (a node's messages to itself are stepped back in), and every
/// node's invariants are checked after every input. Messages to or from a
/// partitioned node are dropped.
struct Cluster {
    nodes: Vec<RaftNode>,
    partitioned: Option<NodeId>,
}

impl Cluster {
    fn new(voters: &[u64]) -> Cluster {
        Cluster {
            nodes: voters.iter().map(|&id| node(id, voters, true)).collect(),
            partitioned: None,
        }
    }

    fn node(&mut self, id: u64) -> &mut RaftNode {
        let at = self
            .nodes
            .iter()
            .position(|n| n.id() == NodeId(id))
            .expect("a member");
        &mut self.nodes[at]
    }

    fn check(&self) {
        for node in &self.nodes {
            assert_healthy(node);
        }
    }

    /// Handles Ready batches and delivers messages until none is left.
    fn settle(&mut self) {
        for _round in 0..1_000 {
            let mut queue: Vec<Message> = Vec::new();
            for node in &mut self.nodes {
                while node.has_ready() {
                    let ready = node.ready();
                    assert_healthy(node);
                    if let Some(last) = ready.entries.last() {
                        node.on_persisted(last.index, last.term);
                        assert_healthy(node);
                    }
                    queue.extend(ready.messages);
                    queue.extend(ready.persisted_messages);
                }
            }
            if queue.is_empty() {
                return;
            }
            for m in queue {
                let cut =
                    m.from != m.to && self.partitioned.is_some_and(|p| m.from == p || m.to == p);
                if cut {
                    continue;
                }
                if let Some(node) = self.nodes.iter_mut().find(|n| n.id() == m.to) {
                    node.step(m);
                    assert_healthy(node);
                }
            }
        }
        panic!("the cluster did not become quiescent");
    }

    /// Ticks node `id` until it leads, settling after every tick.
    fn elect(&mut self, id: u64) {
        for _ in 0..100 {
            self.node(id).tick();
            self.check();
            self.settle();
            if self.node(id).role() == Role::Leader {
                return;
            }
        }
        panic!("node {id} did not win");
    }

    fn propose(&mut self, id: u64, data: &'static [u8]) {
        self.node(id)
            .propose(Bytes::from_static(data))
            .expect("the leader accepts proposals");
        self.check();
        self.settle();
    }
}

/// A three-node cluster led by node 1, every entry replicated and applied.
fn settled_leader() -> Cluster {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, b"a");
    let leader = cluster.node(1);
    assert_eq!(leader.log().applied(), leader.log().last_index());
    cluster
}

// ----- healthy nodes -------------------------------------------------------

#[test]
fn single_node_passes_through_election_and_proposals() {
    let mut cluster = Cluster::new(&[1]);
    cluster.elect(1);
    for data in [&b"x"[..], b"y", b"z"] {
        cluster.propose(1, data);
    }
    let node = cluster.node(1);
    assert_eq!(node.log().applied(), LogIndex(4));
    assert_healthy(node);
}

#[test]
fn cluster_passes_through_elections_proposals_and_a_leader_change() {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    cluster.elect(1);
    for data in [&b"a"[..], b"b", b"c"] {
        cluster.propose(1, data);
    }
    for _ in 0..20 {
        for id in 1..=3 {
            cluster.node(id).tick();
            cluster.check();
        }
        cluster.settle();
    }
    assert_eq!(cluster.node(1).role(), Role::Leader);

    // Cut the leader off: it steps down (check-quorum), and 2 or 3 wins.
    cluster.partitioned = Some(NodeId(1));
    let mut new_leader = None;
    for _ in 0..200 {
        for id in 1..=3 {
            cluster.node(id).tick();
            cluster.check();
        }
        cluster.settle();
        new_leader = (2..=3).find(|&id| cluster.node(id).role() == Role::Leader);
        if new_leader.is_some() && cluster.node(1).role() != Role::Leader {
            break;
        }
    }
    let new_leader = new_leader.expect("a new leader among 2 and 3");
    cluster.propose(new_leader, b"d");

    // Heal: the old leader catches up.
    cluster.partitioned = None;
    for _ in 0..20 {
        for id in 1..=3 {
            cluster.node(id).tick();
            cluster.check();
        }
        cluster.settle();
    }
    let last = cluster.node(new_leader).log().last_index();
    for id in 1..=3 {
        assert_eq!(cluster.node(id).log().applied(), last, "node {id}");
    }
}

// ----- log cursors ---------------------------------------------------------

#[test]
fn applied_below_prefix_is_caught() {
    assert_breaks(restored_follower(), "log.prefix_le_applied", |n| {
        *n.log.cursors_mut().applied = LogIndex(1);
    });
}

#[test]
fn a_snapshot_not_at_the_prefix_is_caught() {
    assert_breaks(restored_follower(), "log.snapshot_at_prefix", |n| {
        n.snapshot = None;
    });
    assert_breaks(restored_follower(), "log.snapshot_at_prefix", |n| {
        if let Some(s) = n.snapshot.as_mut() {
            s.meta.index = LogIndex(3);
        }
    });
}

#[test]
fn applied_beyond_committed_is_caught() {
    assert_breaks(restored_follower(), "log.applied_le_committed", |n| {
        *n.log.cursors_mut().applied = LogIndex(4);
    });
}

#[test]
fn committed_beyond_last_index_is_caught() {
    assert_breaks(restored_follower(), "log.committed_le_last", |n| {
        *n.log.cursors_mut().committed = LogIndex(6);
    });
}

#[test]
fn applied_beyond_persisted_is_caught() {
    assert_breaks(restored_follower(), "log.applied_le_persisted", |n| {
        *n.log.cursors_mut().persisted = LogIndex(2);
    });
}

#[test]
fn persisted_not_below_unstable_from_is_caught() {
    assert_breaks(restored_follower(), "log.persisted_lt_unstable", |n| {
        *n.log.cursors_mut().unstable_from = LogIndex(5);
    });
}

#[test]
fn unstable_from_beyond_last_index_is_caught() {
    assert_breaks(restored_follower(), "log.unstable_le_last_next", |n| {
        *n.log.cursors_mut().unstable_from = LogIndex(7);
    });
}

// ----- progress ------------------------------------------------------------

#[test]
fn match_beyond_last_index_is_caught() {
    let leader = settled_leader().node(1).clone();
    let last = leader.log().last_index();
    assert_breaks(leader, "progress.match_le_last", |n| {
        let pr = n.progress_mut(NodeId(2)).expect("tracked");
        assert_eq!(pr.next_index, last.next());
        pr.match_index = last.next();
    });
}

#[test]
fn match_not_below_next_is_caught() {
    let leader = settled_leader().node(1).clone();
    let last = leader.log().last_index();
    assert_breaks(leader, "progress.match_lt_next", |n| {
        let pr = n.progress_mut(NodeId(2)).expect("tracked");
        assert_eq!(pr.match_index, last);
        pr.next_index = last;
    });
}

#[test]
fn next_beyond_last_index_is_caught() {
    let leader = settled_leader().node(1).clone();
    let last = leader.log().last_index();
    assert_breaks(leader, "progress.next_le_last_next", |n| {
        n.progress_mut(NodeId(2)).expect("tracked").next_index = last.next().next();
    });
}

// ----- roles ---------------------------------------------------------------

#[test]
fn leader_believing_in_another_leader_is_caught() {
    let leader = settled_leader().node(1).clone();
    assert_breaks(leader, "leader.leader_is_self", |n| {
        n.leader = Some(NodeId(2));
    });
}

#[test]
fn leader_without_its_own_vote_is_caught() {
    let leader = settled_leader().node(1).clone();
    assert_breaks(leader, "leader.vote_is_self", |n| n.vote = Some(NodeId(2)));
}

#[test]
fn leader_missing_or_misnaming_a_progress_is_caught() {
    let leader = settled_leader().node(1).clone();
    assert_breaks(leader.clone(), "leader.progress_per_member", |n| {
        n.progress.pop();
    });
    assert_breaks(leader, "leader.progress_per_member", |n| {
        n.progress[2].id = NodeId(4);
    });
}

#[test]
fn leader_counting_an_entry_not_yet_durable_is_caught() {
    let mut cluster = settled_leader();
    let leader = cluster.node(1);
    leader.propose(Bytes::from_static(b"b")).expect("leader");
    // Persist on the leader only: its own match advances, the commit does not.
    let ready = leader.ready();
    let last = ready.entries.last().expect("the new entry");
    leader.on_persisted(last.index, last.term);
    let last = last.index;
    assert_eq!(
        leader.progress(NodeId(1)).map(|p| p.match_index),
        Some(last)
    );
    assert_eq!(leader.log().applied(), last.prev());
    let leader = leader.clone();
    assert_breaks(leader, "leader.own_match_le_persisted", |n| {
        *n.log.cursors_mut().persisted = last.prev();
    });
}

#[test]
fn follower_holding_progress_is_caught() {
    let follower = settled_leader().node(2).clone();
    assert_eq!(follower.role(), Role::Follower);
    let last = follower.log().last_index();
    assert_breaks(follower, "non_leader.no_progress", |n| {
        n.progress.push(Progress::new(NodeId(1), last, 4));
    });
}

#[test]
fn candidate_without_its_own_vote_is_caught() {
    let mut candidate = node(1, &[1, 2, 3], false);
    tick_until_campaign(&mut candidate);
    assert_eq!(candidate.role(), Role::Candidate);
    assert_breaks(candidate, "candidate.vote_is_self", |n| {
        n.vote = Some(NodeId(2));
    });
}

#[test]
fn candidate_believing_in_a_leader_is_caught() {
    let mut candidate = node(1, &[1, 2, 3], false);
    tick_until_campaign(&mut candidate);
    assert_eq!(candidate.role(), Role::Candidate);
    assert_breaks(candidate, "candidate.no_leader", |n| {
        n.leader = Some(NodeId(2));
    });
}

#[test]
fn pre_candidate_believing_in_a_leader_is_caught() {
    let mut pre_candidate = node(1, &[1, 2, 3], true);
    tick_until_campaign(&mut pre_candidate);
    assert_eq!(pre_candidate.role(), Role::PreCandidate);
    assert_breaks(pre_candidate, "pre_candidate.no_leader", |n| {
        n.leader = Some(NodeId(2));
    });
}

// ----- hard state ----------------------------------------------------------

#[test]
fn handed_out_term_beyond_current_term_is_caught() {
    let follower = settled_leader().node(2).clone();
    assert_breaks(follower, "hard_state.handed_term_le_term", |n| {
        n.last_handed_hard_state.term = n.term.next();
    });
}

#[test]
fn violations_display_rule_and_detail() {
    let violation = InvariantViolation {
        rule: "log.applied_le_committed",
        detail: "node 1: applied 4 beyond committed 3".to_string(),
    };
    assert_eq!(
        violation.to_string(),
        "invariant log.applied_le_committed broken: node 1: applied 4 beyond committed 3"
    );
    let _: &dyn std::error::Error = &violation;
}
