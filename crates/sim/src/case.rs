//! Cases: a run described completely, without the seed's randomness for
//! faults and workload.
//!
//! A [`Case`] holds the cluster's configuration, the explicit fault schedule
//! and the client operations (each with its simulated time), plus the seed,
//! which still drives what is left random (network delays and loss, sync
//! latency, election jitter). Any seed can be recorded into a case that
//! reproduces it exactly, and a case can be shrunk, edited or written by
//! hand as a script:
//!
//! ```text
//! # A minority partition must not commit.
//! seed 1
//! profile calm
//! nodes 5
//! chaos 3s
//! t=500ms partition {n0,n1} | {n2,n3,n4}
//! t=600ms c0 put k1=v1 via n0
//! t=650ms crash leader restart=30ms before-sync
//! t=2500ms heal-partition
//! expect pass
//! ```
//!
//! Two file forms are accepted: versioned JSON (`{"version": 1, ...}`) and
//! the script above. Bad input is an error naming the file and the field.

use crate::faults::{Fault, Partition, Reconfig, Target, TimedFault};
use crate::profile::{SimConfig, NODES_MAX};
use crate::timeline::ReadPath;
use kv::Op;
use raft_core::{MessageBody, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

pub(crate) mod script;

use script::format_node_set;
pub use script::{describe_fault, describe_op, format_duration};

/// Longest duration a case may name (about 11.6 simulated days): far beyond
/// any useful run, far from overflowing the simulated clock.
pub const DURATION_US_MAX: u64 = 1_000_000_000_000;

/// Every time and duration of a case is within [`DURATION_US_MAX`], and
/// assertion windows do not end before they start.
fn check_durations(case: &Case) -> Result<(), CaseError> {
    let c = &case.config;
    let fields = [
        ("chaos_us", c.chaos_us),
        ("liveness_window_us", c.liveness_window_us),
        ("liveness_leader_us", c.liveness_leader_us),
        ("tick_us", c.tick_us),
        ("delay_us_min", c.delay_us_min),
        ("delay_us_max", c.delay_us_max),
        ("sync_us_min", c.sync_us_min),
        ("sync_us_max", c.sync_us_max),
        ("think_us_max", c.think_us_max),
        ("client_timeout_us", c.client_timeout_us),
        ("long_delay_us_max", c.long_delay_us_max),
        ("triggered_interval_us", c.triggered_interval_us),
        ("burst_interval_us", c.burst_interval_us),
    ];
    let too_long = |v: u64| v > DURATION_US_MAX;
    if let Some((name, v)) = fields.iter().find(|(_, v)| too_long(*v)) {
        return Err(err(
            format!("config.{name}"),
            format!("{v} us is longer than {DURATION_US_MAX} us"),
        ));
    }
    if let Some(v) = c.node_tick_us.iter().find(|v| too_long(**v)) {
        return Err(err(
            "config.node_tick_us",
            format!("{v} us is longer than {DURATION_US_MAX} us"),
        ));
    }
    if c.burst_interval_us > 0 && c.burst_interval_us < 1_000 {
        return Err(err(
            "config.burst_interval_us",
            "bursts at most every millisecond (0 for none)",
        ));
    }
    if c.burst_size_max > BURST_SIZE_MAX {
        return Err(err(
            "config.burst_size_max",
            format!("{} proposals; at most {BURST_SIZE_MAX}", c.burst_size_max),
        ));
    }
    if c.delay_tail_factor_max * (c.delay_us_max as f64) > DURATION_US_MAX as f64 {
        return Err(err(
            "config.delay_tail_factor_max",
            "the delay tail reaches past the longest duration",
        ));
    }
    for (i, f) in case.faults.iter().enumerate() {
        let span = match f.fault {
            Fault::Crash {
                restart_after_us, ..
            } => restart_after_us,
            Fault::Pause {
                resume_after_us, ..
            } => resume_after_us,
            Fault::On { action, .. } => action.duration_us(),
            _ => 0,
        };
        if too_long(f.at_us) || too_long(span) {
            return Err(err(
                format!("faults[{i}]"),
                format!("a time or duration is longer than {DURATION_US_MAX} us"),
            ));
        }
    }
    if let Some(i) = case.ops.iter().position(|o| too_long(o.at_us)) {
        return Err(err(
            format!("ops[{i}].at_us"),
            format!("longer than {DURATION_US_MAX} us"),
        ));
    }
    for (i, a) in case.asserts.iter().enumerate() {
        let (from, to) = a.window();
        if from > to {
            return Err(err(
                format!("asserts[{i}]"),
                "the window ends before it starts",
            ));
        }
    }
    Ok(())
}

/// Longest chaos phase a case may ask for: a run is a few simulated
/// seconds; an hour of chaos is a configuration mistake, not a scenario.
pub const CHAOS_US_MAX: u64 = 3_600_000_000;

/// A configuration a run can finish with: time advances (ticks, client
/// timeouts, syncs are not zero), ranges are ordered, and the chaos phase is
/// bounded. Otherwise the run would hit its event budget and look like a
/// Raft liveness failure.
fn check_finishable(c: &SimConfig) -> Result<(), CaseError> {
    if c.chaos_us > CHAOS_US_MAX {
        return Err(err(
            "config.chaos_us",
            format!(
                "{} us of chaos; at most {CHAOS_US_MAX} us (an hour)",
                c.chaos_us
            ),
        ));
    }
    let positive = [
        ("tick_us", c.tick_us),
        ("client_timeout_us", c.client_timeout_us),
        ("liveness_window_us", c.liveness_window_us),
        ("liveness_leader_us", c.liveness_leader_us),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(err(
            format!("config.{name}"),
            "must be above 0 (the run could never finish)",
        ));
    }
    if let Some(i) = c.node_tick_us.iter().position(|&t| t == 0) {
        return Err(err(
            format!("config.node_tick_us[{i}]"),
            "must be above 0 (the node's clock would never advance)",
        ));
    }
    let ranges = [
        ("delay_us", c.delay_us_min, c.delay_us_max),
        ("sync_us", c.sync_us_min, c.sync_us_max),
    ];
    if let Some((name, lo, hi)) = ranges.iter().find(|(_, lo, hi)| lo > hi) {
        return Err(err(
            format!("config.{name}_min"),
            format!("{lo} us is above {name}_max {hi} us"),
        ));
    }
    Ok(())
}

/// A list (`faults`, `ops`) is in time order: the first entry earlier than
/// the one before it is an error naming its field.
fn check_time_order(list: &str, what: &str, times: &[u64]) -> Result<(), CaseError> {
    match times.windows(2).position(|w| w[1] < w[0]) {
        None => Ok(()),
        Some(i) => Err(err(
            format!("{list}[{}].at_us", i + 1),
            format!(
                "{} us is before the previous {what}'s {} us: {list} are listed in time order",
                times[i + 1],
                times[i]
            ),
        )),
    }
}

/// Most proposals one burst of a case may send.
pub const BURST_SIZE_MAX: u64 = 10_000;

/// Most clients a case may have.
pub const CLIENTS_MAX: usize = 64;

/// The case format version this build reads and writes.
pub const CASE_VERSION: u32 = 1;

/// One client operation at a simulated time. A client issues its operations
/// in order, each at `at_us` or when the previous one completes, whichever is later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptedOp {
    /// Earliest time to invoke it.
    pub at_us: u64,
    /// The client (0-based).
    pub client: usize,
    /// The operation.
    pub op: Op,
    /// The node the client first sends it to (None: its current guess).
    #[serde(default)]
    pub via: Option<usize>,
}

