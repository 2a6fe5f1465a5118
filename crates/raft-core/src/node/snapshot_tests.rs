//! Log compaction and snapshots (§7): the host compacts behind a snapshot,
//! the leader sends it in chunks to a follower that needs it (paused
//! appends, one chunk in flight, re-sent when lost, replaced by a newer
//! snapshot), the follower installs it (keeping a matching log, discarding
//! a conflicting one, ignoring stale and duplicated chunks), and a node
//! restarts from a snapshot plus the log after it with the snapshot's
//! configuration. Nodes run on the test network of `node_tests`.

use super::*;
use crate::membership::{Change, ConfChange, Membership};
use crate::snapshot::{SnapshotChunk, SnapshotMeta};

/// A cluster of `voters` (pre-vote off, `chunk`-byte snapshot chunks) led
/// by the first, everything replicated and committed.
fn cluster(voters: &[u64], chunk: u64) -> Vec<RaftNode> {
    let mut nodes: Vec<RaftNode> = voters
        .iter()
        .map(|&v| {
            let mut c = cfg_no_pre_vote(v, voters);
            c.snapshot_chunk_bytes = chunk;
            new_node(c)
        })
        .collect();
    elect(&mut nodes[0]);
    run_except(&mut nodes, &[]);
    nodes
}

/// Delivers messages until quiet, dropping those to or from `cut`.
fn run_except(nodes: &mut [RaftNode], cut: &[u64]) {
    let cut: Vec<NodeId> = cut.iter().map(|&c| NodeId(c)).collect();
    run_filtered(nodes, |m| cut.contains(&m.to) || cut.contains(&m.from));
}

/// Delivers messages until quiet, dropping those `drop` says to; returns
/// the messages delivered.
fn run_filtered(nodes: &mut [RaftNode], mut drop: impl FnMut(&Message) -> bool) -> Vec<Message> {
    let mut delivered = Vec::new();
    for _round in 0..1_000 {
        let mut queue = Vec::new();
        for node in nodes.iter_mut() {
            while node.has_ready() {
                queue.extend(outgoing(&handle(node)));
            }
        }
        queue.retain(|m| !drop(m));
        if queue.is_empty() {
            return delivered;
        }
        for m in queue {
            if let Some(node) = nodes.iter_mut().find(|n| n.id() == m.to) {
                node.step(m.clone());
                delivered.push(m);
            }
        }
    }
    panic!("the network did not become quiescent");
}

fn is_chunk(m: &Message) -> bool {
    matches!(m.body, MessageBody::InstallSnapshot { .. })
}

/// The leader (first node) proposes `count` entries, replicated to all
/// but `cut`.
fn propose_except(nodes: &mut [RaftNode], count: usize, cut: &[u64]) {
    for _ in 0..count {
        nodes[0]
            .propose(Bytes::from_static(b"x"))
            .expect("the leader accepts");
        run_except(nodes, cut);
    }
}

/// Compacts the leader's log up to what it applied, with `data` as state.
fn compact_leader(nodes: &mut [RaftNode], data: &'static [u8]) -> Snapshot {
    let applied = nodes[0].log().applied();
    nodes[0]
        .compact(applied, Bytes::from_static(data))
        .expect("applied entries compact")
}

fn chunks(msgs: &[Message]) -> Vec<(u64, u64, usize)> {
    msgs.iter()
        .filter_map(|m| match &m.body {
            MessageBody::InstallSnapshot { chunk } => {
                Some((chunk.meta.index.0, chunk.offset, chunk.data.len()))
            }
            _ => None,
        })
        .collect()
}

/// Heartbeat rounds from the leader (first node) until quiet.
fn heartbeats(nodes: &mut [RaftNode], rounds: usize) -> Vec<Message> {
    let mut delivered = Vec::new();
    for _ in 0..rounds {
        nodes[0].tick();
        delivered.extend(run_filtered(nodes, |_| false));
    }
    delivered
}

