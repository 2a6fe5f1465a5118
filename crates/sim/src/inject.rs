//! Applies the fault schedule: each timed [`Fault`] fires during the chaos
//! phase against the network ([`crate::net::Net`]) or a node ([`Nodes`]).
//!
//! Targets that depend on the run (`Target::Leader`) are resolved when the
//! fault fires; with no leader in place, a node is drawn from a stream of
//! its own, so resolving never shifts the draws that made the schedule.
//!
//! A triggered fault (`Fault::On`) is armed at its time and fires when a
//! node next reaches its protocol point: the observers note the points
//! watched for, and the engine hands them here after each event.
//! This module decides nothing about how a crash or a partition behaves:
//! the node and the network own that.

use crate::faults::{Action, CrashPoint, Fault, Partition, Point, Reconfig, Target, TimedFault};
use crate::node::{Ctx, Nodes, Standing};
use crate::observe::SimEvent;
use crate::queue::{Event, EventQueue};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The schedule of one run and the randomness that resolves its targets.
pub struct Injector {
    schedule: Vec<TimedFault>,
    rng: Xoshiro256PlusPlus,
    /// Triggered faults armed and not fired yet: (point, node, action).
    armed: Vec<(Point, Option<usize>, Action)>,
    /// Reused buffer for the points reached.
    hits: Vec<(usize, Point, raft_core::Term)>,
    /// How long the operator waits before asking again (an election timeout).
    retry_us: u64,
    /// Per fault, how many times the operator asked.
    asked: Vec<u8>,
}

/// Most times the operator asks for one membership change or transfer.
pub const OPERATOR_ASKS_MAX: u8 = 10;

impl Injector {
    /// Applies `schedule`, resolving leader targets with `rng`; the
    /// operator asks again after `retry_us` when a request finds no leader
    /// or is refused for now.
    #[must_use]
    pub fn new(schedule: Vec<TimedFault>, rng: Xoshiro256PlusPlus, retry_us: u64) -> Injector {
        Injector {
            asked: vec![0; schedule.len()],
            schedule,
            rng,
            armed: Vec::new(),
            hits: Vec::new(),
            retry_us: retry_us.max(1),
        }
    }

    /// The schedule.
    #[must_use]
    pub fn schedule(&self) -> &[TimedFault] {
        &self.schedule
    }

    /// Queues every fault at its time.
    pub fn start(&self, queue: &mut EventQueue) {
        for (i, f) in self.schedule.iter().enumerate() {
            queue.push_at(f.at_us, Event::Fault(i));
        }
    }

    /// The node a target names now.
    fn resolve(&mut self, target: Target, nodes: &Nodes) -> usize {
        match target {
            Target::Node(n) => n.min(nodes.len() - 1),
            Target::Leader => nodes
                .leader()
                .unwrap_or_else(|| self.rng.gen_range(0..nodes.len())),
        }
    }

    /// Fires fault number `i` (only during the chaos phase: after the heal,
    /// faults still queued do not fire).
    pub fn fire(&mut self, i: usize, nodes: &mut Nodes, cx: &mut Ctx<'_>) {
        if cx.run.heal_at_us.is_some() {
            return;
        }
        let Some(&TimedFault { fault, .. }) = self.schedule.get(i) else {
            return;
        };
        cx.obs.emit(SimEvent::FaultFired { index: i });
        match fault {
            Fault::Partition(p) => {
                let leader = match p {
                    Partition::IsolateLeader => self.resolve(Target::Leader, nodes),
                    _ => 0,
                };
                cx.net.partition(p, leader, cx.obs);
            }
            Fault::HealPartition => cx.net.heal_partitions(cx.obs),
            Fault::Crash {
                target,
                restart_after_us,
                at,
            } => {
                let node = self.resolve(target, nodes);
                if !nodes.nodes[node].alive() {
                    return;
                }
                match at {
                    CrashPoint::Now => nodes.crash(node, restart_after_us, cx),
                    _ => nodes.nodes[node].crash_at_sync = Some((at, restart_after_us)),
                }
            }
            Fault::Pause {
                target,
                resume_after_us,
            } => {
                let node = self.resolve(target, nodes);
                nodes.pause(node, resume_after_us, cx);
            }
            Fault::On {
                point,
                node,
                action,
            } => {
                self.armed.push((point, node, action));
                cx.obs.watch(point);
            }
            Fault::Reconfigure(change) => self.reconfigure(i, change, nodes, cx),
            Fault::TransferLeader { target } => self.transfer(i, target, nodes, cx),
        }
    }

