//! What a snapshot is: the state machine's state at an index, and what it
//! covers (the index, its term and the configuration in force there).
//! Plain data; compaction and installing are the node's business
//! (`node/snapshot.rs`).

use crate::membership::Membership;
use crate::types::{LogIndex, Term};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What a snapshot covers: the log up to (`index`, `term`), compacted, and
/// the configuration in force at that index (a node restarted from, or
/// installing, a snapshot must not fall back to its bootstrap voters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The last index the snapshot covers (applied to produce it).
    pub index: LogIndex,
    /// The term of the entry at `index`.
    pub term: Term,
    /// The configuration in force at `index`: that of the latest
    /// configuration entry at or below it (or the bootstrap one).
    pub membership: Membership,
    /// The index of the entry that set `membership` (0: the bootstrap
    /// configuration).
    pub membership_index: LogIndex,
}

/// A snapshot: the state machine's state after applying every entry up to
/// `meta.index` (opaque to raft-core), and what it covers.
///
/// ```
/// use raft_core::{LogIndex, Snapshot, SnapshotMeta, Term};
/// let snap = Snapshot {
///     meta: SnapshotMeta { index: LogIndex(7), term: Term(2), ..SnapshotMeta::default() },
///     data: bytes::Bytes::from_static(b"state"),
/// };
/// assert_eq!(snap.meta.index, LogIndex(7));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The state machine's state (the host's encoding). Cheap to clone.
    pub data: Bytes,
}

/// One chunk of a snapshot on its way to a follower.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotChunk {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The snapshot's whole length in bytes.
    pub total_len: u64,
    /// Where `data` starts in the snapshot.
    pub offset: u64,
    /// The chunk; the last one ends at `total_len`.
    pub data: Bytes,
}
