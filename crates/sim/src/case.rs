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
//! t=500ms partition {0,1} | {2,3,4}
//! t=600ms c0 put k1=v1 via 0
//! t=650ms crash leader restart=30ms before-sync
//! t=2500ms heal-partition
//! expect pass
//! ```
//!
//! Two file forms are accepted: versioned JSON (`{"version": 1, ...}`) and
//! the script above. Bad input is an error naming the file and the field.

use crate::faults::{CrashPoint, Fault, Partition, Target, TimedFault};
use crate::profile::{self, SimConfig, NODES_MAX};
use crate::rng::{self, Stream};
use kv::Op;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::path::Path;

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
        let (from, to) = match *a {
            Assertion::NoCommit { from_us, to_us, .. }
            | Assertion::Commits { from_us, to_us, .. }
            | Assertion::NewLeader { from_us, to_us } => (from_us, to_us),
        };
        if from > to {
            return Err(err(
                format!("asserts[{i}]"),
                "the window ends before it starts",
            ));
        }
    }
    Ok(())
}

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

    /// Parses a case from JSON (if it starts with `{`) or script text.
    pub fn parse(text: &str) -> Result<Case, CaseError> {
        let case = if text.trim_start().starts_with('{') {
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
        serde_json::from_value(value).map_err(|e| err("json", e.to_string()))
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
        let raft = c.raft_config(0);
        raft.validate()
            .map_err(|e| err("config.raft", e.to_string()))?;
        for (i, f) in self.faults.iter().enumerate() {
            check_fault(&f.fault, c.nodes).map_err(|m| err(format!("faults[{i}]"), m))?;
        }
        for (i, a) in self.asserts.iter().enumerate() {
            if let Assertion::NoCommit { nodes, .. } | Assertion::Commits { nodes, .. } = *a {
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
    }
}

// ----- the script form ------------------------------------------------------

fn parse_duration(s: &str) -> Result<u64, String> {
    let (number, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else {
        return Err(format!("'{s}' is not a duration (e.g. 120ms, 1.5s, 250us)"));
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration"))?;
    if !(0.0..1e15).contains(&v) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok((v * scale).round() as u64)
}

/// A duration as the script writes it.
#[must_use]
pub fn format_duration(us: u64) -> String {
    if us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{}.{:03}ms", us / 1000, us % 1000)
    }
}

fn parse_node_set(s: &str) -> Result<u32, String> {
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| format!("'{s}' is not a node set like {{0,1}}"))?;
    let mut mask = 0u32;
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: u32 = part
            .trim_start_matches('n')
            .parse()
            .map_err(|_| format!("'{part}' is not a node number"))?;
        if n >= 32 {
            return Err(format!("node {n} is out of range"));
        }
        mask |= 1 << n;
    }
    Ok(mask)
}

fn format_node_set(mask: u32) -> String {
    let nodes: Vec<String> = (0..32)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| b.to_string())
        .collect();
    format!("{{{}}}", nodes.join(","))
}

fn parse_target(s: &str) -> Result<Target, String> {
    if s == "leader" {
        return Ok(Target::Leader);
    }
    s.trim_start_matches('n')
        .parse()
        .map(Target::Node)
        .map_err(|_| format!("'{s}' is not a node number or 'leader'"))
}

fn format_target(t: Target) -> String {
    match t {
        Target::Leader => "leader".into(),
        Target::Node(n) => n.to_string(),
    }
}

/// Splits "k=v" words into a lookup.
fn option<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// Both sides of `{a,b} | {c,d}`, which must not share a node.
fn parse_sides(words: &[&str]) -> Result<(u32, u32), String> {
    let line = words.join(" ");
    let (a, b) = line
        .split_once('|')
        .ok_or_else(|| "expected two node sets: {a,b} | {c,d}".to_string())?;
    let (side, rest) = (parse_node_set(a.trim())?, parse_node_set(b.trim())?);
    if side & rest != 0 {
        return Err("the two sides share a node".into());
    }
    Ok((side, rest))
}

