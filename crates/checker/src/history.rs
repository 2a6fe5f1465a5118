//! The history file: a client history as JSON lines, one operation per
//! line, so that a history recorded anywhere (the simulator, a real cluster
//! under a fault test, another tool) can be judged by
//! [`check_linearizability`](crate::check_linearizability).
//!
//! ```text
//! {"client": 0, "op": "put", "key": "k", "value": "v", "invoke_us": 10, "complete_us": 25, "result": "ok"}
//! {"client": 1, "op": "get", "key": "k", "invoke_us": 12, "complete_us": 30, "result": {"value": "v"}}
//! {"client": 2, "op": "cas", "key": "k", "expected": null, "new": "w", "invoke_us": 40}
//! ```
//!
//! Fields: `client` (a number), `seq` (optional: the op's number in the
//! client's session, by default its position among the client's lines),
//! `op` (`put`, `append`, `get` or `cas`), `key`, `value` (put, append),
//! `expected` (cas: a string, or `null` for an absent key) and `new` (cas),
//! `invoke_us`, and, for an operation whose outcome the client saw,
//! `complete_us` and `result`: `"ok"` (put, append), `{"value": V}` (get; V
//! a string or `null`), `"cas_ok"`, `{"cas_failed": V}` (the value found,
//! or `null`), or `"cas_failed"` (failed, the value found not reported:
//! any value but the expected one). An operation without `result` has an unknown outcome: it may
//! or may not have taken effect, at any time after its invocation. Blank
//! lines and lines starting with `#` are skipped; anything else that does not
//! fit (an unknown field, a missing one, a result that does not match the
//! op, a completion before the invocation) is an error naming the line.

use crate::linearizability::HistoryOp;
use kv::{Op, OpResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A history file line that is not an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HistoryError {}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OpName {
    Put,
    Append,
    Get,
    Cas,
}

/// A result as a line holds it: a bare word or a one-field object.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ResultLine {
    Bare(BareResult),
    Tagged(TaggedResult),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BareResult {
    Ok,
    CasOk,
    /// A failed compare-and-set whose current value is not known.
    CasFailed,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TaggedResult {
    Value(Option<String>),
    CasFailed(Option<String>),
}

/// What a result may be, for error messages.
const RESULTS: &str = "a result is \"ok\", \"cas_ok\", \"cas_failed\" (current value unknown), \
    {\"value\": V} or {\"cas_failed\": V}, V a string or null";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    client: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    op: OpName,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    expected: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new: Option<String>,
    invoke_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    complete_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<ResultLine>,
}

/// A field that may be `null` when present: absent is `None`, `null` is
/// `Some(None)`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The operations of a history file, in file order.
///
/// ```
/// use checker::{check_linearizability, parse_history, LinearizabilityOutcome};
/// let text = r#"
/// {"client": 0, "op": "put", "key": "k", "value": "v", "invoke_us": 10, "complete_us": 20, "result": "ok"}
/// {"client": 1, "op": "get", "key": "k", "invoke_us": 30, "complete_us": 40, "result": {"value": null}}
/// "#;
/// let history = parse_history(text).expect("well formed");
/// // The get began after the put completed and still saw nothing.
/// assert!(matches!(check_linearizability(&history, 10_000), LinearizabilityOutcome::Violation(_)));
/// ```
///
/// # Errors
/// The first line that is not an operation, with what is wrong with it.
pub fn parse_history(text: &str) -> Result<Vec<HistoryOp>, HistoryError> {
    let mut ops = Vec::new();
    let mut next_seq: BTreeMap<u64, u64> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |message: String| HistoryError {
            line: i + 1,
            message,
        };
        let line: Line = serde_json::from_str(trimmed).map_err(|e| {
            let e = e.to_string();
            // An untagged enum's error says only that nothing matched.
            err(if e.contains("untagged enum ResultLine") {
                RESULTS.to_string()
            } else {
                e
            })
        })?;
        let seq = next_seq.entry(line.client).or_insert(1);
        let this_seq = line.seq.unwrap_or(*seq);
        *seq = this_seq + 1;
        ops.push(to_op(line, this_seq).map_err(err)?);
    }
    Ok(ops)
}

