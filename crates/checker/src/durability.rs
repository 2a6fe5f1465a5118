//! Durability: every acknowledged write survives to the end of the run.
//!
//! This module owns the end-of-run check over the final logs. It runs once per
//! run (O(acked writes x live nodes)); it must never be called per event and
//! never look at anything but the acknowledged writes and the final node states.

use crate::violation::{Property, Violation};
use kv::{Command, KvStore};
use raft_core::{Entry, LogIndex, Term};
use serde::{Deserialize, Serialize};

/// A write (put, append or cas) a client saw succeed (`Ok` / `CasOk`), identified
/// by the log position it was committed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckedWrite {
    /// The client that issued the write.
    pub client_id: u64,
    /// The write's sequence number in the client's session.
    pub seq: u64,
    /// The log index the acknowledged entry was committed at.
    pub index: LogIndex,
    /// That entry's term.
    pub term: Term,
}

/// A live node's state at the end of the run.
#[derive(Clone, Copy, Debug)]
pub struct FinalNode<'a> {
    /// The node's index in the simulator.
    pub node: usize,
    /// The last index its state machine applied.
    pub applied: LogIndex,
    /// The first index its log holds (past its compacted prefix).
    pub first_index: LogIndex,
    /// Its in-memory log entries, from `first_index`.
    pub log: &'a [Entry],
    /// Its state machine: what a compacted position is checked against.
    pub store: &'a KvStore,
}

/// Checks that every acknowledged write is present at its position (same term,
/// same client and seq) in the final log of every live node that has applied at
/// least that far, and that every live node has applied at least up to the highest
/// acknowledged index. Returns the first violation (nodes in the given order, then
/// writes in the given order). A write at a position the node compacted away
/// (behind a snapshot) must show in its state machine instead: the client's
/// session has seen the write's sequence number.
#[must_use]
pub fn check_durability(
    acked: &[AckedWrite],
    nodes: &[FinalNode<'_>],
    event_index: u64,
) -> Option<Violation> {
    let highest = acked.iter().max_by_key(|w| w.index);
    // Each write's entry, once decoded and found right: the other nodes'
    // copies are compared byte for byte instead of decoded again.
    let mut verified: Vec<Option<&[u8]>> = vec![None; acked.len()];
    for n in nodes {
        for (w, verified) in acked.iter().zip(&mut verified) {
            if w.index > n.applied {
                continue;
            }
            if let Some(found) = missing(n, w, verified) {
                return Some(violation(event_index, n.node, w, found));
            }
        }
        if let Some(w) = highest.filter(|w| n.applied < w.index) {
            let found = format!(
                "n{} applied only up to index {}, but c{}#{} was acknowledged at index {}",
                n.node, n.applied.0, w.client_id, w.seq, w.index.0
            );
            return Some(violation(event_index, n.node, w, found));
        }
    }
    None
}

/// What is wrong with `w`'s position in `n`'s log, if anything;
/// `verified` holds the entry's bytes once one node's copy was found right.
fn missing<'a>(
    n: &FinalNode<'a>,
    w: &AckedWrite,
    verified: &mut Option<&'a [u8]>,
) -> Option<String> {
    // (Named only for a finding: this runs for every acknowledged write.)
    let name = || format!("c{}#{}", w.client_id, w.seq);
    let (node, index, term) = (n.node, w.index.0, w.term.0);
    let base = n.first_index.0;
    if index < base {
        return match n.store.last_seq(w.client_id) {
            Some(seq) if seq >= w.seq => None,
            seen => Some(format!(
                "n{node} compacted index {index}, where {} was acknowledged (term {term}), \
                 but its state machine's session for c{} has seen {}",
                name(),
                w.client_id,
                seen.map_or_else(|| "nothing".to_string(), |s| format!("#{s} only"))
            )),
        };
    }
    let Some(entry) = n.log.get((index - base) as usize) else {
        return Some(format!(
            "n{node}'s log ends before index {index}, where {} was acknowledged (term {term})",
            name()
        ));
    };
    if entry.index != w.index || entry.term != w.term {
        return Some(format!(
            "n{node} holds an entry of term {} at index {index}, where {} was acknowledged in term {term}",
            entry.term.0,
            name()
        ));
    }
    if *verified == Some(&entry.data[..]) {
        return None;
    }
    match Command::decode(&entry.data) {
        Ok(c) if c.client_id == w.client_id && c.seq == w.seq => {
            *verified = Some(&entry.data[..]);
            None
        }
        Ok(c) => Some(format!(
            "n{node}'s entry at index {index} (term {term}) is c{}#{}, not the acknowledged {}",
            c.client_id,
            c.seq,
            name()
        )),
        Err(_) => Some(format!(
            "n{node}'s entry at index {index} (term {term}) is not a client command, but {} was acknowledged there",
            name()
        )),
    }
}