/// Parses a fault action. Partitions also note which nodes their sides
/// name, in `cover`, to be checked against the cluster size later.
fn parse_fault(
    action: &str,
    words: &[&str],
    cover: &mut Vec<(u32, &'static str)>,
) -> Result<Option<Fault>, String> {
    let fault = match action {
        "partition" => {
            let (side, rest) = parse_sides(words)?;
            cover.push((side | rest, "partition"));
            Fault::Partition(Partition::Split { side })
        }
        "isolate-leader" => Fault::Partition(Partition::IsolateLeader),
        "one-way" => {
            let from = parse_node_set(words.first().ok_or("expected 'one-way {nodes}'")?)?;
            Fault::Partition(Partition::OneWay { from })
        }
        "bridge" => {
            let bridge = words.first().ok_or("expected 'bridge N {a} | {b}'")?;
            let bridge: usize = bridge
                .parse()
                .map_err(|_| format!("'{bridge}' is not a node number"))?;
            let (side, rest) = parse_sides(&words[1..])?;
            if bridge >= 32 || (side | rest) & (1 << bridge) != 0 {
                return Err("the bridge node must be in neither side".into());
            }
            cover.push((side | rest | (1 << bridge), "bridge"));
            Fault::Partition(Partition::Bridge { bridge, side })
        }
        "heal-partition" => Fault::HealPartition,
        "crash" => Fault::Crash {
            target: parse_target(words.first().ok_or("expected 'crash N|leader'")?)?,
            restart_after_us: option(words, "restart").map_or(Ok(100_000), parse_duration)?,
            at: if words.contains(&"after-sync") {
                CrashPoint::AfterSync
            } else if words.contains(&"before-sync") {
                CrashPoint::BeforeSync
            } else {
                CrashPoint::Now
            },
        },
        "pause" => Fault::Pause {
            target: parse_target(words.first().ok_or("expected 'pause N|leader'")?)?,
            resume_after_us: option(words, "resume").map_or(Ok(100_000), parse_duration)?,
        },
        _ => return Ok(None),
    };
    Ok(Some(fault))
}

fn parse_op(words: &[&str]) -> Result<(Op, Option<usize>), String> {
    let kind = *words.first().ok_or("expected an operation")?;
    let arg = words.get(1).copied().unwrap_or("");
    let via = match words.iter().position(|w| *w == "via") {
        Some(i) => Some(
            words
                .get(i + 1)
                .and_then(|n| n.trim_start_matches('n').parse().ok())
                .ok_or("expected a node number after 'via'")?,
        ),
        None => None,
    };
    let op = match kind {
        "put" => {
            let (key, value) = arg.split_once('=').ok_or("expected 'put KEY=VALUE'")?;
            Op::Put {
                key: key.into(),
                value: value.into(),
            }
        }
        "get" if !arg.is_empty() && arg != "via" => Op::Get { key: arg.into() },
        "append" => {
            let (key, value) = arg.split_once("+=").ok_or("expected 'append KEY+=VALUE'")?;
            Op::Append {
                key: key.into(),
                value: value.into(),
            }
        }
        "cas" => {
            let swap = words.get(2).copied().unwrap_or("");
            let (old, new) = swap
                .split_once("->")
                .ok_or("expected 'cas KEY OLD->NEW' (OLD may be 'none')")?;
            let expected = (old != "none").then(|| old.to_string());
            Op::Cas {
                key: arg.into(),
                expected,
                new: new.into(),
            }
        }
        _ => {
            return Err(format!(
                "unknown operation '{kind}' (put, get, append, cas)"
            ))
        }
    };
    Ok((op, via))
}

/// The header of a script before the config can be drawn.
#[derive(Default)]
struct Header {
    seed: u64,
    profile: Option<String>,
    nodes: Option<usize>,
    clients: Option<usize>,
    chaos_us: Option<u64>,
    sets: Vec<(usize, String, String)>,
    expect: Option<Expect>,
    asserts: Vec<Assertion>,
}

impl Case {
    /// Parses the script form.
    pub fn from_script(text: &str) -> Result<Case, CaseError> {
        let mut header = Header::default();
        let mut covers = Vec::new();
        let mut faults = Vec::new();
        let mut ops = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |m: String| err(format!("line {}", n + 1), m);
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(time) = words[0].strip_prefix("t=") {
                let at_us = parse_duration(time).map_err(at)?;
                let rest = &words[1..];
                let Some(&action) = rest.first() else {
                    return Err(at("expected an action after the time".into()));
                };
                let mut cover = Vec::new();
                if let Some(fault) = parse_fault(action, &rest[1..], &mut cover).map_err(at)? {
                    covers.extend(cover.into_iter().map(|(mask, what)| (n + 1, mask, what)));
                    faults.push(TimedFault { at_us, fault });
                } else if let Some(client) = action.strip_prefix('c').and_then(|c| c.parse().ok()) {
                    let (op, via) = parse_op(&rest[1..]).map_err(at)?;
                    ops.push(ScriptedOp {
                        at_us,
                        client,
                        op,
                        via,
                    });
                } else {
                    return Err(at(format!("unknown action '{action}'")));
                }
                continue;
            }
            parse_header_line(&mut header, n + 1, &words).map_err(at)?;
        }
        let case = header.into_case(faults, ops)?;
        case.validate()?;
        let all = (1u32 << case.config.nodes.min(31)) - 1;
        if let Some((line, mask, what)) = covers.into_iter().find(|(_, mask, _)| *mask != all) {
            let named = format_node_set(mask);
            let message = format!(
                "the {what} names nodes {named}; it must name every node of {}",
                format_node_set(all)
            );
            return Err(err(format!("line {line}"), message));
        }
        Ok(case)
    }

    /// The script form: header lines, then every fault and op by time.
    #[must_use]
    pub fn to_script(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(s, "seed {}", self.seed);
        let _ = writeln!(s, "profile {}", c.profile);
        let _ = writeln!(s, "nodes {}", c.nodes);
        let _ = writeln!(s, "chaos {}", format_duration(c.chaos_us));
        for (key, value) in config_overrides(self.seed, c) {
            let _ = writeln!(s, "set {key}={value}");
        }
        let mut lines: Vec<(u64, usize, String)> = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            lines.push((f.at_us, i, describe_fault(&f.fault, c.nodes)));
        }
        for (i, o) in self.ops.iter().enumerate() {
            lines.push((o.at_us, self.faults.len() + i, describe_op(o)));
        }
        lines.sort();
        for (at, _, text) in lines {
            let _ = writeln!(s, "t={} {text}", format_duration(at));
        }
        for a in &self.asserts {
            let _ = writeln!(s, "assert {}", describe_assertion(a));
        }
        match &self.expect {
            Expect::Pass => s.push_str("expect pass\n"),
            Expect::Fail(p) => {
                let _ = writeln!(s, "expect fail {p}");
            }
        }
        s
    }
}

