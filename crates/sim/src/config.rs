//! The concrete configuration of one run ([`SimConfig`]) and the raft
//! knobs it draws ([`RaftKnobs`]): what a profile draws for a seed, what a
//! case file writes down and `set` lines change.

use raft_core::{Config, NodeId};
use serde::{Deserialize, Serialize};

/// The concrete configuration of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Profile the values were drawn from.
    pub profile: String,
    /// Cluster size.
    pub nodes: usize,
    /// Client count, one outstanding op each.
    pub clients: usize,
    /// Keys the clients contend on.
    pub keys: usize,
    /// Length of the fault phase.
    pub chaos_us: u64,
    /// After the heal, how long the cluster has to recover.
    pub liveness_window_us: u64,
    /// Bound on electing a leader after the heal.
    pub liveness_leader_us: u64,
    /// Nominal tick interval.
    pub tick_us: u64,
    /// Per node tick interval after skew.
    pub node_tick_us: Vec<u64>,
    /// Message drop probability.
    pub drop_probability: f64,
    /// Message duplication probability.
    pub duplicate_probability: f64,
    /// Uniform base delay bounds.
    pub delay_us_min: u64,
    /// Uniform base delay bounds.
    pub delay_us_max: u64,
    /// Heavy-tail probability.
    pub delay_tail_probability: f64,
    /// Heavy-tail maximum factor.
    pub delay_tail_factor_max: f64,
    /// Mean time between partitions (0 = none).
    pub partition_interval_us: u64,
    /// Partition duration bounds.
    pub partition_us_max: u64,
    /// Mean time between crashes (0 = none).
    pub crash_interval_us: u64,
    /// Restart delay bound.
    pub restart_delay_us_max: u64,
    /// Crash at the next sync (before or after it) instead of at once.
    pub crash_at_sync_probability: f64,
    /// Torn-tail probability on crash.
    pub torn_tail_probability: f64,
    /// Mean time between pauses (0 = none).
    pub pause_interval_us: u64,
    /// Pause duration bound.
    pub pause_us_max: u64,
    /// Sync latency bounds.
    pub sync_us_min: u64,
    /// Sync latency bounds.
    pub sync_us_max: u64,
    /// Client think time bound between ops.
    pub think_us_max: u64,
    /// Client retry timeout.
    pub client_timeout_us: u64,
    /// Probability a message is held long (chaos phase only; 0 = off).
    #[serde(default)]
    pub long_delay_probability: f64,
    /// Longest hold of a long-delayed message (held at least
    /// [`LONG_DELAY_US_MIN`]).
    #[serde(default)]
    pub long_delay_us_max: u64,
    /// Mean time between triggered faults being armed (0 = none).
    #[serde(default)]
    pub triggered_interval_us: u64,
    /// Probability a client request is delivered twice (at-least-once
    /// client links; chaos phase only).
    #[serde(default)]
    pub client_duplicate_probability: f64,
    /// Mean time between bursts of proposals (0 = none).
    #[serde(default)]
    pub burst_interval_us: u64,
    /// Most proposals in one burst.
    #[serde(default)]
    pub burst_size_max: u64,
    /// After settling, how long the idle cluster must keep its leader
    /// with no election (0 = the run ends once settled).
    #[serde(default)]
    pub stability_window_us: u64,
    /// The voters the cluster starts with: nodes `0..bootstrap_voters`
    /// (0: every node). The other node ids are spares, down until a
    /// committed membership change makes them members.
    #[serde(default)]
    pub bootstrap_voters: usize,
    /// Mean time between the operator's membership changes (0 = none).
    #[serde(default)]
    pub membership_interval_us: u64,
    /// Mean time between the operator's leadership transfers (0 = none).
    #[serde(default)]
    pub transfer_interval_us: u64,
    /// The snapshot policy: every node compacts its log once this many
    /// entries are applied past its last snapshot (0: never).
    #[serde(default)]
    pub snapshot_every: u64,
    /// Probability a crash also flips one bit of the node's synced files
    /// (at most one damaged node per run, only with three or more voters
    /// and no membership changes: the damaged node never starts again).
    #[serde(default)]
    pub bit_flip_probability: f64,
    /// Probability a client read is served by ReadIndex (no log entry)
    /// rather than through the log.
    #[serde(default)]
    pub read_index_probability: f64,
    /// Probability an operator's leadership transfer also cuts the leader
    /// off from every other node as it starts handing over.
    #[serde(default)]
    pub transfer_cut_probability: f64,
    /// Raft knobs.
    pub raft: RaftKnobs,
}

