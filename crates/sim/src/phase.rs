//! Where a run stands: chaos, healed, settling, over; and its verdict.
//!
//! Chaos ends at the heal; the run has *recovered* once a leader is in
//! place and every client progressed after the heal; it then *settles* (no
//! new client operations) until every live node applied the highest
//! acknowledged write, and the engine runs the end-of-run checks. The first
//! violation ends the run at once.

use crate::observe::{Observers, SimEvent};
use crate::stats::Verdict;
use checker::Violation;

/// The run's phase and verdict, shared by every component's handlers.
#[derive(Debug)]
pub struct RunState {
    /// When the chaos phase ended.
    pub heal_at_us: Option<u64>,
    /// When a leader was first in place after the heal.
    pub first_leader_after_heal_us: Option<u64>,
    /// After recovery: no new client operations.
    pub settling: bool,
    /// Every live node applied the highest acknowledged write: the engine
    /// runs the end-of-run checks next.
    pub settled: bool,
    /// The verdict is in; nothing more happens.
    pub done: bool,
    /// Something that recovery waits for happened (the first leader after
    /// the heal, a client's progress): the engine checks recovery next.
    pub recovery_check_due: bool,
    /// How the run ended (so far: a pass).
    pub verdict: Verdict,
}

impl Default for RunState {
    fn default() -> RunState {
        RunState {
            heal_at_us: None,
            first_leader_after_heal_us: None,
            settling: false,
            settled: false,
            done: false,
            recovery_check_due: false,
            verdict: Verdict::Pass,
        }
    }
}

impl RunState {
    /// Whether handlers must stop: the verdict is in, or the end-of-run
    /// checks are due.
    #[must_use]
    pub fn over(&self) -> bool {
        self.done || self.settled
    }

    /// Ends the run with a safety violation (the first failure wins).
    pub fn fail_safety(&mut self, violation: Violation, obs: &mut Observers) {
        self.fail(violation, false, obs);
    }

    /// Ends the run with a liveness violation (the first failure wins).
    pub fn fail_liveness(&mut self, violation: Violation, obs: &mut Observers) {
        self.fail(violation, true, obs);
    }

    fn fail(&mut self, violation: Violation, liveness: bool, obs: &mut Observers) {
        if !self.verdict.passed() {
            return;
        }
        obs.emit(SimEvent::Failed {
            violation: &violation,
            liveness,
        });
        self.verdict = if liveness {
            Verdict::Liveness { violation }
        } else {
            Verdict::Safety { violation }
        };
        self.done = true;
    }

    /// Ends the run at the checker's first violation, if it found one.
    pub fn stop_at_first_violation(&mut self, obs: &mut Observers) {
        if self.done {
            return;
        }
        if let Some(v) = obs.first_violation().cloned() {
            self.fail_safety(v, obs);
        }
    }
}