fn to_op(line: Line, seq: u64) -> Result<HistoryOp, String> {
    let need =
        |v: Option<String>, field: &str| v.ok_or_else(|| format!("a {field} needs \"{field}\""));
    let (op, extra): (Op, [(&str, bool); 3]) = match line.op {
        OpName::Put => (
            Op::Put {
                key: line.key,
                value: need(line.value, "value")?,
            },
            [
                ("expected", line.expected.is_some()),
                ("new", line.new.is_some()),
                ("", false),
            ],
        ),
        OpName::Append => (
            Op::Append {
                key: line.key,
                value: need(line.value, "value")?,
            },
            [
                ("expected", line.expected.is_some()),
                ("new", line.new.is_some()),
                ("", false),
            ],
        ),
        OpName::Get => (
            Op::Get { key: line.key },
            [
                ("value", line.value.is_some()),
                ("expected", line.expected.is_some()),
                ("new", line.new.is_some()),
            ],
        ),
        OpName::Cas => (
            Op::Cas {
                key: line.key,
                expected: line
                    .expected
                    .ok_or_else(|| "a cas needs \"expected\" (null: absent)".to_string())?,
                new: need(line.new, "new")?,
            },
            [("value", line.value.is_some()), ("", false), ("", false)],
        ),
    };
    if let Some((field, _)) = extra.iter().find(|(_, present)| *present) {
        return Err(format!("\"{field}\" does not belong to this op"));
    }
    let cas_current_unknown = matches!(line.result, Some(ResultLine::Bare(BareResult::CasFailed)));
    let result = line.result.map(|r| match r {
        ResultLine::Bare(BareResult::Ok) => OpResult::Ok,
        ResultLine::Tagged(TaggedResult::Value(v)) => OpResult::Value(v),
        ResultLine::Bare(BareResult::CasOk) => OpResult::CasOk,
        ResultLine::Bare(BareResult::CasFailed) => OpResult::CasFailed { current: None },
        ResultLine::Tagged(TaggedResult::CasFailed(current)) => OpResult::CasFailed { current },
    });
    let fits = matches!(
        (&op, &result),
        (_, None)
            | (Op::Put { .. } | Op::Append { .. }, Some(OpResult::Ok))
            | (Op::Get { .. }, Some(OpResult::Value(_)))
            | (
                Op::Cas { .. },
                Some(OpResult::CasOk | OpResult::CasFailed { .. })
            )
    );
    if !fits {
        return Err("the result does not answer this op".into());
    }
    match (line.complete_us, &result) {
        (None, Some(_)) => return Err("a result needs \"complete_us\"".into()),
        (Some(c), _) if c < line.invoke_us => {
            return Err(format!(
                "completed at {c} us, before its invocation at {} us",
                line.invoke_us
            ))
        }
        _ => {}
    }
    Ok(HistoryOp {
        client_id: line.client,
        seq,
        op,
        invoke_us: line.invoke_us,
        complete_us: line.complete_us,
        result,
        cas_current_unknown,
    })
}

