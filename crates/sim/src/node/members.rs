//! The cluster's membership as the run sees it: the operator's requests
//! to a leader (membership changes, leadership transfers), and node slots
//! following the configuration: a spare boots from its empty disk as soon
//! as a leader accepts the change adding it (a new voter must be up for
//! that change to commit) and is a member once it commits; a member a
//! committed change removes is shut down for good (at once, or after a
//! while in which it may try to disrupt the cluster). A joining node whose
//! change is lost is shut down too.
//!
//! The committed configuration is followed from the first apply of each
//! configuration entry anywhere: every node applies the same entries in
//! the same order (the checker makes sure), so the first applier of each
//! index sees the cluster's sequence of committed configurations.

use super::*;
use raft_core::membership::{Change, ConfChange};
use raft_core::TransferError;

impl Nodes {
    /// Asks `leader` to propose `change`; the entry's index if it did.
    ///
    /// # Errors
    /// Whatever the node refuses (it is down, not the leader, a change is
    /// pending, ...).
    /// Spares the change adds join (they boot at once).
    pub fn propose_conf_change(
        &mut self,
        leader: usize,
        change: &ConfChange,
        cx: &mut Ctx<'_>,
    ) -> Result<LogIndex, ProposeError> {
        let mut outcome = Err(ProposeError::NotLeader { leader: None });
        self.with_driver(leader, cx, |d, disk, io| {
            outcome = d.propose_conf_change(change, disk, io);
        });
        let (index, term) = outcome?;
        self.check_logged(leader, change, index, term, cx);
        self.finish(leader, cx);
        for c in &change.changes {
            let (Change::AddLearner(id) | Change::AddVoter(id)) = *c else {
                continue;
            };
            let node = id.0 as usize;
            if self.nodes.get(node).map(|n| n.standing) == Some(Standing::Spare) {
                self.nodes[node].standing = Standing::Joining(index, term);
                cx.obs.emit(SimEvent::Joined { node });
                self.boot(node, cx);
            }
        }
        Ok(index)
    }

    /// A leader that accepted `change` at (`index`, `term`) holds it there:
    /// a configuration entry whose payload decodes to the change asked for.
    fn check_logged(
        &mut self,
        leader: usize,
        change: &ConfChange,
        index: LogIndex,
        term: Term,
        cx: &mut Ctx<'_>,
    ) {
        let Some(d) = self.nodes[leader].driver.as_ref() else {
            return;
        };
        let logged = d.raft().log().entry(index).is_some_and(|e| {
            e.term == term
                && e.kind == EntryKind::ConfChange
                && ConfChange::decode(&e.data).as_ref() == Ok(change)
        });
        if !logged {
            let found = format!(
                "n{leader} accepted a membership change at {index}@{term}, but its log does not hold it there"
            );
            let expected = "a leader that accepts a membership change logs it where it says";
            let v = Violation::new(Property::Membership, cx.obs.event_index(), expected, found)
                .with_nodes(&[leader])
                .with_index(index.0);
            cx.run.fail_safety(v, cx.obs);
        }
    }

    /// Asks `leader` to hand leadership to `target`.
    ///
    /// # Errors
    /// Whatever the node refuses (it is down or not the leader, the
    /// target does not vote).
    pub fn transfer_leadership(
        &mut self,
        leader: usize,
        target: usize,
        cx: &mut Ctx<'_>,
    ) -> Result<(), TransferError> {
        let mut outcome = Err(TransferError::NotLeader { leader: None });
        let to = NodeId(target as u64);
        // Watched from before the call: the TimeoutNow may leave at once.
        // A refused request leaves the transfer under way, if any, as it
        // was; a transfer to the leader itself changes nothing.
        let view = &mut self.nodes[leader].view;
        let before = view.transfer;
        if target != leader {
            view.transfer = Some(TransferWatch {
                target,
                term: view.term,
                from_tick: view.ticks,
                sent: false,
            });
        }
        self.with_driver(leader, cx, |d, disk, io| {
            outcome = d.transfer_leadership(to, disk, io);
        });
        if outcome.is_err() {
            self.nodes[leader].view.transfer = before;
        }
        self.check_transfer_target(leader, target, outcome.is_ok(), cx);
        if outcome.is_ok() {
            cx.obs.emit(SimEvent::TransferStarted {
                node: leader,
                target,
            });
            self.finish(leader, cx);
        }
        outcome
    }

