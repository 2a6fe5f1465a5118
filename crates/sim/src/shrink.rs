//! Shrinking: the smallest run that still fails the same way.
//!
//! Starting from a failing [`Case`], the shrinker keeps a candidate only if
//! replaying it fails the *same property*. It cuts the run at the violation,
//! drops fault events and client operations by delta debugging (halves,
//! quarters, ... single events), weakens what is left (partitions shorter,
//! crashes plain and restarts sooner), tries 3 nodes instead of 5 and calm
//! network settings. It is deterministic (no wall clock: the budget is a
//! number of runs) and every candidate is a valid case.

use crate::case::{Case, ScriptedOp};
use crate::engine::Simulation;
use crate::faults::{Action, CrashPoint, Fault, Partition, Reconfig, Target, TimedFault};
use crate::stats::{RunResult, Verdict};

/// The size of a case, before and after shrinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseSize {
    /// Cluster size.
    pub nodes: usize,
    /// Fault events.
    pub faults: usize,
    /// Client operations.
    pub ops: usize,
    /// Events the replay processed.
    pub events: u64,
    /// Simulated time of the replay.
    pub sim_time_us: u64,
}

impl std::fmt::Display for CaseSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} nodes, {} faults, {} ops, {} events, {:.3}s simulated",
            self.nodes,
            self.faults,
            self.ops,
            self.events,
            self.sim_time_us as f64 / 1e6
        )
    }
}

/// What shrinking found.
#[derive(Clone, Debug)]
pub struct ShrinkReport {
    /// The property that fails, before and after.
    pub property: String,
    /// Size of the original case.
    pub before: CaseSize,
    /// Size of the minimal case.
    pub after: CaseSize,
    /// Replays spent.
    pub runs: u64,
    /// The minimal case (its `expect` names the failing property).
    pub case: Case,
    /// Its verdict.
    pub verdict: Verdict,
}

/// Why a case cannot be shrunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShrinkError(pub String);

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShrinkError {}

/// Replays a case, turning a panic in node code into a failing verdict.
#[must_use]
pub fn replay(case: &Case) -> RunResult {
    crate::sweep::install_quiet_panic_hook();
    crate::sweep::guarded(case.seed, &case.config.profile, || {
        Simulation::from_case(case).run()
    })
}

fn size_of(case: &Case, r: &RunResult) -> CaseSize {
    CaseSize {
        nodes: case.config.nodes,
        faults: case.faults.len(),
        ops: case.ops.len(),
        events: r.events,
        sim_time_us: r.sim_time_us,
    }
}

/// The shrinking loop's state: the smallest failing case so far.
struct Shrinker<'a> {
    property: String,
    best: Case,
    best_result: RunResult,
    runs: u64,
    max_runs: u64,
    on_progress: &'a mut dyn FnMut(u64, &Case),
}

