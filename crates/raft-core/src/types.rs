//! Identifiers, log entries and durable hard state (the wire messages are
//! in [`crate::message`], snapshots in [`crate::snapshot`]).
//!
//! Everything here is plain data: `Clone`, `serde`, no behaviour beyond small
//! helpers. Newtypes keep a term from being passed where an index belongs.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of a node in the cluster. Zero is a valid id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub u64);

/// A Raft term. Term 0 is the term before any election.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Term(pub u64);

/// A position in the replicated log. Index 0 is the empty prefix; the first
/// real entry of a never-compacted log has index 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LogIndex(pub u64);

impl Term {
    /// The next term.
    #[must_use]
    #[inline]
    pub fn next(self) -> Term {
        Term(self.0 + 1)
    }
}

impl LogIndex {
    /// The index after this one.
    #[must_use]
    #[inline]
    pub fn next(self) -> LogIndex {
        LogIndex(self.0 + 1)
    }

    /// The index before this one; `LogIndex(0).prev()` is `LogIndex(0)`.
    #[must_use]
    #[inline]
    pub fn prev(self) -> LogIndex {
        LogIndex(self.0.saturating_sub(1))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.0)
    }
}

/// What a log entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// Application data (`data` is the host's command) or, with empty data,
    /// the no-op a new leader appends to commit entries of earlier terms.
    Normal,
    /// A membership change (reserved: carried and replicated like any entry,
    /// interpreted once configuration changes are implemented).
    ConfChange,
}

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that created the entry.
    pub term: Term,
    /// The entry's position in the log.
    pub index: LogIndex,
    /// How to interpret `data`.
    pub kind: EntryKind,
    /// Opaque payload. Cheap to clone (reference counted).
    pub data: Bytes,
}

impl Entry {
    /// The number of bytes the entry counts for in message size limits.
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        // Index, term and kind are counted as a fixed 24-byte header.
        24 + self.data.len() as u64
    }
}

/// The state that must be durable before any message depending on it leaves
/// the node: the current term, the vote cast in it, and the commit index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// The candidate this node voted for in `term`, if any.
    pub vote: Option<NodeId>,
    /// The highest log index known to be committed.
    pub commit: LogIndex,
}
