//! The messages Raft nodes exchange. Plain data: `Clone`, `serde`, small
//! (anything large travels boxed, so every message moves cheaply).

use crate::snapshot::SnapshotChunk;
use crate::types::{Entry, LogIndex, NodeId, Term};
use serde::{Deserialize, Serialize};

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
        /// The leader's latest read round (ReadIndex): the answer echoes
        /// it, confirming the sender led when it sent the heartbeat.
        read_round: u64,
    },
    /// The answer to a `Heartbeat`.
    HeartbeatResponse {
        /// The read round of the heartbeat answered.
        read_round: u64,
    },
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
    /// A follower asks its leader for a read index (a follower read): the
    /// leader answers once a heartbeat round confirmed it leads.
    ReadIndex {
        /// The follower's token for the read.
        ctx: u64,
    },
    /// The leader's answer to a `ReadIndex`: the index the follower must
    /// have applied before serving the read, or `None` if the leader
    /// cannot serve it (it stopped leading).
    ReadIndexResponse {
        /// The follower's token for the read.
        ctx: u64,
        /// The read's index.
        index: Option<LogIndex>,
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
    pub const NAMES: [&'static str; 13] = [
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
        "ReadIndex",
        "ReadIndexResp",
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
            MessageBody::HeartbeatResponse { .. } => "HeartbeatResp",
            MessageBody::TimeoutNow { .. } => "TimeoutNow",
            MessageBody::InstallSnapshot { .. } => "Snapshot",
            MessageBody::InstallSnapshotResponse { .. } => "SnapshotResp",
            MessageBody::ReadIndex { .. } => "ReadIndex",
            MessageBody::ReadIndexResponse { .. } => "ReadIndexResp",
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
            MessageBody::Heartbeat {
                commit: i,
                read_round: 0,
            },
            MessageBody::HeartbeatResponse { read_round: 0 },
            MessageBody::TimeoutNow { last_index: i },
            MessageBody::InstallSnapshot {
                chunk: Box::default(),
            },
            MessageBody::InstallSnapshotResponse {
                index: i,
                received: 0,
            },
            MessageBody::ReadIndex { ctx: 1 },
            MessageBody::ReadIndexResponse {
                ctx: 1,
                index: Some(i),
            },
        ];
        let names: Vec<&str> = bodies.iter().map(MessageBody::name).collect();
        assert_eq!(names, MessageBody::NAMES);
    }
}
