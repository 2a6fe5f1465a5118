//! Unit and property tests for [`KvStore`].

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

// ---------- helpers ----------

fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}

fn append(key: &str, value: &str) -> Op {
    Op::Append {
        key: key.into(),
        value: value.into(),
    }
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> Op {
    Op::Cas {
        key: key.into(),
        expected: expected.map(str::to_owned),
        new: new.into(),
    }
}

fn cmd(client_id: u64, seq: u64, op: Op) -> Command {
    Command { client_id, seq, op }
}

/// Applies `command` at the next index and returns the outcome.
fn apply_next(store: &mut KvStore, command: &Command) -> Applied {
    let index = store.applied_index() + 1;
    store
        .apply_command(index, command)
        .expect("the next index is always accepted")
}

/// Runs `op` as a fresh command of client 1 and returns its result.
fn run(store: &mut KvStore, op: Op) -> OpResult {
    let seq = store.applied_index() + 1;
    match apply_next(store, &cmd(1, seq, op)) {
        Applied::Fresh { result, .. } => result,
        other => panic!("expected a fresh application, got {other:?}"),
    }
}

/// A store that applied `ops` as client 1 with seqs 1, 2, ...
fn store_after(ops: &[Op]) -> KvStore {
    let mut store = KvStore::new();
    for op in ops {
        run(&mut store, op.clone());
    }
    store
}

// ---------- op semantics ----------

#[test]
fn get_of_absent_key_is_none() {
    let mut store = KvStore::new();
    assert_eq!(run(&mut store, get("k")), OpResult::Value(None));
}

#[test]
fn put_then_get_returns_the_value() {
    let mut store = KvStore::new();
    assert_eq!(run(&mut store, put("k", "v")), OpResult::Ok);
    assert_eq!(run(&mut store, get("k")), OpResult::Value(Some("v".into())));
    assert_eq!(store.get("k"), Some("v"));
}

#[test]
fn put_overwrites_the_previous_value() {
    let store = store_after(&[put("k", "old"), put("k", "new")]);
    assert_eq!(store.get("k"), Some("new"));
    assert_eq!(store.len(), 1);
}

#[test]
fn append_to_absent_key_starts_from_empty() {
    let mut store = KvStore::new();
    assert_eq!(run(&mut store, append("k", "ab")), OpResult::Ok);
    assert_eq!(store.get("k"), Some("ab"));
}

#[test]
fn append_extends_the_existing_value() {
    let store = store_after(&[put("k", "ab"), append("k", "cd"), append("k", "e")]);
    assert_eq!(store.get("k"), Some("abcde"));
}

#[test]
fn cas_with_matching_value_writes() {
    let mut store = store_after(&[put("k", "old")]);
    assert_eq!(
        run(&mut store, cas("k", Some("old"), "new")),
        OpResult::CasOk
    );
    assert_eq!(store.get("k"), Some("new"));
}

#[test]
fn cas_with_other_value_fails_and_reports_current() {
    let mut store = store_after(&[put("k", "actual")]);
    let result = run(&mut store, cas("k", Some("guess"), "new"));
    assert_eq!(
        result,
        OpResult::CasFailed {
            current: Some("actual".into())
        }
    );
    assert_eq!(store.get("k"), Some("actual"));
}

#[test]
fn cas_expecting_absent_on_absent_key_writes() {
    let mut store = KvStore::new();
    assert_eq!(run(&mut store, cas("k", None, "first")), OpResult::CasOk);
    assert_eq!(store.get("k"), Some("first"));
}

#[test]
fn cas_expecting_absent_on_present_key_fails() {
    let mut store = store_after(&[put("k", "")]);
    let result = run(&mut store, cas("k", None, "x"));
    assert_eq!(
        result,
        OpResult::CasFailed {
            current: Some(String::new())
        }
    );
    assert_eq!(store.get("k"), Some(""));
}

#[test]
fn cas_expecting_a_value_on_absent_key_fails() {
    let mut store = KvStore::new();
    let result = run(&mut store, cas("k", Some(""), "x"));
    assert_eq!(result, OpResult::CasFailed { current: None });
    assert!(store.is_empty());
}

#[test]
fn iter_len_and_is_empty_follow_key_order() {
    let store = store_after(&[put("b", "2"), put("c", "3"), put("a", "1")]);
    let pairs: Vec<_> = store.iter().collect();
    assert_eq!(pairs, vec![("a", "1"), ("b", "2"), ("c", "3")]);
    assert_eq!(store.len(), 3);
    assert!(!store.is_empty());
    assert!(KvStore::new().is_empty());
}

// ---------- sessions ----------

#[test]
fn retried_append_is_applied_once_and_returns_the_first_result() {
    let mut store = KvStore::new();
    let first = apply_next(&mut store, &cmd(7, 1, append("k", "x")));
    let retry = apply_next(&mut store, &cmd(7, 1, append("k", "x")));
    assert_eq!(
        first,
        Applied::Fresh {
            client_id: 7,
            seq: 1,
            result: OpResult::Ok
        }
    );
    assert_eq!(
        retry,
        Applied::Duplicate {
            client_id: 7,
            seq: 1,
            result: OpResult::Ok
        }
    );
    assert_eq!(store.get("k"), Some("x"));
}

#[test]
fn retried_cas_returns_the_stored_result_not_a_rerun() {
    let mut store = KvStore::new();
    apply_next(&mut store, &cmd(7, 1, cas("k", None, "x")));
    // Re-running would now fail (the key exists); the retry must report the first success.
    let retry = apply_next(&mut store, &cmd(7, 1, cas("k", None, "x")));
    assert_eq!(
        retry,
        Applied::Duplicate {
            client_id: 7,
            seq: 1,
            result: OpResult::CasOk
        }
    );
}

#[test]
fn stale_seq_is_ignored() {
    let mut store = KvStore::new();
    apply_next(&mut store, &cmd(7, 1, put("k", "one")));
    apply_next(&mut store, &cmd(7, 2, put("k", "two")));
    let digest_before = store.digest();
    let stale = apply_next(&mut store, &cmd(7, 1, put("k", "one")));
    assert_eq!(
        stale,
        Applied::Stale {
            client_id: 7,
            seq: 1
        }
    );
    assert_eq!(store.get("k"), Some("two"));
    assert_eq!(store.digest(), digest_before);
    assert_eq!(store.sessions().collect::<Vec<_>>(), vec![(7, 2)]);
}

#[test]
fn sessions_are_independent_per_client() {
    let mut store = KvStore::new();
    apply_next(&mut store, &cmd(2, 9, append("k", "a")));
    let other = apply_next(&mut store, &cmd(1, 1, append("k", "b")));
    assert!(matches!(other, Applied::Fresh { client_id: 1, .. }));
    assert_eq!(store.get("k"), Some("ab"));
    assert_eq!(store.sessions().collect::<Vec<_>>(), vec![(1, 1), (2, 9)]);
}

#[test]
fn a_skipped_seq_still_runs() {
    let mut store = KvStore::new();
    apply_next(&mut store, &cmd(1, 1, put("k", "a")));
    let jump = apply_next(&mut store, &cmd(1, 5, put("k", "b")));
    assert!(matches!(jump, Applied::Fresh { seq: 5, .. }));
    assert_eq!(store.get("k"), Some("b"));
}

// ---------- indices and decoding ----------

#[test]
fn out_of_order_index_is_an_error_and_applies_nothing() {
    let mut store = KvStore::new();
    let command = cmd(1, 1, put("k", "v"));
    for bad_index in [0, 2, 5] {
        assert_eq!(
            store.apply_command(bad_index, &command),
            Err(KvError::OutOfOrder {
                expected: 1,
                got: bad_index
            })
        );
    }
    assert_eq!(
        store.apply(2, &command.encode()).map(|_| ()),
        Err(KvError::OutOfOrder {
            expected: 1,
            got: 2
        })
    );
    assert_eq!(store, KvStore::new());
    store.apply_command(1, &command).expect("index 1 is next");
    assert_eq!(
        store.apply_command(1, &command),
        Err(KvError::OutOfOrder {
            expected: 2,
            got: 1
        })
    );
}

#[test]
fn with_applied_index_expects_the_following_index() {
    let mut store = KvStore::with_applied_index(41);
    assert_eq!(store.applied_index(), 41);
    assert_eq!(
        store.apply(41, b""),
        Err(KvError::OutOfOrder {
            expected: 42,
            got: 41
        })
    );
    assert_eq!(store.apply(42, b""), Ok(Applied::Noop));
    assert_eq!(store.applied_index(), 42);
}

#[test]
fn applied_index_max_accepts_nothing_more() {
    let mut store = KvStore::with_applied_index(u64::MAX);
    assert!(matches!(
        store.apply(u64::MAX, b""),
        Err(KvError::OutOfOrder { .. })
    ));
}

#[test]
fn decode_error_counts_the_index_as_applied() {
    let mut store = KvStore::new();
    let result = store.apply(1, b"not a command");
    assert!(matches!(result, Err(KvError::Decode(_))), "{result:?}");
    assert_eq!(store.applied_index(), 1);
    assert!(store.is_empty());
    let next = cmd(1, 1, put("k", "v")).encode();
    assert!(matches!(store.apply(2, &next), Ok(Applied::Fresh { .. })));
}

#[test]
fn empty_data_is_a_noop_that_advances_the_index() {
    let mut store = KvStore::new();
    assert_eq!(store.apply(1, &[]), Ok(Applied::Noop));
    assert_eq!(store.applied_index(), 1);
    assert_eq!(store.digest(), KvStore::new().digest());
}

#[test]
fn apply_decodes_encoded_commands() {
    let mut store = KvStore::new();
    let applied = store.apply(1, &cmd(3, 4, put("k", "v")).encode());
    assert_eq!(
        applied,
        Ok(Applied::Fresh {
            client_id: 3,
            seq: 4,
            result: OpResult::Ok
        })
    );
    assert_eq!(store.get("k"), Some("v"));
}

// ---------- digest ----------

#[test]
fn digest_is_equal_after_the_same_sequence() {
    let ops = [put("a", "1"), append("a", "2"), cas("b", None, "3")];
    assert_eq!(store_after(&ops).digest(), store_after(&ops).digest());
}

#[test]
fn digest_differs_after_a_different_value() {
    let one = store_after(&[put("a", "1")]);
    let two = store_after(&[put("a", "2")]);
    assert_ne!(one.digest(), two.digest());
}

#[test]
fn digest_covers_session_results() {
    // Same data, same seqs, different recorded result.
    let read_absent = store_after(&[get("a"), put("a", "1")]);
    let read_present = store_after(&[put("a", "1"), get("a")]);
    assert_eq!(read_absent.data, read_present.data);
    assert_ne!(read_absent.digest(), read_present.digest());
    // Same data and result, different client.
    let mut other_client = KvStore::new();
    apply_next(&mut other_client, &cmd(2, 1, put("a", "1")));
    assert_ne!(
        other_client.digest(),
        store_after(&[put("a", "1")]).digest()
    );
}

#[test]
fn digest_is_independent_of_key_insertion_order() {
    let ab = store_after(&[put("a", "1"), put("b", "2")]);
    let ba = store_after(&[put("b", "2"), put("a", "1")]);
    assert_eq!(ab.digest(), ba.digest());
}

#[test]
fn digest_ignores_the_applied_index() {
    let command = cmd(1, 1, put("a", "1"));
    let mut from_start = KvStore::new();
    from_start.apply(1, &[]).expect("noop at 1");
    from_start.apply_command(2, &command).expect("index 2");
    let mut from_snapshot = KvStore::with_applied_index(100);
    from_snapshot
        .apply_command(101, &command)
        .expect("index 101");
    assert_eq!(from_start.digest(), from_snapshot.digest());
}

#[test]
fn digest_golden_value() {
    let mut store = KvStore::new();
    apply_next(&mut store, &cmd(1, 1, put("alpha", "1")));
    apply_next(&mut store, &cmd(2, 1, append("beta", "xy")));
    apply_next(&mut store, &cmd(1, 2, cas("alpha", Some("0"), "2")));
    apply_next(&mut store, &cmd(3, 7, get("gamma")));
    assert_eq!(
        store.digest(),
        8_962_239_580_707_645_202,
        "digest algorithm or encoding changed"
    );
}

// ---------- properties ----------

/// The reference model: a plain map plus (last seq, result) per client, updated naively.
#[derive(Default)]
struct Model {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<u64, (u64, OpResult)>,
}

impl Model {
    fn run(&mut self, op: &Op) -> OpResult {
        match op {
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                OpResult::Ok
            }
            Op::Get { key } => OpResult::Value(self.data.get(key).cloned()),
            Op::Append { key, value } => {
                let old = self.data.get(key).cloned().unwrap_or_default();
                self.data.insert(key.clone(), old + value);
                OpResult::Ok
            }
            Op::Cas { key, expected, new } => {
                let current = self.data.get(key).cloned();
                if current == *expected {
                    self.data.insert(key.clone(), new.clone());
                    OpResult::CasOk
                } else {
                    OpResult::CasFailed { current }
                }
            }
        }
    }

    fn apply(&mut self, command: &Command) -> Applied {
        let (client_id, seq) = (command.client_id, command.seq);
        let last = self.sessions.get(&client_id).cloned();
        match last {
            Some((last_seq, result)) if last_seq == seq => Applied::Duplicate {
                client_id,
                seq,
                result,
            },
            Some((last_seq, _)) if seq < last_seq => Applied::Stale { client_id, seq },
            _ => {
                let result = self.run(&command.op);
                self.sessions.insert(client_id, (seq, result.clone()));
                Applied::Fresh {
                    client_id,
                    seq,
                    result,
                }
            }
        }
    }
}

