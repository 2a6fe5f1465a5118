//! What the leader knows of each follower's log, and how it paces
//! replication: probe (one message per round trip until the match point is
//! found), replicate (pipelined, bounded by [`Inflights`]) or snapshot (the
//! follower's next entry is compacted away: the snapshot goes chunk by
//! chunk, one in flight, and appends wait until it is acknowledged).

use crate::types::{LogIndex, NodeId};
use std::collections::VecDeque;

/// The replication mode for one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// The match point is unknown: send one `AppendEntries`, wait for the answer.
    Probe,
    /// The follower is in sync: stream entries, up to the in-flight limit.
    Replicate,
    /// The follower needs the snapshot at `pending_snapshot`: send its
    /// chunks one at a time; no appends until the follower acknowledges it.
    Snapshot,
}

/// Most in-flight slots reserved before they are used.
const INFLIGHTS_RESERVED_MAX: usize = 256;

/// A bounded FIFO of the last indexes of `AppendEntries` in flight.
#[derive(Clone, Debug)]
pub struct Inflights {
    last_indexes: VecDeque<LogIndex>,
    capacity: usize,
}

impl Inflights {
    /// An empty window of `capacity` messages.
    #[must_use]
    pub fn new(capacity: usize) -> Inflights {
        Inflights {
            // Reserve a small window up front; a huge configured limit must
            // not allocate (or abort) before anything is in flight.
            last_indexes: VecDeque::with_capacity(capacity.min(INFLIGHTS_RESERVED_MAX)),
            capacity,
        }
    }

    /// Whether no more messages may be sent.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.last_indexes.len() >= self.capacity
    }

    /// The number of messages in flight.
    #[must_use]
    pub fn len(&self) -> usize {
        self.last_indexes.len()
    }

    /// Whether nothing is in flight.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.last_indexes.is_empty()
    }

    /// Records a message whose last entry is `last_index`.
    pub fn add(&mut self, last_index: LogIndex) {
        debug_assert!(!self.is_full(), "inflights overflow");
        debug_assert!(self.last_indexes.back().map_or(true, |&b| b <= last_index));
        self.last_indexes.push_back(last_index);
    }

    /// Frees every message whose last index is at or below `index` (acknowledged).
    pub fn free_to(&mut self, index: LogIndex) {
        while self.last_indexes.front().is_some_and(|&i| i <= index) {
            self.last_indexes.pop_front();
        }
    }

    /// Forgets everything in flight.
    pub fn reset(&mut self) {
        self.last_indexes.clear();
    }
}

/// The leader's view of one peer (itself included).
#[derive(Clone, Debug)]
pub struct Progress {
    /// The peer.
    pub id: NodeId,
    /// Highest index known to match the leader's log.
    pub match_index: LogIndex,
    /// Next index to send.
    pub next_index: LogIndex,
    /// Probe or replicate.
    pub state: ProgressState,
    /// In probe state: a message is out, wait for its answer or a heartbeat response.
    pub probe_sent: bool,
    /// Messages in flight in replicate state.
    pub inflights: Inflights,
    /// Heard from since the last check-quorum round.
    pub recent_active: bool,
    /// In snapshot state: the index of the snapshot being sent.
    pub pending_snapshot: LogIndex,
    /// In snapshot state: the bytes of it the follower said it holds (the
    /// offset of the next chunk to send).
    pub snapshot_acked: u64,
}

impl Progress {
    /// A fresh progress for a new leader whose last index is `last_index`.
    #[must_use]
    pub fn new(id: NodeId, last_index: LogIndex, max_inflight: usize) -> Progress {
        Progress {
            id,
            match_index: LogIndex(0),
            next_index: last_index.next(),
            state: ProgressState::Probe,
            probe_sent: false,
            inflights: Inflights::new(max_inflight),
            recent_active: false,
            pending_snapshot: LogIndex(0),
            snapshot_acked: 0,
        }
    }

