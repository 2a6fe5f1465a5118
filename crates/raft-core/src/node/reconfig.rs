//! The node's configuration and how it changes (thesis §4.3, joint
//! consensus; see [`crate::membership`]).
//!
//! The configuration in force is the one of the latest `ConfChange` entry
//! in the log, committed or not: the node keeps the configurations of every
//! such entry still in its log (and the bootstrap one), adds one as entries
//! arrive and drops it when its entry is truncated, falling back to the one
//! before. A leader changes the configuration one change at a time, and only
//! once it has committed an entry of its own term (the single-server change
//! bug found after the thesis); it leaves a joint configuration by itself
//! once that commits (unless asked to wait), and steps down once a
//! configuration it does not vote in commits.
//!
//! This module must never count a non-voter in a quorum, never let two
//! uncommitted changes coexist in a leader's log, and never act on a
//! configuration other than the latest one in the log.

use super::{ProposeError, RaftNode, Role};
use crate::log::RaftLog;
use crate::membership::{ConfChange, Membership};
use crate::progress::Progress;
use crate::snapshot::SnapshotMeta;
use crate::types::{EntryKind, LogIndex, NodeId, Term};
use bytes::Bytes;

/// A configuration and the entry that set it (index 0: the bootstrap
/// configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ConfEntry {
    pub(super) index: LogIndex,
    pub(super) term: Term,
    pub(super) membership: Membership,
}

impl ConfEntry {
    /// The bootstrap configuration (no entry set it).
    pub(super) fn bootstrap(membership: Membership) -> ConfEntry {
        ConfEntry {
            index: LogIndex(0),
            term: Term(0),
            membership,
        }
    }

    /// The configuration in force at a snapshot's index. The term of the
    /// entry that set it is compacted away, and never needed: an entry at
    /// or below a snapshot is committed and never truncated.
    pub(super) fn of_snapshot(meta: &SnapshotMeta) -> ConfEntry {
        ConfEntry {
            index: meta.membership_index,
            term: Term(0),
            membership: meta.membership.clone(),
        }
    }
}

/// The configurations of a log: the one in force at its start (the
/// bootstrap one, or its snapshot's), then one per `ConfChange` entry that
/// applies (a payload that does not decode or apply is skipped, on every
/// node alike).
pub(super) fn confs_of_log(start: ConfEntry, log: &RaftLog) -> Vec<ConfEntry> {
    let mut confs = vec![start];
    push_confs(&mut confs, log, log.first_index(), log.last_index());
    confs
}

/// Adds the configurations of the entries `from..=to` of `log`.
fn push_confs(confs: &mut Vec<ConfEntry>, log: &RaftLog, from: LogIndex, to: LogIndex) {
    let entries = log.entries();
    let first = log.first_index().0;
    let end = (to.0.saturating_add(1).saturating_sub(first) as usize).min(entries.len());
    let start = (from.0.saturating_sub(first) as usize).min(end);
    for e in &entries[start..end] {
        if e.kind == EntryKind::ConfChange {
            let current = &confs[confs.len() - 1].membership;
            let next = ConfChange::decode(&e.data).and_then(|c| current.apply(&c));
            if let Ok(membership) = next {
                confs.push(ConfEntry {
                    index: e.index,
                    term: e.term,
                    membership,
                });
            }
        }
    }
}

impl RaftNode {
    /// The configuration in force: the latest in the log, committed or not.
    #[must_use]
    pub fn membership(&self) -> &Membership {
        &self.confs[self.confs.len() - 1].membership
    }

    /// The index of the entry that set the configuration in force (0: the
    /// bootstrap configuration).
    #[must_use]
    pub fn membership_index(&self) -> LogIndex {
        self.confs[self.confs.len() - 1].index
    }

    /// The configuration in force at `index` and the index of the entry
    /// that set it, if `index` is at or past the log's compacted prefix.
    pub(super) fn conf_at(&self, index: LogIndex) -> Option<&ConfEntry> {
        if index < self.log.first_index().prev() {
            return None;
        }
        self.confs.iter().rev().find(|c| c.index <= index)
    }

    /// The log was compacted up to `index`: the configuration in force
    /// there becomes the first one kept.
    pub(super) fn compact_confs(&mut self, index: LogIndex) {
        let keep_from = self.confs.partition_point(|c| c.index <= index);
        if keep_from > 1 {
            self.confs.drain(..keep_from - 1);
        }
    }

    /// Every member of the configuration in force, sorted.
    #[must_use]
    pub fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// Proposes a membership change (leader only).
    ///
    /// # Errors
    /// Not the leader; a change is still uncommitted; no entry of the
    /// leader's term is committed yet; the change does not apply to the
    /// configuration in force (see [`Membership::apply`]); too many
    /// uncommitted entries.
    pub fn propose_conf_change(
        &mut self,
        change: &ConfChange,
    ) -> Result<(LogIndex, Term), ProposeError> {
        self.check_can_propose()?;
        let committed = self.log.committed();
        if self.membership_index() > committed {
            return Err(ProposeError::ConfChangePending);
        }
        if self.log.term(committed) != Some(self.term) {
            return Err(ProposeError::NoCommitInTerm);
        }
        self.membership()
            .apply(change)
            .map_err(ProposeError::InvalidConfChange)?;
        Ok(self.append_conf_change(change))
    }

    fn append_conf_change(&mut self, change: &ConfChange) -> (LogIndex, Term) {
        let index = self.append_own(EntryKind::ConfChange, Bytes::from(change.encode()));
        self.track_confs(index, index);
        self.broadcast_append(false);
        (index, self.term)
    }

    /// The log changed: entries `from..=to` are new, and any entry after
    /// `to` may be gone. Drops the configurations of replaced entries, adds
    /// those of new ones, and follows a change of configuration.
    pub(super) fn track_confs(&mut self, from: LogIndex, to: LogIndex) {
        let before = (self.confs.len(), self.membership_index());
        while self.confs.len() > 1 {
            let c = &self.confs[self.confs.len() - 1];
            if self.log.term(c.index) == Some(c.term) {
                break;
            }
            self.confs.pop();
        }
        let from = from.max(self.membership_index().next());
        push_confs(&mut self.confs, &self.log, from, to);
        if (self.confs.len(), self.membership_index()) != before {
            self.membership_changed();
        }
    }

    /// The configuration in force changed: the members, and a leader's
    /// progress (kept for members that stay, probing for new ones).
    pub(super) fn membership_changed(&mut self) {
        self.members = self.membership().members();
        if self.role != Role::Leader {
            return;
        }
        let last = self.log.last_index();
        let max_inflight = self.config.max_inflight_messages as usize;
        let mut old = std::mem::take(&mut self.progress);
        self.progress = self
            .members
            .iter()
            .map(|&id| match old.iter().position(|p| p.id == id) {
                Some(at) => old.swap_remove(at),
                None => Progress::new(id, last, max_inflight),
            })
            .collect();
    }

    /// The leader's commit index advanced: once the configuration in force
    /// is committed, leave it if it is joint (and set to leave by itself),
    /// or step down if this node no longer votes.
    pub(super) fn after_leader_commit(&mut self) {
        self.reads_after_commit();
        if self.role != Role::Leader || self.log.committed() < self.membership_index() {
            return;
        }
        let m = self.membership();
        if !m.is_voter(self.id()) {
            self.become_follower(self.term, None);
        } else if m.is_joint() && m.auto_leave {
            self.append_conf_change(&ConfChange::leave_joint());
        }
    }
}
