//! Case parsing, printing and validation.

use super::*;
use crate::faults::CrashPoint;

const SCRIPT: &str = "\
# a hand-written scenario
seed 7
profile calm
nodes 5
chaos 2s
set raft.pre_vote=off drop_probability=0.05
t=120ms partition {0,1} | {2,3,4}
t=200ms c0 put k1=v1 via 4
t=250ms c1 cas k1 none->v2
t=260ms c2 append k1+=x
t=270ms c0 get k1
t=300ms crash 2 restart=50ms after-sync
t=310ms pause leader resume=20ms
t=320ms crash 1 restart=5ms before-sync
t=400ms heal-partition
t=500ms bridge 2 {0,1} | {3,4}
t=600ms one-way {3}
t=700ms isolate-leader
expect pass
";

#[test]
fn a_script_parses_into_an_explicit_case() {
    let case = Case::parse(SCRIPT).expect("valid script");
    assert_eq!(case.seed, 7);
    assert_eq!(case.config.nodes, 5);
    assert_eq!(case.config.chaos_us, 2_000_000);
    assert!(!case.config.raft.pre_vote);
    assert!((case.config.drop_probability - 0.05).abs() < 1e-12);
    assert_eq!(case.faults.len(), 8);
    assert_eq!(
        case.faults[0].fault,
        Fault::Partition(Partition::Split { side: 0b00011 })
    );
    assert_eq!(
        case.faults[1].fault,
        Fault::Crash {
            target: Target::Node(2),
            restart_after_us: 50_000,
            at: CrashPoint::AfterSync
        }
    );
    assert_eq!(case.ops.len(), 4);
    assert_eq!(case.ops[0].via, Some(4));
    assert_eq!(
        case.ops[1].op,
        Op::Cas {
            key: "k1".into(),
            expected: None,
            new: "v2".into()
        }
    );
}

#[test]
fn script_and_json_round_trip() {
    let case = Case::parse(SCRIPT).expect("valid script");
    let again = Case::parse(&case.to_script()).expect("printed script parses");
    assert_eq!(again, case, "script:\n{}", case.to_script());
    let from_json = Case::parse(&case.to_json()).expect("json parses");
    assert_eq!(from_json, case);
}

#[test]
fn printed_script_lists_only_overridden_settings() {
    let case = Case::parse(SCRIPT).expect("valid script");
    let text = case.to_script();
    assert!(text.contains("set raft.pre_vote=off"), "{text}");
    assert!(text.contains("set drop_probability=0.05"), "{text}");
    assert!(
        text.contains("t=120ms partition {n0,n1} | {n2,n3,n4}"),
        "{text}"
    );
    assert!(text.contains("t=200ms c0 put k1=v1 via n4"), "{text}");
    assert_eq!(text.matches("set ").count(), 2, "{text}");
}

fn error_of(text: &str) -> CaseError {
    Case::parse(text).expect_err("must be rejected")
}

#[test]
fn bad_cases_name_the_field() {
    let e = error_of("nodes 3\nt=1ms crash 7\n");
    assert_eq!(e.field, "faults[0]");
    assert!(e.message.contains("node 7 does not exist"), "{e}");
    let e = error_of("nodes 3\nt=1ms partition {0,5} | {1}\n");
    assert!(e.message.contains("node 5 does not exist"), "{e}");
    let e = error_of("t=1ms c9 get k\n");
    assert_eq!(e.field, "ops[0].client");
    let e = error_of("nodes 3\nt=1ms c0 get k via 3\n");
    assert_eq!(e.field, "ops[0].via");
    let e = error_of("profile nope\n");
    assert!(e.message.contains("unknown profile 'nope'"), "{e}");
    let e = error_of("t=5 crash 1\n");
    assert_eq!(e.field, "line 1");
    assert!(e.message.contains("not a duration"), "{e}");
    let e = error_of("seed 1\nfrobnicate\n");
    assert_eq!(e.field, "line 2");
    let e = error_of("set raft.pre_vote=3\n");
    assert!(e.message.contains("on/off"), "{e}");
    let e = error_of("set drop_probability=2\n");
    assert_eq!(e.field, "config.drop_probability", "{e}");
    for knob in [
        "bit_flip_probability",
        "read_index_probability",
        "transfer_cut_probability",
    ] {
        let e = error_of(&format!("set {knob}=1.5\n"));
        assert_eq!(e.field, format!("config.{knob}"), "{e}");
    }
    let e = error_of("set raft.election_timeout_ticks_min=1\n");
    assert_eq!(e.field, "config.raft", "{e}");
    let e = error_of("clients 100000\n");
    assert_eq!(e.field, "config.clients", "{e}");
    let e = error_of("nodes 5\nt=1ms partition {0} | {1}\n");
    assert_eq!(e.field, "line 2", "{e}");
    assert!(e.message.contains("must name every node"), "{e}");
    let e = error_of("nodes 3\nt=1ms bridge 1 {0,1} | {2}\n");
    assert!(e.message.contains("bridge node"), "{e}");
    let e = error_of("t=1ms crash 0 restart=900000000s\n");
    assert_eq!(e.field, "faults[0]", "{e}");
    let e = error_of("set client_timeout_us=18446744073709551615\n");
    assert_eq!(e.field, "config.client_timeout_us", "{e}");
    let e = error_of("set no_such=1\n");
    assert!(e.message.contains("unknown setting"), "{e}");
}

