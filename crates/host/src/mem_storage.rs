//! An in-memory [`Storage`] with real disk semantics: writes are volatile
//! until a sync covers them, and a snapshot is written atomically (a crash
//! keeps it whole or the one before).
//!
//! The host issues writes in order; a sync (which the simulator makes take
//! simulated time) makes every write issued before it started durable. A
//! crash loses every write no sync has covered, or (a torn tail) keeps a
//! prefix of them. The simulator and the scripted interaction tests use it;
//! a real node uses files with the same contract.

use crate::io::{Storage, StorageError};
use raft_core::{DurableState, Entry, HardState, Snapshot};
use std::collections::VecDeque;

/// One write, in issue order.
#[derive(Clone, Debug)]
enum Write {
    /// Replace the log from the first entry's index on with the next
    /// `count` entries of the unsynced entry queue.
    Entries(usize),
    /// Overwrite the hard state.
    HardState(HardState),
    /// Replace the snapshot; then drop the whole log (`install`) or the
    /// entries up to its index (compaction).
    Snapshot {
        /// The snapshot (boxed: writes of entries stay small).
        snapshot: Box<Snapshot>,
        /// A leader's snapshot replacing the whole log.
        install: bool,
    },
}

/// The durable and volatile state of one node's disk.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    log: Vec<Entry>,
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    /// Unsynced writes with the sequence number of the batch they belong to.
    pending: VecDeque<(u64, Write)>,
    /// The entries of the unsynced `Write::Entries`, in issue order (one
    /// queue reused by every write, rather than a vector per write).
    pending_entries: VecDeque<Entry>,
    /// The last batch sequence number issued.
    issued_seq: u64,
    /// The last batch sequence number made durable.
    synced_seq: u64,
}

impl Storage for MemStorage {
    fn write(
        &mut self,
        entries: &[Entry],
        hard_state: Option<HardState>,
    ) -> Result<u64, StorageError> {
        Ok(self.issue(entries, hard_state))
    }

    fn write_snapshot(&mut self, snapshot: Snapshot, install: bool) -> Result<u64, StorageError> {
        self.issued_seq += 1;
        let write = Write::Snapshot {
            snapshot: Box::new(snapshot),
            install,
        };
        self.pending.push_back((self.issued_seq, write));
        Ok(self.issued_seq)
    }

    fn synced_seq(&self) -> u64 {
        self.synced_seq
    }
}

impl MemStorage {
    /// Queues a batch (entries first, then the hard state) and returns its
    /// sequence number, or the last issued one if the batch writes nothing.
    fn issue(&mut self, entries: &[Entry], hard_state: Option<HardState>) -> u64 {
        if entries.is_empty() && hard_state.is_none() {
            return self.issued_seq;
        }
        self.issued_seq += 1;
        if !entries.is_empty() {
            self.pending_entries.extend(entries.iter().cloned());
            self.pending
                .push_back((self.issued_seq, Write::Entries(entries.len())));
        }
        if let Some(hs) = hard_state {
            self.pending
                .push_back((self.issued_seq, Write::HardState(hs)));
        }
        self.issued_seq
    }

    /// The last batch sequence number issued.
    #[must_use]
    pub fn issued_seq(&self) -> u64 {
        self.issued_seq
    }

    /// Whether some write awaits a sync.
    #[must_use]
    pub fn has_unsynced(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A sync that started when `upto_seq` was the last issued batch
    /// completes. Returns how many log entries it made durable.
    pub fn sync_to(&mut self, upto_seq: u64) -> usize {
        let mut entries = 0;
        while self
            .pending
            .front()
            .is_some_and(|(seq, _)| *seq <= upto_seq)
        {
            if let Some((_, w)) = self.pending.pop_front() {
                if let Write::Entries(count) = w {
                    entries += count;
                }
                self.make_durable(w);
            }
        }
        self.synced_seq = self.synced_seq.max(upto_seq);
        entries
    }

    /// Makes every issued write durable (a synchronous disk).
    pub fn sync_all(&mut self) -> usize {
        self.sync_to(self.issued_seq)
    }

    fn make_durable(&mut self, write: Write) {
        match write {
            Write::Entries(count) => {
                if let Some(first) = self.pending_entries.front() {
                    let keep = self.log.partition_point(|e| e.index < first.index);
                    self.log.truncate(keep);
                    self.log.extend(self.pending_entries.drain(..count));
                }
            }
            Write::HardState(hs) => self.hard_state = hs,
            Write::Snapshot { snapshot, install } => {
                if install {
                    self.log.clear();
                } else {
                    let index = snapshot.meta.index;
                    let covered = self.log.partition_point(|e| e.index <= index);
                    self.log.drain(..covered);
                }
                self.snapshot = Some(*snapshot);
            }
        }
    }

    /// A crash: unsynced writes are lost, except the first `keep_writes` of
    /// them (a torn tail). Returns how many writes were lost.
    pub fn crash(&mut self, keep_writes: usize) -> u64 {
        for _ in 0..keep_writes.min(self.pending.len()) {
            if let Some((_, w)) = self.pending.pop_front() {
                self.make_durable(w);
            }
        }
        let lost = self.pending.len() as u64;
        self.pending.clear();
        self.pending_entries.clear();
        self.issued_seq = self.synced_seq.max(self.issued_seq);
        self.synced_seq = self.issued_seq;
        lost
    }

    /// The number of unsynced writes.
    #[must_use]
    pub fn unsynced_writes(&self) -> usize {
        self.pending.len()
    }

    /// What a restarted node reads back.
    #[must_use]
    pub fn durable_state(&self) -> DurableState {
        DurableState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.log.clone(),
        }
    }

