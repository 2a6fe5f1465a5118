//! The script form of a case: one directive per line, faults and client
//! operations by time, the form the shrinker prints and people write.
//!
//! ```text
//! seed 1
//! profile calm
//! nodes 5
//! chaos 3s
//! t=500ms partition {n0,n1} | {n2,n3,n4}
//! t=600ms c0 put k1=v1 via n0
//! assert no-commit {n0,n1} 550ms..2500ms
//! expect pass
//! ```
//!
//! Parsing never panics: a bad line is a [`CaseError`] naming the line.

use super::{err, Assertion, Case, CaseError, Expect, ScriptedOp, CASE_VERSION};
use crate::faults::{Action, CrashPoint, Fault, Partition, Point, Reconfig, Target, TimedFault};
use crate::profile::{self, NODES_MAX};
use kv::Op;
use std::fmt::Write as _;

mod claims;
mod settings;

use claims::{describe_assertion, parse_assertion};
use settings::{apply_override, config_overrides, with_spares};

/// The longest duration a script may write (about 31 years).
const DURATION_US_MAX: f64 = 1e15;

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
    // Bounded in microseconds, whatever the unit, so that every duration
    // that parses prints (in ms) as one that parses again.
    let us = v * scale;
    if !(0.0..DURATION_US_MAX).contains(&us) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(us.round() as u64)
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

pub(crate) fn format_node_set(mask: u32) -> String {
    let nodes: Vec<String> = (0..32)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| format!("n{b}"))
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

fn parse_node(s: &str) -> Result<usize, String> {
    s.trim_start_matches('n')
        .parse()
        .map_err(|_| format!("'{s}' is not a node number"))
}

fn format_target(t: Target) -> String {
    match t {
        Target::Leader => "leader".into(),
        Target::Node(n) => format!("n{n}"),
    }
}

/// Checks an action's option words: each is one of `flags` or `KEY=VALUE`
/// with a key of `keys`, none twice, and at most one of `exclusive`.
fn check_options(
    action: &str,
    words: &[&str],
    flags: &[&str],
    keys: &[&str],
) -> Result<(), String> {
    let mut allowed: Vec<String> = flags.iter().map(|f| (*f).to_string()).collect();
    allowed.extend(keys.iter().map(|k| format!("{k}=DURATION")));
    let allowed = if allowed.is_empty() {
        "it takes none".to_string()
    } else {
        format!("it takes {}", allowed.join(", "))
    };
    for (i, w) in words.iter().enumerate() {
        let name = w.split_once('=').map_or(*w, |(k, _)| k);
        let known = if w.contains('=') {
            keys.contains(&name)
        } else {
            flags.contains(w)
        };
        if !known {
            return Err(format!("'{w}' is not an option of '{action}' ({allowed})"));
        }
        let again = words[..i]
            .iter()
            .any(|p| p.split_once('=').map_or(*p, |(k, _)| k) == name);
        if again {
            return Err(format!("'{name}' is given twice"));
        }
    }
    Ok(())
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
        "isolate-leader" => {
            check_options(action, words, &[], &[])?;
            Fault::Partition(Partition::IsolateLeader)
        }
        "one-way" => {
            let from = parse_node_set(words.first().ok_or("expected 'one-way {nodes}'")?)?;
            check_options(action, &words[1..], &[], &[])?;
            Fault::Partition(Partition::OneWay { from })
        }
        "bridge" => {
            let bridge = words.first().ok_or("expected 'bridge N {a} | {b}'")?;
            let bridge: usize = bridge
                .trim_start_matches('n')
                .parse()
                .map_err(|_| format!("'{bridge}' is not a node number"))?;
            let (side, rest) = parse_sides(&words[1..])?;
            if bridge >= 32 || (side | rest) & (1 << bridge) != 0 {
                return Err("the bridge node must be in neither side".into());
            }
            cover.push((side | rest | (1 << bridge), "bridge"));
            Fault::Partition(Partition::Bridge { bridge, side })
        }
        "heal-partition" => {
            check_options(action, words, &[], &[])?;
            Fault::HealPartition
        }
        "crash" => {
            let target = parse_target(words.first().ok_or("expected 'crash N|leader'")?)?;
            let options = &words[1..];
            check_options(
                action,
                options,
                &["before-sync", "after-sync"],
                &["restart"],
            )?;
            let (before, after) = (
                options.contains(&"before-sync"),
                options.contains(&"after-sync"),
            );
            if before && after {
                return Err("a crash is before-sync or after-sync, not both".into());
            }
            Fault::Crash {
                target,
                restart_after_us: option(options, "restart").map_or(Ok(100_000), parse_duration)?,
                at: if after {
                    CrashPoint::AfterSync
                } else if before {
                    CrashPoint::BeforeSync
                } else {
                    CrashPoint::Now
                },
            }
        }
        "pause" => {
            let target = parse_target(words.first().ok_or("expected 'pause N|leader'")?)?;
            check_options(action, &words[1..], &[], &["resume"])?;
            Fault::Pause {
                target,
                resume_after_us: option(&words[1..], "resume")
                    .map_or(Ok(100_000), parse_duration)?,
            }
        }
        "on" => parse_triggered(words)?,
        "add-learner" | "promote" | "add-voter" => {
            let usage = format!("expected '{action} N'");
            let node = parse_node(words.first().ok_or(usage)?)?;
            check_options(action, &words[1..], &[], &[])?;
            Fault::Reconfigure(match action {
                "add-learner" => Reconfig::AddLearner(node),
                "promote" => Reconfig::Promote(node),
                _ => Reconfig::AddVoter(node),
            })
        }
        "remove" => {
            let target = parse_target(words.first().ok_or("expected 'remove N|leader'")?)?;
            check_options(action, &words[1..], &[], &[])?;
            Fault::Reconfigure(Reconfig::Remove(target))
        }
        "replace" => {
            let usage =
                "expected 'replace N|leader M' (remove the first, add the second as a voter)";
            let (Some(old), Some(new)) = (words.first(), words.get(1)) else {
                return Err(usage.into());
            };
            let (remove, add) = (parse_target(old)?, parse_node(new)?);
            check_options(action, &words[2..], &[], &[])?;
            Fault::Reconfigure(Reconfig::Replace { remove, add })
        }
        "transfer-leader" => {
            let usage = "expected 'transfer-leader N'";
            let target = parse_target(words.first().ok_or(usage)?)?;
            check_options(action, &words[1..], &[], &[])?;
            Fault::TransferLeader { target }
        }
        _ => return Ok(None),
    };
    Ok(Some(fault))
}

