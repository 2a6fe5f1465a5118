//! The sequential specification of one kv key: a register of `Option<String>`.
//!
//! This module owns the model step alone. It must never know about time,
//! clients or the search: it answers "from this value, can this op return this
//! result, and what is the value after it?".

use kv::{Op, OpResult};

/// The register after an op that the model allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// The value is unchanged.
    Same,
    /// The value becomes this string.
    Set(String),
}

/// Applies `op` to a register holding `value`. `result` is what the op returned,
/// or `None` if unknown (indeterminate: any result is accepted). Returns `None`
/// if the op cannot have returned `result` from `value`.
///
/// Put sets and returns `Ok`; Get returns `Value(current)`; Append concatenates
/// (absent counts as `""`) and returns `Ok`; Cas sets `new` and returns `CasOk`
/// if the value equals `expected`, else returns `CasFailed { current }`.
pub(super) fn step(value: Option<&str>, op: &Op, result: Option<&OpResult>) -> Option<Next> {
    let acked_ok = matches!(result, None | Some(OpResult::Ok));
    match op {
        Op::Put { value: new, .. } => acked_ok.then(|| Next::Set(new.clone())),
        Op::Get { .. } => match result {
            None => Some(Next::Same),
            Some(OpResult::Value(read)) if read.as_deref() == value => Some(Next::Same),
            Some(_) => None,
        },
        Op::Append { value: suffix, .. } => {
            acked_ok.then(|| Next::Set(format!("{}{suffix}", value.unwrap_or(""))))
        }
        Op::Cas { expected, new, .. } if expected.as_deref() == value => {
            matches!(result, None | Some(OpResult::CasOk)).then(|| Next::Set(new.clone()))
        }
        Op::Cas { .. } => match result {
            None => Some(Next::Same),
            Some(OpResult::CasFailed { current }) if current.as_deref() == value => {
                Some(Next::Same)
            }
            Some(_) => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &str) -> Op {
        Op::Put {
            key: "k".into(),
            value: v.into(),
        }
    }

    #[test]
    fn model_follows_the_kv_semantics() {
        let get = Op::Get { key: "k".into() };
        let append = Op::Append {
            key: "k".into(),
            value: "b".into(),
        };
        let cas = Op::Cas {
            key: "k".into(),
            expected: Some("a".into()),
            new: "c".into(),
        };
        assert_eq!(
            step(None, &put("a"), Some(&OpResult::Ok)),
            Some(Next::Set("a".into()))
        );
        assert_eq!(step(None, &put("a"), Some(&OpResult::CasOk)), None);
        let read_a = OpResult::Value(Some("a".into()));
        assert_eq!(step(Some("a"), &get, Some(&read_a)), Some(Next::Same));
        assert_eq!(step(None, &get, Some(&read_a)), None);
        assert_eq!(
            step(None, &get, Some(&OpResult::Value(None))),
            Some(Next::Same)
        );
        assert_eq!(
            step(None, &append, Some(&OpResult::Ok)),
            Some(Next::Set("b".into()))
        );
        assert_eq!(step(Some("a"), &append, None), Some(Next::Set("ab".into())));
        assert_eq!(
            step(Some("a"), &cas, Some(&OpResult::CasOk)),
            Some(Next::Set("c".into()))
        );
        let failed_a = OpResult::CasFailed {
            current: Some("a".into()),
        };
        assert_eq!(step(Some("a"), &cas, Some(&failed_a)), None);
        let failed_x = OpResult::CasFailed {
            current: Some("x".into()),
        };
        assert_eq!(step(Some("x"), &cas, Some(&failed_x)), Some(Next::Same));
        assert_eq!(step(Some("x"), &cas, Some(&OpResult::CasOk)), None);
        assert_eq!(step(Some("x"), &cas, None), Some(Next::Same));
    }
}
