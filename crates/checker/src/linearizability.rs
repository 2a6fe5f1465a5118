//! Linearizability of the client history against the kv register model.
//!
//! This module owns the history format ([`HistoryOp`]), the split of a history
//! into independent per-key histories (every kv op touches one key, so a history
//! is linearizable iff each key's is), and the outcome. The model lives in
//! `model`, the search in `search`. It must never call an exhausted budget a pass:
//! that is [`LinearizabilityOutcome::Unknown`].

mod model;
mod search;
#[cfg(test)]
mod tests;

use crate::violation::{Property, Violation};
use kv::{Op, OpResult};
use search::{Failure, KeyOp, SearchOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One client operation in the history (the simulator records these).
///
/// `complete_us`/`result` `None` means indeterminate (timed out or never
/// answered): the op may or may not have taken effect, at any time after its
/// invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryOp {
    /// The client that issued the op.
    pub client_id: u64,
    /// The op's sequence number in the client's session.
    pub seq: u64,
    /// What was asked.
    pub op: Op,
    /// When the client invoked it (virtual microseconds).
    pub invoke_us: u64,
    /// When the client received the result, if it did.
    pub complete_us: Option<u64>,
    /// The result, if the client received one.
    pub result: Option<OpResult>,
}

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinearizabilityOutcome {
    /// Every key's history has a linearization.
    Linearizable,
    /// Some key's history has none (the first such key in key order).
    Violation(Violation),
    /// No key failed, but the search for `key` ran out of its budget after `steps`
    /// steps: the history was not checked, which is not a pass.
    Unknown {
        /// The first key (in key order) whose search ran out of budget.
        key: String,
        /// The steps spent on that key.
        steps: u64,
    },
}

/// Decides whether `history` is linearizable, key by key (keys in order), with a
/// Wing-Gong-Lowe search memoized on (linearized set, register value) as in
/// Porcupine, taking at most `step_budget` steps per key.
///
/// The model is a register of `Option<String>` per key, initially absent: Put
/// sets it, Get returns it, Append concatenates (absent counts as `""`), Cas sets
/// `new` if the value equals `expected` (`CasOk`) and otherwise returns
/// `CasFailed { current }`. An indeterminate op may be linearized anywhere after
/// its invocation or not at all. Ops whose intervals touch (one completes at the
/// instant another is invoked) count as concurrent.
///
/// A violation has `event_index` 0 and no nodes; it names the key and the op no
/// linearization can reach the completion of.
#[must_use]
pub fn check_linearizability(history: &[HistoryOp], step_budget: u64) -> LinearizabilityOutcome {
    let mut unknown = None;
    for (key, indices) in ops_by_key(history) {
        let ops: Vec<KeyOp<'_>> = indices.iter().map(|&i| key_op(&history[i])).collect();
        match search::search(&ops, step_budget) {
            SearchOutcome::Linearizable => {}
            SearchOutcome::Unknown { steps } => {
                unknown.get_or_insert(LinearizabilityOutcome::Unknown {
                    key: key.to_owned(),
                    steps,
                });
            }
            SearchOutcome::Failed(failure) => {
                let blocked = &history[indices[failure.blocked]];
                return LinearizabilityOutcome::Violation(violation(
                    key,
                    indices.len(),
                    blocked,
                    &failure,
                ));
            }
        }
    }
    unknown.unwrap_or(LinearizabilityOutcome::Linearizable)
}

/// The key an op touches.
fn key_of(op: &Op) -> &str {
    match op {
        Op::Put { key, .. } | Op::Get { key } | Op::Append { key, .. } | Op::Cas { key, .. } => key,
    }
}

/// Indices of the ops that constrain each key, in history order. Indeterminate
/// reads are dropped: they change nothing and returned nothing.
fn ops_by_key(history: &[HistoryOp]) -> BTreeMap<&str, Vec<usize>> {
    let mut keys: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, h) in history.iter().enumerate() {
        if h.result.is_none() && matches!(h.op, Op::Get { .. }) {
            continue;
        }
        keys.entry(key_of(&h.op)).or_default().push(i);
    }
    keys
}

fn key_op(h: &HistoryOp) -> KeyOp<'_> {
    let ret = match (&h.result, h.complete_us) {
        (Some(_), Some(t)) => t,
        _ => u64::MAX,
    };
    KeyOp {
        invoke: h.invoke_us,
        ret,
        op: &h.op,
        result: h.result.as_ref(),
    }
}

fn violation(key: &str, ops: usize, blocked: &HistoryOp, failure: &Failure) -> Violation {
    let found = format!(
        "key {key:?}: no linearization reaches the completion of {}; at most {} of {ops} ops linearize (value then {:?})",
        describe(blocked),
        failure.longest,
        failure.value_at_longest
    );
    Violation::new(
        Property::Linearizability,
        0,
        format!("a linearizable history of key {key:?}"),
        found,
    )
}

/// `c<client>#<seq> <op> -> <result> [invoke..complete us]`.
fn describe(h: &HistoryOp) -> String {
    let op = match &h.op {
        Op::Put { value, .. } => format!("put {value:?}"),
        Op::Get { .. } => "get".to_owned(),
        Op::Append { value, .. } => format!("append {value:?}"),
        Op::Cas { expected, new, .. } => format!("cas {expected:?} -> {new:?}"),
    };
    let result = match &h.result {
        None => "?".to_owned(),
        Some(OpResult::Ok) => "ok".to_owned(),
        Some(OpResult::Value(v)) => format!("{v:?}"),
        Some(OpResult::CasOk) => "cas-ok".to_owned(),
        Some(OpResult::CasFailed { current }) => format!("cas-failed {current:?}"),
    };
    let complete = h
        .complete_us
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    format!(
        "c{}#{} {op} -> {result} [{}..{complete} us]",
        h.client_id, h.seq, h.invoke_us
    )
}
