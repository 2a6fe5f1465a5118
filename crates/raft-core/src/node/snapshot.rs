//! Log compaction and snapshots (§7): the host compacts the log behind a
//! snapshot of its state machine; a leader sends its snapshot, chunk by
//! chunk, to a follower whose next entry is compacted away; the follower
//! assembles the chunks and installs the snapshot.
//!
//! * **Compaction** ([`RaftNode::compact`]): the host has applied up to an
//!   index and hands the state machine's state; the node drops the entries
//!   up to it, keeps (index, term) as the log's prefix and the
//!   configuration in force there, and returns the [`Snapshot`] for the
//!   host to write.
//! * **Sending**: a follower whose `next_index - 1` is compacted switches to
//!   [`ProgressState::Snapshot`](crate::progress::ProgressState::Snapshot):
//!   one chunk of at most `snapshot_chunk_bytes` in flight; each answer
//!   that tells something new sends the next; a heartbeat answer re-sends
//!   a lost one; a newer snapshot taken meanwhile replaces the one being
//!   sent, from its first byte. No appends go until the follower
//!   acknowledges the snapshot's index.
//! * **Installing**: chunks are taken in order only (a stale, duplicated
//!   or early chunk changes nothing and is answered with what the follower
//!   holds); a first chunk starts over. A complete snapshot at or below the
//!   commit index is old news (answered with the commit index); one whose
//!   (index, term) the log holds only commits up to it, keeping the log
//!   (§7: the suffix after it is the leader's); otherwise the whole log is
//!   replaced by it, its configuration is in force, and the host gets it in
//!   the next [`Ready`](crate::Ready) to write and to restore from.
//!
//! This module must never compact an entry that is not applied, never put
//! an uncommitted entry in a snapshot, never install a snapshot over
//! committed entries it disagrees with, and never let a chunk of one
//! snapshot be taken as part of another.

use super::reconfig::ConfEntry;
use super::RaftNode;
use crate::message::MessageBody;
use crate::progress::ProgressState;
use crate::snapshot::{Snapshot, SnapshotChunk, SnapshotMeta};
use crate::types::{LogIndex, NodeId, Term};
use bytes::Bytes;
use std::fmt;

/// Why [`RaftNode::compact`] refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompactError {
    /// The index is not applied yet: a snapshot holds only applied (hence
    /// committed) entries.
    NotApplied {
        /// The index asked for.
        index: LogIndex,
        /// The last applied index.
        applied: LogIndex,
    },
    /// The log is compacted up to this index or further already.
    AlreadyCompacted {
        /// The index asked for.
        index: LogIndex,
        /// The compacted prefix's last index.
        prefix: LogIndex,
    },
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompactError::NotApplied { index, applied } => {
                write!(f, "cannot compact to {index}: applied only to {applied}")
            }
            CompactError::AlreadyCompacted { index, prefix } => {
                write!(
                    f,
                    "cannot compact to {index}: compacted to {prefix} already"
                )
            }
        }
    }
}

impl std::error::Error for CompactError {}

/// The chunks of one snapshot received so far, from one leader.
#[derive(Clone, Debug)]
pub(super) struct Incoming {
    from: NodeId,
    term: Term,
    meta: SnapshotMeta,
    total_len: u64,
    data: Vec<u8>,
}

