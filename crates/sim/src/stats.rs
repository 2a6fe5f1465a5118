//! What a run did (counters) and how it ended (verdict).

use checker::Violation;
use serde::{Deserialize, Serialize};

/// Counters of one run, or the sum over a sweep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Campaigns started (real elections, not pre-votes).
    pub elections: u64,
    /// Times a node became leader.
    pub leaders_elected: u64,
    /// Highest term reached.
    pub max_term: u64,
    /// When the run's first leader was elected, in simulated ms (rounded
    /// up), summed over runs: divided by the seeds, the mean time to elect
    /// a leader from a cold start.
    #[serde(default)]
    pub first_leader_ms: u64,
    /// Highest commit index reached on any node.
    pub entries_committed: u64,
    /// Client operations started.
    pub client_ops_invoked: u64,
    /// Client operations acknowledged with a result.
    pub client_ops_ok: u64,
    /// Attempts definitely refused (not leader, busy, lost to a leader change), then retried.
    pub client_ops_failed: u64,
    /// Operations whose outcome the client never learned.
    pub client_ops_indeterminate: u64,
    /// Client attempts that timed out and were retried.
    pub client_timeouts: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Node restarts.
    pub restarts: u64,
    /// Node pauses.
    pub pauses: u64,
    /// Partitions installed.
    pub partitions: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// Messages delivered to a live node.
    pub messages_delivered: u64,
    /// Of the messages handed to the network, those lost (drop, partition,
    /// dead or overloaded receiver, a crash with the message in its inbox).
    pub messages_dropped: u64,
    /// Extra copies delivered.
    pub messages_duplicated: u64,
    /// Client requests and replies lost on their links (not Raft messages).
    #[serde(default)]
    pub client_messages_lost: u64,
    /// Messages (or copies) held for seconds before delivery.
    #[serde(default)]
    pub messages_delayed_long: u64,
    /// The longest delay of any message, in milliseconds.
    #[serde(default)]
    pub max_message_delay_ms: u64,
    /// Faults that fired at a protocol point (a vote, a sync, an ack, ...).
    #[serde(default)]
    pub triggered_faults: u64,
    /// Proposals sent in bursts by the load generator.
    #[serde(default)]
    pub burst_proposals: u64,
    /// The most log entries one write replaced (a divergent suffix repaired).
    #[serde(default)]
    pub longest_truncated_suffix: u64,
    /// The most append rejections a follower sent in a row before an ack.
    #[serde(default)]
    pub longest_probe_sequence: u64,
    /// Unsynced bytes lost in crashes.
    pub unsynced_bytes_lost: u64,
    /// Bits flipped in crashed nodes' synced files.
    #[serde(default)]
    pub corruptions_injected: u64,
    /// Restarts refused because recovery found the files damaged.
    #[serde(default)]
    pub corruptions_detected: u64,
    /// Runs whose liveness check passed after the heal.
    pub liveness_checks_passed: u64,
    /// Runs that kept one leader, with no election, through an idle
    /// stability window after settling.
    #[serde(default)]
    pub stability_windows_passed: u64,
    /// Proposals to an idle leader on a calm network (one per stability
    /// window) committed within two network delays and two syncs.
    #[serde(default)]
    pub latency_probes_passed: u64,
    /// Client histories proven linearizable.
    pub linearizability_checked: u64,
    /// Client histories whose linearizability search ran out of budget
    /// (neither proven nor refuted; never counted as a pass).
    pub linearizability_unknown: u64,
    /// The most steps the linearizability search took on one key of one
    /// run (against the per-key budget `LINEARIZABILITY_STEPS_MAX`: how
    /// close a pass came to being unknown).
    #[serde(default)]
    pub linearizability_steps_max: u64,
    /// The longest a follower read waited for its index (or refusal), in
    /// the follower's ticks (against the bound of
    /// `FOLLOWER_READ_WAIT_TIMEOUTS` election timeouts: how close a run
    /// came).
    #[serde(default)]
    pub read_wait_ticks_max: u64,
    /// Client reads answered through the log (an entry applied like a
    /// write).
    #[serde(default)]
    pub reads_log: u64,
    /// Client reads answered by ReadIndex (a heartbeat round, no entry).
    #[serde(default)]
    pub reads_read_index: u64,
    /// Client reads answered by a follower (the leader confirmed the
    /// index with a heartbeat round; the follower applied up to it).
    #[serde(default)]
    pub reads_follower: u64,
    /// Client reads a leader answered on its lease (no heartbeat round).
    #[serde(default)]
    pub reads_lease: u64,
    /// Acknowledged writes verified present on every live node at the end.
    pub durable_writes_checked: u64,
    /// Membership changes a leader accepted and put in its log (the
    /// operator's, and the leaves of joint configurations leaders append
    /// by themselves).
    #[serde(default)]
    pub config_changes_proposed: u64,
    /// Membership changes committed (counted once each, cluster-wide).
    #[serde(default)]
    pub config_changes_committed: u64,
    /// Committed changes that entered a joint configuration.
    #[serde(default)]
    pub joint_entered: u64,
    /// Committed changes that left a joint configuration.
    #[serde(default)]
    pub joint_left: u64,
    /// Learners made voters by a committed change.
    #[serde(default)]
    pub learners_promoted: u64,
    /// The most voters of a committed configuration (both halves while
    /// joint): how far the cluster grew.
    #[serde(default)]
    pub max_voters: u64,
    /// Leadership transfers a leader started.
    #[serde(default)]
    pub leader_transfers: u64,
    /// Transfers whose target became leader before any other node did and
    /// within two election timeouts.
    #[serde(default)]
    pub leader_transfers_ok: u64,
    /// Snapshots nodes took (compacting their logs).
    #[serde(default)]
    pub snapshots_taken: u64,
    /// Snapshot sends leaders started (a first chunk).
    #[serde(default)]
    pub snapshots_sent: u64,
    /// Snapshots followers installed from their leader.
    #[serde(default)]
    pub snapshots_installed: u64,
    /// `InstallSnapshot` chunks leaders sent (re-sends included).
    #[serde(default)]
    pub snapshot_chunks_sent: u64,
    /// The most entries any node held in memory at once (past its
    /// compacted prefix): bounded by the snapshot policy where it is on.
    #[serde(default)]
    pub max_log_len: u64,
}

