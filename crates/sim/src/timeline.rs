//! A run's timeline: the structured events a picture of the run needs.
//!
//! Recorded only when asked for (`replay --html`), so sweeps pay nothing.
//! [`crate::html`] renders it as a self-contained page.

use raft_core::Role;
use serde::{Deserialize, Serialize};

/// Everything drawn for one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// A title (seed and profile, or case file).
    pub title: String,
    /// Cluster size: one lane per node, 0-based.
    pub nodes: usize,
    /// Simulated time at the end of the run.
    pub end_us: u64,
    /// When the heal happened, if it did.
    pub heal_us: Option<u64>,
    /// The verdict, one line.
    pub verdict: String,
    /// The events, by time.
    pub events: Vec<TimelineEvent>,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// A node's role or term changed.
    Role {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// The new role (serialized as "Follower", "PreCandidate", "Candidate" or "Leader").
        role: Role,
        /// The term.
        term: u64,
    },
    /// A message was delivered (drawn as an arrow from `sent` to `t`).
    Message {
        /// Delivery time.
        t: u64,
        /// Send time.
        sent: u64,
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
        /// Message kind, e.g. "Append".
        name: String,
        /// Key fields, one line.
        detail: String,
    },
    /// A node's commit index rose.
    Commit {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// The new commit index.
        index: u64,
    },
    /// A node crashed (its lane is shaded until it restarts).
    Crash {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// Unsynced bytes lost (the field keeps its first name, which
        /// saved timelines use).
        lost_writes: u64,
    },
    /// A node applied a retried command as a duplicate (its kv session
    /// answered with the first result).
    Deduplicated {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A node took a snapshot (compacting its log) or installed its
    /// leader's.
    Snapshot {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// The snapshot's index.
        index: u64,
        /// Installed from the leader (else taken).
        installed: bool,
    },
    /// A node granted its vote (durably: the vote is in a hard state the
    /// node wrote).
    Vote {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// The term of the vote.
        term: u64,
        /// Whether the node already held that term before voting (it
        /// learned the term without voting, then granted a vote in it).
        known_term: bool,
    },
    /// A node served a client's read without a log entry.
    Read {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
        /// How.
        path: ReadPath,
    },
    /// A node refused to start: its files are damaged (down for good).
    Refused {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A node restarted from its disk.
    Restart {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A node was paused (shaded until it resumes).
    Pause {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A paused node resumed.
    Resume {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A partition was installed: `blocked[from]` lists the nodes `from` cannot reach.
    Partition {
        /// Time.
        t: u64,
        /// Per node, the nodes it cannot send to.
        blocked: Vec<Vec<usize>>,
        /// The shape, one line.
        description: String,
    },
    /// Every partition was repaired.
    HealPartition {
        /// Time.
        t: u64,
    },
    /// A client operation event at a node (proposal, result).
    Client {
        /// Time.
        t: u64,
        /// The client (0-based).
        client: usize,
        /// The node involved, if any.
        node: Option<usize>,
        /// What happened, one line.
        text: String,
    },
    /// The end of the chaos phase.
    Heal {
        /// Time.
        t: u64,
    },
    /// The cluster's committed configuration changed (at time 0: the
    /// bootstrap one): each node's lane shows whether it votes, learns,
    /// votes in one half of a joint configuration only, or is no member.
    Membership {
        /// Time.
        t: u64,
        /// The configuration entry's index (0: the bootstrap one).
        index: u64,
        /// The voters (the new half, while joint).
        voters: Vec<usize>,
        /// While joint: the old half's voters.
        outgoing: Vec<usize>,
        /// The learners.
        learners: Vec<usize>,
    },
    /// A node removed from the cluster was shut down for good.
    ShutDown {
        /// Time.
        t: u64,
        /// Node.
        node: usize,
    },
    /// A property was violated: the picture highlights it.
    Violation {
        /// Time.
        t: u64,
        /// Nodes involved.
        nodes: Vec<usize>,
        /// The one-line message.
        text: String,
    },
}

/// How a read was served without a log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPath {
    /// By ReadIndex at the leader (a quorum round).
    Index,
    /// On the leader's lease.
    Lease,
    /// At a follower, at the index its leader confirmed.
    Follower,
}

impl ReadPath {
    /// The word case scripts use for it.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            ReadPath::Index => "index",
            ReadPath::Lease => "lease",
            ReadPath::Follower => "follower",
        }
    }
}
