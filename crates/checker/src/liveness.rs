//! Liveness after the heal: a leader is elected and client operations complete
//! within the bounds the run's configuration states.
//!
//! This module owns the end-of-run liveness verdict. It runs once per run over
//! the history (O(history)); it must never be called per event and never decide
//! safety.

use crate::linearizability::HistoryOp;
use crate::violation::{Property, Violation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How soon after the heal things must happen (virtual microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessBounds {
    /// A leader must exist within this long after the heal.
    pub leader_within_us: u64,
    /// Ops outstanding at the heal, and one op per client invoked after it, must
    /// complete within this long after the heal.
    pub ops_within_us: u64,
}

/// Checks liveness after the heal at `heal_us`: a leader by
/// `heal_us + leader_within_us` (`first_leader_after_heal_us` is when the first
/// leader after the heal was in place, `None` if none was); every op outstanding at
/// the heal (invoked at or before it, not completed by it) completed by
/// `heal_us + ops_within_us`; and for every client in `clients`, at least one op
/// invoked at or after the heal completed by then. Returns the first violation
/// (leader, then ops in history order, then clients in the given order).
#[must_use]
pub fn check_liveness(
    heal_us: u64,
    first_leader_after_heal_us: Option<u64>,
    history: &[HistoryOp],
    clients: &[u64],
    bounds: &LivenessBounds,
    event_index: u64,
) -> Option<Violation> {
    let leader_deadline = heal_us.saturating_add(bounds.leader_within_us);
    let ops_deadline = heal_us.saturating_add(bounds.ops_within_us);
    if let Some(found) = leader_problem(heal_us, first_leader_after_heal_us, leader_deadline) {
        let expected = format!("a leader within {} us of the heal", bounds.leader_within_us);
        return Some(Violation::new(
            Property::Liveness,
            event_index,
            expected,
            found,
        ));
    }
    let expected = format!(
        "client ops complete within {} us of the heal",
        bounds.ops_within_us
    );
    let completed_in_time = |h: &HistoryOp| h.complete_us.is_some_and(|t| t <= ops_deadline);
    let stuck = history.iter().find(|h| {
        let outstanding = h.invoke_us <= heal_us && h.complete_us.map_or(true, |t| t > heal_us);
        outstanding && !completed_in_time(h)
    });
    if let Some(h) = stuck {
        let when = h.complete_us.map_or_else(
            || "never completed".to_owned(),
            |t| format!("completed at {t} us"),
        );
        let found = format!(
            "c{}#{} (invoked at {} us, outstanding at the heal at {heal_us} us) {when}, deadline {ops_deadline} us",
            h.client_id, h.seq, h.invoke_us
        );
        return Some(Violation::new(
            Property::Liveness,
            event_index,
            expected,
            found,
        ));
    }
    let served: BTreeSet<u64> = history
        .iter()
        .filter(|h| h.invoke_us >= heal_us && completed_in_time(h))
        .map(|h| h.client_id)
        .collect();
    let starved = clients.iter().find(|c| !served.contains(c))?;
    let found = format!(
        "client c{starved} completed no op invoked after the heal at {heal_us} us by {ops_deadline} us"
    );
    Some(Violation::new(
        Property::Liveness,
        event_index,
        expected,
        found,
    ))
}

fn leader_problem(heal_us: u64, first_leader: Option<u64>, deadline: u64) -> Option<String> {
    match first_leader {
        Some(t) if t <= deadline => None,
        Some(t) => Some(format!(
            "the first leader after the heal at {heal_us} us came at {t} us, after the deadline {deadline} us"
        )),
        None => Some(format!("no leader after the heal at {heal_us} us (deadline {deadline} us)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv::{Op, OpResult};

    const BOUNDS: LivenessBounds = LivenessBounds {
        leader_within_us: 1_000,
        ops_within_us: 5_000,
    };
    const HEAL: u64 = 10_000;

    fn op(client_id: u64, seq: u64, invoke_us: u64, complete_us: Option<u64>) -> HistoryOp {
        HistoryOp {
            client_id,
            seq,
            op: Op::Get { key: "k".into() },
            invoke_us,
            complete_us,
            result: complete_us.map(|_| OpResult::Value(None)),
            cas_current_unknown: false,
        }
    }

    fn good_history() -> Vec<HistoryOp> {
        vec![
            op(1, 1, 1_000, Some(2_000)),   // done before the heal
            op(1, 2, 9_000, Some(12_000)),  // outstanding at the heal, in time
            op(2, 1, 9_500, Some(14_000)),  // outstanding at the heal, in time
            op(1, 3, 12_500, Some(13_000)), // after the heal
            op(2, 2, 14_100, Some(14_900)), // after the heal
        ]
    }

    #[test]
    fn timely_leader_and_ops_pass() {
        let h = good_history();
        assert_eq!(
            check_liveness(HEAL, Some(10_500), &h, &[1, 2], &BOUNDS, 7),
            None
        );
        assert_eq!(
            check_liveness(HEAL, Some(3_000), &h, &[1, 2], &BOUNDS, 7),
            None,
            "a leader in place at the heal counts"
        );
    }

    #[test]
    fn no_leader_within_the_bound_fires() {
        let h = good_history();
        let late =
            check_liveness(HEAL, Some(11_001), &h, &[1, 2], &BOUNDS, 7).expect("late leader");
        assert_eq!((late.property, late.event_index), (Property::Liveness, 7));
        assert!(late.found.contains("11001"), "{}", late.found);
        let none = check_liveness(HEAL, None, &h, &[1, 2], &BOUNDS, 7).expect("no leader");
        assert!(none.found.contains("no leader"), "{}", none.found);
    }

    #[test]
    fn op_outstanding_at_the_heal_that_never_completes_fires() {
        let mut h = good_history();
        h[2] = op(2, 1, 9_500, None);
        let v = check_liveness(HEAL, Some(10_500), &h, &[1, 2], &BOUNDS, 7).expect("stuck op");
        assert_eq!(v.property, Property::Liveness);
        assert!(
            v.found.contains("c2#1") && v.found.contains("never completed"),
            "{}",
            v.found
        );
        let mut h = good_history();
        h[2].complete_us = Some(15_001);
        let v = check_liveness(HEAL, Some(10_500), &h, &[1, 2], &BOUNDS, 7).expect("late op");
        assert!(v.found.contains("completed at 15001"), "{}", v.found);
    }

    #[test]
    fn client_with_no_op_after_the_heal_fires() {
        let h = good_history();
        let v =
            check_liveness(HEAL, Some(10_500), &h, &[1, 2, 3], &BOUNDS, 7).expect("starved client");
        assert!(v.found.contains("client c3"), "{}", v.found);
        let mut h = good_history();
        h.pop();
        let v = check_liveness(HEAL, Some(10_500), &h, &[1, 2], &BOUNDS, 7)
            .expect("client 2 has no op after the heal");
        assert!(v.found.contains("client c2"), "{}", v.found);
    }
}
