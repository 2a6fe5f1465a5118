use super::*;
use kv::{Applied, Command, KvStore};
use proptest::prelude::*;

const BUDGET: u64 = 1_000_000;

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

fn read(value: Option<&str>) -> OpResult {
    OpResult::Value(value.map(str::to_owned))
}

/// A completed op.
fn done(client_id: u64, op: Op, invoke_us: u64, complete_us: u64, result: OpResult) -> HistoryOp {
    HistoryOp {
        client_id,
        seq: invoke_us,
        op,
        invoke_us,
        complete_us: Some(complete_us),
        result: Some(result),
        cas_current_unknown: false,
    }
}

/// An indeterminate op (never answered).
fn pending(client_id: u64, op: Op, invoke_us: u64) -> HistoryOp {
    HistoryOp {
        client_id,
        seq: invoke_us,
        op,
        invoke_us,
        complete_us: None,
        result: None,
        cas_current_unknown: false,
    }
}

fn assert_linearizable(history: &[HistoryOp]) {
    assert_eq!(
        check_linearizability(history, BUDGET),
        LinearizabilityOutcome::Linearizable,
        "{history:#?}"
    );
}

fn assert_not_linearizable(history: &[HistoryOp]) -> Violation {
    match check_linearizability(history, BUDGET) {
        LinearizabilityOutcome::Violation(v) => {
            assert_eq!(v.property, Property::Linearizability);
            v
        }
        other => panic!("expected a violation, got {other:?} for {history:#?}"),
    }
}

#[test]
fn empty_history_is_linearizable() {
    assert_linearizable(&[]);
}

#[test]
fn concurrent_linearizable_history_passes() {
    assert_linearizable(&[
        done(1, put("x", "1"), 0, 10, OpResult::Ok),
        done(2, get("x"), 5, 15, read(Some("1"))),
        done(3, put("x", "2"), 12, 30, OpResult::Ok),
        done(2, get("x"), 16, 18, read(Some("1"))),
        done(1, get("x"), 20, 40, read(Some("2"))),
        done(4, append("y", "a"), 0, 50, OpResult::Ok),
        done(5, append("y", "b"), 10, 20, OpResult::Ok),
        done(6, get("y"), 25, 60, read(Some("ba"))),
        done(7, cas("z", None, "c"), 0, 5, OpResult::CasOk),
        done(
            8,
            cas("z", Some("d"), "e"),
            3,
            9,
            OpResult::CasFailed {
                current: Some("c".into()),
            },
        ),
        done(9, get("z"), 10, 11, read(Some("c"))),
    ]);
}

#[test]
fn stale_read_fails() {
    let v = assert_not_linearizable(&[
        done(1, put("x", "1"), 0, 10, OpResult::Ok),
        done(1, put("x", "2"), 20, 30, OpResult::Ok),
        done(2, get("x"), 40, 50, read(Some("1"))),
    ]);
    assert!(v.found.contains("key \"x\""), "{v}");
    assert!(
        v.found.contains("c2#40 get -> Some(\"1\") [40..50 us]"),
        "{v}"
    );
    assert!(v.found.contains("at most 2 of 3 ops"), "{v}");
    assert_eq!(
        (v.nodes.len(), v.term, v.index, v.event_index),
        (0, None, None, 0)
    );
}

#[test]
fn lost_write_fails() {
    assert_not_linearizable(&[
        done(1, append("x", "a"), 0, 10, OpResult::Ok),
        done(2, append("x", "b"), 20, 30, OpResult::Ok),
        done(3, get("x"), 40, 50, read(Some("b"))),
    ]);
    assert_not_linearizable(&[
        done(1, put("x", "a"), 0, 10, OpResult::Ok),
        done(3, get("x"), 40, 50, read(None)),
    ]);
}

#[test]
fn double_applied_append_fails() {
    assert_not_linearizable(&[
        done(1, append("x", "a;"), 0, 10, OpResult::Ok),
        done(2, get("x"), 20, 30, read(Some("a;a;"))),
    ]);
}

