//! Snapshots ([`Property::Snapshot`]): what a node may put in one, what a
//! node installing or restarting from one must end up with.
//!
//! * A snapshot taken at index `i` holds committed state only: `i` is in
//!   the global committed prefix with the snapshot's term, and the node
//!   applied it; its configuration is the one in force at `i` in the
//!   node's log (the latest configuration entry at or below it, or the
//!   bootstrap one). Every snapshot taken is recorded (index -> term and
//!   configuration).
//! * A snapshot installed or restarted from must be one taken (same term
//!   and configuration at its index): the node's log view becomes the
//!   snapshot's prefix, its configuration the snapshot's.
//! * The state machine restored from a snapshot at `i` must have the
//!   digest of the state reached by applying the committed entries
//!   `1..=i` ([`StateOracle`]).
//!
//! This module must never hold a snapshot's data, and costs O(1) per
//! snapshot plus the oracle's replay on the restore path.

use super::membership::{describe, ConfRecord};
use super::SafetyChecker;
use crate::violation::{Property, Violation};
use kv::{KvError, KvStore};
use raft_core::membership::Membership;
use raft_core::{Entry, EntryKind, LogIndex, SnapshotMeta, Term};
use std::collections::BTreeMap;

/// A snapshot taken somewhere: its term and configuration at its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TakenSnapshot {
    term: Term,
    membership_index: LogIndex,
    membership: Membership,
}

/// The state reached by applying the committed log from the start, kept
/// to compare restored state machines with. Fed the committed entries in
/// index order (the first node applying each), it replays them into a
/// reference kv store only when a digest is asked for, and keeps the
/// digests it computed.
#[derive(Clone, Debug, Default)]
pub(super) struct StateOracle {
    /// The committed entries `1..=len`, as first applied.
    entries: Vec<Entry>,
    reference: KvStore,
    digests: BTreeMap<u64, u64>,
}

impl StateOracle {
    /// Records the committed `entry` if it is the next one.
    pub(super) fn observe(&mut self, entry: &Entry) {
        if entry.index.0 == self.entries.len() as u64 + 1 {
            self.entries.push(entry.clone());
        }
    }

    /// The digest of the state after applying entries `1..=index`, if the
    /// oracle has seen them all. Replays from the last point reached, or
    /// from the start for an index below it.
    pub(super) fn digest_at(&mut self, index: u64) -> Option<u64> {
        if let Some(&d) = self.digests.get(&index) {
            return Some(d);
        }
        if index > self.entries.len() as u64 {
            return None;
        }
        if self.reference.applied_index() > index {
            self.reference = KvStore::new();
        }
        for e in &self.entries[self.reference.applied_index() as usize..index as usize] {
            // Applied as the host applies it: a configuration entry and an
            // entry that is no command are no-ops that still take the index.
            let data: &[u8] = match e.kind {
                EntryKind::Normal => &e.data,
                EntryKind::ConfChange => &[],
            };
            match self.reference.apply(e.index.0, data) {
                Ok(_) | Err(KvError::Decode(_)) => {}
                Err(_) => return None,
            }
        }
        let digest = self.reference.digest();
        self.digests.insert(index, digest);
        Some(digest)
    }
}

impl SafetyChecker {
    /// `node` compacted its log behind a snapshot described by `meta`.
    ///
    /// Checks ([`Property::Snapshot`]) that the snapshot's index is a
    /// committed entry of its term that the node applied, and that its
    /// configuration is the one in force there in the node's log. Records
    /// the snapshot for later installs and restarts.
    pub fn snapshot_taken(&mut self, event_index: u64, node: usize, meta: &SnapshotMeta) {
        let index = meta.index.0;
        self.ensure(node);
        let applied = self.nodes[node].applied;
        if index > applied {
            let found = format!("n{node} took a snapshot at {index} having applied {applied}");
            self.report_snapshot(event_index, node, meta, "only applied entries", found);
            return;
        }
        if !self.check_snapshot_committed(event_index, node, meta, "took") {
            return;
        }
        let (conf_index, conf) = self.conf_at(node, index);
        if (conf_index, conf) != (meta.membership_index.0, &meta.membership) {
            let found = format!(
                "n{node} took a snapshot at {index} naming {} where its log has {}",
                describe(meta.membership_index.0, &meta.membership),
                describe(conf_index, conf)
            );
            let expected = "a snapshot names the configuration in force at its index";
            self.report_snapshot(event_index, node, meta, expected, found);
            return;
        }
        self.snapshots
            .entry(index)
            .or_insert_with(|| TakenSnapshot {
                term: meta.term,
                membership_index: meta.membership_index,
                membership: meta.membership.clone(),
            });
    }