    /// The operator's membership change `change` (fault `i`), asked of the
    /// leader. Spares only ever join and removed nodes never come back.
    fn reconfigure(&mut self, i: usize, change: Reconfig, nodes: &mut Nodes, cx: &mut Ctx<'_>) {
        use raft_core::membership::{Change, ConfChange};
        let Some(leader) = reachable_leader(nodes) else {
            return self.refused(i, "no reachable leader", true, cx);
        };
        let id = |n: usize| raft_core::NodeId(n as u64);
        let spare = |n: usize| nodes.nodes.get(n).map(|s| s.standing) == Some(Standing::Spare);
        let mut changes = Vec::with_capacity(2);
        match change {
            Reconfig::AddLearner(n) if spare(n) => changes.push(Change::AddLearner(id(n))),
            Reconfig::AddVoter(n) if spare(n) => changes.push(Change::AddVoter(id(n))),
            Reconfig::Replace { add, .. } if !spare(add) => {}
            // Only a learner of the leader's configuration: a node removed
            // there (maybe not yet shut down) never comes back.
            Reconfig::Promote(n) if is_learner(nodes, leader, n) => {
                changes.push(Change::AddVoter(id(n)));
            }
            Reconfig::Promote(_) => {}
            Reconfig::Remove(target) | Reconfig::Replace { remove: target, .. } => {
                let n = match target {
                    Target::Leader => leader,
                    Target::Node(n) => n,
                };
                if let Reconfig::Replace { add, .. } = change {
                    changes.push(Change::AddVoter(id(add)));
                }
                changes.push(Change::Remove(id(n)));
            }
            Reconfig::AddLearner(_) | Reconfig::AddVoter(_) => {}
        }
        if changes.is_empty() {
            let why = "names a node that is no spare (an add) or no learner (a promotion)";
            return self.refused(i, why, false, cx);
        }
        match nodes.propose_conf_change(leader, &ConfChange::auto(changes), cx) {
            Ok(_) => {}
            Err(e) => {
                let retry = !matches!(e, raft_core::ProposeError::InvalidConfChange(_));
                self.refused(i, &e.to_string(), retry, cx);
            }
        }
    }

    /// The operator's leadership transfer to `target` (fault `i`).
    fn transfer(&mut self, i: usize, target: Target, nodes: &mut Nodes, cx: &mut Ctx<'_>) {
        let Some(leader) = reachable_leader(nodes) else {
            return self.refused(i, "no reachable leader", true, cx);
        };
        let to = match target {
            Target::Leader => leader,
            Target::Node(n) => n.min(nodes.len() - 1),
        };
        if let Err(e) = nodes.transfer_leadership(leader, to, cx) {
            let retry = matches!(e, raft_core::TransferError::NotLeader { .. });
            self.refused(i, &e.to_string(), retry, cx);
        }
    }

    /// The operator's request `i` was refused: asked again later if `retry`
    /// and it has not been asked too often.
    fn refused(&mut self, i: usize, why: &str, retry: bool, cx: &mut Ctx<'_>) {
        let asked = &mut self.asked[i];
        *asked += 1;
        let retry = retry && *asked < OPERATOR_ASKS_MAX;
        cx.obs.emit(SimEvent::OperatorRefused {
            index: i,
            why,
            retry,
        });
        if retry {
            cx.queue.push_in(self.retry_us, Event::Fault(i));
        }
    }

    /// Fires the armed faults whose points were reached, first armed first.
    pub fn on_points(&mut self, nodes: &mut Nodes, cx: &mut Ctx<'_>) {
        let mut hits = std::mem::take(&mut self.hits);
        cx.obs.take_hits(&mut hits);
        for &(node, point, term) in &hits {
            if cx.run.heal_at_us.is_some() {
                self.armed.clear();
            }
            if !nodes.nodes[node].alive() {
                continue; // crashed earlier in the same input: not fired
            }
            let fired = self
                .armed
                .iter()
                .position(|&(p, n, _)| p == point && n.map_or(true, |n| n == node));
            let Some(i) = fired else { continue };
            let (_, _, action) = self.armed.remove(i);
            cx.obs.emit(SimEvent::Triggered {
                node,
                point,
                action,
            });
            match action {
                Action::Crash { restart_after_us } => nodes.crash(node, restart_after_us, cx),
                Action::Pause { resume_after_us } => nodes.pause(node, resume_after_us, cx),
                Action::Isolate { heal_after_us } => {
                    let isolation = cx.net.isolate(node, cx.obs);
                    cx.queue
                        .push_in(heal_after_us, Event::EndIsolation { isolation });
                }
                Action::DropVotes => cx.net.hold_votes(node, term, None),
                Action::DelayVotes { delay_us } => cx.net.hold_votes(node, term, Some(delay_us)),
            }
        }
        self.hits = hits;
        cx.obs
            .watch_only(self.armed.iter().map(|&(point, _, _)| point));
    }
}

/// The leader the operator can talk to: a live leader that is not paused.
fn reachable_leader(nodes: &Nodes) -> Option<usize> {
    nodes.leader().filter(|&l| !nodes.nodes[l].paused)
}

/// Whether `node` is a learner in `leader`'s configuration.
fn is_learner(nodes: &Nodes, leader: usize, node: usize) -> bool {
    let id = raft_core::NodeId(node as u64);
    nodes.nodes[leader]
        .driver
        .as_ref()
        .is_some_and(|d| d.raft().membership().is_learner(id))
}
