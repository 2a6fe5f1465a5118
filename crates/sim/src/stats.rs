//! What a run did (counters) and how it ended (verdict).

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
    /// Messages lost (drop, partition, dead receiver).
    pub messages_dropped: u64,
    /// Extra copies delivered.
    pub messages_duplicated: u64,
    /// Unsynced writes lost in crashes.
    pub unsynced_writes_lost: u64,
    /// Runs whose liveness check passed after the heal.
    pub liveness_checks_passed: u64,
}

impl RunStats {
    /// Adds another run's counters (max for the maxima).
    pub fn add(&mut self, o: &RunStats) {
        self.elections += o.elections;
        self.leaders_elected += o.leaders_elected;
        self.max_term = self.max_term.max(o.max_term);
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
        self.unsynced_writes_lost += o.unsynced_writes_lost;
        self.liveness_checks_passed += o.liveness_checks_passed;
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
        /// The property's name.
        invariant: String,
        /// What was expected and what was found.
        message: String,
        /// The event at which it was detected.
        event_index: u64,
    },
    /// The cluster did not recover after the heal.
    Liveness {
        /// What did not happen in time.
        message: String,
        /// The event at which the bound expired.
        event_index: u64,
    },
    /// Node code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

impl Verdict {
    /// Whether the run passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass)
    }

    /// The failing property's name ("" on a pass).
    #[must_use]
    pub fn invariant(&self) -> &str {
        match self {
            Verdict::Pass => "",
            Verdict::Safety { invariant, .. } => invariant,
            Verdict::Liveness { .. } => "liveness",
            Verdict::Panic { .. } => "panic",
        }
    }

    /// The failure's message ("" on a pass).
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Verdict::Pass => "",
            Verdict::Safety { message, .. }
            | Verdict::Liveness { message, .. }
            | Verdict::Panic { message } => message,
        }
    }

    /// The event index of the failure, if known.
    #[must_use]
    pub fn event_index(&self) -> Option<u64> {
        match self {
            Verdict::Safety { event_index, .. } | Verdict::Liveness { event_index, .. } => {
                Some(*event_index)
            }
            _ => None,
        }
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