/// `on POINT NODE|any ACTION [restart=|resume=|heal=|delay=DURATION]`.
fn parse_triggered(words: &[&str]) -> Result<Fault, String> {
    let usage = "expected 'on POINT NODE|any crash|pause|isolate|drop-votes|delay-votes' \
                 (e.g. 'on vote-granted n2 crash restart=20ms')";
    let [point, node, action, ..] = words else {
        return Err(usage.into());
    };
    let point = Point::ALL
        .into_iter()
        .find(|p| p.name() == *point)
        .ok_or_else(|| {
            let names: Vec<&str> = Point::ALL.iter().map(|p| p.name()).collect();
            format!("unknown point '{point}' ({})", names.join(", "))
        })?;
    let node = match *node {
        "any" => None,
        n => Some(
            n.trim_start_matches('n')
                .parse()
                .map_err(|_| format!("'{n}' is not a node number or 'any'"))?,
        ),
    };
    let key = match *action {
        "crash" => Some("restart"),
        "pause" => Some("resume"),
        "isolate" => Some("heal"),
        "delay-votes" => Some("delay"),
        _ => None,
    };
    let keys: &[&str] = match key {
        Some(k) => &[k],
        None => &[],
    };
    if key.is_some() || matches!(*action, "drop-votes") {
        check_options(action, &words[3..], &[], keys)?;
    }
    if matches!(*action, "drop-votes" | "delay-votes") && point != Point::Campaigned {
        return Err(format!(
            "'{action}' acts on an election: use it with 'on campaigned'"
        ));
    }
    let duration = |key: &str| option(words, key).map_or(Ok(100_000), parse_duration);
    let action = match *action {
        "crash" => Action::Crash {
            restart_after_us: duration("restart")?,
        },
        "pause" => Action::Pause {
            resume_after_us: duration("resume")?,
        },
        "isolate" => Action::Isolate {
            heal_after_us: duration("heal")?,
        },
        "drop-votes" => Action::DropVotes,
        "delay-votes" => Action::DelayVotes {
            delay_us: duration("delay")?,
        },
        _ => return Err(usage.into()),
    };
    Ok(Fault::On {
        point,
        node,
        action,
    })
}

fn describe_triggered(point: Point, node: Option<usize>, action: Action) -> String {
    let node = node.map_or("any".to_string(), |n| format!("n{n}"));
    let action = match action {
        Action::Crash { restart_after_us } => {
            format!("crash restart={}", format_duration(restart_after_us))
        }
        Action::Pause { resume_after_us } => {
            format!("pause resume={}", format_duration(resume_after_us))
        }
        Action::Isolate { heal_after_us } => {
            format!("isolate heal={}", format_duration(heal_after_us))
        }
        Action::DropVotes => "drop-votes".into(),
        Action::DelayVotes { delay_us } => {
            format!("delay-votes delay={}", format_duration(delay_us))
        }
    };
    format!("on {} {node} {action}", point.name())
}