#[test]
fn read_of_a_value_never_written_fails() {
    assert_not_linearizable(&[
        done(1, put("x", "1"), 0, 100, OpResult::Ok),
        done(2, get("x"), 10, 20, read(Some("zzz"))),
    ]);
}

#[test]
fn concurrent_writes_allow_either_order() {
    let writes = || {
        vec![
            done(1, put("x", "1"), 0, 10, OpResult::Ok),
            done(2, put("x", "2"), 5, 15, OpResult::Ok),
        ]
    };
    for last in ["1", "2"] {
        let mut h = writes();
        h.push(done(3, get("x"), 20, 30, read(Some(last))));
        assert_linearizable(&h);
    }
    // A read during the writes pins "2 then 1".
    let mut h = writes();
    h.push(done(3, get("x"), 6, 8, read(Some("2"))));
    h.push(done(3, get("x"), 20, 30, read(Some("1"))));
    assert_linearizable(&h);
    // A read during the writes pins "1 then 2".
    let mut h = writes();
    h.push(done(3, get("x"), 6, 8, read(Some("1"))));
    h.push(done(3, get("x"), 20, 30, read(Some("2"))));
    assert_linearizable(&h);
    // But once both writes are done the value cannot flip.
    let mut h = writes();
    h.push(done(3, get("x"), 20, 25, read(Some("1"))));
    h.push(done(4, get("x"), 30, 35, read(Some("2"))));
    assert_not_linearizable(&h);
}

#[test]
fn touching_intervals_count_as_concurrent() {
    assert_linearizable(&[
        done(1, put("x", "1"), 0, 10, OpResult::Ok),
        done(2, get("x"), 10, 20, read(None)),
    ]);
}

#[test]
fn indeterminate_op_that_took_effect_passes() {
    assert_linearizable(&[
        pending(1, put("x", "1"), 0),
        done(2, get("x"), 10, 20, read(Some("1"))),
    ]);
    // It may take effect late, after reads that missed it.
    assert_linearizable(&[
        pending(1, put("x", "1"), 0),
        done(2, get("x"), 10, 20, read(None)),
        done(2, get("x"), 100, 110, read(Some("1"))),
    ]);
}

#[test]
fn indeterminate_op_never_observed_passes() {
    assert_linearizable(&[
        pending(1, put("x", "1"), 0),
        pending(1, get("x"), 5),
        done(2, get("x"), 10, 20, read(None)),
    ]);
}

#[test]
fn indeterminate_op_cannot_take_effect_before_its_invocation() {
    assert_not_linearizable(&[
        done(2, get("x"), 0, 5, read(Some("1"))),
        pending(1, put("x", "1"), 10),
    ]);
}

#[test]
fn indeterminate_append_counts_at_most_once() {
    let history = |seen: &str| {
        vec![
            done(1, append("x", "a"), 0, 10, OpResult::Ok),
            pending(2, append("x", "a"), 12),
            done(3, get("x"), 20, 30, read(Some(seen))),
        ]
    };
    assert_linearizable(&history("a"));
    assert_linearizable(&history("aa"));
    assert_not_linearizable(&history("aaa"));
}

#[test]
fn cas_results_must_match_the_model() {
    assert_linearizable(&[
        done(1, cas("x", None, "a"), 0, 10, OpResult::CasOk),
        done(
            1,
            cas("x", Some("b"), "c"),
            20,
            30,
            OpResult::CasFailed {
                current: Some("a".into()),
            },
        ),
        done(1, cas("x", Some("a"), "c"), 40, 50, OpResult::CasOk),
        done(1, get("x"), 60, 70, read(Some("c"))),
    ]);
    assert_not_linearizable(&[
        done(1, cas("x", None, "a"), 0, 10, OpResult::CasOk),
        done(
            1,
            cas("x", Some("b"), "c"),
            20,
            30,
            OpResult::CasFailed { current: None },
        ),
    ]);
    assert_not_linearizable(&[
        done(1, put("x", "b"), 0, 10, OpResult::Ok),
        done(1, cas("x", None, "c"), 20, 30, OpResult::CasOk),
    ]);
}