impl Shrinker<'_> {
    fn budget_left(&self) -> bool {
        self.runs < self.max_runs
    }

    /// Keeps `candidate` if it is valid and fails the same property.
    fn try_case(&mut self, candidate: Case) -> bool {
        if !self.budget_left() || candidate.validate().is_err() {
            return false;
        }
        self.runs += 1;
        let r = replay(&candidate);
        (self.on_progress)(self.runs, &self.best);
        if r.verdict.failed_property() != self.property {
            return false;
        }
        self.best = candidate;
        self.best_result = r;
        true
    }

    fn with(&self, change: impl FnOnce(&mut Case)) -> Case {
        let mut c = self.best.clone();
        change(&mut c);
        c
    }

    /// A safety violation ends the run: nothing after it matters.
    fn cut_at_violation(&mut self) -> bool {
        let Verdict::Safety { .. } = self.best_result.verdict else {
            return false;
        };
        let end = self.best_result.sim_time_us + 1;
        if end >= self.best.config.chaos_us && self.best.faults.iter().all(|f| f.at_us < end) {
            return false;
        }
        let candidate = self.with(|c| {
            c.faults.retain(|f| f.at_us < end);
            c.ops.retain(|o| o.at_us < end);
            c.config.chaos_us = c.config.chaos_us.min(end);
        });
        self.try_case(candidate)
    }

    /// Delta debugging over one list of the case.
    fn ddmin<T: Clone>(&mut self, get: fn(&Case) -> &Vec<T>, set: fn(&mut Case, Vec<T>)) -> bool {
        let mut progressed = false;
        let mut parts = 2;
        loop {
            let items = get(&self.best).clone();
            if items.is_empty() || !self.budget_left() {
                return progressed;
            }
            let chunk = items.len().div_ceil(parts);
            let mut removed = false;
            for start in (0..items.len()).step_by(chunk) {
                let mut rest = items.clone();
                rest.drain(start..(start + chunk).min(items.len()));
                if self.try_case(self.with(|c| set(c, rest))) {
                    removed = true;
                    progressed = true;
                    parts = (parts - 1).max(2);
                    break;
                }
            }
            if !removed {
                if parts >= items.len() {
                    return progressed;
                }
                parts = (parts * 2).min(items.len());
            }
        }
    }

    /// Makes each remaining fault milder, one at a time.
    fn weaken_faults(&mut self) -> bool {
        let mut progressed = false;
        for i in 0..self.best.faults.len() {
            for weaker in weaker_faults(&self.best.faults, i) {
                if self.try_case(self.with(|c| c.faults = weaker)) {
                    progressed = true;
                    break;
                }
            }
        }
        progressed
    }

    /// Three nodes instead of five (or more); with spare node ids, only
    /// as many as the faults still name.
    fn fewer_nodes(&mut self) -> bool {
        let c = &self.best.config;
        let nodes = if c.bootstrap_voters() < c.nodes {
            let named = self
                .best
                .faults
                .iter()
                .filter_map(|f| named_node(&f.fault))
                .max();
            named.map_or(0, |n| n + 1).max(c.bootstrap_voters())
        } else {
            3
        };
        if self.best.config.nodes <= nodes {
            return false;
        }
        let candidate = self.with(|c| shrink_cluster(c, nodes));
        self.try_case(candidate)
    }

    /// Calm network and load: no random loss, duplication, delay tail, long
    /// holds, duplicated requests or bursts.
    fn calm_network(&mut self) -> bool {
        let mut progressed = false;
        let knobs: [fn(&mut Case); 6] = [
            |c| c.config.drop_probability = 0.0,
            |c| c.config.duplicate_probability = 0.0,
            |c| c.config.delay_tail_probability = 0.0,
            |c| c.config.long_delay_probability = 0.0,
            |c| c.config.client_duplicate_probability = 0.0,
            |c| c.config.burst_interval_us = 0,
        ];
        for knob in knobs {
            let candidate = self.with(knob);
            if candidate.config != self.best.config && self.try_case(candidate) {
                progressed = true;
            }
        }
        progressed
    }
}

/// Milder versions of fault `i`, mildest first.
fn weaker_faults(faults: &[TimedFault], i: usize) -> Vec<Vec<TimedFault>> {
    let mut out = Vec::new();
    let f = faults[i];
    match f.fault {
        Fault::Crash {
            target,
            restart_after_us,
            at,
        } => {
            if at != CrashPoint::Now {
                out.push(replace(
                    faults,
                    i,
                    Fault::Crash {
                        target,
                        restart_after_us,
                        at: CrashPoint::Now,
                    },
                ));
            }
            if restart_after_us > 1_000 {
                let shorter = Fault::Crash {
                    target,
                    restart_after_us: restart_after_us / 2,
                    at,
                };
                out.push(replace(faults, i, shorter));
            }
        }
        Fault::Pause {
            target,
            resume_after_us,
        } if resume_after_us > 1_000 => {
            let shorter = Fault::Pause {
                target,
                resume_after_us: resume_after_us / 2,
            };
            out.push(replace(faults, i, shorter));
        }
        Fault::On {
            point,
            node,
            action,
        } => {
            // A triggered fault: any node instead of one, then milder.
            if node.is_some() {
                let any = Fault::On {
                    point,
                    node: None,
                    action,
                };
                out.push(replace(faults, i, any));
            }
            if action == Action::DropVotes {
                let delay = Action::DelayVotes { delay_us: 100_000 };
                out.push(replace(
                    faults,
                    i,
                    Fault::On {
                        point,
                        node,
                        action: delay,
                    },
                ));
            }
            if let Some(action) = action.halved() {
                out.push(replace(
                    faults,
                    i,
                    Fault::On {
                        point,
                        node,
                        action,
                    },
                ));
            }
        }
        Fault::Partition(_) => {
            // A shorter partition: bring its heal halfway closer.
            if let Some(j) =
                (i + 1..faults.len()).find(|&j| matches!(faults[j].fault, Fault::HealPartition))
            {
                let span = faults[j].at_us - f.at_us;
                if span > 1_000 {
                    let mut v = faults.to_vec();
                    v[j].at_us = f.at_us + span / 2;
                    v.sort_by_key(|f| f.at_us);
                    out.push(v);
                }
            }
        }
        _ => {}
    }
    out
}