    /// The durable snapshot, if any.
    #[must_use]
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Whether an unsynced snapshot write is pending.
    #[must_use]
    pub fn has_unsynced_snapshot(&self) -> bool {
        self.pending
            .iter()
            .any(|(_, w)| matches!(w, Write::Snapshot { .. }))
    }

    /// The durable log.
    #[must_use]
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// The durable hard state.
    #[must_use]
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use raft_core::{EntryKind, LogIndex, NodeId, Term};

    fn ent(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::new(),
        }
    }

    #[test]
    fn crash_loses_unsynced_but_never_synced_writes() {
        let mut disk = MemStorage::default();
        let hs = HardState {
            term: Term(2),
            vote: Some(NodeId(1)),
            commit: LogIndex(1),
        };
        let s1 = disk.issue(&[ent(1, 1), ent(2, 1)], Some(hs));
        disk.sync_to(s1);
        disk.issue(
            &[ent(3, 2)],
            Some(HardState {
                term: Term(3),
                ..hs
            }),
        );
        assert_eq!(disk.unsynced_writes(), 2);
        let lost = disk.crash(0);
        assert_eq!(lost, 2);
        let state = disk.durable_state();
        assert_eq!(state.entries.len(), 2, "synced entries survive");
        assert_eq!(state.hard_state, hs, "unsynced hard state is lost");
    }

    #[test]
    fn torn_tail_keeps_a_prefix_and_truncation_applies_in_order() {
        let mut disk = MemStorage::default();
        disk.issue(&[ent(1, 1), ent(2, 1), ent(3, 1)], None);
        disk.issue(&[ent(2, 2)], None);
        disk.issue(&[ent(3, 2)], None);
        assert_eq!(disk.crash(2), 1);
        let terms: Vec<u64> = disk.log().iter().map(|e| e.term.0).collect();
        assert_eq!(terms, vec![1, 2], "the second write replaced the suffix");
    }

    fn snap(index: u64, term: u64) -> Snapshot {
        Snapshot {
            meta: raft_core::SnapshotMeta {
                index: LogIndex(index),
                term: Term(term),
                ..raft_core::SnapshotMeta::default()
            },
            data: Bytes::from_static(b"state"),
        }
    }

    #[test]
    fn a_snapshot_is_volatile_until_synced_and_atomic() {
        let mut disk = MemStorage::default();
        let s1 = disk.issue(&[ent(1, 1), ent(2, 1), ent(3, 1)], None);
        disk.sync_to(s1);
        let first = disk.write_snapshot(snap(2, 1), false).expect("issued");
        disk.sync_to(first);
        assert_eq!(disk.snapshot(), Some(&snap(2, 1)));
        assert_eq!(disk.log().len(), 1, "compaction drops entries up to it");
        disk.write_snapshot(snap(3, 1), false).expect("issued");
        assert!(disk.has_unsynced_snapshot());
        disk.crash(0);
        let state = disk.durable_state();
        assert_eq!(
            state.snapshot,
            Some(snap(2, 1)),
            "the previous snapshot stays"
        );
        assert_eq!(state.entries.len(), 1);
        // An install replaces the whole log, also entries past it.
        let installed = disk.write_snapshot(snap(9, 4), true).expect("issued");
        disk.issue(&[ent(10, 4)], None);
        assert_eq!(disk.crash(1), 1, "the torn tail keeps the snapshot only");
        assert_eq!(disk.snapshot(), Some(&snap(9, 4)));
        assert!(disk.log().is_empty());
        assert!(installed > first);
    }

    #[test]
    fn a_sync_covers_only_writes_issued_before_it() {
        let mut disk = MemStorage::default();
        let s1 = disk.issue(&[ent(1, 1)], None);
        let _s2 = disk.issue(&[ent(2, 1)], None);
        disk.sync_to(s1);
        assert_eq!(disk.log().len(), 1);
        assert!(disk.has_unsynced());
        assert_eq!(disk.synced_seq(), s1);
    }
}