fn parse_header_line(h: &mut Header, line: usize, words: &[&str]) -> Result<(), String> {
    let arg = words.get(1).copied().unwrap_or("");
    let number = |what: &str| {
        arg.parse::<u64>()
            .map_err(|_| format!("'{arg}' is not a {what}"))
    };
    match words[0] {
        "seed" => h.seed = number("seed")?,
        "profile" => h.profile = Some(arg.to_string()),
        "nodes" => h.nodes = Some(number("node count")? as usize),
        "clients" => h.clients = Some(number("client count")? as usize),
        "chaos" => h.chaos_us = Some(parse_duration(arg)?),
        "set" => {
            for w in &words[1..] {
                let (k, v) = w
                    .split_once('=')
                    .ok_or_else(|| format!("'{w}' is not KEY=VALUE"))?;
                h.sets.push((line, k.to_string(), v.to_string()));
            }
        }
        "assert" => h.asserts.push(parse_assertion(&words[1..])?),
        "expect" => {
            h.expect = Some(match (arg, words.get(2)) {
                ("pass", None) => Expect::Pass,
                ("fail", Some(p)) => Expect::Fail((*p).to_string()),
                _ => return Err("expected 'expect pass' or 'expect fail PROPERTY'".into()),
            });
        }
        other => return Err(format!("unknown directive '{other}'")),
    }
    Ok(())
}