const KEYS: [&str; 3] = ["a", "b", "c"];

fn key_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(&KEYS[..]).prop_map(str::to_owned)
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(&["", "x", "yz"][..]).prop_map(str::to_owned)
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key_strategy(), value_strategy()).prop_map(|(key, value)| Op::Put { key, value }),
        key_strategy().prop_map(|key| Op::Get { key }),
        (key_strategy(), value_strategy()).prop_map(|(key, value)| Op::Append { key, value }),
        (
            key_strategy(),
            prop::option::of(value_strategy()),
            value_strategy()
        )
            .prop_map(|(key, expected, new)| Op::Cas { key, expected, new }),
    ]
}

/// Commands from a few clients with small seqs, so retries and stale seqs are common.
fn command_strategy() -> impl Strategy<Value = Command> {
    (0u64..3, 0u64..6, op_strategy()).prop_map(|(client_id, seq, op)| Command {
        client_id,
        seq,
        op,
    })
}

proptest! {
    #[test]
    fn same_commands_give_equal_digests(
        commands in prop::collection::vec(command_strategy(), 0..40),
        start_index in 0u64..1000,
    ) {
        let mut left = KvStore::new();
        let mut right = KvStore::with_applied_index(start_index);
        for command in &commands {
            // The borrowed path (apply_command) and the owned one (apply,
            // from the bytes) answer alike too.
            let borrowed = apply_next(&mut left, command);
            let bytes = command.encode();
            let index = right.applied_index() + 1;
            let owned = right.apply(index, &bytes).expect("encoded commands decode");
            prop_assert_eq!(borrowed, owned);
        }
        prop_assert_eq!(left.digest(), right.digest());
        prop_assert_eq!(&left.data, &right.data);
    }

    #[test]
    fn store_matches_the_model(commands in prop::collection::vec(command_strategy(), 0..60)) {
        let mut store = KvStore::new();
        let mut model = Model::default();
        for command in &commands {
            let applied = apply_next(&mut store, command);
            prop_assert_eq!(applied, model.apply(command));
            for key in KEYS {
                prop_assert_eq!(store.get(key), model.data.get(key).map(String::as_str));
            }
        }
        let model_sessions: Vec<_> = model.sessions.iter().map(|(&c, (s, _))| (c, *s)).collect();
        prop_assert_eq!(store.sessions().collect::<Vec<_>>(), model_sessions);
    }

    #[test]
    fn fresh_ops_match_the_model(ops in prop::collection::vec(op_strategy(), 0..60)) {
        let mut store = KvStore::new();
        let mut model = Model::default();
        for op in &ops {
            prop_assert_eq!(run(&mut store, op.clone()), model.run(op));
            let expected: Vec<_> = model.data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(store.iter().collect::<Vec<_>>(), expected);
        }
    }
}