/// Rule: compaction keeps only applied entries behind the snapshot, keeps
/// (index, term) as the log's prefix, and the snapshot names the
/// configuration in force at its index (not the bootstrap one).
#[test]
fn compaction_snapshots_applied_entries_with_their_configuration() {
    let mut nodes = cluster(&[1, 2, 3], 64);
    let grow = ConfChange::auto(vec![Change::AddLearner(NodeId(4))]);
    let (conf_index, _) = nodes[0].propose_conf_change(&grow).expect("a change");
    run_except(&mut nodes, &[]);
    propose_except(&mut nodes, 3, &[]);
    let leader = &mut nodes[0];
    let applied = leader.log().applied();
    let last = leader.log().last_index();
    assert_eq!(applied, last, "everything applied on the leader");
    assert!(matches!(
        leader.compact(applied.next(), Bytes::new()),
        Err(CompactError::NotApplied { .. })
    ));
    let snap = leader
        .compact(LogIndex(applied.0 - 1), Bytes::from_static(b"s"))
        .expect("applied");
    assert_eq!(snap.meta.index, LogIndex(applied.0 - 1));
    assert_eq!(snap.meta.membership_index, conf_index);
    assert_eq!(snap.meta.membership.learners, vec![NodeId(4)]);
    assert_eq!(leader.log().first_index(), applied);
    assert_eq!(leader.log().entries().len(), 1, "the suffix stays");
    assert_eq!(leader.membership().learners, vec![NodeId(4)]);
    assert!(matches!(
        leader.compact(LogIndex(2), Bytes::new()),
        Err(CompactError::AlreadyCompacted { .. })
    ));
    assert_eq!(leader.snapshot(), Some(&snap));
    leader.check_invariants().expect("invariants hold");
}

/// Rule: a follower whose next entry is compacted away gets the snapshot in
/// chunks of at most `snapshot_chunk_bytes`, one at a time; appends to it
/// pause until it acknowledges the snapshot; it installs it (the host gets
/// it once in a Ready), then replicates from there like any follower.
#[test]
fn a_lagging_follower_catches_up_through_chunks() {
    let mut nodes = cluster(&[1, 2, 3], 4);
    propose_except(&mut nodes, 5, &[3]);
    let snap = compact_leader(&mut nodes, b"0123456789");
    propose_except(&mut nodes, 1, &[3]);
    assert_eq!(nodes[2].log().last_index(), LogIndex(1), "n3 missed it all");
    let delivered = heartbeats(&mut nodes, 3);
    assert_eq!(
        chunks(&delivered),
        vec![
            (snap.meta.index.0, 0, 4),
            (snap.meta.index.0, 4, 4),
            (snap.meta.index.0, 8, 2)
        ],
        "three chunks, in order, each once"
    );
    let follower = &nodes[2];
    assert_eq!(follower.snapshot(), Some(&snap));
    assert_eq!(follower.log().first_index(), snap.meta.index.next());
    assert_eq!(follower.log().last_index(), nodes[0].log().last_index());
    assert_eq!(follower.log().committed(), nodes[0].log().committed());
    let pr = nodes[0].progress(NodeId(3)).expect("a member");
    assert_eq!(pr.state, ProgressState::Replicate);
    for n in &nodes {
        n.check_invariants().expect("invariants hold");
    }
}

/// Rule: the installing follower hands the snapshot to its host exactly
/// once, and then applies only the entries after it.
#[test]
fn the_host_gets_the_installed_snapshot_once() {
    let mut nodes = cluster(&[1, 2, 3], 1 << 10);
    propose_except(&mut nodes, 4, &[3]);
    let snap = compact_leader(&mut nodes, b"state");
    propose_except(&mut nodes, 2, &[3]);
    let before = nodes[2].log().applied();
    nodes[0].tick();
    // What n3's host sees, in order: Some(index) applied, None the snapshot.
    let mut seen = Vec::new();
    for _ in 0..20 {
        let mut queue = Vec::new();
        for node in nodes.iter_mut() {
            while node.has_ready() {
                let ready = handle(node);
                if node.id() == NodeId(3) {
                    if let Some(s) = &ready.snapshot {
                        assert_eq!(**s, snap);
                        seen.push(None);
                    }
                    seen.extend(ready.committed_entries.iter().map(|e| Some(e.index.0)));
                }
                queue.extend(outgoing(&ready));
            }
        }
        for m in queue {
            if let Some(node) = nodes.iter_mut().find(|n| n.id() == m.to) {
                node.step(m);
            }
        }
        nodes[0].tick();
    }
    let at = seen.iter().position(Option::is_none).expect("installed");
    assert!(seen[..at]
        .iter()
        .all(|i| i.is_some_and(|i| i <= before.0.max(1))));
    let after: Vec<Option<u64>> = (snap.meta.index.0 + 1..=nodes[0].log().committed().0)
        .map(Some)
        .collect();
    assert_eq!(seen[at + 1..], after[..], "only entries after the snapshot");
}

/// Rule: while a follower is sent a snapshot, proposals send it no appends
/// and no second chunk leaves before the first is answered.
#[test]
fn appends_pause_while_a_snapshot_is_in_flight() {
    let mut nodes = cluster(&[1, 2, 3], 4);
    propose_except(&mut nodes, 4, &[3]);
    compact_leader(&mut nodes, b"0123456789");
    nodes[0].tick();
    let mut sent = 0;
    run_filtered(&mut nodes, |m| {
        sent += usize::from(is_chunk(m));
        matches!(m.body, MessageBody::InstallSnapshotResponse { .. })
    });
    assert_eq!(sent, 1, "one chunk in flight");
    nodes[0]
        .propose(Bytes::from_static(b"y"))
        .expect("the leader accepts");
    let after = outgoing(&handle(&mut nodes[0]));
    assert!(
        appends_to(&after, 3).is_empty(),
        "no append to n3: {after:?}"
    );
    assert!(chunks(&after).is_empty(), "and no second chunk");
    let pr = nodes[0].progress(NodeId(3)).expect("a member");
    assert_eq!(pr.state, ProgressState::Snapshot);
}