/// Every misspelling, repetition and contradiction is an error naming its
/// line, never a quietly changed meaning.
#[test]
fn misspelled_repeated_and_contradictory_input_is_refused() {
    let refused = |text: &str, field: &str, needle: &str| {
        let e = error_of(text);
        assert_eq!(e.field, field, "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
    };
    refused("", "file", "empty case");
    refused("# only a comment\n\n", "file", "empty case");
    refused(
        "seed 1\nt=1ms crash 1 restart=50ms before_sync\n",
        "line 2",
        "'before_sync' is not an option of 'crash'",
    );
    refused(
        "seed 1\nt=1ms crash 1 restrat=5s\n",
        "line 2",
        "'restrat=5s' is not an option",
    );
    refused(
        "seed 1\nt=1ms crash 1 before-sync after-sync\n",
        "line 2",
        "not both",
    );
    refused(
        "seed 1\nt=1ms crash 1 restart=1ms restart=2ms\n",
        "line 2",
        "given twice",
    );
    refused(
        "seed 1\nt=1ms pause 1 resum=5ms\n",
        "line 2",
        "not an option of 'pause'",
    );
    refused("seed 1\nt=1ms heal-partition now\n", "line 2", "takes none");
    refused(
        "seed 1\nt=1ms on vote-granted n1 crash restart=1ms restart=2ms\n",
        "line 2",
        "given twice",
    );
    refused(
        "seed 1\nt=1ms on vote-granted n1 drop-votes x=1\n",
        "line 2",
        "not an option",
    );
    refused(
        "seed 1\nseed 2\n",
        "line 2",
        "given twice (first on line 1)",
    );
    refused("seed 1 2\n", "line 1", "unexpected '2'");
    refused("seed 1\nexpect pass now\n", "line 2", "unexpected 'now'");
    refused("seed 1\nnodes\n", "line 2", "needs a value");
    refused(
        "seed 1\nset drop_probability=0.1\nset drop_probability=0.2\n",
        "line 3",
        "set twice",
    );
    refused(
        "seed 1\nt=1ms c0 get k extra\n",
        "line 2",
        "unexpected 'extra'",
    );
    refused(
        "seed 1\nt=1ms c0 put k=v via 1 2\n",
        "line 2",
        "unexpected '2'",
    );
    refused(
        "seed 1\nset client_timeout_us=0\n",
        "config.client_timeout_us",
        "above 0",
    );
    refused("seed 1\nset tick_us=0\n", "config.tick_us", "above 0");
    refused("seed 1\nchaos 100000s\n", "config.chaos_us", "at most");
    refused(
        "seed 1\nset delay_us_min=5000 delay_us_max=10\n",
        "config.delay_us_min",
        "above delay_us_max",
    );
}

#[test]
fn bad_json_names_the_problem() {
    let e = error_of("{\"version\": 9}");
    assert_eq!(e.field, "version");
    assert!(e.message.contains("unknown version 9"), "{e}");
    let e = error_of("{\"version\": 1, \"seed\": 1}");
    assert!(e.message.contains("missing field"), "{e}");
    let e = error_of("{ not json");
    assert_eq!(e.field, "json");
    let e = error_of("[1, 2]");
    assert_eq!(e.field, "json");
    let e = error_of("7");
    assert_eq!(e.field, "line 1", "{e}");
    // A wrong type deep inside names its path.
    let case = Case::parse(SCRIPT).expect("valid script");
    let mut json: serde_json::Value = serde_json::from_str(&case.to_json()).expect("json");
    json["config"]["raft"]["pre_vote"] = "yes".into();
    let e = error_of(&json.to_string());
    assert_eq!(e.field, "config.raft.pre_vote", "{e}");
    // Operations out of time order are refused, not skipped.
    let mut json: serde_json::Value = serde_json::from_str(&case.to_json()).expect("json");
    json["ops"] = serde_json::json!([
        {"at_us": 500, "client": 0, "op": {"Get": {"key": "k"}}, "via": null},
        {"at_us": 100, "client": 0, "op": {"Get": {"key": "k"}}, "via": null}
    ]);
    let e = error_of(&json.to_string());
    assert_eq!(e.field, "ops[1].at_us", "{e}");
}

#[test]
fn load_names_the_file() {
    let e = Case::load(Path::new("/nonexistent/case.json")).expect_err("missing file");
    assert_eq!(e.file, "/nonexistent/case.json");
    assert!(
        e.to_string().starts_with("/nonexistent/case.json: file:"),
        "{e}"
    );
}

#[test]
fn triggered_faults_round_trip_and_bad_ones_are_refused() {
    let text = "seed 1\nprofile calm\nnodes 3\nchaos 2s\n\
                t=100ms on vote-granted n2 crash restart=20ms\n\
                t=100ms on campaigned any drop-votes\n\
                t=200ms on became-leader any isolate heal=300ms\n\
                t=300ms on acked n1 pause resume=50ms\n\
                t=300ms on campaigned any delay-votes delay=80ms\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    assert_eq!(case.faults.len(), 5);
    let again = Case::parse(&case.to_script()).expect("its own script parses");
    assert_eq!(again.faults, case.faults);
    for bad in [
        "t=1ms on vote-taken n1 crash",
        "t=1ms on acked n7 crash",
        "t=1ms on acked n1 explode",
        "t=1ms on acked",
        "t=1ms on acked n1 crash resume=5ms",
        "t=1ms on acked n1 drop-votes",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
}

/// A duration is bounded in microseconds whatever its unit, so that what
/// parses prints as something that parses again (found by the fuzz test:
/// `10000000000000s` parsed, printed as `10000000000000000ms`, and that
/// was refused).
#[test]
fn durations_are_bounded_whatever_the_unit() {
    let case = |window: &str| {
        Case::parse(&format!(
            "seed 1\nprofile calm\nassert new-leader {window}\n"
        ))
    };
    assert!(case("0ms..10000000000000s").is_err());
    let printed = case("0ms..999999999s").expect("about 31 years").to_script();
    assert!(Case::parse(&printed).is_ok(), "{printed}");
}

#[test]
fn membership_directives_and_spares_round_trip_and_bad_ones_are_refused() {
    let text = "seed 1\nprofile calm\nnodes 3\nspares 3\nchaos 2s\n\
                t=100ms add-learner n3\n\
                t=200ms promote n3\n\
                t=300ms add-voter n4\n\
                t=400ms remove leader\n\
                t=500ms replace n1 n5\n\
                t=600ms transfer-leader n2\n\
                assert configuration {0,1,2,3} 0s..2s\n\
                assert configuration {0,2,3,5} joint 0s..2s\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    assert_eq!((case.config.nodes, case.config.bootstrap_voters()), (6, 3));
    assert_eq!(case.config.node_tick_us.len(), 6);
    assert_eq!(case.faults.len(), 6);
    assert_eq!(case.asserts.len(), 2);
    let script = case.to_script();
    assert!(script.contains("nodes 3\nspares 3\n"), "{script}");
    let again = Case::parse(&script).expect("its own script parses");
    assert_eq!((again.faults, again.asserts), (case.faults, case.asserts));
    assert_eq!(again.config, case.config);
    for bad in [
        "t=1ms add-learner n6",
        "t=1ms add-learner",
        "t=1ms promote leader",
        "t=1ms remove n9",
        "t=1ms replace n1",
        "t=1ms replace n1 n2 n3",
        "t=1ms transfer-leader n7",
        "t=1ms transfer-leader n2 now",
        "assert configuration {0,7} 0s..1s",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\nspares 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
    let too_many = "seed 1\nprofile calm\nnodes 5\nspares 5\nexpect pass\n";
    assert!(Case::parse(too_many).is_err(), "more than 9 nodes");
}

#[test]
fn snapshot_claims_and_settings_round_trip_and_bad_ones_are_refused() {
    let text = "seed 1\nprofile calm\nnodes 3\nchaos 2s\n\
                set snapshot_every=3\n\
                set raft.snapshot_chunk_bytes=32\n\
                assert installs-snapshot {1,2} 0s..2s\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    assert_eq!(case.config.snapshot_every, 3);
    assert_eq!(case.config.raft.snapshot_chunk_bytes, 32);
    let again = Case::parse(&case.to_script()).expect("its own script parses");
    assert_eq!((again.asserts, again.config), (case.asserts, case.config));
    for bad in [
        "assert installs-snapshot {5} 0s..1s",
        "assert installs-snapshot 0s..1s",
        "set raft.snapshot_chunk_bytes=0",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
}

#[test]
fn damage_claims_and_settings_round_trip_and_bad_ones_are_refused() {
    let text = "seed 1\nprofile calm\nnodes 3\nchaos 2s\n\
                set bit_flip_probability=0.5\n\
                assert refuses-to-start {1} 1s..2s\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    assert!((case.config.bit_flip_probability - 0.5).abs() < 1e-12);
    let again = Case::parse(&case.to_script()).expect("its own script parses");
    assert_eq!((again.asserts, again.config), (case.asserts, case.config));
    for bad in [
        "assert refuses-to-start {7} 0s..1s",
        "assert refuses-to-start 0s..1s",
        "assert refuses-to-start {1} 2s..1s",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
}

#[test]
fn vote_claims_round_trip_are_checked_and_bad_ones_are_refused() {
    use crate::timeline::{Timeline, TimelineEvent};
    let text = "seed 1\nprofile calm\nnodes 3\nchaos 2s\n\
                assert votes {1} 0s..1s\n\
                assert votes {2} 0s..1s known-term\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    let again = Case::parse(&case.to_script()).expect("its own script parses");
    assert_eq!(again.asserts, case.asserts);
    let vote = |node, known_term| TimelineEvent::Vote {
        t: 500_000,
        node,
        term: 2,
        known_term,
    };
    let timeline = |events| Timeline {
        events,
        ..Timeline::default()
    };
    let [votes, known] = [&case.asserts[0], &case.asserts[1]];
    let both = timeline(vec![vote(1, false), vote(2, true)]);
    assert_eq!(crate::scenario::check(votes, &both), Ok(()));
    assert_eq!(crate::scenario::check(known, &both), Ok(()));
    // A vote cast with the term it raised is not one in a known term.
    let raised = timeline(vec![vote(1, false), vote(2, false)]);
    assert!(crate::scenario::check(known, &raised).is_err());
    assert!(crate::scenario::check(votes, &timeline(vec![vote(2, true)])).is_err());
    for bad in [
        "assert votes {7} 0s..1s",
        "assert votes 0s..1s",
        "assert votes {1} 0s..1s known",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
}

#[test]
fn read_claims_round_trip_are_checked_and_bad_ones_are_refused() {
    use crate::timeline::{ReadPath, Timeline, TimelineEvent};
    let text = "seed 1\nprofile calm\nnodes 3\nchaos 2s\n\
                assert reads {0} 0s..1s\n\
                assert reads {1,2} 0s..1s follower\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    let again = Case::parse(&case.to_script()).expect("its own script parses");
    assert_eq!(again.asserts, case.asserts);
    let read = |node, path| TimelineEvent::Read {
        t: 500_000,
        node,
        path,
    };
    let timeline = |events| Timeline {
        events,
        ..Timeline::default()
    };
    let [any, follower] = [&case.asserts[0], &case.asserts[1]];
    let served = timeline(vec![
        read(0, ReadPath::Lease),
        read(1, ReadPath::Follower),
        read(2, ReadPath::Follower),
    ]);
    assert_eq!(crate::scenario::check(any, &served), Ok(()));
    assert_eq!(crate::scenario::check(follower, &served), Ok(()));
    // Each named node must serve one, the named way, inside the window.
    let one = timeline(vec![read(1, ReadPath::Follower)]);
    assert!(crate::scenario::check(follower, &one).is_err());
    let other_way = timeline(vec![read(1, ReadPath::Index), read(2, ReadPath::Follower)]);
    assert!(crate::scenario::check(follower, &other_way).is_err());
    let late = timeline(vec![TimelineEvent::Read {
        t: 1_500_000,
        node: 0,
        path: ReadPath::Index,
    }]);
    assert!(crate::scenario::check(any, &late).is_err());
    for bad in [
        "assert reads {7} 0s..1s",
        "assert reads 0s..1s",
        "assert reads {1} 0s..1s log",
    ] {
        let text = format!("seed 1\nprofile calm\nnodes 3\n{bad}\nexpect pass\n");
        assert!(Case::parse(&text).is_err(), "{bad} must be refused");
    }
}