proptest! {
    /// A store restored from a snapshot equals the store it was taken
    /// from, and goes on exactly like it: the same answers, the same digest.
    #[test]
    fn a_restored_store_goes_on_like_the_original(
        before in prop::collection::vec(command_strategy(), 0..30),
        after in prop::collection::vec(command_strategy(), 0..20),
    ) {
        let mut original = KvStore::new();
        for command in &before {
            apply_next(&mut original, command);
        }
        let mut restored = KvStore::restore(&original.snapshot()).expect("its own snapshot");
        prop_assert_eq!(&restored, &original);
        prop_assert_eq!(restored.digest(), original.digest());
        for command in &after {
            prop_assert_eq!(apply_next(&mut restored, command), apply_next(&mut original, command));
        }
        prop_assert_eq!(restored.digest(), original.digest());
        prop_assert_eq!(restored.applied_index(), original.applied_index());
    }
}

#[test]
fn a_damaged_snapshot_is_refused() {
    let mut store = KvStore::new();
    for (seq, key) in ["a", "b", "c"].iter().enumerate() {
        let put = Command {
            client_id: 7,
            seq: seq as u64 + 1,
            op: Op::Put {
                key: (*key).into(),
                value: "v".into(),
            },
        };
        apply_next(&mut store, &put);
    }
    let snapshot = store.snapshot();
    for at in 0..snapshot.len() {
        let mut damaged = snapshot.clone();
        damaged[at] ^= 0x20;
        assert!(KvStore::restore(&damaged).is_err(), "byte {at} flipped");
    }
    for len in 0..snapshot.len() {
        assert!(
            KvStore::restore(&snapshot[..len]).is_err(),
            "cut to {len} bytes"
        );
    }
    let mut longer = snapshot.clone();
    longer.push(0);
    assert!(KvStore::restore(&longer).is_err(), "a byte added");
    assert_eq!(KvStore::restore(&snapshot).as_ref(), Ok(&store));
}