/// Rule (§7): a follower whose log holds the snapshot's last entry keeps its
/// log (and commits up to it); one whose log disagrees there drops it all.
#[test]
fn install_keeps_a_matching_log_and_discards_a_conflicting_one() {
    let meta = |index: u64, term: u64| SnapshotMeta {
        index: LogIndex(index),
        term: Term(term),
        membership: Membership::bootstrap(&ids(&[1, 2, 3])),
        membership_index: LogIndex(0),
    };
    let chunk = |meta: SnapshotMeta| {
        let body = MessageBody::InstallSnapshot {
            chunk: Box::new(SnapshotChunk {
                meta,
                total_len: 3,
                offset: 0,
                data: Bytes::from_static(b"abc"),
            }),
        };
        msg(1, 2, 3, body)
    };
    // Matching: the log has (3, t2); entries after it stay.
    let mut keeps = restored(cfg(2, &[1, 2, 3]), 3, None, &[1, 2, 2, 2], 1);
    keeps.step(chunk(meta(3, 2)));
    let ready = handle(&mut keeps);
    assert_eq!(ready.snapshot, None, "nothing to install");
    assert_eq!(terms_of(&keeps), vec![1, 2, 2, 2]);
    assert_eq!(keeps.log().committed(), LogIndex(3));
    assert!(outgoing(&ready).iter().any(|m| m.body
        == MessageBody::AppendEntriesResponse {
            index: LogIndex(3),
            reject: None
        }));
    // Conflicting: the log has (3, t1); all of it goes.
    let mut drops = restored(cfg(2, &[1, 2, 3]), 3, None, &[1, 1, 1, 1, 1], 1);
    drops.step(chunk(meta(3, 2)));
    let ready = handle(&mut drops);
    assert_eq!(ready.snapshot.map(|s| s.meta), Some(meta(3, 2)));
    assert!(terms_of(&drops).is_empty());
    assert_eq!(
        (drops.log().last_index(), drops.log().last_term()),
        (LogIndex(3), Term(2))
    );
    drops.check_invariants().expect("invariants hold");
}

/// Rule: chunks are taken in order only; a duplicated, stale or early chunk
/// changes nothing and is answered with what the follower holds; a snapshot
/// at or below the commit index is answered with the commit index.
#[test]
fn stale_duplicated_and_early_chunks_change_nothing() {
    let meta = SnapshotMeta {
        index: LogIndex(5),
        term: Term(2),
        membership: Membership::bootstrap(&ids(&[1, 2, 3])),
        membership_index: LogIndex(0),
    };
    let chunk = |offset: u64, data: &'static [u8]| {
        let body = MessageBody::InstallSnapshot {
            chunk: Box::new(SnapshotChunk {
                meta: meta.clone(),
                total_len: 6,
                offset,
                data: Bytes::from_static(data),
            }),
        };
        msg(1, 2, 3, body)
    };
    let answers = |node: &mut RaftNode| -> Vec<MessageBody> {
        outgoing(&handle(node))
            .into_iter()
            .map(|m| m.body)
            .collect()
    };
    let held = |received| MessageBody::InstallSnapshotResponse {
        index: LogIndex(5),
        received,
    };
    let mut n = restored(cfg(2, &[1, 2, 3]), 3, None, &[1, 1], 2);
    n.step(chunk(2, b"cd"));
    assert_eq!(answers(&mut n), vec![held(0)], "early: nothing held");
    n.step(chunk(0, b"ab"));
    assert_eq!(answers(&mut n), vec![held(2)]);
    n.step(chunk(0, b"ab"));
    assert_eq!(
        answers(&mut n),
        vec![held(2)],
        "a duplicate first chunk restarts"
    );
    n.step(chunk(2, b"cd"));
    n.step(chunk(2, b"cd"));
    assert_eq!(
        answers(&mut n),
        vec![held(4), held(4)],
        "the duplicate is ignored"
    );
    n.step(chunk(4, b"ef"));
    let ready = handle(&mut n);
    let snap = *ready.snapshot.clone().expect("installed");
    assert_eq!(&snap.data[..], b"abcdef");
    assert_eq!(n.log().committed(), LogIndex(5));
    n.step(chunk(4, b"ef"));
    assert_eq!(
        answers(&mut n),
        vec![MessageBody::AppendEntriesResponse {
            index: LogIndex(5),
            reject: None
        }],
        "old news: answered with the commit index"
    );
    assert!(!n.has_ready(), "installed once");
}

