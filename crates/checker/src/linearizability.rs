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
use search::{Decided, Failure, KeyOp, KeySearch};
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
    /// The result is a failed compare-and-set whose current value the
    /// client was not told (`result`'s `current` is then ignored): any
    /// value but the expected one.
    #[serde(default)]
    pub cas_current_unknown: bool,
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

/// What a check found, and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearizabilityReport {
    /// The verdict.
    pub outcome: LinearizabilityOutcome,
    /// Steps taken over all keys.
    pub steps: u64,
    /// The most steps one key took (against the per-key budget: how close
    /// a pass came to being unknown).
    pub max_key_steps: u64,
    /// Keys checked.
    pub keys: usize,
}

/// The first round's budget per key; each round doubles it.
const FIRST_ROUND_STEPS: u64 = 1 << 10;

/// Decides whether `history` is linearizable, with a Wing-Gong-Lowe search
/// per key memoized on (linearized set, register value) as in Porcupine,
/// taking at most `step_budget` steps per key. See
/// [`check_linearizability_report`] for the order keys are searched in and
/// what it costs.
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
    check_linearizability_report(history, step_budget).outcome
}

/// [`check_linearizability`], with the steps it took.
///
/// Keys are searched in rounds: every undecided key gets a share of steps
/// (1,024 in the first round, twice as many in each next one, never past
/// `step_budget` in all), smallest key history first, and the first key
/// whose search fails ends the check. So a violation in any key is found
/// without waiting for another key's whole budget, and a key that exhausts
/// its budget makes the verdict unknown only once no other key fails.
/// Memory grows with the steps taken (about `8 * ceil(ops / 64) + 24`
/// bytes per step, `ops` the key's operations).
#[must_use]
pub fn check_linearizability_report(
    history: &[HistoryOp],
    step_budget: u64,
) -> LinearizabilityReport {
    let keys = ops_by_key(history);
    let mut searches: Vec<(&str, Vec<usize>, KeySearch)> = keys
        .into_iter()
        .map(|(key, indices)| {
            let ops: Vec<KeyOp<'_>> = indices.iter().map(|&i| key_op(&history[i])).collect();
            let search = KeySearch::new(&ops);
            (key, indices, search)
        })
        .collect();
    searches.sort_by_key(|(key, indices, _)| (indices.len(), *key));
    let report = |outcome, searches: &[(&str, Vec<usize>, KeySearch)]| LinearizabilityReport {
        outcome,
        steps: searches.iter().map(|s| s.2.steps()).sum(),
        max_key_steps: searches.iter().map(|s| s.2.steps()).max().unwrap_or(0),
        keys: searches.len(),
    };
    let mut open: Vec<usize> = (0..searches.len()).collect();
    let mut exhausted: Vec<usize> = Vec::new();
    let mut round = FIRST_ROUND_STEPS;
    while !open.is_empty() {
        let mut still = Vec::with_capacity(open.len());
        for &i in &open {
            let (key, indices, search) = &mut searches[i];
            let give = round.min(step_budget - search.steps());
            match search.run(give) {
                Some(Decided::Linearizable) => {}
                Some(Decided::Failed(failure)) => {
                    let blocked = &history[indices[failure.blocked]];
                    let v = violation(key, indices.len(), blocked, &failure);
                    return report(LinearizabilityOutcome::Violation(v), &searches);
                }
                None if search.steps() >= step_budget => exhausted.push(i),
                None => still.push(i),
            }
        }
        open = still;
        round = round.saturating_mul(2);
    }
    let unknown = exhausted
        .iter()
        .map(|&i| (searches[i].0, searches[i].2.steps()))
        .min();
    let outcome = match unknown {
        Some((key, steps)) => LinearizabilityOutcome::Unknown {
            key: key.to_owned(),
            steps,
        },
        None => LinearizabilityOutcome::Linearizable,
    };
    report(outcome, &searches)
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
        cas_unknown: h.cas_current_unknown,
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
        Some(OpResult::CasFailed { .. }) if h.cas_current_unknown => "cas-failed ?".to_owned(),
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
