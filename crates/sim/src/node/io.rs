//! A node's effects, wired to the run: what the host driver hands out
//! (messages, answers, faults, observation hooks) becomes network traffic,
//! client replies and the event stream.

use super::*;

/// A node's effects, wired to the run: messages to the network, answers
/// to the clients, everything else to the event stream.
pub struct NodeIo<'a> {
    pub(super) node: usize,
    pub(super) view: &'a mut NodeView,
    /// The other nodes (before and after this one), to tell when all caught up.
    pub(super) others: (&'a [SimNode], &'a [SimNode]),
    pub(super) queue: &'a mut EventQueue,
    pub(super) net: &'a mut Net,
    pub(super) obs: &'a mut Observers,
    pub(super) run: &'a mut RunState,
    pub(super) settle_target: Option<u64>,
    /// The leader lease in the node's ticks (check-quorum on), else 0.
    pub(super) lease_ticks: u64,
    /// What the efficiency rules read of the configuration.
    pub(super) limits: &'a Limits,
    /// The run's election timeout draws.
    pub(super) timeout_draws: &'a mut TimeoutDraws,
    /// Where the node's log ended before the input.
    pub(super) last_before: LogIndex,
    /// The node's state before the input, until its first batch (or the
    /// end of the input) is checked against it.
    pub(super) input: Option<&'a Before>,
    /// The index of the cluster's latest committed configuration entry.
    pub(super) cluster_index: LogIndex,
    /// Configuration entries applied past `cluster_index` (committed
    /// membership changes the cluster has not followed yet).
    pub(super) confs_committed: &'a mut Vec<Entry>,
    /// The node's durable hard state (syncs complete between inputs).
    pub(super) durable: HardState,
    /// Reads handed to nodes without the log, with their floors (see
    /// `Nodes::read_floors`).
    pub(super) read_floors: &'a mut Vec<(usize, ClientToken, LogIndex)>,
}

impl NodeIo<'_> {
    /// A granted vote leaves only once the vote is durable (or a newer
    /// term is): a voter that crashes and restarts must not vote again in
    /// the term (the persistence contract, `ready.rs` step 3). Checked at
    /// the send, the first moment the break shows, rather than by the
    /// double vote it takes a crash at the right moment to expose.
    fn vote_durable_before_reply(&mut self, m: &Message) {
        let d = self.durable;
        if d.term > m.term || (d.term == m.term && d.vote == Some(m.to)) {
            return;
        }
        let found = format!(
            "n{} granted its vote in {} to n{} while its durable hard state is {} voting {:?}",
            self.node, m.term, m.to.0, d.term, d.vote
        );
        let v = Violation::new(
            Property::Durability,
            self.obs.event_index(),
            "a granted vote is sent only once the vote is durable",
            found,
        )
        .with_nodes(&[self.node]);
        self.run.fail_safety(v, self.obs);
    }

    /// The input is handled: if it made no batch, the rules judge the
    /// silence.
    pub(super) fn end_of_input(&mut self, raft: &RaftNode) {
        if let Some(before) = self.input.take() {
            self.answer_checked(before, raft, &[], &[]);
        }
    }

    fn answer_checked(
        &mut self,
        before: &Before,
        raft: &RaftNode,
        sent: &[Message],
        held: &[Message],
    ) {
        if self.run.over() {
            return;
        }
        let ticks = self.view.ticks;
        let watch = &mut self.view.watch;
        let broken = efficiency::check_answer(before, raft, sent, held, self.limits, watch, ticks);
        if let Some(b) = broken {
            self.efficiency_broken(b);
        }
    }

    /// The node put TimeoutNow to `to` in a batch: only the target of the
    /// transfer under way, once.
    fn timeout_now_sent(&mut self, to: usize) {
        let timeout_ticks = self.limits.timeout_ticks();
        match self.view.transfer_under_way(timeout_ticks) {
            Some(t) if t.target == to && !t.sent => {
                if let Some(t) = self.view.transfer.as_mut() {
                    t.sent = true;
                }
            }
            under_way => {
                let what = match under_way {
                    Some(t) if t.target == to => format!("a second TimeoutNow to n{to}"),
                    Some(t) => format!("TimeoutNow to n{to} while handing over to n{}", t.target),
                    None => format!("TimeoutNow to n{to} with no transfer under way"),
                };
                let found = format!("n{} sent {what}", self.node);
                self.efficiency_broken(Broken::new("transfer-hand-over", found));
            }
        }
    }

    /// A read handed to this node without the log was served at `index`
    /// (`None`: refused): at or above every index committed anywhere
    /// before it arrived (see [`super::reads::take_floor`]), or it may miss
    /// a write that completed first. Checked against the commit indexes
    /// the simulator saw, not against a client's timing: a stale read
    /// shows whether or not a client happened to observe the write.
    fn read_answered(&mut self, token: ClientToken, index: Option<LogIndex>) {
        let node = self.node;
        let Some(floor) = super::reads::take_floor(self.read_floors, node, token, index) else {
            return;
        };
        let index = index.unwrap_or_default();
        let found = format!(
            "n{node} served c{}'s read at index {}, below index {} committed before it arrived",
            token.client, index.0, floor.0
        );
        let v = Violation::new(
            Property::Linearizability,
            self.obs.event_index(),
            "a read without the log is served at an index no lower than any committed before \
             it arrived",
            found,
        )
        .with_nodes(&[node])
        .with_index(index.0);
        self.run.fail_safety(v, self.obs);
    }

    fn efficiency_broken(&mut self, b: Broken) {
        let found = format!("n{} broke the {} rule: {}", self.node, b.rule, b.found);
        let v = Violation::new(
            Property::Efficiency,
            self.obs.event_index(),
            b.expected(),
            found,
        )
        .with_nodes(&[self.node]);
        self.run.fail_liveness(v, self.obs);
    }
}