impl Header {
    fn into_case(self, faults: Vec<TimedFault>, ops: Vec<ScriptedOp>) -> Result<Case, CaseError> {
        let name = self
            .profile
            .unwrap_or_else(|| profile::DEFAULT_PROFILE.to_string());
        let p = profile::profile(&name).ok_or_else(|| {
            err(
                "profile",
                format!(
                    "unknown profile '{name}'; known: {}",
                    profile::profile_names()
                ),
            )
        })?;
        if let Some(n) = self.nodes.filter(|&n| n == 0 || n > NODES_MAX) {
            return Err(err(
                "nodes",
                format!("{n} nodes; must be in 1..={NODES_MAX}"),
            ));
        }
        let mut config = p.draw(&mut rng::stream(self.seed, Stream::Swarm), self.nodes);
        if let Some(c) = self.clients {
            config.clients = c;
        }
        if let Some(c) = self.chaos_us {
            config.chaos_us = c;
        }
        for (line, key, value) in &self.sets {
            apply_override(&mut config, key, value).map_err(|m| err(format!("line {line}"), m))?;
        }
        let mut faults = faults;
        faults.sort_by_key(|f| f.at_us);
        let mut ops = ops;
        ops.sort_by_key(|o| o.at_us);
        Ok(Case {
            version: CASE_VERSION,
            seed: self.seed,
            config,
            faults,
            ops,
            expect: self.expect.unwrap_or(Expect::Pass),
            asserts: self.asserts,
        })
    }
}

/// Sets one `SimConfig` field (`raft.` prefix for Raft knobs) from text.
fn apply_override(config: &mut SimConfig, key: &str, value: &str) -> Result<(), String> {
    let mut tree = serde_json::to_value(&*config).map_err(|e| e.to_string())?;
    let slot = key
        .split('.')
        .try_fold(&mut tree, |node, part| node.get_mut(part))
        .ok_or_else(|| format!("unknown setting '{key}'"))?;
    let parsed: serde_json::Value = match value {
        "on" => true.into(),
        "off" => false.into(),
        v => serde_json::from_str(v).map_err(|_| format!("'{v}' is not a number or on/off"))?,
    };
    if std::mem::discriminant(slot) != std::mem::discriminant(&parsed)
        && !(slot.is_number() && parsed.is_number())
    {
        return Err(format!(
            "'{key}' takes {}, not '{value}'",
            if slot.is_boolean() {
                "on/off"
            } else {
                "a number"
            }
        ));
    }
    *slot = parsed;
    *config = serde_json::from_value(tree).map_err(|e| format!("'{key}={value}': {e}"))?;
    Ok(())
}

/// The settings where `config` differs from what its seed and profile draw.
fn config_overrides(seed: u64, config: &SimConfig) -> Vec<(String, String)> {
    let Some(p) = profile::profile(&config.profile) else {
        return Vec::new();
    };
    let drawn = p.draw(&mut rng::stream(seed, Stream::Swarm), Some(config.nodes));
    let (Ok(a), Ok(b)) = (serde_json::to_value(&drawn), serde_json::to_value(config)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff_values("", &a, &b, &mut out);
    out.retain(|(k, _)| k != "chaos_us");
    out
}

fn diff_values(
    prefix: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, vb) in y {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match x.get(k) {
                    Some(va) => diff_values(&key, va, vb, out),
                    None => out.push((key, vb.to_string())),
                }
            }
        }
        _ if a != b => {
            let text = match b {
                serde_json::Value::Bool(true) => "on".to_string(),
                serde_json::Value::Bool(false) => "off".to_string(),
                other => other.to_string(),
            };
            out.push((prefix.to_string(), text));
        }
        _ => {}
    }
}