fn parse_op(words: &[&str]) -> Result<(Op, Option<usize>), String> {
    // `OP ARGS... [via N]`: the operation's own words, then the route.
    let (words, via) = match words.iter().position(|w| *w == "via") {
        Some(i) => {
            let node = words
                .get(i + 1)
                .and_then(|n| n.trim_start_matches('n').parse().ok())
                .ok_or("expected a node number after 'via'")?;
            if let Some(extra) = words.get(i + 2) {
                return Err(format!("unexpected '{extra}' after 'via {node}'"));
            }
            (&words[..i], Some(node))
        }
        None => (words, None),
    };
    let kind = *words.first().ok_or("expected an operation")?;
    let arg = words.get(1).copied().unwrap_or("");
    let arity = if kind == "cas" { 3 } else { 2 };
    if let Some(extra) = words.get(arity) {
        return Err(format!("unexpected '{extra}' after the '{kind}' operation"));
    }
    let op = match kind {
        "put" => {
            let (key, value) = arg.split_once('=').ok_or("expected 'put KEY=VALUE'")?;
            Op::Put {
                key: key.into(),
                value: value.into(),
            }
        }
        "get" if !arg.is_empty() => Op::Get { key: arg.into() },
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
    /// Where each one-time directive (seed, profile, ...) was given.
    seen: Vec<(&'static str, usize)>,
    seed: Option<u64>,
    profile: Option<String>,
    nodes: Option<usize>,
    clients: Option<usize>,
    chaos_us: Option<u64>,
    spares: Option<usize>,
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
        let _ = writeln!(s, "nodes {}", c.bootstrap_voters());
        let spares = c.nodes - c.bootstrap_voters();
        if spares > 0 {
            let _ = writeln!(s, "spares {spares}");
        }
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

/// The directives given at most once, each with one value.
const ONCE: [&str; 7] = [
    "seed", "profile", "nodes", "spares", "clients", "chaos", "expect",
];

fn parse_header_line(h: &mut Header, line: usize, words: &[&str]) -> Result<(), String> {
    let arg = words.get(1).copied().unwrap_or("");
    if let Some(&directive) = ONCE.iter().find(|d| **d == words[0]) {
        if let Some((_, first)) = h.seen.iter().find(|(d, _)| *d == directive) {
            return Err(format!(
                "'{directive}' is given twice (first on line {first})"
            ));
        }
        h.seen.push((directive, line));
        if arg.is_empty() {
            return Err(format!("'{directive}' needs a value"));
        }
        let values = if directive == "expect" && arg == "fail" {
            3
        } else {
            2
        };
        if let Some(extra) = words.get(values) {
            return Err(format!("unexpected '{extra}' after '{directive} {arg}'"));
        }
    }
    let number = |what: &str| {
        arg.parse::<u64>()
            .map_err(|_| format!("'{arg}' is not a {what}"))
    };
    match words[0] {
        "seed" => h.seed = Some(number("seed")?),
        "profile" => h.profile = Some(arg.to_string()),
        "nodes" => h.nodes = Some(number("node count")? as usize),
        "spares" => h.spares = Some(number("spare count")? as usize),
        "clients" => h.clients = Some(number("client count")? as usize),
        "chaos" => h.chaos_us = Some(parse_duration(arg)?),
        "set" => {
            if words.len() < 2 {
                return Err("'set' needs KEY=VALUE".into());
            }
            for w in &words[1..] {
                let (k, v) = w
                    .split_once('=')
                    .ok_or_else(|| format!("'{w}' is not KEY=VALUE"))?;
                if let Some((first, ..)) = h.sets.iter().find(|(_, key, _)| key == k) {
                    return Err(format!("'{k}' is set twice (first on line {first})"));
                }
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
        let empty = self.seen.is_empty()
            && self.sets.is_empty()
            && self.asserts.is_empty()
            && faults.is_empty()
            && ops.is_empty();
        if empty {
            return Err(err(
                "file",
                "an empty case (no directive, fault or operation): a script starts with 'seed N'",
            ));
        }
        let seed = self.seed.unwrap_or(0);
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
        let mut config = p.draw(seed, self.nodes);
        if let Some(spares) = self.spares {
            let voters = config.bootstrap_voters();
            if voters + spares > NODES_MAX {
                return Err(err(
                    "spares",
                    format!("{voters} voters and {spares} spares; at most {NODES_MAX} nodes"),
                ));
            }
            with_spares(&mut config, spares);
        }
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
            seed,
            config,
            faults,
            ops,
            expect: self.expect.unwrap_or(Expect::Pass),
            asserts: self.asserts,
        })
    }
}

/// A fault as a script action, in a cluster of `nodes`.
#[must_use]
pub fn describe_fault(f: &Fault, nodes: usize) -> String {
    let all = (1u32 << nodes.min(31)) - 1;
    match *f {
        Fault::On {
            point,
            node,
            action,
        } => describe_triggered(point, node, action),
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
                "bridge n{bridge} {} | {}",
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
        Fault::Reconfigure(Reconfig::AddLearner(n)) => format!("add-learner n{n}"),
        Fault::Reconfigure(Reconfig::Promote(n)) => format!("promote n{n}"),
        Fault::Reconfigure(Reconfig::AddVoter(n)) => format!("add-voter n{n}"),
        Fault::Reconfigure(Reconfig::Remove(t)) => format!("remove {}", format_target(t)),
        Fault::Reconfigure(Reconfig::Replace { remove, add }) => {
            format!("replace {} n{add}", format_target(remove))
        }
        Fault::TransferLeader { target } => format!("transfer-leader {}", format_target(target)),
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
        Some(v) => format!("c{} {op} via n{v}", o.client),
        None => format!("c{} {op}", o.client),
    }
}