/// Shortest hold of a long-delayed message: longer than an election timeout.
pub const LONG_DELAY_US_MIN: u64 = 500_000;

impl SimConfig {
    /// The recovery bounds after the heal: (a leader within, every client
    /// progressed within), in microseconds: the configured bounds plus the
    /// longest hold of a long-delayed message, since a dead leader's held
    /// heartbeats keep followers waiting until they arrive. Derived when
    /// used, so a case that overrides the long delays gets bounds to match.
    #[must_use]
    pub fn recovery_bounds_us(&self) -> (u64, u64) {
        let held_us = if self.long_delay_probability > 0.0 {
            self.long_delay_us_max.max(LONG_DELAY_US_MIN)
        } else {
            0
        };
        (
            self.liveness_leader_us + held_us,
            self.liveness_window_us + held_us,
        )
    }
}

/// The raft-core configuration knobs a seed draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftKnobs {
    /// Minimum election timeout in ticks.
    pub election_timeout_ticks_min: u32,
    /// Heartbeat interval in ticks.
    pub heartbeat_interval_ticks: u32,
    /// Entries per AppendEntries.
    pub max_entries_per_message: u32,
    /// In-flight AppendEntries per follower.
    pub max_inflight_messages: u32,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Check-quorum on.
    pub check_quorum: bool,
    /// Bytes per AppendEntries (at least one entry is always sent).
    #[serde(default = "default_max_bytes_per_message")]
    pub max_bytes_per_message: u64,
    /// Uncommitted entries a leader holds before refusing proposals.
    #[serde(default = "default_max_uncommitted_entries")]
    pub max_uncommitted_entries: u32,
    /// Ticks after which a candidate re-sends unanswered vote requests
    /// (0: never).
    #[serde(default)]
    pub vote_retry_ticks: u32,
    /// Most snapshot bytes in one `InstallSnapshot` chunk.
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: u64,
    /// Leader leases for reads (needs check-quorum).
    #[serde(default)]
    pub read_lease: bool,
    /// The lease's clock-drift bound, in ticks (see raft-core's
    /// `Config::clock_drift_bound_ticks`).
    #[serde(default)]
    pub clock_drift_bound_ticks: u32,
}

pub(crate) fn default_snapshot_chunk_bytes() -> u64 {
    Config::new(NodeId(0), vec![NodeId(0)]).snapshot_chunk_bytes
}

pub(crate) fn default_max_bytes_per_message() -> u64 {
    Config::new(NodeId(0), vec![NodeId(0)]).max_bytes_per_message
}

pub(crate) fn default_max_uncommitted_entries() -> u32 {
    Config::new(NodeId(0), vec![NodeId(0)]).max_uncommitted_entries
}

impl SimConfig {
    /// The longest minimum election timeout of any node (its slowest clock).
    #[must_use]
    pub fn election_timeout_us_max(&self) -> u64 {
        let tick_max = self
            .node_tick_us
            .iter()
            .copied()
            .fold(self.tick_us, u64::max);
        u64::from(self.raft.election_timeout_ticks_min) * tick_max
    }

    /// The number of bootstrap voters (nodes `0..` that many).
    #[must_use]
    pub fn bootstrap_voters(&self) -> usize {
        match self.bootstrap_voters {
            0 => self.nodes,
            n => n.min(self.nodes),
        }
    }

    /// The raft-core configuration of `node` in this run: every node,
    /// spares too, starts from the bootstrap voters (a spare learns the
    /// configuration that made it a member from the log).
    #[must_use]
    pub fn raft_config(&self, node: usize) -> Config {
        let voters = (0..self.bootstrap_voters() as u64).map(NodeId).collect();
        let k = &self.raft;
        Config {
            election_timeout_ticks_min: k.election_timeout_ticks_min,
            heartbeat_interval_ticks: k.heartbeat_interval_ticks,
            max_entries_per_message: k.max_entries_per_message,
            max_inflight_messages: k.max_inflight_messages,
            pre_vote: k.pre_vote,
            check_quorum: k.check_quorum,
            max_bytes_per_message: k.max_bytes_per_message,
            max_uncommitted_entries: k.max_uncommitted_entries,
            vote_retry_ticks: k.vote_retry_ticks,
            snapshot_chunk_bytes: k.snapshot_chunk_bytes,
            read_lease: k.read_lease,
            clock_drift_bound_ticks: k.clock_drift_bound_ticks,
            ..Config::new(NodeId(node as u64), voters)
        }
    }
}
