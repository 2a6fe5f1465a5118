//! Replays every case of the regression corpus in `sim-runs/`.

use std::path::Path;

#[test]
fn every_corpus_case_replays_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sim-runs");
    let cases = sim::corpus::load_dir(&dir).unwrap_or_else(|e| panic!("corpus: {e}"));
    assert!(
        cases.len() >= 6,
        "the corpus holds the paper's scenarios and the shrunk failures"
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(path, case)| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            sim::corpus::check(case).err().map(|why| {
                format!("{name}: {why}\n  replay: cargo run --release -p sim -- replay --case sim-runs/{name} --trace")
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "corpus regressions:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_passing_case_ends_as_soon_as_it_has_recovered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sim-runs");
    let cases = sim::corpus::load_dir(&dir).unwrap_or_else(|e| panic!("corpus: {e}"));
    for (path, case) in cases
        .iter()
        .filter(|(_, c)| c.expect == sim::case::Expect::Pass)
    {
        let r = sim::engine::Simulation::from_case(case).run();
        let after_heal_us = r.sim_time_us.saturating_sub(case.config.chaos_us);
        assert!(
            after_heal_us < case.config.liveness_window_us,
            "{}: ran {after_heal_us} us past the heal, to the liveness deadline",
            path.display()
        );
    }
}
