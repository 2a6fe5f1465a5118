//! The leader's side of log replication: heartbeats and the check-quorum
//! round, `AppendEntries` paced by each follower's [`Progress`] (or the
//! snapshot, for a follower whose next entry is compacted away: see
//! `snapshot`), the followers' answers, and the commit index (§5.3, §5.4.2).
//!
//! Follower pacing lives in [`crate::progress`] and quorum arithmetic in
//! [`crate::quorum`]; this module calls them and never re-derives them. It
//! runs on a leader only: it must never truncate or overwrite the log (a
//! leader only appends), never count an entry of its own before the host
//! reports it durable, and never commit an earlier term's entry by counting.

use super::RaftNode;
use crate::message::{MessageBody, RejectHint};
use crate::progress::{Progress, ProgressState};
use crate::quorum;
use crate::types::{Entry, EntryKind, LogIndex, NodeId, Term};
use bytes::Bytes;

impl RaftNode {
    // ----- leader ----------------------------------------------------------

    pub(super) fn tick_leader(&mut self) {
        self.read_tick();
        self.tick_transfer();
        self.heartbeat_elapsed_ticks += 1;
        self.election_elapsed_ticks += 1;
        if self.election_elapsed_ticks >= self.config.election_timeout_ticks_min {
            self.election_elapsed_ticks = 0;
            if self.config.check_quorum && !self.check_quorum_round() {
                self.become_follower(self.term, None);
                return;
            }
        }
        if self.heartbeat_elapsed_ticks >= self.config.heartbeat_interval_ticks {
            self.heartbeat_elapsed_ticks = 0;
            self.broadcast_heartbeat();
        }
    }

    /// Whether a quorum (of both halves, while joint) was active since the
    /// last round; starts a new round.
    fn check_quorum_round(&mut self) -> bool {
        let id = self.id();
        let progress = &self.progress;
        let active = self.confs[self.confs.len() - 1]
            .membership
            .has_quorum(|peer| {
                peer == id || self::progress_of(progress, peer).is_some_and(|p| p.recent_active)
            });
        for pr in &mut self.progress {
            pr.recent_active = pr.id == id;
        }
        active
    }

    pub(super) fn append_own(&mut self, kind: EntryKind, data: Bytes) -> LogIndex {
        let index = self.log.last_index().next();
        self.log.append(Entry {
            term: self.term,
            index,
            kind,
            data,
        });
        index
    }

    pub(super) fn progress_mut(&mut self, peer: NodeId) -> Option<&mut Progress> {
        self.progress.iter_mut().find(|p| p.id == peer)
    }

    pub(super) fn broadcast_append(&mut self, send_if_empty: bool) {
        for i in 0..self.progress.len() {
            let to = self.progress[i].id;
            if to != self.id() {
                self.send_append(i, send_if_empty);
            }
        }
    }

    pub(super) fn broadcast_heartbeat(&mut self) {
        self.recheck_read_round();
        self.lease_round();
        let committed = self.log.committed();
        for i in 0..self.progress.len() {
            let pr = &self.progress[i];
            if pr.id != self.id() {
                let body = self.heartbeat_body(pr.match_index.min(committed));
                self.send(pr.id, self.term, body);
            }
        }
    }

    /// Sends the next `AppendEntries` to the peer at `slot` if its pacing
    /// allows. Returns whether a message was sent.
    fn send_append(&mut self, slot: usize, send_if_empty: bool) -> bool {
        let pr = &self.progress[slot];
        if pr.state == ProgressState::Snapshot {
            return self.send_snapshot_chunk(slot);
        }
        if pr.is_paused() {
            return false;
        }
        let prev_log_index = pr.next_index.prev();
        let Some(prev_log_term) = self.log.term(prev_log_index) else {
            return self.send_snapshot_chunk(slot); // compacted away
        };
        let entries = self.log.entries_from(
            pr.next_index,
            self.config.max_entries_per_message as usize,
            self.config.max_bytes_per_message,
        );
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        let last = LogIndex(prev_log_index.0 + entries.len() as u64);
        let to = pr.id;
        self.progress[slot].sent_entries(last, entries.len());
        let body = MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.log.committed(),
        };
        self.send(to, self.term, body);
        true
    }

    pub(super) fn handle_append_response(
        &mut self,
        from: NodeId,
        index: LogIndex,
        reject: Option<RejectHint>,
    ) {
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        self.progress[slot].recent_active = true;
        if let Some(hint) = reject {
            let next_probe = if hint.term > Term(0) {
                self.log.find_conflict_by_term(hint.index, hint.term).0
            } else {
                hint.index
            };
            let pr = &mut self.progress[slot];
            if pr.maybe_decrease_to(index, next_probe) {
                if pr.state == ProgressState::Replicate {
                    pr.become_probe();
                }
                self.send_append(slot, true);
            }
            return;
        }
        let pr = &mut self.progress[slot];
        if !pr.maybe_update(index) {
            return; // stale or duplicated acknowledgement
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Replicate => pr.inflights.free_to(index),
            // The snapshot is in (or the follower caught up past it).
            ProgressState::Snapshot if pr.match_index >= pr.pending_snapshot => {
                pr.become_replicate();
            }
            ProgressState::Snapshot => {}
        }
        if self.maybe_commit() {
            self.broadcast_append(true);
            self.after_leader_commit();
        }
        // Leaving a joint configuration rebuilds the progress; stepping
        // down drops it.
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        while self.send_append(slot, false) {}
        self.maybe_send_timeout_now(from);
    }

    /// Sends `peer` the next `AppendEntries`, even an empty one, if its
    /// pacing allows.
    pub(super) fn send_append_to(&mut self, peer: NodeId) {
        if let Some(slot) = self.progress.iter().position(|p| p.id == peer) {
            self.send_append(slot, true);
        }
    }

    pub(super) fn handle_heartbeat_response(&mut self, from: NodeId) {
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        let pr = &mut self.progress[slot];
        pr.recent_active = true;
        pr.probe_sent = false;
        if pr.match_index < self.log.last_index() {
            // The follower is alive but behind. A full window that it never
            // acknowledged was lost: probe from the match point again.
            if pr.state == ProgressState::Replicate && pr.inflights.is_full() {
                pr.become_probe();
            }
            // Send even if nothing new is left to send: if the pipelined
            // appends were lost, the follower's rejection restarts probing.
            self.send_append(slot, true);
        }
    }

    /// Advances the commit index to what a quorum has (of both halves,
    /// while joint), if that entry is of the current term (§5.4.2, Figure 8).
    pub(super) fn maybe_commit(&mut self) -> bool {
        let mut scratch = std::mem::take(&mut self.scratch);
        let progress = &self.progress;
        let membership = &self.confs[self.confs.len() - 1].membership;
        let quorum_index = if membership.outgoing.is_empty() && membership.learners.is_empty() {
            // Every member votes (the common case): the progress is the voters'.
            scratch.clear();
            scratch.extend(progress.iter().map(|p| p.match_index));
            quorum::committed_index(&mut scratch)
        } else {
            membership.committed_index(
                |peer| progress_of(progress, peer).map_or(LogIndex(0), |p| p.match_index),
                &mut scratch,
            )
        };
        self.scratch = scratch;
        self.log.maybe_commit(quorum_index, self.term)
    }
}

/// The progress of `peer` in a leader's progress (sorted by member).
fn progress_of(progress: &[Progress], peer: NodeId) -> Option<&Progress> {
    progress
        .binary_search_by_key(&peer, |p| p.id)
        .ok()
        .map(|at| &progress[at])
}
