//! Scenario claims in the script form (`assert ...` lines): parsing and
//! printing. What a claim means is `crate::scenario`'s business.

use super::super::Assertion;
use super::{format_duration, format_node_set, parse_duration, parse_node_set};
use crate::timeline::ReadPath;
use raft_core::Role;

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

/// The assertion forms, for error messages.
const ASSERT_USAGE: &str = "expected one of: 'assert no-commit {nodes} T1..T2', \
    'assert commits {nodes} T1..T2', 'assert new-leader T1..T2', \
    'assert becomes leader|candidate|pre-candidate|follower {nodes} T1..T2', \
    'assert leaders N T1..T2', 'assert crash {nodes} T1..T2 [lost-writes]', \
    'assert deduplicated {nodes} T1..T2', 'assert configuration {voters} [joint] T1..T2', \
    'assert installs-snapshot {nodes} T1..T2', 'assert refuses-to-start {nodes} T1..T2', \
    'assert votes {nodes} T1..T2 [known-term]', \
    'assert reads {nodes} T1..T2 [index|lease|follower]', \
    'assert reordered KIND A->B T1..T2' (KIND as traces name it, e.g. Append)";

fn parse_read_path(s: &str) -> Result<ReadPath, String> {
    [ReadPath::Index, ReadPath::Lease, ReadPath::Follower]
        .into_iter()
        .find(|p| p.word() == s)
        .ok_or_else(|| format!("'{s}' is not a read path (index, lease or follower)"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    match s {
        "leader" => Ok(Role::Leader),
        "candidate" => Ok(Role::Candidate),
        "pre-candidate" => Ok(Role::PreCandidate),
        "follower" => Ok(Role::Follower),
        _ => Err(format!(
            "'{s}' is not a role (leader, candidate, pre-candidate, follower)"
        )),
    }
}

fn format_role(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Candidate => "candidate",
        Role::PreCandidate => "pre-candidate",
        Role::Follower => "follower",
    }
}

fn parse_link(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once("->")
        .ok_or_else(|| format!("'{s}' is not a link like 0->1"))?;
    let node = |x: &str| {
        x.trim_start_matches('n')
            .parse::<usize>()
            .map_err(|_| format!("'{x}' is not a node number"))
    };
    Ok((node(a)?, node(b)?))
}

pub(super) fn parse_assertion(words: &[&str]) -> Result<Assertion, String> {
    let Some((&window, rest)) = words
        .iter()
        .enumerate()
        .find(|(_, w)| w.contains(".."))
        .map(|(i, _)| (&words[i], words))
    else {
        return Err(ASSERT_USAGE.into());
    };
    let (from_us, to_us) = parse_window(window)?;
    Ok(match rest {
        ["no-commit", nodes, _] => Assertion::NoCommit {
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["commits", nodes, _] => Assertion::Commits {
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["new-leader", _] => Assertion::NewLeader { from_us, to_us },
        ["becomes", role, nodes, _] => Assertion::Becomes {
            role: parse_role(role)?,
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["leaders", count, _] => Assertion::Leaders {
            count: count
                .parse()
                .map_err(|_| format!("'{count}' is not a count"))?,
            from_us,
            to_us,
        },
        ["crash", nodes, _] | ["crash", nodes, _, "lost-writes"] => Assertion::Crash {
            nodes: parse_node_set(nodes)?,
            lost_writes: rest.len() == 4,
            from_us,
            to_us,
        },
        ["deduplicated", nodes, _] => Assertion::Deduplicated {
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["configuration", nodes, _] | ["configuration", nodes, "joint", _] => {
            Assertion::Configuration {
                nodes: parse_node_set(nodes)?,
                joint: rest.len() == 4,
                from_us,
                to_us,
            }
        }
        ["installs-snapshot", nodes, _] => Assertion::InstallsSnapshot {
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["reads", nodes, _] => Assertion::Reads {
            nodes: parse_node_set(nodes)?,
            path: None,
            from_us,
            to_us,
        },
        ["reads", nodes, _, path] => Assertion::Reads {
            nodes: parse_node_set(nodes)?,
            path: Some(parse_read_path(path)?),
            from_us,
            to_us,
        },
        ["votes", nodes, _] | ["votes", nodes, _, "known-term"] => Assertion::Votes {
            nodes: parse_node_set(nodes)?,
            known_term: rest.len() == 4,
            from_us,
            to_us,
        },
        ["refuses-to-start", nodes, _] => Assertion::RefusesToStart {
            nodes: parse_node_set(nodes)?,
            from_us,
            to_us,
        },
        ["reordered", kind, link, _] => {
            let (from, to) = parse_link(link)?;
            Assertion::Reordered {
                kind: (*kind).to_string(),
                from,
                to,
                from_us,
                to_us,
            }
        }
        _ => return Err(ASSERT_USAGE.into()),
    })
}

pub(super) fn describe_assertion(a: &Assertion) -> String {
    let (from, to) = a.window();
    let window = format!("{}..{}", format_duration(from), format_duration(to));
    match a {
        Assertion::NoCommit { nodes, .. } => {
            format!("no-commit {} {window}", format_node_set(*nodes))
        }
        Assertion::Commits { nodes, .. } => format!("commits {} {window}", format_node_set(*nodes)),
        Assertion::NewLeader { .. } => format!("new-leader {window}"),
        Assertion::Becomes { role, nodes, .. } => format!(
            "becomes {} {} {window}",
            format_role(*role),
            format_node_set(*nodes)
        ),
        Assertion::Leaders { count, .. } => format!("leaders {count} {window}"),
        Assertion::Crash {
            nodes, lost_writes, ..
        } => {
            let lost = if *lost_writes { " lost-writes" } else { "" };
            format!("crash {} {window}{lost}", format_node_set(*nodes))
        }
        Assertion::Deduplicated { nodes, .. } => {
            format!("deduplicated {} {window}", format_node_set(*nodes))
        }
        Assertion::Configuration { nodes, joint, .. } => {
            let joint = if *joint { " joint" } else { "" };
            format!("configuration {}{joint} {window}", format_node_set(*nodes))
        }
        Assertion::InstallsSnapshot { nodes, .. } => {
            format!("installs-snapshot {} {window}", format_node_set(*nodes))
        }
        Assertion::RefusesToStart { nodes, .. } => {
            format!("refuses-to-start {} {window}", format_node_set(*nodes))
        }
        Assertion::Votes {
            nodes, known_term, ..
        } => {
            let known = if *known_term { " known-term" } else { "" };
            format!("votes {} {window}{known}", format_node_set(*nodes))
        }
        Assertion::Reads { nodes, path, .. } => {
            let path = path.map_or(String::new(), |p| format!(" {}", p.word()));
            format!("reads {} {window}{path}", format_node_set(*nodes))
        }
        Assertion::Reordered { kind, from, to, .. } => {
            format!("reordered {kind} n{from}->n{to} {window}")
        }
    }
}