    /// Whether sending must wait.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe | ProgressState::Snapshot => self.probe_sent,
            ProgressState::Replicate => self.inflights.is_full(),
        }
    }

    /// Switches to sending the snapshot at `index`, from its first byte.
    pub fn become_snapshot(&mut self, index: LogIndex) {
        self.state = ProgressState::Snapshot;
        self.pending_snapshot = index;
        self.snapshot_acked = 0;
        self.probe_sent = false;
        self.inflights.reset();
    }

    /// The follower holds `received` bytes of the snapshot at `index`.
    /// Returns whether a chunk should go now: the answer is about the
    /// snapshot being sent and tells something new (a duplicated answer
    /// changes nothing, so duplicates never multiply chunks). A follower
    /// that holds less than it said before lost its copy (a restart): the
    /// sending starts again from what it holds.
    pub fn snapshot_answered(&mut self, index: LogIndex, received: u64) -> bool {
        if self.state != ProgressState::Snapshot
            || index != self.pending_snapshot
            || received == self.snapshot_acked
        {
            return false;
        }
        self.snapshot_acked = received;
        self.probe_sent = false;
        true
    }

    /// Switches to probing from just after the match point.
    pub fn become_probe(&mut self) {
        self.state = ProgressState::Probe;
        self.next_index = self.match_index.next();
        self.probe_sent = false;
        self.inflights.reset();
    }

    /// Switches to pipelined replication.
    pub fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.next_index = self.match_index.next();
        self.probe_sent = false;
        self.inflights.reset();
    }

    /// Records that an `AppendEntries` ending at `last_index` was sent
    /// (`last_index` is the previous index for an empty message).
    pub fn sent_entries(&mut self, last_index: LogIndex, entry_count: usize) {
        match self.state {
            ProgressState::Replicate => {
                if entry_count > 0 {
                    self.next_index = last_index.next();
                    self.inflights.add(last_index);
                }
            }
            ProgressState::Probe | ProgressState::Snapshot => self.probe_sent = true,
        }
    }

    /// An acknowledgement up to `index`. Returns whether it told anything new
    /// (a stale or duplicated acknowledgement returns false).
    pub fn maybe_update(&mut self, index: LogIndex) -> bool {
        let updated = index > self.match_index;
        if updated {
            self.match_index = index;
            self.probe_sent = false;
        }
        if self.next_index <= index {
            self.next_index = index.next();
        }
        updated
    }

    /// A rejection of the message probing `rejected`, with the follower's hint
    /// `match_hint` (fast backoff). Returns false if the rejection is stale.
    pub fn maybe_decrease_to(&mut self, rejected: LogIndex, match_hint: LogIndex) -> bool {
        if self.state == ProgressState::Snapshot {
            return false; // an answer to an append sent before the snapshot
        }
        if self.state == ProgressState::Replicate {
            if rejected <= self.match_index {
                return false; // stale: that position was acknowledged since
            }
            self.next_index = self.match_index.next();
            return true;
        }
        if self.next_index.prev() != rejected {
            return false; // stale: not the probe we are waiting for
        }
        let hinted = LogIndex(rejected.0.min(match_hint.0 + 1));
        self.next_index = hinted.max(self.match_index.next()).max(LogIndex(1));
        self.probe_sent = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflights_bound_and_free() {
        let mut f = Inflights::new(2);
        f.add(LogIndex(3));
        assert!(!f.is_full());
        f.add(LogIndex(5));
        assert!(f.is_full());
        f.free_to(LogIndex(4));
        assert_eq!(f.len(), 1);
        f.free_to(LogIndex(5));
        assert!(f.is_empty());
    }

    #[test]
    fn probe_pauses_until_answer() {
        let mut p = Progress::new(NodeId(2), LogIndex(10), 4);
        assert!(!p.is_paused());
        p.sent_entries(LogIndex(10), 0);
        assert!(p.is_paused());
        assert!(p.maybe_update(LogIndex(10)));
        assert!(!p.is_paused());
        assert!(
            !p.maybe_update(LogIndex(10)),
            "a duplicated ack is not news"
        );
    }

    #[test]
    fn snapshot_state_pauses_and_counts_only_news() {
        let mut p = Progress::new(NodeId(2), LogIndex(10), 4);
        p.become_snapshot(LogIndex(8));
        assert!(!p.is_paused());
        p.sent_entries(LogIndex(8), 0);
        assert!(p.is_paused(), "one chunk in flight");
        assert!(!p.snapshot_answered(LogIndex(7), 100), "another snapshot");
        assert!(p.snapshot_answered(LogIndex(8), 100));
        assert!(!p.is_paused());
        assert!(!p.snapshot_answered(LogIndex(8), 100), "a duplicate");
        assert!(p.snapshot_answered(LogIndex(8), 0), "the follower lost it");
        assert_eq!(p.snapshot_acked, 0);
        assert!(
            !p.maybe_decrease_to(LogIndex(9), LogIndex(0)),
            "rejections of appends sent before are stale"
        );
    }

    #[test]
    fn stale_rejections_are_ignored() {
        let mut p = Progress::new(NodeId(2), LogIndex(10), 4);
        // Probing index 10 (next = 11).
        assert!(
            !p.maybe_decrease_to(LogIndex(7), LogIndex(3)),
            "not the probe in flight"
        );
        assert!(p.maybe_decrease_to(LogIndex(10), LogIndex(3)));
        assert_eq!(p.next_index, LogIndex(4));
        p.match_index = LogIndex(5);
        p.become_replicate();
        assert!(
            !p.maybe_decrease_to(LogIndex(5), LogIndex(0)),
            "already matched"
        );
        assert!(p.maybe_decrease_to(LogIndex(8), LogIndex(0)));
        assert_eq!(p.next_index, LogIndex(6));
    }
}
