//! Decides whether a simulated Raft run was correct.
//!
//! * [`SafetyChecker`] is fed every node state change as it happens and checks
//!   election safety, one vote per term, leader append-only, log matching, leader
//!   completeness, state machine safety and monotonic terms and commits. It follows
//!   each node's configuration (voters, joint halves, learners) through the
//!   configuration entries of its log, counts election and commit quorums with it
//!   (opt-in for [`SafetyChecker::new`], on for [`SafetyChecker::with_bootstrap`]),
//!   and checks membership: a node uses the latest configuration entry of its log,
//!   a leader has at most one uncommitted. Each call costs O(new entries): logs are
//!   compared through chained hashes, never rescanned.
//! * [`check_linearizability`] checks the client history against the kv register
//!   model, per key, with a budgeted Wing-Gong-Lowe search ([`LinearizabilityOutcome::Unknown`]
//!   when the budget runs out: never a silent pass).
//! * [`check_durability`] and [`check_liveness`] are end-of-run checks.
//!
//! Every broken property is a structured [`Violation`]. The crate only reads
//! `raft-core` and `kv` types; it does no I/O, reads no clock, uses no randomness
//! and never lets hash-map iteration order reach its output, so the same run
//! always gives the same verdict.
//!
//! # Example
//! ```
//! use checker::{check_linearizability, LinearizabilityOutcome, HistoryOp, Property, SafetyChecker};
//! use kv::{Op, OpResult};
//! use raft_core::{NodeId, Term};
//!
//! // Two nodes claim leadership of the same term.
//! let mut safety = SafetyChecker::new(3);
//! safety.term_vote(1, 0, Term(5), Some(NodeId(0)));
//! safety.became_leader(2, 0, Term(5));
//! safety.term_vote(3, 2, Term(5), Some(NodeId(2)));
//! safety.became_leader(4, 2, Term(5));
//! let v = &safety.violations()[0];
//! assert_eq!(v.property, Property::ElectionSafety);
//! assert_eq!((v.nodes.as_slice(), v.term), (&[0, 2][..], Some(5)));
//! assert_eq!(v.message(), "election-safety: n0 and n2 both leaders of term 5; expected at most one leader per term (event 4)");
//!
//! // A read that misses a completed write is not linearizable.
//! let op = |op, invoke_us, complete_us, result| HistoryOp {
//!     client_id: 1, seq: invoke_us, op, invoke_us, complete_us: Some(complete_us), result: Some(result),
//!     cas_current_unknown: false,
//! };
//! let history = [
//!     op(Op::Put { key: "k".into(), value: "v".into() }, 0, 10, OpResult::Ok),
//!     op(Op::Get { key: "k".into() }, 20, 30, OpResult::Value(None)),
//! ];
//! let outcome = check_linearizability(&history, 10_000);
//! assert!(matches!(outcome, LinearizabilityOutcome::Violation(v) if v.property == Property::Linearizability));
//! ```

mod corruption;
mod durability;
mod hash;
mod history;
mod linearizability;
mod liveness;
mod safety;
mod violation;

pub use corruption::recovered_from_damage;
pub use durability::{check_durability, AckedWrite, FinalNode};
pub use history::{parse_history, write_history, HistoryError};
pub use linearizability::{
    check_linearizability, check_linearizability_report, HistoryOp, LinearizabilityOutcome,
    LinearizabilityReport,
};
pub use liveness::{check_liveness, LivenessBounds};
pub use safety::SafetyChecker;
pub use violation::{Property, Violation};