fn parse_window(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("'{s}' is not a time window like 800ms..2500ms"))?;
    let (from, to) = (parse_duration(a)?, parse_duration(b)?);
    if from > to {
        return Err(format!("window '{s}' ends before it starts"));
    }
    Ok((from, to))
}

fn parse_assertion(words: &[&str]) -> Result<Assertion, String> {
    let usage = "expected 'assert no-commit {nodes} T1..T2', 'assert commits {nodes} T1..T2' or 'assert new-leader T1..T2'";
    match words {
        ["no-commit", nodes, window] => {
            let (from_us, to_us) = parse_window(window)?;
            Ok(Assertion::NoCommit {
                nodes: parse_node_set(nodes)?,
                from_us,
                to_us,
            })
        }
        ["commits", nodes, window] => {
            let (from_us, to_us) = parse_window(window)?;
            Ok(Assertion::Commits {
                nodes: parse_node_set(nodes)?,
                from_us,
                to_us,
            })
        }
        ["new-leader", window] => {
            let (from_us, to_us) = parse_window(window)?;
            Ok(Assertion::NewLeader { from_us, to_us })
        }
        _ => Err(usage.into()),
    }
}

fn describe_assertion(a: &Assertion) -> String {
    let window = |from: u64, to: u64| format!("{}..{}", format_duration(from), format_duration(to));
    match *a {
        Assertion::NoCommit {
            nodes,
            from_us,
            to_us,
        } => {
            format!(
                "no-commit {} {}",
                format_node_set(nodes),
                window(from_us, to_us)
            )
        }
        Assertion::Commits {
            nodes,
            from_us,
            to_us,
        } => {
            format!(
                "commits {} {}",
                format_node_set(nodes),
                window(from_us, to_us)
            )
        }
        Assertion::NewLeader { from_us, to_us } => format!("new-leader {}", window(from_us, to_us)),
    }
}

/// A fault as a script action, in a cluster of `nodes`.
#[must_use]
pub fn describe_fault(f: &Fault, nodes: usize) -> String {
    let all = (1u32 << nodes.min(31)) - 1;
    match *f {
        Fault::Partition(Partition::Split { side }) => {
            format!(
                "partition {} | {}",
                format_node_set(side),
                format_node_set(all & !side)
            )
        }
        Fault::Partition(Partition::IsolateLeader) => "isolate-leader".into(),
        Fault::Partition(Partition::OneWay { from }) => {
            format!("one-way {}", format_node_set(from))
        }
        Fault::Partition(Partition::Bridge { bridge, side }) => {
            let rest = all & !side & !(1 << bridge);
            format!(
                "bridge {bridge} {} | {}",
                format_node_set(side),
                format_node_set(rest)
            )
        }
        Fault::HealPartition => "heal-partition".into(),
        Fault::Crash {
            target,
            restart_after_us,
            at,
        } => format!(
            "crash {} restart={}{}",
            format_target(target),
            format_duration(restart_after_us),
            match at {
                CrashPoint::Now => "",
                CrashPoint::AfterSync => " after-sync",
                CrashPoint::BeforeSync => " before-sync",
            }
        ),
        Fault::Pause {
            target,
            resume_after_us,
        } => {
            format!(
                "pause {} resume={}",
                format_target(target),
                format_duration(resume_after_us)
            )
        }
    }
}

/// A client operation as a script action.
#[must_use]
pub fn describe_op(o: &ScriptedOp) -> String {
    let op = match &o.op {
        Op::Put { key, value } => format!("put {key}={value}"),
        Op::Get { key } => format!("get {key}"),
        Op::Append { key, value } => format!("append {key}+={value}"),
        Op::Cas { key, expected, new } => {
            format!("cas {key} {}->{new}", expected.as_deref().unwrap_or("none"))
        }
    };
    match o.via {
        Some(v) => format!("c{} {op} via {v}", o.client),
        None => format!("c{} {op}", o.client),
    }
}

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
