//! The small interfaces a host plugs into the [`Driver`](crate::Driver):
//! where batches are written ([`Storage`]), where messages go
//! ([`Transport`]), what applies committed entries ([`StateMachine`]), and
//! who hears about everything else ([`Effects`]: proposal answers, faults
//! and observation hooks).
//!
//! The simulator implements them with a simulated disk, network and event
//! stream; a real node implements them with files, sockets and logs. The
//! driver never knows which.

use bytes::Bytes;
use raft_core::{
    Entry, HardState, InvariantViolation, LogIndex, Message, RaftNode, Ready, Snapshot, Term,
};
use std::fmt;

/// Where a node's log and hard state are written.
///
/// Writes are issued in order and become durable in that order: a sync
/// covers every write issued before it. The driver never syncs; the host
/// does (at once, on a timer, or grouped), then calls
/// [`Driver::on_synced`](crate::Driver::on_synced).
pub trait Storage {
    /// Issues one batch: `entries` (replacing every written entry from the
    /// first one's index on), then `hard_state`. Returns the batch's sequence
    /// number, or the last issued one if the batch writes nothing.
    ///
    /// # Errors
    /// A write the storage could not issue; the node must stop.
    fn write(
        &mut self,
        entries: &[Entry],
        hard_state: Option<HardState>,
    ) -> Result<u64, StorageError>;

    /// Issues a snapshot write, ordered with the batches like one of
    /// them, and atomic: a crash keeps either it whole or the snapshot
    /// before it. `install` (a follower took its leader's snapshot)
    /// replaces the whole log; otherwise (compaction) only the entries up
    /// to the snapshot's index are dropped, once it is durable. Returns the
    /// write's sequence number.
    ///
    /// # Errors
    /// A write the storage could not issue; the node must stop.
    fn write_snapshot(&mut self, snapshot: Snapshot, install: bool) -> Result<u64, StorageError>;

    /// The highest batch sequence number known durable.
    fn synced_seq(&self) -> u64;
}

/// A write the storage refused (I/O error, full disk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError(pub String);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage write failed: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

/// Where messages to other nodes go. Delivery may fail silently: Raft
/// tolerates loss, duplication and reordering.
pub trait Transport {
    /// Hands `m` to the network (or, addressed to this node itself, back to
    /// it: a candidate's own vote).
    fn send(&mut self, m: Message);
}

/// The replicated state machine.
pub trait StateMachine {
    /// What applying one entry yields (answered to the proposer).
    type Output;

    /// Applies one committed entry. Entries come in log order, each once per
    /// incarnation of the node (a restarted node re-applies from its log's start).
    ///
    /// # Errors
    /// The entry cannot be applied (out of order): the replica is corrupt.
    fn apply(&mut self, entry: &Entry) -> Result<Self::Output, ApplyError>;

    /// The whole state, encoded: a snapshot's data, taken right after
    /// applying `index` (the last entry applied).
    fn snapshot(&self, index: LogIndex) -> Bytes;

    /// Replaces the whole state with a snapshot's `data`, which must be the
    /// state right after applying `index`.
    ///
    /// # Errors
    /// The data is not a snapshot (damaged, another format, another index).
    fn restore(&mut self, index: LogIndex, data: &[u8]) -> Result<(), ApplyError>;

    /// Answers a read-only `query` from the current state (a linearizable
    /// read, [`crate::Driver::read`], once the state is recent enough).
    fn query(&self, query: &[u8]) -> Self::Output;
}

/// An entry the state machine could not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError(pub String);

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApplyError {}

