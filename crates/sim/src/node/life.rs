//! A node's life: booting from its disk (a restart rebuilds everything
//! from what the disk kept), crashing (losing unsynced bytes, or keeping
//! a torn prefix of them), restarting, pausing and resuming.

use super::*;

impl Nodes {
    /// (Re)builds a node from its disk alone and starts its clock.
    pub fn boot(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let config = self.config.raft_config(node);
        let n = &mut self.nodes[node];
        n.incarnation += 1;
        n.view.watch.restarted();
        let rng = rng::node_stream(self.seed, node as u64, n.incarnation);
        let durable = match n.disk.recover() {
            Ok(durable) => durable,
            Err(e) => {
                let found = format!("n{node} cannot read its disk back: {e}");
                let v = Violation::new(
                    Property::Durability,
                    cx.obs.event_index(),
                    "a disk a node restarts from is readable",
                    found,
                )
                .with_nodes(&[node]);
                cx.run.fail_safety(v, cx.obs);
                return;
            }
        };
        if n.incarnation > 1 {
            cx.obs.emit(SimEvent::Rebooting {
                node,
                durable: &durable,
            });
        }
        let raft = match RaftNode::restore(config, durable, rng) {
            Ok(r) => r,
            Err(e) => {
                let found = format!("n{node} cannot restart from its disk: {e}");
                let v = Violation::new(
                    Property::Durability,
                    cx.obs.event_index(),
                    "a disk a node restarts from is consistent",
                    found,
                )
                .with_nodes(&[node]);
                cx.run.fail_safety(v, cx.obs);
                return;
            }
        };
        let membership_before = n.view.membership_index;
        n.view = NodeView {
            role: raft.role(),
            term: raft.term(),
            vote: raft.vote(),
            commit: raft.log().committed(),
            last_written: raft.log().last_index(),
            rejections: 0,
            // A restarted node knows no leader: it holds no lease.
            heard_leader: None,
            membership_index: raft.membership_index(),
            transfer: None,
            ..n.view
        };
        cx.obs.emit(SimEvent::Booted {
            node,
            hard_state: raft.hard_state(),
        });
        if raft.membership_index() != membership_before {
            cx.obs.emit(SimEvent::MembershipChanged {
                node,
                index: raft.membership_index(),
                membership: raft.membership(),
            });
        }
        let Some(mut driver) = snapshots::restore_driver(node, raft, cx) else {
            return;
        };
        driver.set_check_invariants(true);
        driver.set_snapshot_every(self.config.snapshot_every);
        n.driver = Some(driver);
        n.paused = false;
        n.missed_ticks = 0;
        let (tick_us, incarnation) = (n.tick_us, n.incarnation);
        // Stagger the first tick so nodes do not tick in lockstep.
        let offset = self.clock_rng.gen_range(0..tick_us);
        cx.queue.push_in(offset, Event::Tick { node, incarnation });
        cx.run.stop_at_first_violation(cx.obs);
    }

    /// A crash: the driver (memory) is gone, unsynced writes are lost or torn.
    pub fn crash(&mut self, node: usize, restart_after_us: u64, cx: &mut Ctx<'_>) {
        let p = self.config.torn_tail_probability;
        let keep = if p > 0.0 && self.disk_rng.gen_bool(p) {
            let unsynced = self.nodes[node].disk.unsynced_bytes();
            self.disk_rng.gen_range(0..=unsynced)
        } else {
            0
        };
        let n = &mut self.nodes[node];
        let lost = n.disk.crash(usize::try_from(keep).ok());
        n.driver = None;
        n.paused = false;
        for item in n.inbox.drain(..) {
            if let Inbound::Raft(m, _) = &item {
                if m.from != m.to {
                    cx.obs.emit(SimEvent::MessageDropped {
                        m,
                        why: "receiver crashed",
                    });
                }
            }
        }
        n.sync_in_flight = false;
        n.crash_at_sync = None;
        n.view.role = Role::Follower;
        cx.obs.emit(SimEvent::Crashed {
            node,
            lost,
            kept: keep,
        });
        cx.queue.push_in(restart_after_us, Event::Restart { node });
    }

    /// A crashed node comes back from its disk (unless it is no member).
    pub fn restart(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let n = &self.nodes[node];
        let joins = matches!(n.standing, Standing::Member | Standing::Joining(..));
        if n.alive() || !joins || cx.run.over() {
            return;
        }
        self.boot(node, cx);
        let term = self.nodes[node].view.term;
        cx.obs.emit(SimEvent::Restarted { node, term });
    }

    /// Freezes a node for `resume_after_us`.
    pub fn pause(&mut self, node: usize, resume_after_us: u64, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if !n.alive() || n.paused {
            return;
        }
        n.paused = true;
        n.pause_generation += 1;
        let pause = n.pause_generation;
        cx.obs.emit(SimEvent::Paused { node });
        cx.queue
            .push_in(resume_after_us, Event::Resume { node, pause });
    }

    /// Ends pause number `pause` (a later pause is not ended by an earlier one's timer).
    pub fn on_resume(&mut self, node: usize, pause: u64, cx: &mut Ctx<'_>) {
        if self.nodes[node].pause_generation == pause {
            self.resume(node, cx);
        }
    }

    /// A paused node replays its missed ticks, then its inbox.
    pub fn resume(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if !n.paused || !n.alive() {
            return;
        }
        n.paused = false;
        let ticks = std::mem::take(&mut n.missed_ticks);
        cx.obs.emit(SimEvent::Resumed { node, ticks });
        for _ in 0..ticks {
            if cx.run.over() {
                return;
            }
            self.tick_node(node, cx);
        }
        while let Some(item) = self.nodes[node].inbox.pop_front() {
            match item {
                Inbound::Raft(m, sent_us) => self.step(node, m, sent_us, cx),
                Inbound::Client { token, command } => self.propose(node, token, command, cx),
                Inbound::Synced => {
                    self.with_driver(node, cx, |d, disk, io| d.on_synced(disk, io));
                    self.finish(node, cx);
                }
            }
            if cx.run.over() {
                return;
            }
        }
    }
}
