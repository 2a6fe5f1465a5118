//! Node configuration: timing in ticks, replication limits and the protocol
//! switches the simulator flips (pre-vote, check-quorum).

use crate::types::NodeId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a node behaves. Validate with [`Config::validate`] (the node
/// constructor does it for you).
///
/// ```
/// use raft_core::{Config, NodeId};
/// let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)]);
/// assert!(config.validate().is_ok());
/// assert!(config.pre_vote && config.check_quorum);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// The initial voter set (used when the durable state holds no
    /// configuration of its own). Must contain at least one node.
    pub voters: Vec<NodeId>,
    /// Minimum election timeout; each timeout is drawn uniformly from
    /// `[election_timeout_ticks_min, 2 * election_timeout_ticks_min)`.
    pub election_timeout_ticks_min: u32,
    /// Ticks between leader heartbeats; must be below the election timeout.
    pub heartbeat_interval_ticks: u32,
    /// Most entries in one `AppendEntries`.
    pub max_entries_per_message: u32,
    /// Most payload bytes in one `AppendEntries` (always at least one entry).
    pub max_bytes_per_message: u64,
    /// Most `AppendEntries` in flight to one follower in pipelined replication.
    pub max_inflight_messages: u32,
    /// Most proposed entries the leader holds uncommitted before it refuses new ones.
    pub max_uncommitted_entries: u32,
    /// Run a pre-vote round before a real election (thesis §9.6).
    pub pre_vote: bool,
    /// Leaders step down without a quorum's contact in an election timeout, and
    /// followers that heard from a leader recently ignore vote requests.
    pub check_quorum: bool,
    /// A (pre-)candidate re-sends its vote requests to the voters that have
    /// not answered after this many ticks, within the same campaign, instead
    /// of waiting a whole election timeout for a new one; 0: never. Below
    /// `election_timeout_ticks_min`.
    #[serde(default)]
    pub vote_retry_ticks: u32,
    /// Most snapshot bytes in one `InstallSnapshot` chunk.
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: u64,
    /// Leader leases for reads (thesis §6.4.1): a leader serves
    /// [`crate::RaftNode::lease_read`] at once while its lease holds: for
    /// `election_timeout_ticks_min - clock_drift_bound_ticks` of its ticks
    /// from the start of the last heartbeat round a quorum answered.
    /// Needs `check_quorum` (followers that heard from a leader refuse
    /// votes for an election timeout). Off: lease reads go by ReadIndex.
    #[serde(default)]
    pub read_lease: bool,
    /// How many ticks the nodes' clocks may drift apart over an election
    /// timeout: the lease is that much shorter than the followers'
    /// promise. A bound below the real drift is **unsafe**: a deposed
    /// leader may serve a stale read. Below `election_timeout_ticks_min`.
    #[serde(default)]
    pub clock_drift_bound_ticks: u32,
}

/// The default chunk size for sending snapshots: 64 KiB.
fn default_snapshot_chunk_bytes() -> u64 {
    64 << 10
}

impl Config {
    /// A configuration with the defaults used in production-like settings:
    /// election timeout 10 ticks, heartbeat 1 tick, 64 entries / 1 MiB per
    /// message, 64 messages in flight, 64 KiB snapshot chunks, pre-vote and
    /// check-quorum on.
    #[must_use]
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_timeout_ticks_min: 10,
            heartbeat_interval_ticks: 1,
            max_entries_per_message: 64,
            max_bytes_per_message: 1 << 20,
            max_inflight_messages: 64,
            max_uncommitted_entries: 10_000,
            pre_vote: true,
            check_quorum: true,
            vote_retry_ticks: 0,
            snapshot_chunk_bytes: default_snapshot_chunk_bytes(),
            read_lease: false,
            clock_drift_bound_ticks: 0,
        }
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.voters.is_empty() {
            return Err(ConfigError("voters must not be empty".into()));
        }
        let mut sorted = self.voters.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.voters.len() {
            return Err(ConfigError("voters must not repeat a node".into()));
        }
        if self.election_timeout_ticks_min < 2 {
            return Err(ConfigError(
                "election_timeout_ticks_min must be at least 2".into(),
            ));
        }
        if self.election_timeout_ticks_min > u32::MAX / 2 {
            // Timeouts are drawn from [min, 2 * min), which must fit a u32.
            return Err(ConfigError(
                "election_timeout_ticks_min must be at most u32::MAX / 2".into(),
            ));
        }
        if self.heartbeat_interval_ticks == 0
            || self.heartbeat_interval_ticks >= self.election_timeout_ticks_min
        {
            return Err(ConfigError(
                "heartbeat_interval_ticks must be in 1..election_timeout_ticks_min".into(),
            ));
        }
        if self.vote_retry_ticks >= self.election_timeout_ticks_min {
            return Err(ConfigError(
                "vote_retry_ticks must be below election_timeout_ticks_min (0: off)".into(),
            ));
        }
        if self.max_entries_per_message == 0
            || self.max_bytes_per_message == 0
            || self.snapshot_chunk_bytes == 0
        {
            return Err(ConfigError("message limits must be positive".into()));
        }
        if self.max_inflight_messages == 0 || self.max_uncommitted_entries == 0 {
            return Err(ConfigError(
                "in-flight and uncommitted limits must be positive".into(),
            ));
        }
        if self.read_lease && !self.check_quorum {
            return Err(ConfigError(
                "read_lease needs check_quorum (followers must refuse votes while a leader's lease holds)".into(),
            ));
        }
        if self.clock_drift_bound_ticks >= self.election_timeout_ticks_min {
            return Err(ConfigError(
                "clock_drift_bound_ticks must be below election_timeout_ticks_min".into(),
            ));
        }
        Ok(())
    }
}

/// A configuration that cannot work, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid raft config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}
