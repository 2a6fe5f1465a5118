//! The batch of work a node hands its host, and the persistence contract.
//!
//! # The persistence contract
//!
//! After any input (`step`, `tick`, `propose`, `on_persisted`), the host takes
//! a [`Ready`] and handles it in this order:
//!
//! 1. **Write** `snapshot`, if any (a follower installs its leader's: it
//!    replaces the whole log), then `entries` to the log, then
//!    `hard_state`. The first entry's index may be at or below the last index already written: everything
//!    written from that index on is replaced (a conflict was resolved).
//!    Writes of successive batches are made durable in the order they were
//!    handed out (a sync covers every earlier write).
//! 2. **Send** `messages` at any time, even before the write is durable: they
//!    are the leader's `AppendEntries` and `Heartbeat`s, which depend on
//!    nothing this batch persists (the leader's term became durable before it
//!    could win the election, and the leader counts its own entries only once
//!    [`RaftNode::on_persisted`] reports them durable).
//! 3. **Send** `persisted_messages` only once step 1 **and every earlier
//!    batch** are durable (a batch with nothing to write may still carry an
//!    acknowledgement of entries written before). They are votes, vote
//!    requests and append acknowledgements: a vote sent before its term and
//!    vote are durable could be cast twice after a crash, and an ack sent
//!    before its entries are durable could count a lost entry toward a
//!    commit. A candidate's vote for itself is one of them, addressed to the
//!    node itself: deliver it back with [`RaftNode::step`] (no network needed).
//!    It makes a candidate count its own vote only once it is durable.
//! 4. **Report** durability with [`RaftNode::on_persisted`] (the last entry's
//!    index and term). Until then the node neither applies these entries nor,
//!    as a leader, counts them toward a commit.
//! 5. **Restore** the state machine from `snapshot`, if any, then **apply**
//!    `committed_entries` in order. They are committed and already durable
//!    on this node.
//!
//! A crash may happen between any two steps. A node rebuilt with
//! [`RaftNode::restore`] from what was durable (hard state, snapshot, log)
//! resumes correctly: it restores its state machine from the snapshot, if
//! any, and re-applies the committed entries after it.
//!
//! Compaction is the host's move: once its state machine has applied an
//! index it may call [`RaftNode::compact`] with its state and write the
//! [`Snapshot`] that returns (durable like any write: until then the log
//! on disk still holds the entries).
//!
//! [`RaftNode::on_persisted`]: crate::RaftNode::on_persisted
//! [`RaftNode::step`]: crate::RaftNode::step
//! [`RaftNode::restore`]: crate::RaftNode::restore
//! [`RaftNode::compact`]: crate::RaftNode::compact

use crate::message::Message;
use crate::snapshot::Snapshot;
use crate::types::{Entry, HardState, LogIndex};

/// Everything a node asks of its host after an input. See the module docs
/// for the order in which the host must handle it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// A snapshot from the leader to write (replacing the whole log) and to
    /// restore the state machine from, before anything else in the batch
    /// (boxed: a batch is moved around on every input).
    pub snapshot: Option<Box<Snapshot>>,
    /// The hard state to write, if it changed since the last batch.
    pub hard_state: Option<HardState>,
    /// Entries to write, replacing any written entry at or after the first's index.
    pub entries: Vec<Entry>,
    /// Messages that may leave immediately.
    pub messages: Vec<Message>,
    /// Messages that may leave only once `hard_state` and `entries` are durable.
    pub persisted_messages: Vec<Message>,
    /// Committed, locally durable entries to apply, in log order.
    pub committed_entries: Vec<Entry>,
    /// Reads asked with [`RaftNode::read_index`], confirmed (answer each
    /// once the state machine has applied its index) or refused (no index:
    /// the node stopped leading).
    ///
    /// [`RaftNode::read_index`]: crate::RaftNode::read_index
    pub read_states: Vec<ReadState>,
}

/// A read's fate: the index to serve it at, or none if it cannot be served
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// The host's token for the read.
    pub ctx: u64,
    /// The state machine must have applied this index before the read is
    /// answered from it; `None`: refused (the node stopped leading).
    pub index: Option<LogIndex>,
}

impl Ready {
    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.entries.is_empty()
            && self.messages.is_empty()
            && self.persisted_messages.is_empty()
            && self.committed_entries.is_empty()
            && self.read_states.is_empty()
    }

    /// Empties the batch, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.hard_state = None;
        self.snapshot = None;
        self.entries.clear();
        self.messages.clear();
        self.persisted_messages.clear();
        self.committed_entries.clear();
        self.read_states.clear();
    }
}
