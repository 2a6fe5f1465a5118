//! Scenario assertions: claims about what a run's timeline shows, checked
//! when a case is replayed.
//!
//! A case kept in the corpus to guard a rule must still reach the scenario
//! that breaks the rule: a change to the engine's random draws can leave it
//! passing without ever getting there. Its assertions (`assert ...` lines)
//! state the scenario's milestones (a node crashes with unsynced writes,
//! three leaders in a row, a reordered append), so a case that drifts fails
//! the corpus run instead of passing silently. Roles are matched as typed
//! values; message kinds are checked against raft-core's names when a case
//! is read, so a misspelt kind is refused there, not passed over here.

use crate::case::Assertion;
use crate::timeline::{Timeline, TimelineEvent};
use raft_core::Role;

/// Checks one claim against the run's timeline.
///
/// # Errors
/// What the timeline shows instead, one line.
pub fn check(a: &Assertion, timeline: &Timeline) -> Result<(), String> {
    let (from_us, to_us) = a.window();
    let within = |t: u64| (from_us..=to_us).contains(&t);
    let events = || timeline.events.iter();
    let each_node = |nodes: u32, holds: &dyn Fn(usize) -> bool, what: &str| match (0..32)
        .filter(|n| nodes & (1 << n) != 0)
        .find(|&n| !holds(n))
    {
        Some(n) => Err(format!("n{n} {what} between {from_us} and {to_us} us")),
        None => Ok(()),
    };
    match a {
        Assertion::NoCommit { nodes, .. } => {
            let hit = events().find_map(|e| match *e {
                TimelineEvent::Commit { t, node, index }
                    if nodes & (1 << node) != 0 && within(t) =>
                {
                    Some((t, node, index))
                }
                _ => None,
            });
            match hit {
                Some((t, node, index)) => Err(format!(
                    "n{node} committed index {index} at {t} us, inside a no-commit window"
                )),
                None => Ok(()),
            }
        }
        Assertion::Commits { nodes, .. } => {
            let committed = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Commit { t, node, .. } if node == n && within(t)))
            };
            each_node(*nodes, &committed, "committed nothing")
        }
        Assertion::NewLeader { .. } => {
            let elected = events().any(
                |e| matches!(*e, TimelineEvent::Role { t, role: Role::Leader, .. } if within(t)),
            );
            if elected {
                Ok(())
            } else {
                Err(format!(
                    "no leader was elected between {from_us} and {to_us} us"
                ))
            }
        }
        Assertion::Becomes { role, nodes, .. } => {
            let became = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Role { t, node, role: r, .. } if node == n && r == *role && within(t)))
            };
            each_node(*nodes, &became, &format!("never became {role:?}"))
        }
        Assertion::Leaders { count, .. } => {
            let mut terms: Vec<u64> = events()
                .filter_map(|e| match *e {
                    TimelineEvent::Role {
                        t,
                        role: Role::Leader,
                        term,
                        ..
                    } if within(t) => Some(term),
                    _ => None,
                })
                .collect();
            terms.sort_unstable();
            terms.dedup();
            if terms.len() >= *count as usize {
                Ok(())
            } else {
                Err(format!(
                    "{} leaders (terms {terms:?}) between {from_us} and {to_us} us, expected at least {count}",
                    terms.len()
                ))
            }
        }
        Assertion::Crash {
            nodes, lost_writes, ..
        } => {
            let crashed = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Crash { t, node, lost_writes: lost } if node == n && within(t) && (!lost_writes || lost > 0)))
            };
            let what = if *lost_writes {
                "never crashed losing unsynced writes"
            } else {
                "never crashed"
            };
            each_node(*nodes, &crashed, what)
        }
        Assertion::Deduplicated { nodes, .. } => {
            let deduplicated = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Deduplicated { t, node } if node == n && within(t)))
            };
            each_node(
                *nodes,
                &deduplicated,
                "never applied a retried command as a duplicate",
            )
        }
        Assertion::Votes {
            nodes, known_term, ..
        } => {
            let voted = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Vote { t, node, known_term: known, .. } if node == n && within(t) && (known || !known_term)))
            };
            let what = if *known_term {
                "never granted a vote in a term it already held"
            } else {
                "never granted a vote"
            };
            each_node(*nodes, &voted, what)
        }
        Assertion::Reads { nodes, path, .. } => {
            let served = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Read { t, node, path: how } if node == n && within(t) && path.map_or(true, |p| p == how)))
            };
            let what = match path {
                Some(p) => format!("never served a read without the log by {}", p.word()),
                None => "never served a read without the log".to_owned(),
            };
            each_node(*nodes, &served, &what)
        }
        Assertion::RefusesToStart { nodes, .. } => {
            let refused = |n: usize| {
                events().any(
                    |e| matches!(*e, TimelineEvent::Refused { t, node } if node == n && within(t)),
                )
            };
            each_node(*nodes, &refused, "never refused to start")
        }
        Assertion::InstallsSnapshot { nodes, .. } => {
            let installed = |n: usize| {
                events().any(|e| matches!(*e, TimelineEvent::Snapshot { t, node, installed: true, .. } if node == n && within(t)))
            };
            each_node(*nodes, &installed, "never installed a snapshot")
        }
        Assertion::Configuration { nodes, joint, .. } => {
            let mask = |v: &[usize]| v.iter().fold(0u32, |m, &n| m | 1 << n.min(31));
            let committed = events().any(|e| {
                matches!(e, TimelineEvent::Membership { t, voters, outgoing, .. }
                    if *t > 0 && within(*t) && mask(voters) == *nodes && (!joint || !outgoing.is_empty()))
            });
            if committed {
                Ok(())
            } else {
                let what = if *joint {
                    "joint configuration"
                } else {
                    "configuration"
                };
                Err(format!(
                    "no {what} with voters {} committed between {from_us} and {to_us} us",
                    crate::case::script::format_node_set(*nodes)
                ))
            }
        }
        Assertion::Reordered { kind, from, to, .. } => {
            // Deliveries on the link, in delivery order, with their send times.
            let sent: Vec<u64> = events()
                .filter_map(|e| match e {
                    TimelineEvent::Message {
                        t,
                        sent,
                        from: f,
                        to: r,
                        name,
                        ..
                    } if f == from && r == to && name == kind && within(*t) => Some(*sent),
                    _ => None,
                })
                .collect();
            let reordered = sent.windows(2).any(|w| w[1] < w[0]);
            if reordered {
                Ok(())
            } else {
                Err(format!(
                    "no {kind} from n{from} to n{to} was overtaken between {from_us} and {to_us} us ({} delivered)",
                    sent.len()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Case;

    fn timeline() -> Timeline {
        use TimelineEvent as E;
        let message = |t, sent| E::Message {
            t,
            sent,
            from: 0,
            to: 1,
            name: "Append".into(),
            detail: String::new(),
        };
        let leader = |t, node, term| E::Role {
            t,
            node,
            role: Role::Leader,
            term,
        };
        Timeline {
            nodes: 3,
            events: vec![
                leader(100, 0, 1),
                E::Commit {
                    t: 150,
                    node: 0,
                    index: 1,
                },
                E::Crash {
                    t: 200,
                    node: 0,
                    lost_writes: 2,
                },
                E::Crash {
                    t: 210,
                    node: 2,
                    lost_writes: 0,
                },
                leader(300, 1, 2),
                leader(400, 2, 3),
                message(500, 450),
                message(520, 510),
                message(530, 440),
                E::Deduplicated { t: 600, node: 1 },
            ],
            ..Timeline::default()
        }
    }

    /// Parses one `assert` line and checks it against the sample timeline.
    fn claim(line: &str) -> Result<(), String> {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{line}\nexpect pass\n");
        let case = Case::parse(&text).map_err(|e| format!("parse: {e}"))?;
        check(&case.asserts[0], &timeline())
    }

    #[test]
    fn each_claim_holds_on_what_the_timeline_shows_and_fails_otherwise() {
        let holds = [
            "assert commits {0} 0.1ms..0.2ms",
            "assert no-commit {1,2} 0ms..1ms",
            "assert new-leader 0.3ms..0.3ms",
            "assert becomes leader {1,2} 0.25ms..0.45ms",
            "assert leaders 3 0ms..1ms",
            "assert crash {0} 0.2ms..0.2ms lost-writes",
            "assert crash {0,2} 0ms..1ms",
            "assert reordered Append 0->1 0ms..1ms",
            "assert deduplicated {1} 0.6ms..0.6ms",
        ];
        for line in holds {
            assert_eq!(claim(line), Ok(()), "{line}");
        }
        let fails = [
            "assert commits {1} 0ms..1ms",
            "assert no-commit {0} 0ms..1ms",
            "assert new-leader 0.5ms..1ms",
            "assert becomes leader {0} 0.2ms..1ms",
            "assert becomes candidate {0} 0ms..1ms",
            "assert leaders 4 0ms..1ms",
            "assert crash {2} 0ms..1ms lost-writes",
            "assert crash {1} 0ms..1ms",
            "assert reordered Append 0->1 0ms..0.525ms",
            "assert reordered Vote 0->1 0ms..1ms",
            "assert reordered AppendResp 0->1 0ms..1ms",
            "assert deduplicated {0,1} 0ms..1ms",
            "assert deduplicated {1} 0ms..0.5ms",
        ];
        for line in fails {
            assert!(claim(line).is_err(), "{line} should not hold");
        }
    }

    #[test]
    fn claims_round_trip_through_the_script_form_and_bad_ones_are_refused() {
        let text = "seed 1\nprofile calm\nnodes 3\nassert becomes pre-candidate {1} 1ms..2ms\n\
                    assert crash {0,2} 1ms..2ms lost-writes\nassert reordered Append 0->2 1ms..2ms\n\
                    assert leaders 2 1ms..2ms\nassert deduplicated {n1} 1ms..2ms\nexpect pass\n";
        let case = Case::parse(text).expect("valid");
        let again = Case::parse(&case.to_script()).expect("its own script parses");
        assert_eq!(again.asserts, case.asserts);
        for bad in [
            "assert becomes king {0} 1ms..2ms",
            "assert crash {5} 1ms..2ms",
            "assert reordered Append 0->7 1ms..2ms",
            "assert reordered Append 0->40 1ms..2ms",
            "assert reordered Apend 0->1 1ms..2ms",
            "assert leaders 0 1ms..2ms",
            "assert leaders many 1ms..2ms",
            "assert leaders 2",
        ] {
            let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
            assert!(Case::parse(&text).is_err(), "{bad} must be refused");
        }
    }
}
