//! Damaged data is detected, never applied.
//!
//! A node's synced files can be damaged at rest (a flipped bit). Recovery
//! must then refuse to start the node (the damage is detected), or read
//! back exactly what the undamaged files hold (the damage was in bytes
//! recovery drops anyway: a torn tail it cuts, a snapshot file no durable
//! mark names). Anything else (an entry, a vote, a term or a snapshot that
//! differs) is damage silently applied: the node would run on state it
//! never wrote.
//!
//! ```
//! use checker::{recovered_from_damage, Property};
//! use raft_core::{DurableState, HardState, Term};
//!
//! let written = DurableState::default();
//! assert!(recovered_from_damage(0, 7, &written, &written).is_none());
//! let mut read = written.clone();
//! read.hard_state = HardState { term: Term(9), ..HardState::default() };
//! let v = recovered_from_damage(0, 7, &written, &read).expect("a flipped term was applied");
//! assert_eq!(v.property, Property::Corruption);
//! ```

use crate::violation::{Property, Violation};
use raft_core::DurableState;

/// Checks what node `node` read back from damaged files (`read`) against
/// what its undamaged files hold (`written`), at event `event_index`.
/// Returns the violation if recovery took damaged data for real data.
#[must_use]
pub fn recovered_from_damage(
    node: usize,
    event_index: u64,
    written: &DurableState,
    read: &DurableState,
) -> Option<Violation> {
    let found = first_difference(written, read)?;
    let v = Violation::new(
        Property::Corruption,
        event_index,
        "a node whose synced files are damaged refuses to start, or reads back what they held",
        format!("n{node} restarted from damaged files and read {found}"),
    );
    Some(v.with_nodes(&[node]))
}

/// The first thing `read` holds that `written` does not, described.
fn first_difference(written: &DurableState, read: &DurableState) -> Option<String> {
    if written.hard_state != read.hard_state {
        return Some(format!(
            "hard state {:?} where {:?} was written",
            read.hard_state, written.hard_state
        ));
    }
    if written.snapshot != read.snapshot {
        let meta = |s: &DurableState| s.snapshot.as_ref().map(|s| (s.meta.index, s.meta.term));
        return Some(format!(
            "snapshot {:?} where {:?} was written (or its data differs)",
            meta(read),
            meta(written)
        ));
    }
    let pairs = written.entries.iter().zip(&read.entries);
    if let Some((w, r)) = pairs.into_iter().find(|(w, r)| w != r) {
        return Some(format!(
            "entry {}@{} ({} bytes) where {}@{} ({} bytes) was written",
            r.index,
            r.term,
            r.data.len(),
            w.index,
            w.term,
            w.data.len()
        ));
    }
    (written.entries.len() != read.entries.len()).then(|| {
        format!(
            "{} entries where {} were written",
            read.entries.len(),
            written.entries.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use raft_core::{Entry, EntryKind, HardState, LogIndex, NodeId, Snapshot, SnapshotMeta, Term};

    fn ent(index: u64, term: u64, data: &'static [u8]) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::from_static(data),
        }
    }

    fn written() -> DurableState {
        DurableState {
            hard_state: HardState {
                term: Term(3),
                vote: Some(NodeId(1)),
                commit: LogIndex(5),
            },
            snapshot: Some(Snapshot {
                meta: SnapshotMeta {
                    index: LogIndex(4),
                    term: Term(2),
                    ..SnapshotMeta::default()
                },
                data: Bytes::from_static(b"state"),
            }),
            entries: vec![ent(5, 2, b"a"), ent(6, 3, b"b")],
        }
    }

    #[test]
    fn reading_back_what_was_written_passes() {
        assert_eq!(recovered_from_damage(1, 3, &written(), &written()), None);
    }

    #[test]
    fn a_damaged_vote_term_or_commit_read_back_fires() {
        let mut read = written();
        read.hard_state.vote = Some(NodeId(3));
        let v = recovered_from_damage(1, 3, &written(), &read).expect("fires");
        assert_eq!(v.property, Property::Corruption);
        assert_eq!(v.nodes, vec![1]);
        assert!(v.found.contains("hard state"), "{}", v.found);
    }

    #[test]
    fn a_damaged_entry_or_a_lost_one_fires() {
        let mut read = written();
        read.entries[1].data = Bytes::from_static(b"c");
        let v = recovered_from_damage(0, 3, &written(), &read).expect("fires");
        assert!(v.found.contains("entry i6@t3"), "{}", v.found);
        let mut read = written();
        read.entries.pop();
        let v = recovered_from_damage(0, 3, &written(), &read).expect("fires");
        assert!(v.found.contains("1 entries where 2"), "{}", v.found);
    }

    #[test]
    fn damaged_snapshot_data_read_back_fires() {
        let mut read = written();
        if let Some(s) = read.snapshot.as_mut() {
            s.data = Bytes::from_static(b"stale");
        }
        let v = recovered_from_damage(0, 3, &written(), &read).expect("fires");
        assert!(v.found.contains("snapshot"), "{}", v.found);
    }
}