impl RunStats {
    /// Adds another run's counters (max for the maxima).
    pub fn add(&mut self, o: &RunStats) {
        self.elections += o.elections;
        self.leaders_elected += o.leaders_elected;
        self.max_term = self.max_term.max(o.max_term);
        self.first_leader_ms += o.first_leader_ms;
        self.entries_committed += o.entries_committed;
        self.client_ops_invoked += o.client_ops_invoked;
        self.client_ops_ok += o.client_ops_ok;
        self.client_ops_failed += o.client_ops_failed;
        self.client_ops_indeterminate += o.client_ops_indeterminate;
        self.client_timeouts += o.client_timeouts;
        self.crashes += o.crashes;
        self.restarts += o.restarts;
        self.pauses += o.pauses;
        self.partitions += o.partitions;
        self.messages_sent += o.messages_sent;
        self.messages_delivered += o.messages_delivered;
        self.messages_dropped += o.messages_dropped;
        self.messages_duplicated += o.messages_duplicated;
        self.client_messages_lost += o.client_messages_lost;
        self.messages_delayed_long += o.messages_delayed_long;
        self.max_message_delay_ms = self.max_message_delay_ms.max(o.max_message_delay_ms);
        self.triggered_faults += o.triggered_faults;
        self.burst_proposals += o.burst_proposals;
        self.longest_truncated_suffix = self
            .longest_truncated_suffix
            .max(o.longest_truncated_suffix);
        self.longest_probe_sequence = self.longest_probe_sequence.max(o.longest_probe_sequence);
        self.unsynced_bytes_lost += o.unsynced_bytes_lost;
        self.corruptions_injected += o.corruptions_injected;
        self.corruptions_detected += o.corruptions_detected;
        self.liveness_checks_passed += o.liveness_checks_passed;
        self.stability_windows_passed += o.stability_windows_passed;
        self.latency_probes_passed += o.latency_probes_passed;
        self.linearizability_checked += o.linearizability_checked;
        self.linearizability_unknown += o.linearizability_unknown;
        self.reads_log += o.reads_log;
        self.reads_read_index += o.reads_read_index;
        self.reads_follower += o.reads_follower;
        self.reads_lease += o.reads_lease;
        self.linearizability_steps_max = self
            .linearizability_steps_max
            .max(o.linearizability_steps_max);
        self.read_wait_ticks_max = self.read_wait_ticks_max.max(o.read_wait_ticks_max);
        self.durable_writes_checked += o.durable_writes_checked;
        self.config_changes_proposed += o.config_changes_proposed;
        self.config_changes_committed += o.config_changes_committed;
        self.joint_entered += o.joint_entered;
        self.joint_left += o.joint_left;
        self.learners_promoted += o.learners_promoted;
        self.max_voters = self.max_voters.max(o.max_voters);
        self.leader_transfers += o.leader_transfers;
        self.leader_transfers_ok += o.leader_transfers_ok;
        self.snapshots_taken += o.snapshots_taken;
        self.snapshots_sent += o.snapshots_sent;
        self.snapshots_installed += o.snapshots_installed;
        self.snapshot_chunks_sent += o.snapshot_chunks_sent;
        self.max_log_len = self.max_log_len.max(o.max_log_len);
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Every check held and the cluster recovered after the heal.
    Pass,
    /// A safety property was violated.
    Safety {
        /// What broke, where and when.
        violation: Violation,
    },
    /// The cluster did not recover after the heal.
    Liveness {
        /// What did not happen in time.
        violation: Violation,
    },
    /// Node code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
    /// Two runs of the same seed differed.
    Nondeterministic {
        /// The two trace hashes.
        message: String,
    },
}

impl Verdict {
    /// Whether the run passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass)
    }

    /// The violation, for safety and liveness failures.
    #[must_use]
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Verdict::Safety { violation } | Verdict::Liveness { violation } => Some(violation),
            _ => None,
        }
    }

    /// The failing property's name ("" on a pass), e.g. `"election-safety"`,
    /// `"liveness"`, `"panic"`.
    #[must_use]
    pub fn failed_property(&self) -> &str {
        match self {
            Verdict::Pass => "",
            Verdict::Safety { violation } | Verdict::Liveness { violation } => {
                violation.property.name()
            }
            Verdict::Panic { .. } => "panic",
            Verdict::Nondeterministic { .. } => "determinism",
        }
    }

    /// The failure's one-line message ("" on a pass).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Verdict::Pass => String::new(),
            Verdict::Safety { violation } | Verdict::Liveness { violation } => violation.message(),
            Verdict::Panic { message } | Verdict::Nondeterministic { message } => message.clone(),
        }
    }

    /// The event index of the failure, if known.
    #[must_use]
    pub fn event_index(&self) -> Option<u64> {
        self.violation().map(|v| v.event_index)
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    /// The seed.
    pub seed: u64,
    /// The profile.
    pub profile: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Counters.
    pub stats: RunStats,
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end, in microseconds.
    pub sim_time_us: u64,
    /// Hash of the whole event sequence: equal for equal runs.
    pub trace_hash: u64,
}