impl Transport for NodeIo<'_> {
    fn send(&mut self, m: Message) {
        if let raft_core::MessageBody::RequestVoteResponse {
            pre_vote: false,
            granted: true,
        } = m.body
        {
            self.vote_durable_before_reply(&m);
        }
        if let raft_core::MessageBody::AppendEntriesResponse { reject, index } = &m.body {
            let node = self.node;
            if reject.is_some() {
                self.view.rejections += 1;
            } else if index.0 > 0 {
                // (A stale leader is told the newer term with index 0: no ack.)
                let term = m.term;
                self.obs.emit(SimEvent::AckSent { node, term });
                let rejections = std::mem::take(&mut self.view.rejections);
                if rejections > 0 {
                    self.obs.emit(SimEvent::ProbeEnded { node, rejections });
                }
            }
        }
        self.net.send(m, self.queue, self.obs);
    }
}

impl Effects<ClientToken, Applied> for NodeIo<'_> {
    fn answer(&mut self, token: ClientToken, answer: Answer<Applied>) {
        let node = self.node;
        match &answer {
            Answer::Read { index, .. } => self.read_answered(token, Some(*index)),
            Answer::ReadRefused => self.read_answered(token, None),
            _ => {}
        }
        // A read: through the log (`None`), or without it at an index.
        let served = |obs: &mut Observers, read_index, follower, lease| {
            let e = SimEvent::ReadServed {
                node,
                read_index,
                follower,
                lease,
            };
            obs.emit(e);
        };
        let reply = match answer {
            Answer::Applied {
                index,
                term,
                output: Applied::Fresh { result, .. } | Applied::Duplicate { result, .. },
            } => {
                if matches!(result, kv::OpResult::Value(_)) {
                    served(self.obs, None, false, false);
                }
                Reply::Ok {
                    result,
                    index,
                    term,
                }
            }
            Answer::Read {
                index,
                output: Applied::Fresh { result, .. },
                lease,
            } => {
                let follower = self.view.role != Role::Leader;
                served(self.obs, Some(index), follower, lease);
                Reply::Ok {
                    result,
                    index,
                    term: Term(0),
                }
            }
            // It stopped leading: the client tries elsewhere.
            Answer::ReadRefused => Reply::Redirect(None),
            Answer::Applied { .. } | Answer::Lost { .. } | Answer::Read { .. } => Reply::Lost,
        };
        self.net
            .reply(token.client, token.attempt, reply, self.queue, self.obs);
    }

    fn fault(&mut self, fault: HostFault) {
        let node = self.node;
        let (property, expected) = match &fault {
            HostFault::NodeInvariant(_) => (
                Property::NodeInvariant,
                "a node's invariants hold after every input",
            ),
            HostFault::Apply { .. } => (Property::StateMachineSafety, "entries apply in log order"),
            _ => (
                Property::HostInvariant,
                "the host's disk boundary and limits hold",
            ),
        };
        let mut v = Violation::new(
            property,
            self.obs.event_index(),
            expected,
            format!("n{node}: {fault}"),
        )
        .with_nodes(&[node]);
        if let HostFault::Apply { index, .. } = fault {
            v = v.with_index(index.0);
        }
        self.run.fail_safety(v, self.obs);
    }

    fn stopped(&mut self) -> bool {
        // The checker's verdict is collected once the input is handled
        // (`Nodes::finish`); a fault or the settle point stops at once.
        self.run.over()
    }

    fn node_state(&mut self, raft: &RaftNode, hard_state: Option<HardState>) {
        let node = self.node;
        let (role, term, vote) = (raft.role(), raft.term(), raft.vote());
        let view = &mut *self.view;
        let (old_role, old_term) = (view.role, view.term);
        let term_or_vote_changed =
            hard_state.is_some_and(|hs| (hs.term, hs.vote) != (view.term, view.vote));
        let voted = vote.filter(|&c| vote != view.vote && c != NodeId(node as u64));
        view.vote = vote;
        if term_or_vote_changed {
            self.obs.emit(SimEvent::TermVote { node, term, vote });
        }
        // A transfer's candidate campaigns at its leader's request: the
        // lease does not hold its vote requests back (thesis §3.10).
        let transfer = self.input.is_some_and(Before::is_transfer_vote);
        let lease_broken = (!transfer)
            .then(|| lease_broken(voted, view.heard_leader, view.ticks, self.lease_ticks))
            .flatten();
        if let Some(found) = lease_broken {
            let expected = format!(
                "with check-quorum, a node votes for no candidate within {} ticks of hearing \
                 its leader (the leader's lease)",
                self.lease_ticks
            );
            let found = format!("n{node} voted in {term} for {found}");
            let v = Violation::new(
                Property::LeaderLease,
                self.obs.event_index(),
                expected,
                found,
            )
            .with_nodes(&[node]);
            self.run.fail_safety(v, self.obs);
        }
        if raft.leader().is_none() && view.heard_leader.is_some_and(|(_, _, t)| term > t) {
            // A newer term with no leader known: the lease is gone.
            view.heard_leader = None;
        }
        if role == old_role && term == old_term {
            return;
        }
        view.role = role;
        view.term = term;
        // A transfer ends with its leader's leadership.
        view.transfer = None;
        // The election timer is redrawn only with a change of role or term.
        let draws = &mut *self.timeout_draws;
        let timeout_broken = efficiency::check_timeout(raft, &mut view.watch, draws, self.limits);
        let changed = SimEvent::RoleChanged {
            node,
            old_role,
            old_term,
            role,
            term,
        };
        self.obs.emit(changed);
        let now_us = self.queue.now_us();
        if let Some((from_us, until_us)) = self.run.in_stability_window(now_us) {
            let expected = format!(
                "no election and the same leader through the idle window \
                 {from_us}..{until_us} us after settling"
            );
            let found = format!(
                "n{node} went from {old_role:?} in {old_term} to {role:?} in {term} at {now_us} us"
            );
            let v = Violation::new(Property::Liveness, self.obs.event_index(), expected, found)
                .with_nodes(&[node]);
            self.run.fail_liveness(v, self.obs);
        }
        if changed.took_role(Role::Leader) {
            view.answered_at_tick = [view.ticks; NODES_MAX];
        }
        if changed.took_role(Role::Leader)
            && self.run.heal_at_us.is_some()
            && self.run.first_leader_after_heal_us.is_none()
        {
            self.run.first_leader_after_heal_us = Some(self.queue.now_us());
            self.run.recovery_check_due = true;
        }
        if let Some(b) = timeout_broken {
            self.efficiency_broken(b);
        }
    }

    fn ready(&mut self, raft: &RaftNode, ready: &Ready) {
        let (sent, held) = (&ready.messages, &ready.persisted_messages);
        // A TimeoutNow may wait for the batch's sync: it is handed over
        // when the node puts it in a batch.
        if raft.role() == Role::Leader || self.view.transfer.is_some() {
            for m in sent.iter().chain(held) {
                match m.body {
                    raft_core::MessageBody::TimeoutNow { .. } => {
                        self.timeout_now_sent(m.to.0 as usize);
                    }
                    raft_core::MessageBody::InstallSnapshot { ref chunk } => {
                        self.obs.emit(SimEvent::SnapshotChunkSent {
                            node: self.node,
                            to: m.to.0 as usize,
                            index: chunk.meta.index,
                            offset: chunk.offset,
                        });
                    }
                    _ => {}
                }
            }
        }
        if raft.role() == Role::Leader {
            let batches =
                efficiency::check_batches(sent, raft.log(), self.last_before, self.limits);
            if let Some(b) = batches {
                self.efficiency_broken(b);
            }
        }
        if let Some(before) = self.input.take() {
            self.answer_checked(before, raft, sent, held);
        }
        efficiency::note_campaign(raft, &mut self.view.watch);
        let commit = ready
            .hard_state
            .map(|hs| hs.commit)
            .filter(|&c| c != self.view.commit);
        if let Some(c) = commit {
            self.view.commit = c;
        }
        let node = self.node;
        if let (Some(first), Some(last)) = (ready.entries.first(), ready.entries.last()) {
            if first.index <= self.view.last_written {
                let entries = self.view.last_written.0 - first.index.0 + 1;
                self.obs.emit(SimEvent::Truncated { node, entries });
            }
            self.view.last_written = last.index;
            if raft.role() == Role::Leader {
                // A leader's batch holds its own new entries only.
                for e in &ready.entries {
                    if e.kind == EntryKind::ConfChange {
                        let index = e.index;
                        self.obs.emit(SimEvent::ConfChangeProposed { node, index });
                    }
                }
            }
        }
        if let Some(snap) = &ready.snapshot {
            // Before the batch: its commit is the snapshot's index.
            self.view.last_written = snap.meta.index;
            self.obs.emit(SimEvent::SnapshotInstalled {
                node,
                meta: &snap.meta,
            });
        }
        let membership_index = raft.membership_index();
        self.obs.emit(SimEvent::Batch {
            node,
            ready,
            commit,
            membership_index,
            log_len: raft.log().entries().len(),
        });
        if membership_index != self.view.membership_index {
            self.view.membership_index = membership_index;
            let membership = raft.membership();
            // Silence is counted against the quorums of the configuration
            // in force: a new configuration gets its own two rounds.
            self.view.answered_at_tick = [self.view.ticks; NODES_MAX];
            self.obs.emit(SimEvent::MembershipChanged {
                node,
                index: membership_index,
                membership,
            });
        }
    }

    fn snapshot_taken(&mut self, _raft: &RaftNode, snapshot: &Snapshot) {
        self.obs.emit(SimEvent::SnapshotTaken {
            node: self.node,
            meta: &snapshot.meta,
            bytes: snapshot.data.len(),
        });
    }

    fn snapshot_installed(&mut self, snapshot: &Snapshot) {
        // Announced with its batch (`ready`); the restored state's digest
        // is taken once the input is handled.
        self.view.installed = Some(snapshot.meta.index);
    }

    fn proposed(&mut self, token: &ClientToken, index: LogIndex, term: Term) {
        self.obs.emit(SimEvent::Proposed {
            node: self.node,
            client: token.client,
            index,
            term,
        });
    }

    fn applying(&mut self, entry: &Entry) {
        let node = self.node;
        self.obs.emit(SimEvent::Applying { node, entry });
    }

    fn applied(&mut self, entry: &Entry, output: &kv::Applied) {
        let node = self.node;
        let duplicate = matches!(output, kv::Applied::Duplicate { .. });
        self.obs.emit(SimEvent::Applied {
            node,
            entry,
            duplicate,
        });
        if entry.kind == EntryKind::ConfChange && entry.index > self.cluster_index {
            // The cluster follows it once this input is handled.
            self.confs_committed.push(entry.clone());
        }
        let Some(target) = self.settle_target else {
            return;
        };
        let (before, after) = self.others;
        let others_caught_up = before.iter().chain(after).all(|n| n.caught_up(target));
        if others_caught_up && entry.index.0 >= target {
            self.run.reach_settle_point();
        }
    }
}
