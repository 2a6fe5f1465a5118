//! Recorded cases replay their seed exactly.

use sim::case::{Case, Expect};
use sim::engine::Simulation;
use sim::profile::profile;

#[test]
fn a_recorded_case_replays_its_seed_exactly() {
    for name in ["chaos", "crashes", "partitions", "lossy"] {
        let p = profile(name).expect("profile");
        for seed in 0..30 {
            let mut original = Simulation::from_seed(seed, p);
            let want = original.run();
            let case = original.record_case();
            assert_eq!(case.expect, Expect::Pass);
            let parsed = Case::parse(&case.to_json()).expect("recorded case is valid");
            let got = Simulation::from_case(&parsed).run();
            assert_eq!(
                got, want,
                "{name} seed {seed}: the case must reproduce the run"
            );
            let scripted = Case::parse(&case.to_script()).expect("printed script is valid");
            assert_eq!(
                scripted, case,
                "{name} seed {seed}: the script form loses nothing"
            );
        }
    }
}

#[test]
fn a_hand_written_minority_partition_does_not_commit_then_recovers() {
    let script = "seed 3\nprofile calm\nnodes 5\nchaos 2s\n\
         t=600ms partition {0,1} | {2,3,4}\n\
         t=700ms c0 put a=1 via 0\n\
         t=700ms c1 put b=2 via 2\n\
         t=1900ms heal-partition\n\
         assert no-commit {0,1} 650ms..1900ms\n\
         assert commits {2,3,4} 650ms..1900ms\n\
         expect pass\n";
    let case = Case::parse(script).expect("valid script");
    assert_eq!(sim::corpus::check(&case), Ok(()));
    let mut sim = Simulation::from_case(&case);
    let result = sim.run();
    assert!(result.verdict.passed(), "{:?}", result.verdict);
    assert_eq!(sim.history().len(), 2);
    assert!(
        sim.history().iter().all(|h| h.result.is_some()),
        "both complete after the heal"
    );
    // The same claims fail when they are false: the majority does commit.
    let wrong = Case::parse(&script.replace("no-commit {0,1}", "no-commit {2,3}")).expect("valid");
    let why = sim::corpus::check(&wrong).expect_err("the majority commits in the window");
    assert!(why.contains("inside a no-commit window"), "{why}");
}
