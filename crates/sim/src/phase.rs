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
    /// The idle stability window after settling, if the run has one and it
    /// began: (from, until) in microseconds. No node may change its role
    /// or term from `from` to `until`; then the run settles once more (the
    /// acknowledgements of operations outstanding at the first settling
    /// arrive meanwhile) and ends.
    pub stability: Option<(u64, u64)>,
    /// The stability window is over.
    pub stability_over: bool,
    /// The latency probe in flight: (leader, the probe's index, its bound
    /// in microseconds).
    pub probe: Option<(usize, u64, u64)>,
    /// How long the stability window lasts (0: the run has none).
    pub stability_window_us: u64,
    /// The settle point was reached and the stability window opens after
    /// this event (the nodes run on: nothing stops).
    pub stability_due: bool,
    /// When settling must be done (a deadline event scheduled earlier, for
    /// the settling before the window, is void).
    pub settle_deadline_us: u64,
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
            stability: None,
            stability_over: false,
            probe: None,
            stability_window_us: 0,
            stability_due: false,
            settle_deadline_us: 0,
            done: false,
            recovery_check_due: false,
            verdict: Verdict::Pass,
        }
    }
}

impl RunState {
    /// Whether the run is settling now: waiting for every live node to
    /// apply the highest acknowledged write (not while the stability window
    /// runs).
    #[must_use]
    pub fn awaiting_settle(&self) -> bool {
        self.settling && (self.stability.is_none() || self.stability_over)
    }

    /// Every live node applied the highest acknowledged write: the end-of-run
    /// checks are due, or first the stability window.
    pub fn reach_settle_point(&mut self) {
        if self.stability_window_us > 0 && self.stability.is_none() {
            self.stability_due = true;
        } else {
            self.settled = true;
        }
    }

    /// Whether the stability window runs at `now_us`.
    #[must_use]
    pub fn in_stability_window(&self, now_us: u64) -> Option<(u64, u64)> {
        let (from_us, until_us) = self.stability?;
        (!self.stability_over && now_us >= from_us).then_some((from_us, until_us))
    }

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