/// Rule: a chunk lost on the way is sent again on a heartbeat answer.
#[test]
fn a_lost_chunk_is_sent_again() {
    let mut nodes = cluster(&[1, 2, 3], 4);
    propose_except(&mut nodes, 4, &[3]);
    let snap = compact_leader(&mut nodes, b"0123456789");
    nodes[0].tick();
    let mut lost = 0;
    run_filtered(&mut nodes, |m| {
        let drop = is_chunk(m) && lost == 0;
        lost += usize::from(drop);
        drop
    });
    assert_eq!(lost, 1);
    assert_eq!(nodes[2].snapshot(), None, "stuck without the first chunk");
    heartbeats(&mut nodes, 2);
    assert_eq!(nodes[2].snapshot(), Some(&snap));
}

/// Rule: a newer snapshot taken while an older one is being sent replaces
/// it, from its first byte; the follower installs the newer one.
#[test]
fn a_newer_snapshot_supersedes_the_one_being_sent() {
    let mut nodes = cluster(&[1, 2, 3], 4);
    propose_except(&mut nodes, 4, &[3]);
    let old = compact_leader(&mut nodes, b"0123456789");
    // One chunk of the old snapshot reaches n3, then n3 is cut off.
    nodes[0].tick();
    run_filtered(&mut nodes, |m| {
        is_chunk(m)
            && !matches!(&m.body, MessageBody::InstallSnapshot { chunk } if chunk.offset == 0)
    });
    assert_eq!(nodes[2].snapshot(), None);
    let pr = nodes[0].progress(NodeId(3)).expect("a member");
    assert_eq!(pr.pending_snapshot, old.meta.index);
    propose_except(&mut nodes, 3, &[3]);
    let new = compact_leader(&mut nodes, b"abcdefghij");
    let delivered = heartbeats(&mut nodes, 4);
    let sent = chunks(&delivered);
    assert!(
        sent.iter()
            .any(|&(i, off, _)| i == new.meta.index.0 && off == 0),
        "the new one from its first byte: {sent:?}"
    );
    assert_eq!(nodes[2].snapshot(), Some(&new));
    assert_eq!(nodes[2].log().last_index(), nodes[0].log().last_index());
}

/// Rule: a follower that restarts in the middle of an install (losing its
/// chunks) gets the snapshot again from the first byte.
#[test]
fn a_follower_restarted_mid_install_starts_over() {
    let mut nodes = cluster(&[1, 2, 3], 4);
    propose_except(&mut nodes, 4, &[3]);
    let snap = compact_leader(&mut nodes, b"0123456789");
    nodes[0].tick();
    run_filtered(&mut nodes, |m| {
        is_chunk(m)
            && !matches!(&m.body, MessageBody::InstallSnapshot { chunk } if chunk.offset == 0)
    });
    // n3 restarts from its (unchanged) durable state.
    let durable = DurableState {
        hard_state: nodes[2].hard_state(),
        snapshot: None,
        entries: nodes[2].log().entries().to_vec(),
    };
    let config = nodes[2].config().clone();
    nodes[2] = RaftNode::restore(config, durable, rng(3)).expect("consistent");
    heartbeats(&mut nodes, 6);
    assert_eq!(nodes[2].snapshot(), Some(&snap));
}

/// Rule: a node restarts from its snapshot plus the log after it, with the
/// snapshot's configuration in force (not its bootstrap voters).
#[test]
fn restart_from_a_snapshot_uses_its_configuration() {
    let mut nodes = cluster(&[1, 2, 3], 64);
    let shrink = ConfChange::auto(vec![Change::Remove(NodeId(3))]);
    nodes[0].propose_conf_change(&shrink).expect("a change");
    run_except(&mut nodes, &[]);
    propose_except(&mut nodes, 2, &[]);
    let snap = compact_leader(&mut nodes, b"s");
    propose_except(&mut nodes, 1, &[]);
    let durable = DurableState {
        hard_state: nodes[0].hard_state(),
        snapshot: Some(snap.clone()),
        entries: nodes[0].log().entries().to_vec(),
    };
    let config = nodes[0].config().clone();
    let restarted = RaftNode::restore(config, durable, rng(1)).expect("consistent");
    assert_eq!(restarted.members(), &ids(&[1, 2])[..]);
    assert_eq!(restarted.log().first_index(), snap.meta.index.next());
    assert_eq!(restarted.log().last_index(), nodes[0].log().last_index());
    assert_eq!(restarted.log().applied(), snap.meta.index);
    assert_eq!(restarted.snapshot(), Some(&snap));
    restarted.check_invariants().expect("invariants hold");
}