fn replace(faults: &[TimedFault], i: usize, fault: Fault) -> Vec<TimedFault> {
    let mut v = faults.to_vec();
    v[i].fault = fault;
    v
}

/// Rewrites a case for a smaller cluster: faults and ops naming removed
/// nodes are dropped or redirected.
fn shrink_cluster(c: &mut Case, nodes: usize) {
    let all = (1u32 << nodes) - 1;
    if c.config.bootstrap_voters != 0 {
        let voters = c.config.bootstrap_voters.min(nodes);
        c.config.bootstrap_voters = if voters == nodes { 0 } else { voters };
    }
    c.config.nodes = nodes;
    c.config.node_tick_us.truncate(nodes);
    c.faults.retain_mut(|f| match &mut f.fault {
        fault @ (Fault::Reconfigure(_) | Fault::TransferLeader { .. }) => {
            named_node(fault).map_or(true, |n| n < nodes)
        }
        Fault::Crash {
            target: Target::Node(n),
            ..
        }
        | Fault::Pause {
            target: Target::Node(n),
            ..
        } => *n < nodes,
        Fault::On { node: Some(n), .. } => *n < nodes,
        Fault::Partition(Partition::Split { side })
        | Fault::Partition(Partition::OneWay { from: side }) => {
            *side &= all;
            *side != 0 && *side != all
        }
        Fault::Partition(Partition::Bridge { bridge, side }) => {
            *side &= all & !(1 << *bridge);
            *bridge < nodes && *side != 0 && (*side | (1 << *bridge)) != all
        }
        _ => true,
    });
    for op in &mut c.ops {
        op.via = op.via.filter(|&v| v < nodes);
    }
}

/// The highest node id a fault names, if it names one.
fn named_node(f: &Fault) -> Option<usize> {
    match *f {
        Fault::Crash {
            target: Target::Node(n),
            ..
        }
        | Fault::Pause {
            target: Target::Node(n),
            ..
        }
        | Fault::On { node: Some(n), .. }
        | Fault::Partition(Partition::Bridge { bridge: n, .. })
        | Fault::TransferLeader {
            target: Target::Node(n),
        }
        | Fault::Reconfigure(
            Reconfig::AddLearner(n)
            | Reconfig::Promote(n)
            | Reconfig::AddVoter(n)
            | Reconfig::Remove(Target::Node(n)),
        ) => Some(n),
        Fault::Reconfigure(Reconfig::Replace { remove, add }) => match remove {
            Target::Node(n) => Some(n.max(add)),
            Target::Leader => Some(add),
        },
        _ => None,
    }
}

fn set_faults(c: &mut Case, v: Vec<TimedFault>) {
    c.faults = v;
}

fn set_ops(c: &mut Case, v: Vec<ScriptedOp>) {
    c.ops = v;
}

/// Shrinks a failing case within `max_runs` replays. `on_progress` is
/// called after each replay with the run count and the best case so far.
pub fn shrink(
    case: Case,
    max_runs: u64,
    on_progress: &mut dyn FnMut(u64, &Case),
) -> Result<ShrinkReport, ShrinkError> {
    let original = replay(&case);
    if original.verdict.passed() {
        return Err(ShrinkError(
            "the run passes: there is no failure to shrink".into(),
        ));
    }
    let before = size_of(&case, &original);
    let mut s = Shrinker {
        property: original.verdict.failed_property().to_string(),
        best: case,
        best_result: original,
        runs: 1,
        max_runs,
        on_progress,
    };
    s.cut_at_violation();
    loop {
        let mut progressed = s.fewer_nodes();
        progressed |= s.ddmin(|c| &c.faults, set_faults);
        progressed |= s.ddmin(|c| &c.ops, set_ops);
        progressed |= s.cut_at_violation();
        progressed |= s.weaken_faults();
        progressed |= s.calm_network();
        if !progressed || !s.budget_left() {
            break;
        }
    }
    let after = size_of(&s.best, &s.best_result);
    let mut case = s.best;
    case.expect = crate::case::Expect::Fail(s.property.clone());
    Ok(ShrinkReport {
        property: s.property,
        before,
        after,
        runs: s.runs,
        case,
        verdict: s.best_result.verdict,
    })
}