/// What replaying a case must show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Every check passes.
    Pass,
    /// The named property fails (a known bug kept as a demonstration).
    Fail(String),
}

/// A claim about the run's timeline that a scenario checks on replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assertion {
    /// None of `nodes` (a bit mask) raises its commit index in the window.
    NoCommit {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` raises its commit index in the window.
    Commits {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Some node becomes leader in the window.
    NewLeader {
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` takes `role` in the window.
    Becomes {
        /// The role.
        role: Role,
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// At least `count` leaders (of distinct terms) are elected in the window.
    Leaders {
        /// How many.
        count: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` crashes in the window; with `lost_writes`,
    /// each of those crashes loses unsynced writes.
    Crash {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Whether the crash must lose unsynced writes.
        lost_writes: bool,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` applies a retried command as a duplicate in the
    /// window: its kv session answers with the first result (a request that
    /// committed arrived again).
    Deduplicated {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// A configuration whose voters are exactly `nodes` (the new half, while
    /// joint) commits in the window; with `joint`, a joint one.
    Configuration {
        /// The voters, as a bit mask.
        nodes: u32,
        /// Whether it must be joint.
        joint: bool,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` installs its leader's snapshot in the window.
    InstallsSnapshot {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` grants a vote in the window (with
    /// `known_term`: in a term it already held, having learned it without
    /// voting).
    Votes {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Only votes in a term the node already held.
        known_term: bool,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` serves a client's read without a log entry in
    /// the window (by `path`, if named).
    Reads {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Only reads served this way.
        path: Option<ReadPath>,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// Every node of `nodes` refuses to start in the window: recovery
    /// found its files damaged.
    RefusesToStart {
        /// Nodes, as a bit mask.
        nodes: u32,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
    /// A message of kind `kind` (e.g. `Append`) from `from` to `to` is
    /// delivered in the window after one sent later (the network reordered it).
    Reordered {
        /// The message kind, as traces name it.
        kind: String,
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
        /// Window start.
        from_us: u64,
        /// Window end.
        to_us: u64,
    },
}

impl Assertion {
    /// The time window the claim is about.
    #[must_use]
    pub fn window(&self) -> (u64, u64) {
        match *self {
            Assertion::NoCommit { from_us, to_us, .. }
            | Assertion::Commits { from_us, to_us, .. }
            | Assertion::NewLeader { from_us, to_us }
            | Assertion::Becomes { from_us, to_us, .. }
            | Assertion::Leaders { from_us, to_us, .. }
            | Assertion::Crash { from_us, to_us, .. }
            | Assertion::Deduplicated { from_us, to_us, .. }
            | Assertion::Configuration { from_us, to_us, .. }
            | Assertion::InstallsSnapshot { from_us, to_us, .. }
            | Assertion::RefusesToStart { from_us, to_us, .. }
            | Assertion::Votes { from_us, to_us, .. }
            | Assertion::Reads { from_us, to_us, .. }
            | Assertion::Reordered { from_us, to_us, .. } => (from_us, to_us),
        }
    }

    /// The nodes the claim names, as a bit mask, if it names a set.
    #[must_use]
    pub fn node_set(&self) -> Option<u32> {
        match *self {
            Assertion::NoCommit { nodes, .. }
            | Assertion::Commits { nodes, .. }
            | Assertion::Becomes { nodes, .. }
            | Assertion::Crash { nodes, .. }
            | Assertion::Configuration { nodes, .. }
            | Assertion::InstallsSnapshot { nodes, .. }
            | Assertion::RefusesToStart { nodes, .. }
            | Assertion::Votes { nodes, .. }
            | Assertion::Reads { nodes, .. }
            | Assertion::Deduplicated { nodes, .. } => Some(nodes),
            Assertion::NewLeader { .. }
            | Assertion::Leaders { .. }
            | Assertion::Reordered { .. } => None,
        }
    }
}

/// A complete, explicit description of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Format version ([`CASE_VERSION`]).
    pub version: u32,
    /// Seed for what is left random (network, disk, election jitter).
    pub seed: u64,
    /// The run's configuration (cluster size, knobs, phase lengths).
    pub config: SimConfig,
    /// The fault schedule, by time.
    pub faults: Vec<TimedFault>,
    /// The client operations, by time.
    pub ops: Vec<ScriptedOp>,
    /// What a replay must show.
    pub expect: Expect,
    /// Claims about the timeline a replay must satisfy (scenarios).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asserts: Vec<Assertion>,
}

/// A case file that cannot be used, naming the file and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseError {
    /// The file (or `<input>`).
    pub file: String,
    /// The field or line at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.message)
    }
}

impl std::error::Error for CaseError {}

fn err(field: impl Into<String>, message: impl Into<String>) -> CaseError {
    CaseError {
        file: "<input>".into(),
        field: field.into(),
        message: message.into(),
    }
}

impl Case {
    /// Reads a case from a JSON or script file.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CaseError {
            file: file.clone(),
            field: "file".into(),
            message: e.to_string(),
        })?;
        Case::parse(&text).map_err(|e| CaseError { file, ..e })
    }

    /// Parses a case from JSON (if it starts with `{` or `[`) or script text.
    pub fn parse(text: &str) -> Result<Case, CaseError> {
        let json = text.trim_start().starts_with(['{', '[']);
        let case = if json {
            Case::from_json(text)?
        } else {
            Case::from_script(text)?
        };
        case.validate()?;
        Ok(case)
    }

    fn from_json(text: &str) -> Result<Case, CaseError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err("json", e.to_string()))?;
        if !value.is_object() {
            return Err(err(
                "json",
                "a JSON case is an object ({\"version\": 1, ...})",
            ));
        }
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(CASE_VERSION) => {}
            Some(v) => {
                return Err(err(
                    "version",
                    format!("unknown version {v}; this build reads {CASE_VERSION}"),
                ))
            }
            None => return Err(err("version", "missing or not a number")),
        }
        // The error names the field path (e.g. `config.raft.pre_vote`).
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "json".to_string()
            } else {
                path
            };
            err(field, e.into_inner().to_string())
        })
    }

    /// The case as pretty JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Checks every reference: nodes and clients exist, sizes agree.
    pub fn validate(&self) -> Result<(), CaseError> {
        let c = &self.config;
        if c.nodes == 0 || c.nodes > NODES_MAX {
            return Err(err(
                "config.nodes",
                format!("{} nodes; must be in 1..={NODES_MAX}", c.nodes),
            ));
        }
        if c.bootstrap_voters > c.nodes {
            return Err(err(
                "config.bootstrap_voters",
                format!(
                    "{} bootstrap voters of {} nodes",
                    c.bootstrap_voters, c.nodes
                ),
            ));
        }
        if c.node_tick_us.len() != c.nodes {
            return Err(err(
                "config.node_tick_us",
                format!("{} entries for {} nodes", c.node_tick_us.len(), c.nodes),
            ));
        }
        if c.clients == 0 || c.clients > CLIENTS_MAX {
            return Err(err(
                "config.clients",
                format!("{} clients; must be in 1..={CLIENTS_MAX}", c.clients),
            ));
        }
        let probabilities = [
            ("drop_probability", c.drop_probability),
            ("duplicate_probability", c.duplicate_probability),
            ("delay_tail_probability", c.delay_tail_probability),
            ("torn_tail_probability", c.torn_tail_probability),
            ("crash_at_sync_probability", c.crash_at_sync_probability),
            ("long_delay_probability", c.long_delay_probability),
            (
                "client_duplicate_probability",
                c.client_duplicate_probability,
            ),
            ("bit_flip_probability", c.bit_flip_probability),
            ("read_index_probability", c.read_index_probability),
            ("transfer_cut_probability", c.transfer_cut_probability),
        ];
        for (name, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(err(
                    format!("config.{name}"),
                    format!("{p} is not a probability in 0..=1"),
                ));
            }
        }
        if !c.delay_tail_factor_max.is_finite() {
            return Err(err(
                "config.delay_tail_factor_max",
                "must be a finite number",
            ));
        }
        check_durations(self)?;
        check_finishable(c)?;
        let fault_times: Vec<u64> = self.faults.iter().map(|f| f.at_us).collect();
        check_time_order("faults", "fault", &fault_times)?;
        let op_times: Vec<u64> = self.ops.iter().map(|o| o.at_us).collect();
        check_time_order("ops", "operation", &op_times)?;
        let raft = c.raft_config(0);
        raft.validate()
            .map_err(|e| err("config.raft", e.to_string()))?;
        for (i, f) in self.faults.iter().enumerate() {
            check_fault(&f.fault, c.nodes).map_err(|m| err(format!("faults[{i}]"), m))?;
        }
        for (i, a) in self.asserts.iter().enumerate() {
            if let Some(nodes) = a.node_set() {
                let all = (1u32 << c.nodes) - 1;
                if nodes & !all != 0 || nodes == 0 {
                    return Err(err(
                        format!("asserts[{i}]"),
                        format!(
                            "node set {} is not within the {} nodes",
                            format_node_set(nodes),
                            c.nodes
                        ),
                    ));
                }
            }
            check_assertion(a, c.nodes).map_err(|m| err(format!("asserts[{i}]"), m))?;
        }
        for (i, op) in self.ops.iter().enumerate() {
            if op.client >= c.clients {
                return Err(err(
                    format!("ops[{i}].client"),
                    format!(
                        "client {} does not exist ({} clients)",
                        op.client, c.clients
                    ),
                ));
            }
            if let Some(v) = op.via.filter(|&v| v >= c.nodes) {
                return Err(err(
                    format!("ops[{i}].via"),
                    format!("node {v} does not exist ({} nodes)", c.nodes),
                ));
            }
        }
        Ok(())
    }

    /// The number of fault events and client operations.
    #[must_use]
    pub fn size(&self) -> (usize, usize) {
        (self.faults.len(), self.ops.len())
    }
}

/// What a claim names beyond its node set: a link between existing nodes,
/// a message kind raft-core has, a count that can fail.
fn check_assertion(a: &Assertion, nodes: usize) -> Result<(), String> {
    match a {
        Assertion::Reordered { kind, from, to, .. } => {
            check_node(*from, nodes)?;
            check_node(*to, nodes)?;
            if !MessageBody::NAMES.contains(&kind.as_str()) {
                return Err(format!(
                    "'{kind}' is not a message kind ({})",
                    MessageBody::NAMES.join(", ")
                ));
            }
            Ok(())
        }
        Assertion::Leaders { count: 0, .. } => {
            Err("'leaders 0' always holds; count at least 1".into())
        }
        _ => Ok(()),
    }
}

fn check_node(node: usize, nodes: usize) -> Result<(), String> {
    if node < nodes {
        Ok(())
    } else {
        Err(format!(
            "node {node} does not exist (the cluster has {nodes} nodes: 0..{})",
            nodes - 1
        ))
    }
}

fn check_mask(mask: u32, nodes: usize) -> Result<(), String> {
    let all = (1u32 << nodes) - 1;
    if mask & !all != 0 {
        let bad = (0..32).find(|b| mask & !all & (1 << b) != 0).unwrap_or(0);
        return check_node(bad as usize, nodes);
    }
    if mask == 0 || mask == all {
        return Err("a partition side must be a non-empty proper subset of the nodes".into());
    }
    Ok(())
}

fn check_fault(fault: &Fault, nodes: usize) -> Result<(), String> {
    match *fault {
        Fault::Partition(Partition::Split { side }) => check_mask(side, nodes),
        Fault::Partition(Partition::OneWay { from }) => check_mask(from, nodes),
        Fault::Partition(Partition::Bridge { bridge, side }) => {
            check_node(bridge, nodes)?;
            check_mask(side, nodes)
        }
        Fault::Partition(Partition::IsolateLeader) | Fault::HealPartition => Ok(()),
        Fault::Crash { target, .. } | Fault::Pause { target, .. } => match target {
            Target::Node(n) => check_node(n, nodes),
            Target::Leader => Ok(()),
        },
        Fault::On { node, .. } => node.map_or(Ok(()), |n| check_node(n, nodes)),
        Fault::Reconfigure(
            Reconfig::AddLearner(n) | Reconfig::Promote(n) | Reconfig::AddVoter(n),
        )
        | Fault::Reconfigure(Reconfig::Remove(Target::Node(n)))
        | Fault::TransferLeader {
            target: Target::Node(n),
        } => check_node(n, nodes),
        Fault::Reconfigure(Reconfig::Remove(Target::Leader))
        | Fault::TransferLeader {
            target: Target::Leader,
        } => Ok(()),
        Fault::Reconfigure(Reconfig::Replace { remove, add }) => {
            if let Target::Node(n) = remove {
                check_node(n, nodes)?;
            }
            check_node(add, nodes)
        }
    }
}

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
