//! The regression corpus: a folder of cases, each replayed on every test run.
//!
//! A case file is JSON (`*.json`) or a script (`*.case`); its `expect` line
//! says what the replay must show (`pass`, or `fail PROPERTY` for a case
//! kept to demonstrate a checker).

use crate::case::{Case, Expect};
use crate::engine::Simulation;
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
            crate::scenario::check(a, &timeline)?;
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