#[test]
fn a_failed_cas_may_leave_its_current_value_unknown() {
    let unknown = |h: HistoryOp| HistoryOp {
        cas_current_unknown: true,
        ..h
    };
    let failed = OpResult::CasFailed { current: None };
    // The value was "a", not the expected "b": a failure, whatever it saw.
    assert_linearizable(&[
        done(1, put("x", "a"), 0, 10, OpResult::Ok),
        unknown(done(2, cas("x", Some("b"), "c"), 20, 30, failed.clone())),
        done(1, get("x"), 40, 50, read(Some("a"))),
    ]);
    // The value was the expected "a": the cas cannot have failed.
    let v = assert_not_linearizable(&[
        done(1, put("x", "a"), 0, 10, OpResult::Ok),
        unknown(done(2, cas("x", Some("a"), "c"), 20, 30, failed.clone())),
    ]);
    assert!(v.found.contains("cas-failed ?"), "{v}");
    // Concurrent with a write that makes it differ: either order.
    assert_linearizable(&[
        done(1, put("x", "a"), 0, 10, OpResult::Ok),
        done(1, put("x", "z"), 15, 40, OpResult::Ok),
        unknown(done(2, cas("x", Some("a"), "c"), 20, 30, failed)),
        done(1, get("x"), 50, 60, read(Some("z"))),
    ]);
}

#[test]
fn the_report_counts_the_steps_and_the_budget_holds() {
    let h: Vec<HistoryOp> = (0..6)
        .map(|i| done(i, append("x", &i.to_string()), 0, 100, OpResult::Ok))
        .chain(std::iter::once(done(
            9,
            get("x"),
            200,
            300,
            read(Some("nope")),
        )))
        .collect();
    let report = check_linearizability_report(&h, 1_000_000);
    assert!(matches!(
        report.outcome,
        LinearizabilityOutcome::Violation(_)
    ));
    assert!(report.steps > 0 && report.steps == report.max_key_steps);
    assert_eq!(report.keys, 1);
    // A key that fails is found before another key spends its budget:
    // "a" is small but costly (seven concurrent appends, read in the one
    // order that works, the last the search tries), "b" is longer and
    // fails at once.
    let mut two: Vec<HistoryOp> = (0..7)
        .map(|i| done(20 + i, append("a", &format!("{i},")), 0, 100, OpResult::Ok))
        .collect();
    let order: String = (0..7).rev().map(|i| format!("{i},")).collect();
    two.push(done(40, get("a"), 200, 300, read(Some(&order))));
    let alone = check_linearizability_report(&two, 1 << 40);
    assert_eq!(alone.outcome, LinearizabilityOutcome::Linearizable);
    assert!(alone.steps > 5_000, "costly: {alone:?}");
    two.extend((0..20).map(|i| done(60 + i, put("b", "v"), 10 * i, 10 * i + 5, OpResult::Ok)));
    two.push(done(90, get("b"), 500, 600, read(None)));
    let both = check_linearizability_report(&two, 1 << 40);
    assert!(
        matches!(both.outcome, LinearizabilityOutcome::Violation(ref v) if v.found.contains("\"b\"")),
        "{both:?}"
    );
    assert!(both.steps < alone.steps / 4, "{} steps", both.steps);
    for budget in [0, 1, 100, 5_000] {
        let r = check_linearizability_report(&two, budget);
        assert!(r.max_key_steps <= budget, "{budget}: {r:?}");
    }
}