/// A history as the file holds it (the inverse of [`parse_history`]).
#[must_use]
pub fn write_history(ops: &[HistoryOp]) -> String {
    let mut out = String::new();
    for h in ops {
        let (op, key, value, expected, new) = match &h.op {
            Op::Put { key, value } => (OpName::Put, key, Some(value), None, None),
            Op::Append { key, value } => (OpName::Append, key, Some(value), None, None),
            Op::Get { key } => (OpName::Get, key, None, None, None),
            Op::Cas { key, expected, new } => {
                (OpName::Cas, key, None, Some(expected.clone()), Some(new))
            }
        };
        let line = Line {
            client: h.client_id,
            seq: Some(h.seq),
            op,
            key: key.clone(),
            value: value.cloned(),
            expected,
            new: new.cloned(),
            invoke_us: h.invoke_us,
            complete_us: h.complete_us,
            result: h.result.clone().map(|r| match r {
                OpResult::Ok => ResultLine::Bare(BareResult::Ok),
                OpResult::Value(v) => ResultLine::Tagged(TaggedResult::Value(v)),
                OpResult::CasOk => ResultLine::Bare(BareResult::CasOk),
                OpResult::CasFailed { .. } if h.cas_current_unknown => {
                    ResultLine::Bare(BareResult::CasFailed)
                }
                OpResult::CasFailed { current } => {
                    ResultLine::Tagged(TaggedResult::CasFailed(current))
                }
            }),
        };
        // Strings and numbers only: encoding cannot fail.
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_linearizability, LinearizabilityOutcome};

    #[test]
    fn a_history_round_trips_through_the_file() {
        let text = r#"# two clients
{"client": 0, "op": "put", "key": "k", "value": "a", "invoke_us": 1, "complete_us": 5, "result": "ok"}
{"client": 1, "op": "cas", "key": "k", "expected": "a", "new": "b", "invoke_us": 6, "complete_us": 9, "result": "cas_ok"}

{"client": 0, "op": "get", "key": "k", "invoke_us": 10, "complete_us": 12, "result": {"value": "b"}}
{"client": 1, "op": "cas", "key": "k", "expected": null, "new": "c", "invoke_us": 13, "complete_us": 14, "result": {"cas_failed": "b"}}
{"client": 0, "op": "append", "key": "k", "value": "x", "invoke_us": 20}
{"client": 1, "op": "cas", "key": "k", "expected": "a", "new": "d", "invoke_us": 15, "complete_us": 16, "result": "cas_failed"}
"#;
        let ops = parse_history(text).expect("well formed");
        assert_eq!(ops.len(), 6);
        assert!(ops[5].cas_current_unknown && !ops[3].cas_current_unknown);
        assert_eq!((ops[2].client_id, ops[2].seq), (0, 2), "seq by position");
        assert_eq!(ops[4].result, None, "an unknown outcome");
        assert_eq!(
            check_linearizability(&ops, 10_000),
            LinearizabilityOutcome::Linearizable
        );
        let again = parse_history(&write_history(&ops)).expect("its own output parses");
        assert_eq!(again, ops);
    }

    #[test]
    fn a_stale_read_is_a_violation() {
        let text = r#"{"client": 0, "op": "put", "key": "k", "value": "a", "invoke_us": 1, "complete_us": 5, "result": "ok"}
{"client": 1, "op": "get", "key": "k", "invoke_us": 6, "complete_us": 9, "result": {"value": null}}"#;
        let ops = parse_history(text).expect("well formed");
        assert!(matches!(
            check_linearizability(&ops, 10_000),
            LinearizabilityOutcome::Violation(_)
        ));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let ok = r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 1}"#;
        for (bad, why) in [
            (r#"{"client": 0, "op": "get", "key": "k"}"#, "invoke_us"),
            (
                r#"{"client": 0, "op": "jump", "key": "k", "invoke_us": 1}"#,
                "jump",
            ),
            (
                r#"{"client": 0, "op": "put", "key": "k", "invoke_us": 1}"#,
                "value",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "value": "v", "invoke_us": 1}"#,
                "does not belong",
            ),
            (
                r#"{"client": 0, "op": "cas", "key": "k", "new": "v", "invoke_us": 1}"#,
                "expected",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 1, "complete_us": 2, "result": "ok"}"#,
                "does not answer",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 1, "result": {"value": null}}"#,
                "complete_us",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 5, "complete_us": 2}"#,
                "before its invocation",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 1, "colour": "red"}"#,
                "colour",
            ),
            (
                r#"{"client": 0, "op": "get", "key": "k", "invoke_us": 1, "complete_us": 2, "result": "maybe"}"#,
                "a result is",
            ),
            ("not json", "expected"),
        ] {
            let text = format!("{ok}\n\n{bad}\n");
            let e = parse_history(&text).expect_err(bad);
            assert_eq!(e.line, 3, "{bad}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }
}
