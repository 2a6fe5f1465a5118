//! The case parser takes anything: arbitrary bytes, and valid cases (script
//! and JSON) with characters and words mutated. It never panics; it parses
//! or returns an error.

use proptest::prelude::*;
use sim::case::Case;

/// Valid scripts to mutate: the regression corpus, and a few lines that
/// reach every directive and action.
const SCRIPTS: [&str; 4] = [
    include_str!("../../../sim-runs/figure-8-commit-rule.case"),
    include_str!("../../../sim-runs/vote-survives-restart.case"),
    include_str!("../../../sim-runs/leader-isolation-and-rejoin.case"),
    "seed 7\nprofile calm\nnodes 5\nclients 2\nchaos 2s\nset raft.pre_vote=off drop_probability=0.1\n\
     t=10ms partition {0,1} | {2,3,4}\nt=20ms bridge 2 {0,1} | {3,4}\nt=30ms one-way {1}\n\
     t=40ms isolate-leader\nt=50ms heal-partition\nt=60ms crash leader restart=5ms before-sync\n\
     t=70ms pause 3 resume=10ms\nt=80ms on vote-granted n2 crash restart=20ms\n\
     t=90ms on campaigned any delay-votes delay=30ms\nt=100ms c0 put k=v via 1\n\
     t=110ms c1 cas k v->w\nt=120ms c0 append k+=x\nt=130ms c1 get k\n\
     assert commits {0,1,2} 0s..2s\nassert becomes leader {0,1,2,3,4} 0s..2s\nexpect pass\n",
];

/// Words the parser knows, to splice in where they may be meaningful.
const WORDS: [&str; 24] = [
    "seed",
    "profile",
    "nodes",
    "clients",
    "chaos",
    "set",
    "assert",
    "expect",
    "t=5ms",
    "crash",
    "pause",
    "partition",
    "on",
    "via",
    "restart=1ms",
    "before-sync",
    "{0,1}",
    "|",
    "c0",
    "put",
    "k=v",
    "leader",
    "any",
    "10000000000000s",
];

/// Applies edits to `text`: (position, byte, kind) replaces, inserts or
/// deletes a character, or swaps a word for a known one.
fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, byte, kind) in edits {
        if chars.is_empty() {
            chars.push(char::from(byte));
            continue;
        }
        let at = at % chars.len();
        match kind % 4 {
            0 => chars[at] = char::from(byte),
            1 => chars.insert(at, char::from(byte)),
            2 => {
                chars.remove(at);
            }
            _ => {
                let word = WORDS[usize::from(byte) % WORDS.len()];
                let end = chars[at..]
                    .iter()
                    .position(|c| c.is_whitespace())
                    .map_or(chars.len(), |p| at + p);
                chars.splice(at..end, word.chars());
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_parse_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Case::parse(&text);
        let json = format!("{{\"version\": 1, {text}");
        let _ = Case::parse(&json);
    }

    #[test]
    fn mutated_scripts_parse_or_fail(
        which in 0..SCRIPTS.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..10),
    ) {
        let text = mutate(SCRIPTS[which], &edits);
        if let Ok(case) = Case::parse(&text) {
            // What parses prints and parses again.
            prop_assert!(Case::parse(&case.to_script()).is_ok(), "{}", case.to_script());
        }
    }

    #[test]
    fn mutated_json_cases_parse_or_fail(
        which in 0..SCRIPTS.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..10),
    ) {
        let case = Case::parse(SCRIPTS[which]).expect("the originals are valid");
        let text = mutate(&case.to_json(), &edits);
        let _ = Case::parse(&text);
    }
}