#[test]
fn exceeding_the_budget_is_unknown_not_a_pass() {
    let mut h: Vec<HistoryOp> = (0..12)
        .map(|i| done(i, append("x", &i.to_string()), 0, 100, OpResult::Ok))
        .collect();
    h.push(done(99, get("x"), 200, 300, read(Some("nope"))));
    let outcome = check_linearizability(&h, 20);
    assert_eq!(
        outcome,
        LinearizabilityOutcome::Unknown {
            key: "x".into(),
            steps: 20
        }
    );
    assert_eq!(
        check_linearizability(&h[..1], 0),
        LinearizabilityOutcome::Unknown {
            key: "x".into(),
            steps: 0
        }
    );
    // A definite violation on another key wins over an unknown one.
    h.push(done(1, put("y", "1"), 0, 10, OpResult::Ok));
    h.push(done(1, get("y"), 20, 30, read(None)));
    match check_linearizability(&h, 20) {
        LinearizabilityOutcome::Violation(v) => assert!(v.found.contains("key \"y\""), "{v}"),
        other => panic!("expected a violation on y, got {other:?}"),
    }
}

#[test]
fn long_key_histories_are_checked_whatever_their_length() {
    // Key histories of up to 128 ops and longer ones keep their linearized
    // sets differently: both must give the same verdicts, at the edge too.
    for len in [127u64, 128, 129, 300] {
        let mut h: Vec<HistoryOp> = (0..len)
            .map(|i| done(i, append("x", "a"), 10 * i, 10 * i + 5, OpResult::Ok))
            .collect();
        let all = "a".repeat(len as usize);
        h.push(done(
            len,
            get("x"),
            10 * len,
            10 * len + 5,
            read(Some(&all)),
        ));
        assert_linearizable(&h);
        let last = h.len() - 1;
        h[last] = done(len, get("x"), 10 * len, 10 * len + 5, read(Some(&all[1..])));
        assert_not_linearizable(&h);
    }
}

// ----- property: sequential executions are linearizable -------------------------

/// One generated op: (key, kind, value, cas expectation, slack before and after
/// its linearization point, fate: 0..=7 completed, 8 indeterminate but applied,
/// 9 indeterminate and never applied).
type OpSpec = (u8, u8, u8, u8, u64, u64, u8);

fn op_spec() -> impl Strategy<Value = OpSpec> {
    (
        0..2u8,
        0..4u8,
        0..3u8,
        0..4u8,
        0..=250u64,
        0..=250u64,
        0..10u8,
    )
}

fn make_op(key: u8, kind: u8, value: u8, expected: u8) -> Op {
    let key = ["a", "b"][key as usize];
    let value = ["x", "y", "z"][value as usize];
    let expected = ["x", "y", "xy"].get(expected as usize).copied();
    match kind {
        0 => put(key, value),
        1 => get(key),
        2 => append(key, value),
        _ => cas(key, expected, value),
    }
}

/// Runs the ops one after another against the real kv store, at linearization
/// points 100 us apart, with intervals stretched around those points.
fn execute(specs: &[OpSpec]) -> Vec<HistoryOp> {
    let mut store = KvStore::new();
    let mut history = Vec::new();
    for (i, &(key, kind, value, expected, before, after, fate)) in specs.iter().enumerate() {
        let op = make_op(key, kind, value, expected);
        let point = 1_000 + 100 * i as u64;
        let result = if fate == 9 {
            None
        } else {
            let cmd = Command {
                client_id: i as u64,
                seq: 1,
                op: op.clone(),
            };
            let index = store.applied_index() + 1;
            match store
                .apply_command(index, &cmd)
                .expect("indices are contiguous")
            {
                Applied::Fresh { result, .. } => Some(result),
                other => panic!("every command has its own session: {other:?}"),
            }
        };
        let (complete_us, result) = if fate >= 8 {
            (None, None)
        } else {
            (Some(point + after), result)
        };
        history.push(HistoryOp {
            client_id: i as u64,
            seq: 1,
            op,
            invoke_us: point - before,
            complete_us,
            result,
            cas_current_unknown: false,
        });
    }
    history
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sequential_executions_with_consistent_intervals_are_linearizable(
        specs in prop::collection::vec(op_spec(), 0..30)
    ) {
        let history = execute(&specs);
        prop_assert_eq!(check_linearizability(&history, BUDGET), LinearizabilityOutcome::Linearizable);
    }

    #[test]
    fn a_final_read_of_an_unwritten_value_is_caught(
        specs in prop::collection::vec(op_spec(), 0..30)
    ) {
        let mut history = execute(&specs);
        history.push(done(99, get("a"), 1_000_000, 1_000_001, read(Some("never written"))));
        let outcome = check_linearizability(&history, BUDGET);
        prop_assert!(matches!(outcome, LinearizabilityOutcome::Violation(_)), "{:?}", outcome);
    }
}