impl RaftNode {
    /// The latest snapshot this node holds (taken or installed), if its
    /// log was ever compacted.
    #[must_use]
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Compacts the log up to `index`, which the host has applied, and
    /// returns the snapshot to write: `data` (the state machine's state
    /// right after applying `index`) with the index, its term and the
    /// configuration in force there. The node sends it to followers that
    /// need entries it no longer holds.
    ///
    /// ```
    /// use raft_core::{Config, NodeId, RaftNode, Ready, Xoshiro256PlusPlus};
    /// use rand_xoshiro::rand_core::SeedableRng;
    /// let config = Config::new(NodeId(1), vec![NodeId(1)]);
    /// let mut node = RaftNode::new(config, Xoshiro256PlusPlus::seed_from_u64(1)).expect("valid");
    /// let mut ready = Ready::default();
    /// while node.log().applied().0 == 0 {
    ///     node.tick();
    ///     node.take_ready(&mut ready);
    ///     if let Some(last) = ready.entries.last() {
    ///         node.on_persisted(last.index, last.term);
    ///     }
    ///     for m in ready.persisted_messages.drain(..) {
    ///         node.step(m); // our own vote
    ///     }
    ///     ready.clear();
    /// }
    /// let applied = node.log().applied();
    /// let snap = node.compact(applied, bytes::Bytes::from_static(b"state")).expect("applied");
    /// assert_eq!(snap.meta.index, applied);
    /// assert_eq!(node.log().first_index(), applied.next());
    /// ```
    ///
    /// # Errors
    /// `index` is not applied, or not past the compacted prefix.
    pub fn compact(&mut self, index: LogIndex, data: Bytes) -> Result<Snapshot, CompactError> {
        let prefix = self.log.first_index().prev();
        if index <= prefix {
            return Err(CompactError::AlreadyCompacted { index, prefix });
        }
        let applied = self.log.applied();
        if index > applied {
            return Err(CompactError::NotApplied { index, applied });
        }
        let (Some(term), Some(conf)) = (self.log.term(index), self.conf_at(index)) else {
            return Err(CompactError::AlreadyCompacted { index, prefix });
        };
        let meta = SnapshotMeta {
            index,
            term,
            membership: conf.membership.clone(),
            membership_index: conf.index,
        };
        let compacted = self.log.compact_to(index);
        debug_assert!(compacted, "an applied, held entry compacts");
        self.compact_confs(index);
        let snapshot = Snapshot { meta, data };
        self.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    // ----- leader ----------------------------------------------------------

    /// Sends the peer at `slot` the next chunk of the snapshot, switching
    /// it to snapshot state first if needed. Returns whether a chunk left.
    pub(super) fn send_snapshot_chunk(&mut self, slot: usize) -> bool {
        let Some(snap) = &self.snapshot else {
            return false; // never compacted: nothing is missing
        };
        let pr = &mut self.progress[slot];
        if pr.state != ProgressState::Snapshot || pr.pending_snapshot != snap.meta.index {
            // Needs it now, or a newer one replaced the one being sent.
            pr.become_snapshot(snap.meta.index);
        }
        if pr.is_paused() {
            return false;
        }
        let total_len = snap.data.len() as u64;
        let offset = pr.snapshot_acked.min(total_len);
        let end = total_len.min(offset.saturating_add(self.config.snapshot_chunk_bytes));
        let body = MessageBody::InstallSnapshot {
            chunk: Box::new(SnapshotChunk {
                meta: snap.meta.clone(),
                total_len,
                offset,
                data: snap.data.slice(offset as usize..end as usize),
            }),
        };
        let to = pr.id;
        pr.sent_entries(snap.meta.index, 0);
        self.send(to, self.term, body);
        true
    }

    /// A follower holds `received` bytes of the snapshot at `index`.
    pub(super) fn handle_snapshot_response(
        &mut self,
        from: NodeId,
        index: LogIndex,
        received: u64,
    ) {
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        let pr = &mut self.progress[slot];
        pr.recent_active = true;
        if pr.snapshot_answered(index, received) {
            self.send_snapshot_chunk(slot);
        }
    }

    // ----- follower --------------------------------------------------------

    /// A chunk of the leader's snapshot (the leader is of the current term).
    pub(super) fn handle_snapshot_chunk(&mut self, from: NodeId, chunk: SnapshotChunk) {
        let SnapshotChunk {
            meta,
            total_len,
            offset,
            data,
        } = chunk;
        let committed = self.log.committed();
        if meta.index <= committed {
            // Old news (a duplicate of the last chunk, or a snapshot this
            // node caught up past): tell the leader where it stands.
            self.incoming = None;
            self.send_append_ack(from, committed);
            return;
        }
        let continues = self.incoming.as_ref().is_some_and(|inc| {
            inc.from == from
                && inc.term == self.term
                && inc.meta.index == meta.index
                && inc.meta.term == meta.term
                && inc.total_len == total_len
                && inc.data.len() as u64 == offset
        });
        if offset == 0 {
            self.incoming = Some(Incoming {
                from,
                term: self.term,
                meta,
                total_len,
                data: Vec::new(),
            });
        } else if !continues {
            // Stale, duplicated or early: change nothing, say what we hold.
            let received = self
                .incoming
                .as_ref()
                .filter(|inc| inc.meta.index == meta.index && inc.from == from)
                .map_or(0, |inc| inc.data.len() as u64);
            let body = MessageBody::InstallSnapshotResponse {
                index: meta.index,
                received,
            };
            self.send(from, self.term, body);
            return;
        }
        let Some(inc) = self.incoming.as_mut() else {
            return;
        };
        inc.data.extend_from_slice(&data);
        let received = inc.data.len() as u64;
        if received < inc.total_len {
            let body = MessageBody::InstallSnapshotResponse {
                index: inc.meta.index,
                received,
            };
            self.send(from, self.term, body);
            return;
        }
        let Some(inc) = self.incoming.take() else {
            return;
        };
        if received > inc.total_len {
            return; // longer than announced: a broken leader; drop it
        }
        let index = self.install(Snapshot {
            meta: inc.meta,
            data: Bytes::from(inc.data),
        });
        self.send_append_ack(from, index);
    }

    /// Installs a complete snapshot past the commit index (§7). Returns the
    /// index up to which the log now matches the leader's.
    fn install(&mut self, snapshot: Snapshot) -> LogIndex {
        let SnapshotMeta { index, term, .. } = snapshot.meta;
        if self.log.term(index) == Some(term) {
            // The log holds the snapshot's last entry: everything up to it
            // matches the leader's log; keep the log and commit up to it.
            self.log.commit_to(index);
            return index;
        }
        self.log.install_snapshot(index, term);
        self.confs = vec![ConfEntry::of_snapshot(&snapshot.meta)];
        self.membership_changed();
        self.unhanded_snapshot = Some(Box::new(snapshot.clone()));
        self.snapshot = Some(snapshot);
        index
    }
}
