//! A node's life: booting from its disk (a restart rebuilds everything
//! from what the disk kept), crashing (losing unsynced bytes, or keeping
//! a torn prefix of them), restarting, pausing and resuming.

use super::*;
use host::wal::WalError;
use raft_core::DurableState;

impl Nodes {
    /// (Re)builds a node from its disk alone and starts its clock.
    pub fn boot(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let config = self.config.raft_config(node);
        let n = &mut self.nodes[node];
        n.incarnation += 1;
        n.view.watch.restarted();
        let rng = rng::node_stream(self.seed, node as u64, n.incarnation);
        let durable = match n.disk.recover() {
            Ok(durable) => {
                if let Some(undamaged) = n.undamaged.take() {
                    if let Some(v) = damage_applied(node, undamaged, &durable, cx) {
                        cx.run.fail_safety(v, cx.obs);
                        return;
                    }
                }
                durable
            }
            Err(e @ WalError::Corrupt { .. }) if n.undamaged.is_some() => {
                // Detected: the node refuses to start, and stays down.
                n.undamaged = None;
                n.standing = Standing::Failed;
                let error = e.to_string();
                cx.obs.emit(SimEvent::CorruptionDetected {
                    node,
                    error: &error,
                });
                return;
            }
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
        // Its waiting reads go with it (their clients time out).
        self.read_floors.retain(|&(n, ..)| n != node);
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
        self.maybe_flip_bit(node, cx);
        cx.queue.push_in(restart_after_us, Event::Restart { node });
    }

    /// With the seed's bit-flip probability, damages one bit of crashed
    /// `node`'s synced files, keeping the undamaged files to judge what
    /// its recovery reads. Only where losing the node for good leaves a
    /// quorum: three or more voters, no membership changes, and no other
    /// node damaged this run.
    fn maybe_flip_bit(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let p = self.config.bit_flip_probability;
        let quorum_left =
            self.config.bootstrap_voters() >= 3 && self.config.membership_interval_us == 0;
        if p <= 0.0 || !quorum_left || self.damaged || !self.flip_rng.gen_bool(p.min(1.0)) {
            return;
        }
        let n = &mut self.nodes[node];
        let lens = n.disk.fs().durable_lens();
        let total: u64 = lens.iter().map(|(_, len)| len).sum();
        if total == 0 {
            return;
        }
        let mut at = self.flip_rng.gen_range(0..total);
        let bit = self.flip_rng.gen_range(0..8u8);
        let Some((file, offset)) = lens.into_iter().find_map(|(file, len)| {
            if at < len {
                Some((file.to_string(), at))
            } else {
                at -= len;
                None
            }
        }) else {
            return;
        };
        let undamaged = n.disk.fs().clone();
        if n.disk.fs_mut().flip_bit(&file, offset, bit) {
            n.undamaged = Some(undamaged);
            self.damaged = true;
            cx.obs.emit(SimEvent::BitFlipped {
                node,
                file: &file,
                offset,
                bit,
            });
        }
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

/// What `node` read back from damaged files, against what the undamaged
/// files give: a violation if recovery took the damage for data.
fn damage_applied(
    node: usize,
    undamaged: SimFs,
    read: &DurableState,
    cx: &mut Ctx<'_>,
) -> Option<Violation> {
    let event_index = cx.obs.event_index();
    match WalStorage::open(undamaged) {
        Ok((_, written)) => checker::recovered_from_damage(node, event_index, &written, read),
        Err(e) => Some(
            Violation::new(
                Property::Durability,
                event_index,
                "a disk a node restarts from is readable",
                format!("n{node}'s undamaged files cannot be read back: {e}"),
            )
            .with_nodes(&[node]),
        ),
    }
}