/// How a proposal ended, as seen by the node that accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<O> {
    /// The proposal's entry was applied at (`index`, `term`).
    Applied {
        /// Where it was committed.
        index: LogIndex,
        /// The term it was proposed in.
        term: Term,
        /// What applying it yielded.
        output: O,
    },
    /// Another term's entry was applied at the proposal's index (the
    /// proposal was lost to a leader change), or a snapshot installed from
    /// the leader covers it (its outcome is in the snapshot, unknown here):
    /// retry it under the same client session, which applies it at most once.
    Lost {
        /// The index the proposal had.
        index: LogIndex,
    },
    /// A read ([`crate::Driver::read`]) answered from the state machine,
    /// which had applied at least `index` (the leader's commit index when
    /// the read arrived).
    Read {
        /// The index the read was confirmed at.
        index: LogIndex,
        /// The state machine's answer.
        output: O,
        /// Served on the leader's lease (no heartbeat round).
        lease: bool,
    },
    /// A read the node could not serve (it stopped leading): ask the leader.
    ReadRefused,
}

/// A broken rule the driver detected. The node must stop: continuing would
/// spread a corruption. The simulator turns it into a shrinkable violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostFault {
    /// raft-core's own invariants failed after an input.
    NodeInvariant(InvariantViolation),
    /// A batch would break the disk boundary (a gap in the written log, a
    /// rewrite at or below the written commit index, a commit past the log).
    Boundary {
        /// The rule, short and stable (e.g. `"contiguous-writes"`).
        rule: &'static str,
        /// What the batch held.
        detail: String,
    },
    /// The state machine refused a committed entry.
    Apply {
        /// The entry's index.
        index: LogIndex,
        /// Why.
        error: ApplyError,
    },
    /// The state machine refused a snapshot.
    Restore {
        /// The snapshot's index.
        index: LogIndex,
        /// Why.
        error: ApplyError,
    },
    /// The storage refused a write.
    Storage(StorageError),
    /// One input kept producing batches past the limit: a livelock.
    ReadyRoundsExceeded {
        /// The limit that was hit.
        rounds: usize,
    },
}

impl fmt::Display for HostFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostFault::NodeInvariant(v) => write!(f, "node invariant broken: {v}"),
            HostFault::Boundary { rule, detail } => write!(f, "disk boundary ({rule}): {detail}"),
            HostFault::Apply { index, error } => write!(f, "cannot apply entry {index}: {error}"),
            HostFault::Restore { index, error } => {
                write!(f, "cannot restore the snapshot at {index}: {error}")
            }
            HostFault::Storage(e) => e.fmt(f),
            HostFault::ReadyRoundsExceeded { rounds } => {
                write!(f, "still producing batches after {rounds} rounds")
            }
        }
    }
}

impl std::error::Error for HostFault {}

/// Everything the driver tells its host besides storage writes: messages
/// ([`Transport`]), proposal answers, faults, and observation hooks that a
/// simulator turns into its event stream (all hooks but `answer` and
/// `fault` default to nothing).
pub trait Effects<T, O>: Transport {
    /// A proposal made with `token` ended.
    fn answer(&mut self, token: T, answer: Answer<O>);

    /// The driver found a broken rule and stopped the node.
    fn fault(&mut self, fault: HostFault);

    /// Whether the host wants the driver to stop at the next safe point
    /// (a simulator that already has its verdict).
    fn stopped(&mut self) -> bool {
        false
    }

    /// The node's state after an input: called with each batch's
    /// `hard_state` before it is handled, or once with `None` if the input
    /// produced no batch (role changes show up here either way: handling a
    /// batch never changes the role).
    fn node_state(&mut self, _raft: &RaftNode, _hard_state: Option<HardState>) {}

    /// A batch is about to be written, sent and applied.
    fn ready(&mut self, _raft: &RaftNode, _ready: &Ready) {}

    /// A proposal was accepted at (`index`, `term`); it is not yet written.
    fn proposed(&mut self, _token: &T, _index: LogIndex, _term: Term) {}

    /// `entry` is about to be applied.
    fn applying(&mut self, _entry: &Entry) {}

    /// `entry` was applied, yielding `output`.
    fn applied(&mut self, _entry: &Entry, _output: &O) {}

    /// The node compacted its log behind `snapshot` (written next).
    fn snapshot_taken(&mut self, _raft: &RaftNode, _snapshot: &Snapshot) {}

    /// The node installed its leader's `snapshot`: restored into the state
    /// machine (and written next).
    fn snapshot_installed(&mut self, _snapshot: &Snapshot) {}
}