// ----- property: the search agrees with brute force on small histories -----------

/// The register after `op` from `value`, if `op` may have returned `result`
/// (`None`: unknown, anything goes) — the kv semantics, written out plainly.
fn plain_step(
    value: &Option<String>,
    op: &Op,
    result: Option<&OpResult>,
) -> Option<Option<String>> {
    let (next, returned) = match op {
        Op::Put { value: v, .. } => (Some(v.clone()), OpResult::Ok),
        Op::Get { .. } => (value.clone(), OpResult::Value(value.clone())),
        Op::Append { value: v, .. } => {
            let mut s = value.clone().unwrap_or_default();
            s.push_str(v);
            (Some(s), OpResult::Ok)
        }
        Op::Cas { expected, new, .. } if expected == value => (Some(new.clone()), OpResult::CasOk),
        Op::Cas { .. } => (
            value.clone(),
            OpResult::CasFailed {
                current: value.clone(),
            },
        ),
    };
    match result {
        Some(r) if *r != returned => None,
        _ => Some(next),
    }
}

/// Whether some order of some of the ops (all completed ones; any subset of
/// the unknown ones) respects real time and the results: every order tried.
fn brute_force(ops: &[HistoryOp]) -> bool {
    fn go(ops: &[HistoryOp], used: &mut Vec<bool>, value: Option<String>) -> bool {
        let left_known = ops
            .iter()
            .zip(used.iter())
            .any(|(o, &u)| !u && o.result.is_some());
        if !left_known {
            return true;
        }
        for i in 0..ops.len() {
            if used[i] {
                continue;
            }
            // Every op that returned before this one was invoked goes first.
            let blocked = ops
                .iter()
                .zip(used.iter())
                .any(|(o, &u)| !u && o.complete_us.is_some_and(|c| c < ops[i].invoke_us));
            if blocked {
                continue;
            }
            if let Some(next) = plain_step(&value, &ops[i].op, ops[i].result.as_ref()) {
                used[i] = true;
                let found = go(ops, used, next);
                used[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(ops, &mut vec![false; ops.len()], None)
}

/// A random small history on one key: ops with random intervals, results
/// drawn from a small domain (so many are impossible), some unknown.
fn small_history() -> impl Strategy<Value = Vec<HistoryOp>> {
    let op = (0..4u8, 0..3u8, 0..4u8, 0..60u64, 1..40u64, 0..6u8, 0..4u8);
    prop::collection::vec(op, 0..7).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (kind, value, expected, invoke, took, result, fate))| {
                let op = make_op(0, kind, value, expected);
                let v = ["x", "y", "xy", "yx"][usize::from(result % 4)].to_owned();
                let result = match (&op, result) {
                    (Op::Get { .. }, 0) => read(None),
                    (Op::Get { .. }, _) => read(Some(&v)),
                    (Op::Cas { .. }, 0) => OpResult::CasOk,
                    (Op::Cas { .. }, 1) => OpResult::CasFailed { current: None },
                    (Op::Cas { .. }, _) => OpResult::CasFailed { current: Some(v) },
                    _ => OpResult::Ok,
                };
                if fate == 0 {
                    pending(i as u64, op, invoke)
                } else {
                    done(i as u64, op, invoke, invoke + took, result)
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// The memoized search (with its shortcuts for ops of unknown outcome)
    /// gives brute force's verdict, linearizable or not.
    #[test]
    fn the_search_agrees_with_brute_force(history in small_history()) {
        let expected = brute_force(&history);
        let outcome = check_linearizability(&history, BUDGET);
        prop_assert_eq!(
            outcome == LinearizabilityOutcome::Linearizable,
            expected,
            "{:?} for {:#?}", outcome, history
        );
    }
}
