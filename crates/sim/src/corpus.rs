//! The regression corpus: a folder of cases, each replayed on every test run.
//!
//! A case file is JSON (`*.json`) or a script (`*.case`); its `expect` line
//! says what the replay must show (`pass`, or `fail PROPERTY` for a case
//! kept to demonstrate a checker).

use crate::case::Assertion;
use crate::case::{Case, Expect};
use crate::engine::Simulation;
use crate::timeline::{Timeline, TimelineEvent};
use raft_core::Role;
use std::path::{Path, PathBuf};

/// Whether a file name is a case file.
fn is_case_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "case")
    )
}

/// Loads every case in `dir`, sorted by file name. Any malformed file is an
/// error naming the file and the field.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Case)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_case_file(p))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| Case::load(&p).map(|c| (p, c)).map_err(|e| e.to_string()))
        .collect()
}

/// Replays a case and compares the verdict and the timeline with its
/// expectations.
pub fn check(case: &Case) -> Result<(), String> {
    let mut sim = Simulation::from_case(case);
    sim.enable_timeline("corpus");
    let r = sim.run();
    if let Some(timeline) = sim.timeline() {
        for a in &case.asserts {
            check_assertion(a, &timeline)?;
        }
    }
    match (&case.expect, r.verdict.passed()) {
        (Expect::Pass, true) => Ok(()),
        (Expect::Pass, false) => Err(format!("expected a pass, got {}", r.verdict.message())),
        (Expect::Fail(p), false) if r.verdict.failed_property() == p => Ok(()),
        (Expect::Fail(p), false) => {
            Err(format!("expected {p} to fail, got {}", r.verdict.message()))
        }
        (Expect::Fail(p), true) => Err(format!("expected {p} to fail, but the run passed")),
    }
}

/// Checks one scenario claim against the run's timeline.
fn check_assertion(a: &Assertion, timeline: &Timeline) -> Result<(), String> {
    let within = |t: u64, from: u64, to: u64| (from..=to).contains(&t);
    match *a {
        Assertion::NoCommit {
            nodes,
            from_us,
            to_us,
        } => {
            let hit = timeline.events.iter().find_map(|e| match *e {
                TimelineEvent::Commit { t, node, index }
                    if nodes & (1 << node) != 0 && within(t, from_us, to_us) =>
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
        Assertion::Commits {
            nodes,
            from_us,
            to_us,
        } => {
            for node in (0..32).filter(|n| nodes & (1 << n) != 0) {
                let committed = timeline.events.iter().any(|e| {
                    matches!(*e, TimelineEvent::Commit { t, node: n, .. } if n == node && within(t, from_us, to_us))
                });
                if !committed {
                    return Err(format!(
                        "n{node} committed nothing between {from_us} and {to_us} us"
                    ));
                }
            }
            Ok(())
        }
        Assertion::NewLeader { from_us, to_us } => {
            let elected = timeline.events.iter().any(|e| {
                matches!(*e, TimelineEvent::Role { t, role: Role::Leader, .. } if within(t, from_us, to_us))
            });
            if elected {
                Ok(())
            } else {
                Err(format!(
                    "no leader was elected between {from_us} and {to_us} us"
                ))
            }
        }
    }
}