    /// `node` installed its leader's snapshot described by `meta`: its log
    /// is now that snapshot's prefix and nothing after it, its commit and
    /// applied index the snapshot's, its configuration the snapshot's.
    ///
    /// Checks ([`Property::Snapshot`]) that it is a snapshot some node took
    /// (a committed entry of its term, with the same configuration) and
    /// that it does not go back on what the node committed.
    pub fn snapshot_installed(&mut self, event_index: u64, node: usize, meta: &SnapshotMeta) {
        self.ensure(node);
        let index = meta.index.0;
        let commit = self.nodes[node].commit;
        if index <= commit {
            let found =
                format!("n{node} installed a snapshot at {index} having committed {commit}");
            let expected = "a snapshot is installed only past the commit index";
            self.report_snapshot(event_index, node, meta, expected, found);
            return;
        }
        self.start_from_snapshot(event_index, node, meta, "installed");
        let st = &mut self.nodes[node];
        st.commit = index;
        st.applied = index;
    }

    /// `node`'s state machine was restored from the snapshot at `index`
    /// and now has `digest`.
    ///
    /// Checks ([`Property::Snapshot`]) that it is the digest of the state
    /// reached by applying the committed entries `1..=index`.
    pub fn state_restored(&mut self, event_index: u64, node: usize, index: LogIndex, digest: u64) {
        let Some(expected) = self.oracle.digest_at(index.0) else {
            let found = format!(
                "n{node} restored a state at {index} past every entry applied so far ({})",
                self.oracle.entries.len()
            );
            self.report(
                Violation::new(
                    Property::Snapshot,
                    event_index,
                    "a snapshot holds applied state only",
                    found,
                )
                .with_nodes(&[node])
                .with_index(index.0),
            );
            return;
        };
        if digest != expected {
            let found = format!(
                "n{node}'s state restored at {index} has digest {digest:#018x}, applying 1..={} gives {expected:#018x}",
                index.0
            );
            self.report(
                Violation::new(
                    Property::Snapshot,
                    event_index,
                    "a state restored from a snapshot equals applying the entries it covers",
                    found,
                )
                .with_nodes(&[node])
                .with_index(index.0),
            );
        }
    }

    /// The node's log view and configuration start from the snapshot
    /// (installed, or restarted from): checked against the snapshots taken.
    pub(super) fn start_from_snapshot(
        &mut self,
        event_index: u64,
        node: usize,
        meta: &SnapshotMeta,
        how: &str,
    ) {
        let index = meta.index.0;
        let chain = self.prefix_chain(event_index, node, index, meta.term);
        let recorded = self.snapshots.get(&index);
        let matches = recorded.is_some_and(|t| {
            t.term == meta.term
                && t.membership_index == meta.membership_index
                && t.membership == meta.membership
        });
        if !matches {
            let found = match recorded {
                Some(t) => format!(
                    "n{node} {how} a snapshot at {index} naming {}, where the one taken there names {}",
                    describe(meta.membership_index.0, &meta.membership),
                    describe(t.membership_index.0, &t.membership)
                ),
                None => format!("n{node} {how} a snapshot at {index} that no node took"),
            };
            let expected = "a snapshot installed or restarted from is one a node took";
            self.report_snapshot(event_index, node, meta, expected, found);
        }
        let st = &mut self.nodes[node];
        st.log.reset(index, meta.term, chain);
        st.confs.clear();
        st.confs.push(ConfRecord {
            index: meta.membership_index.0,
            term: Term(0),
            membership: meta.membership.clone(),
        });
    }

    /// The configuration in force at `index` in the node's log: the latest
    /// configuration entry at or below it (or the bootstrap one).
    fn conf_at(&self, node: usize, index: u64) -> (u64, &Membership) {
        self.nodes[node]
            .confs
            .iter()
            .rev()
            .find(|c| c.index <= index)
            .map_or((0, &self.bootstrap), |c| (c.index, &c.membership))
    }

    /// Whether the snapshot's index is a committed entry of its term;
    /// reports it otherwise.
    fn check_snapshot_committed(
        &mut self,
        event_index: u64,
        node: usize,
        meta: &SnapshotMeta,
        how: &str,
    ) -> bool {
        let index = meta.index.0;
        let committed = self.committed.term_at(index);
        if committed == Some(meta.term) {
            return true;
        }
        let found = match committed {
            Some(t) => format!(
                "n{node} {how} a snapshot at {index} of term {}, where term {} committed",
                meta.term.0, t.0
            ),
            None => format!(
                "n{node} {how} a snapshot at {index} beyond the committed prefix (up to {})",
                self.committed.last_index()
            ),
        };
        let expected = "a snapshot never holds an uncommitted entry";
        self.report_snapshot(event_index, node, meta, expected, found);
        false
    }

    fn report_snapshot(
        &mut self,
        event_index: u64,
        node: usize,
        meta: &SnapshotMeta,
        expected: &str,
        found: String,
    ) {
        self.report(
            Violation::new(Property::Snapshot, event_index, expected, found)
                .with_nodes(&[node])
                .with_term(meta.term.0)
                .with_index(meta.index.0),
        );
    }
}
