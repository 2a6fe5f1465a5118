//! Identifiers, log entries, durable hard state and the wire messages.
//!
//! Everything here is plain data: `Clone`, `serde`, no behaviour beyond small
//! helpers. Newtypes keep a term from being passed where an index belongs.

use crate::membership::Membership;
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

/// A message between two Raft nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The sender's term (for a pre-vote request: the term it would campaign in;
    /// for a granted pre-vote: the term of the request).
    pub term: Term,
    /// What the message says.
    pub body: MessageBody,
}

/// The kinds of message Raft nodes exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageBody {
    /// A (pre-)candidate asks for a vote (§5.2, thesis §9.6 when `pre_vote`).
    RequestVote {
        /// A pre-vote: the receiver changes no state.
        pre_vote: bool,
        /// Index of the candidate's last log entry (§5.4.1).
        last_log_index: LogIndex,
        /// Term of the candidate's last log entry (§5.4.1).
        last_log_term: Term,
        /// The candidate campaigns on its leader's [`MessageBody::TimeoutNow`]
        /// (a leadership transfer, thesis §3.10): leader leases do not hold
        /// the request back.
        transfer: bool,
    },
    /// The answer to a `RequestVote`.
    RequestVoteResponse {
        /// Answers a pre-vote.
        pre_vote: bool,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// The leader replicates entries following (`prev_log_index`, `prev_log_term`).
    AppendEntries {
        /// Index of the entry just before `entries`.
        prev_log_index: LogIndex,
        /// Term of the entry at `prev_log_index`.
        prev_log_term: Term,
        /// Entries to append, contiguous from `prev_log_index + 1`; may be empty.
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: LogIndex,
    },
    /// The answer to an `AppendEntries`.
    AppendEntriesResponse {
        /// On success, the highest index known to match the leader's log; on
        /// rejection, the `prev_log_index` that did not match.
        index: LogIndex,
        /// `Some` if the consistency check failed: where the leader should look next.
        reject: Option<RejectHint>,
    },
    /// The leader's liveness signal; carries a commit index the receiver is
    /// known to have (`min(match, commit)`), never a log position.
    Heartbeat {
        /// The commit index the follower may adopt.
        commit: LogIndex,
    },
    /// The answer to a `Heartbeat`.
    HeartbeatResponse,
    /// The leader hands leadership over: the receiver, up to date, campaigns
    /// at once (thesis §3.10).
    TimeoutNow {
        /// The leader's last index when it sent this: the target campaigns
        /// only if its own log ends there. A target whose log has moved on
        /// got this late (the transfer was abandoned and the leader took
        /// new entries since), and ignores it rather than depose a leader
        /// nobody asked to go.
        last_index: LogIndex,
    },
    /// One chunk of the leader's snapshot, for a follower whose next entry
    /// is compacted away (§7). Chunks go one at a time: the next leaves
    /// when this one is acknowledged. Boxed: every message stays small.
    InstallSnapshot {
        /// The chunk and what the snapshot covers.
        chunk: Box<SnapshotChunk>,
    },
    /// The answer to an `InstallSnapshot` chunk that did not complete the
    /// snapshot (a completed one is answered by an `AppendEntriesResponse`
    /// at the snapshot's index).
    InstallSnapshotResponse {
        /// The snapshot's index.
        index: LogIndex,
        /// How many bytes of it the follower holds, contiguous from 0: the
        /// offset of the chunk it wants next.
        received: u64,
    },
}

/// A follower's hint after a failed consistency check (fast backoff): the
/// largest index at or below the probed one whose term is at most the probed
/// term, with that term. The leader skips every index above it in one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectHint {
    /// The follower's candidate match index.
    pub index: LogIndex,
    /// The follower's term at `index`.
    pub term: Term,
}

impl MessageBody {
    /// Every name [`MessageBody::name`] gives, for tools that refer to a
    /// kind of message by name.
    pub const NAMES: [&'static str; 11] = [
        "PreVote",
        "Vote",
        "PreVoteResp",
        "VoteResp",
        "Append",
        "AppendResp",
        "Heartbeat",
        "HeartbeatResp",
        "TimeoutNow",
        "Snapshot",
        "SnapshotResp",
    ];

    /// A short name for traces (one of [`MessageBody::NAMES`]).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            MessageBody::RequestVote { pre_vote: true, .. } => "PreVote",
            MessageBody::RequestVote { .. } => "Vote",
            MessageBody::RequestVoteResponse { pre_vote: true, .. } => "PreVoteResp",
            MessageBody::RequestVoteResponse { .. } => "VoteResp",
            MessageBody::AppendEntries { .. } => "Append",
            MessageBody::AppendEntriesResponse { .. } => "AppendResp",
            MessageBody::Heartbeat { .. } => "Heartbeat",
            MessageBody::HeartbeatResponse => "HeartbeatResp",
            MessageBody::TimeoutNow { .. } => "TimeoutNow",
            MessageBody::InstallSnapshot { .. } => "Snapshot",
            MessageBody::InstallSnapshotResponse { .. } => "SnapshotResp",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_name_is_listed_once() {
        let (i, t) = (LogIndex(1), Term(1));
        let bodies = [
            MessageBody::RequestVote {
                pre_vote: true,
                last_log_index: i,
                last_log_term: t,
                transfer: false,
            },
            MessageBody::RequestVote {
                pre_vote: false,
                last_log_index: i,
                last_log_term: t,
                transfer: false,
            },
            MessageBody::RequestVoteResponse {
                pre_vote: true,
                granted: true,
            },
            MessageBody::RequestVoteResponse {
                pre_vote: false,
                granted: true,
            },
            MessageBody::AppendEntries {
                prev_log_index: i,
                prev_log_term: t,
                entries: Vec::new(),
                leader_commit: i,
            },
            MessageBody::AppendEntriesResponse {
                index: i,
                reject: None,
            },
            MessageBody::Heartbeat { commit: i },
            MessageBody::HeartbeatResponse,
            MessageBody::TimeoutNow { last_index: i },
            MessageBody::InstallSnapshot {
                chunk: Box::default(),
            },
            MessageBody::InstallSnapshotResponse {
                index: i,
                received: 0,
            },
        ];
        let names: Vec<&str> = bodies.iter().map(MessageBody::name).collect();
        assert_eq!(names, MessageBody::NAMES);
    }
}