fn violation(event_index: u64, node: usize, w: &AckedWrite, found: String) -> Violation {
    Violation::new(
        Property::Durability,
        event_index,
        "every acknowledged write stays in the log of every live node and is applied",
        found,
    )
    .with_nodes(&[node])
    .with_term(w.term.0)
    .with_index(w.index.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv::Op;
    use raft_core::EntryKind;

    fn cmd_entry(index: u64, term: u64, client_id: u64, seq: u64) -> Entry {
        let cmd = Command {
            client_id,
            seq,
            op: Op::Put {
                key: "k".into(),
                value: format!("{client_id}/{seq}"),
            },
        };
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: cmd.encode().into(),
        }
    }

    fn noop(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Vec::new().into(),
        }
    }

    fn acked(client_id: u64, seq: u64, index: u64, term: u64) -> AckedWrite {
        AckedWrite {
            client_id,
            seq,
            index: LogIndex(index),
            term: Term(term),
        }
    }

    fn node<'a>(node: usize, applied: u64, log: &'a [Entry]) -> FinalNode<'a> {
        static EMPTY: std::sync::OnceLock<KvStore> = std::sync::OnceLock::new();
        FinalNode {
            node,
            applied: LogIndex(applied),
            first_index: log.first().map_or(LogIndex(applied + 1), |e| e.index),
            log,
            store: EMPTY.get_or_init(KvStore::new),
        }
    }

    fn good_log() -> Vec<Entry> {
        vec![noop(1, 1), cmd_entry(2, 1, 7, 1), cmd_entry(3, 1, 8, 1)]
    }

    #[test]
    fn acked_writes_present_everywhere_pass() {
        let log = good_log();
        let acks = [acked(7, 1, 2, 1), acked(8, 1, 3, 1)];
        let nodes = [node(0, 3, &log), node(1, 3, &log), node(2, 3, &log)];
        assert_eq!(check_durability(&acks, &nodes, 9), None);
        assert_eq!(check_durability(&[], &nodes, 9), None);
    }

    #[test]
    fn acked_write_missing_from_a_log_fires() {
        let log = good_log();
        let short = log[..2].to_vec();
        let acks = [acked(7, 1, 2, 1), acked(8, 1, 3, 1)];
        let nodes = [node(0, 3, &log), node(2, 3, &short)];
        let v = check_durability(&acks, &nodes, 9).expect("a missing write is a violation");
        assert_eq!(v.property, Property::Durability);
        assert_eq!(
            (v.nodes.clone(), v.term, v.index, v.event_index),
            (vec![2], Some(1), Some(3), 9)
        );
        assert!(v.found.contains("c8#1"), "{}", v.found);
    }

    #[test]
    fn acked_write_replaced_by_another_term_fires() {
        let mut log = good_log();
        log[1] = cmd_entry(2, 2, 9, 1);
        let acks = [acked(7, 1, 2, 1)];
        let v =
            check_durability(&acks, &[node(1, 3, &log)], 4).expect("another term is a violation");
        assert_eq!(v.property, Property::Durability);
        assert_eq!(
            (v.nodes.clone(), v.term, v.index),
            (vec![1], Some(1), Some(2))
        );
        assert!(v.found.contains("term 2"), "{}", v.found);
    }

    #[test]
    fn acked_position_holding_another_command_fires() {
        let log = good_log();
        let acks = [acked(5, 3, 2, 1)];
        let v = check_durability(&acks, &[node(0, 3, &log)], 4).expect("wrong command");
        assert!(v.found.contains("c7#1"), "{}", v.found);
        let acks = [acked(5, 3, 1, 1)];
        let v = check_durability(&acks, &[node(0, 3, &log)], 4).expect("a no-op is no write");
        assert_eq!(v.index, Some(1));
    }

    #[test]
    fn live_node_behind_the_highest_ack_fires() {
        let log = good_log();
        let acks = [acked(7, 1, 2, 1), acked(8, 1, 3, 1)];
        let nodes = [node(0, 3, &log), node(1, 2, &log)];
        let v = check_durability(&acks, &nodes, 4).expect("a lagging node is a violation");
        assert_eq!((v.nodes.clone(), v.index), (vec![1], Some(3)));
        assert!(
            v.found.contains("applied only up to index 2"),
            "{}",
            v.found
        );
    }

    #[test]
    fn compacted_positions_are_checked_in_the_state_machine() {
        let log = good_log();
        let tail = log[2..].to_vec();
        let acks = [acked(7, 1, 2, 1), acked(8, 1, 3, 1)];
        let mut store = KvStore::new();
        for e in &log {
            store.apply(e.index.0, &e.data).expect("in order");
        }
        let compacted = FinalNode {
            store: &store,
            ..node(0, 3, &tail)
        };
        assert_eq!(check_durability(&acks, &[compacted], 4), None);
        // A snapshot that lost c7#1: its session never saw it.
        let v = check_durability(&acks, &[node(0, 3, &tail)], 4).expect("lost in the snapshot");
        assert_eq!(v.index, Some(2));
        assert!(v.found.contains("compacted index 2"), "{}", v.found);
    }
}