    /// A transfer's target is a voter of the leader's configuration
    /// exactly when the leader accepts the transfer (a transfer to the
    /// leader itself is accepted and does nothing).
    fn check_transfer_target(
        &self,
        leader: usize,
        target: usize,
        accepted: bool,
        cx: &mut Ctx<'_>,
    ) {
        let Some(d) = self.nodes[leader].driver.as_ref() else {
            return;
        };
        if d.raft().role() != Role::Leader || target == leader {
            return;
        }
        let voter = d.raft().membership().is_voter(NodeId(target as u64));
        if voter != accepted {
            let found = if accepted {
                format!("n{leader} accepted a transfer to n{target}, no voter of its configuration")
            } else {
                format!("n{leader} refused a transfer to n{target}, a voter of its configuration")
            };
            efficiency_broken(Broken::new("transfer-target", found), leader, cx);
        }
    }

    /// Follows the configuration entries just applied past the cluster's:
    /// each that applies becomes the committed configuration, and the node
    /// slots follow it.
    pub(super) fn follow_committed(&mut self, cx: &mut Ctx<'_>) {
        let entries = std::mem::take(&mut self.confs_committed);
        for e in &entries {
            if e.index <= self.cluster.0 {
                continue;
            }
            self.cluster.0 = e.index;
            // raft-core skips a payload that does not decode or apply, on
            // every node alike; but every configuration entry of a run is a
            // change a leader checked when it accepted it: one that does
            // not decode or apply to the configuration before it is a bug.
            let new = match ConfChange::decode(&e.data).and_then(|c| self.cluster.1.apply(&c)) {
                Ok(new) => new,
                Err(error) => {
                    let found = format!(
                        "the configuration entry committed at {}@{} does not apply to {}: {error}",
                        e.index, e.term, self.cluster.1
                    );
                    let expected = "every committed configuration entry decodes and applies to the configuration before it";
                    let v =
                        Violation::new(Property::Membership, cx.obs.event_index(), expected, found)
                            .with_index(e.index.0);
                    cx.run.fail_safety(v, cx.obs);
                    continue;
                }
            };
            let old = std::mem::replace(&mut self.cluster.1, new);
            cx.obs.emit(SimEvent::ConfChangeCommitted {
                index: e.index,
                old: &old,
                new: &self.cluster.1,
            });
            self.follow_members(cx);
        }
        self.confs_committed = entries;
        self.confs_committed.clear();
    }

    /// Spares the committed configuration holds join (and boot); members
    /// it no longer holds leave (and are shut down, now or a little later).
    fn follow_members(&mut self, cx: &mut Ctx<'_>) {
        let election_us =
            self.config.tick_us * u64::from(self.config.raft.election_timeout_ticks_min);
        for node in 0..self.nodes.len() {
            let member = self.cluster.1.contains(NodeId(node as u64));
            match (self.nodes[node].standing, member) {
                (Standing::Joining(..), true) => self.nodes[node].standing = Standing::Member,
                (Standing::Joining(at, _), false) if at <= self.cluster.0 => {
                    // The change adding it was lost: a later one committed.
                    self.nodes[node].standing = Standing::Leaving;
                    self.shut_down(node, cx);
                }
                (Standing::Member, false) => {
                    self.nodes[node].standing = Standing::Leaving;
                    let delay_us = if self.shutdown_rng.gen_bool(0.5) {
                        0
                    } else {
                        self.shutdown_rng.gen_range(0..=2 * election_us)
                    };
                    cx.queue.push_in(delay_us, Event::Shutdown { node });
                }
                _ => {}
            }
        }
    }

    /// At the heal: a joining node whose change no live node's log holds
    /// any more (lost with a leader) will never join; it leaves.
    pub fn abandon_lost_joins(&mut self, cx: &mut Ctx<'_>) {
        for node in 0..self.nodes.len() {
            let Standing::Joining(at, term) = self.nodes[node].standing else {
                continue;
            };
            let held = self.nodes.iter().any(|n| {
                n.standing == Standing::Member
                    && n.driver
                        .as_ref()
                        .is_some_and(|d| d.raft().log().term(at) == Some(term))
            });
            if !held {
                self.nodes[node].standing = Standing::Leaving;
                self.shut_down(node, cx);
            }
        }
    }

    /// Shuts a node that left the cluster down for good.
    pub fn shut_down(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if n.standing != Standing::Leaving {
            return;
        }
        n.standing = Standing::Removed;
        n.driver = None;
        n.paused = false;
        n.sync_in_flight = false;
        n.crash_at_sync = None;
        n.view.role = Role::Follower;
        for item in n.inbox.drain(..) {
            if let Inbound::Raft(m, _) = &item {
                if m.from != m.to {
                    cx.obs.emit(SimEvent::MessageDropped {
                        m,
                        why: "receiver shut down",
                    });
                }
            }
        }
        self.read_floors.retain(|&(n, ..)| n != node);
        cx.obs.emit(SimEvent::ShutDown { node });
    }
}
