//! One simulated node's life: boot from its disk, ticks, messages, client
//! requests, disk syncs that take simulated time, crashes (at a moment, or
//! at a sync), restarts, pauses and resumes.
//!
//! The host loop itself is [`host::Driver`], the same code a real node
//! runs: this module plugs in the simulated disk (the real node's
//! write-ahead log, [`WalStorage`], on a simulated file system), the
//! simulated network, and the run's event stream ([`NodeIo`] implements the
//! driver's [`Effects`]). It never decides faults (the injector does); it
//! judges only what a node's own host reports (a [`HostFault`], a disk it
//! cannot restart from) and notes when the last acknowledged write is
//! applied everywhere; the checker judges the rest, from the events.

use crate::efficiency::{self, Before, Broken, Limits, TimeoutDraws, Watch};
use crate::faults::CrashPoint;
use crate::leadership::{lease_broken, quorum_silent_ticks};
use crate::net::Net;
use crate::observe::{Observers, SimEvent};
use crate::phase::RunState;
use crate::profile::{SimConfig, NODES_MAX};
use crate::queue::{Event, EventQueue};
use crate::rng::{self, Stream};
use crate::workload::Reply;
use crate::workload::LOAD_CLIENT;
use bytes::Bytes;
use checker::{Property, Violation};
use host::fs::SimFs;
use host::wal_storage::WalStorage;
use host::{Answer, Driver, Effects, HostFault, Transport};
use kv::{Applied, KvStore};
use raft_core::membership::Membership;
use raft_core::{
    Entry, EntryKind, HardState, LogIndex, Message, MessageBody, NodeId, ProposeError, RaftNode,
    Ready, Role, Snapshot, Term,
};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::VecDeque;

/// Most items a paused node's inbox holds; later ones are dropped.
pub const INBOX_CAPACITY: usize = 10_000;
/// Most missed ticks replayed when a paused node resumes.
pub const MISSED_TICKS_MAX: u32 = 1_000;

pub use reads::FOLLOWER_READ_WAIT_TIMEOUTS;

/// Who a proposal answers: a client's attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientToken {
    /// The client.
    pub client: usize,
    /// Its attempt.
    pub attempt: u32,
}

/// Work a paused node has not seen yet.
#[derive(Clone, Debug)]
pub enum Inbound {
    /// A Raft message and when it was sent.
    Raft(Message, u64),
    /// A client request.
    Client {
        /// The client's attempt.
        token: ClientToken,
        /// The command it carries.
        command: Bytes,
    },
    /// A sync completed.
    Synced,
}

/// What the run last saw of a node (to tell role, term and commit changes).
#[derive(Clone, Copy, Debug)]
pub struct NodeView {
    /// Role.
    pub role: Role,
    /// Term.
    pub term: Term,
    /// Vote.
    pub vote: Option<NodeId>,
    /// Commit index.
    pub commit: LogIndex,
    /// The last index written to its disk.
    pub last_written: LogIndex,
    /// Append rejections it sent in a row.
    pub rejections: u64,
    /// Clock ticks handed to the node, over all its incarnations.
    pub ticks: u64,
    /// While it leads: for each peer, `ticks` when the peer last answered
    /// it in its term (an append or heartbeat response), or when it became
    /// leader.
    pub answered_at_tick: [u64; NODES_MAX],
    /// The last leader the node heard (an append or heartbeat of its term
    /// or newer): `ticks` then, who, and in which term.
    pub heard_leader: Option<(u64, NodeId, Term)>,
    /// The index of the entry that set the configuration it uses.
    pub membership_index: LogIndex,
    /// While it leads: the leadership transfer it was asked for.
    pub transfer: Option<TransferWatch>,
    /// What the efficiency rules remember of the node.
    pub watch: Watch,
    /// The index of a snapshot installed during the input being handled.
    pub installed: Option<LogIndex>,
}

/// A node slot's place in the cluster, which follows the committed
/// configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Not a member yet: down, with an empty disk.
    Spare,
    /// Booted (from an empty disk) when a leader put the change adding it
    /// in its log at (index, term), not committed yet: a new voter must
    /// be up for the change to commit.
    Joining(LogIndex, Term),
    /// A member of the committed configuration (a bootstrap voter, or a
    /// spare a committed change added): up, or crashed and restarting.
    Member,
    /// Removed by a committed change, still running until its shutdown.
    Leaving,
    /// Shut down for good.
    Removed,
    /// Refused to start: recovery found its files damaged. Down for good
    /// (still in the configuration, like a member that never comes back).
    Failed,
}

/// A simulated node's disk: the write-ahead log a real node writes, on an
/// in-memory file system that crashes and flips bits.
pub type Disk = WalStorage<SimFs>;

/// A simulated log is rewritten once past this many bytes (and twice what
/// it holds): restarts replay little, and rewrites run under the faults.
pub const WAL_REWRITE_BYTES: u64 = 16 << 10;

/// An empty simulated disk.
fn new_disk() -> Disk {
    let mut disk = Disk::default();
    disk.set_rewrite_min(WAL_REWRITE_BYTES);
    disk
}

/// One simulated server: a driver (None while crashed) and its disk.
pub struct SimNode {
    /// Its place in the cluster.
    pub standing: Standing,
    /// The host loop and the node's kv store; None while crashed.
    pub driver: Option<Driver<KvStore, ClientToken>>,
    /// The disk, which survives crashes.
    pub disk: Disk,
    /// The files as they were before a bit of them was flipped, until the
    /// node reads them back (what recovery must either refuse or match).
    pub undamaged: Option<SimFs>,
    /// Incremented at every boot.
    pub incarnation: u64,
    tick_us: u64,
    /// Frozen: ticks, messages and sync completions pile up.
    pub paused: bool,
    /// Counts pauses, so a resume ends only the pause that scheduled it.
    pub pause_generation: u64,
    /// Ticks missed while paused.
    pub missed_ticks: u32,
    /// Work that arrived while paused.
    pub inbox: VecDeque<Inbound>,
    sync_in_flight: bool,
    /// A crash waiting for the next sync: (before or after it, downtime).
    pub crash_at_sync: Option<(CrashPoint, u64)>,
    /// What the run last saw of it.
    pub view: NodeView,
}

impl SimNode {
    /// Whether the node is up.
    #[must_use]
    pub fn alive(&self) -> bool {
        self.driver.is_some()
    }

    /// Whether the node is up and leads.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.alive() && self.view.role == Role::Leader
    }

    /// Whether the node need not catch up to `target` to settle the run,
    /// or has: only members must apply every acknowledged write.
    #[must_use]
    pub fn caught_up(&self, target: u64) -> bool {
        self.standing != Standing::Member || (self.alive() && self.applied_index() >= target)
    }

    /// The index its kv store applied (0 while crashed).
    #[must_use]
    pub fn applied_index(&self) -> u64 {
        self.driver
            .as_ref()
            .map_or(0, |d| d.state_machine().applied_index())
    }
}

/// The run's state a node handler may touch besides the nodes themselves.
pub struct Ctx<'a> {
    /// Time and events.
    pub queue: &'a mut EventQueue,
    /// Links.
    pub net: &'a mut Net,
    /// The event stream.
    pub obs: &'a mut Observers,
    /// Phase and verdict.
    pub run: &'a mut RunState,
    /// While settling: the highest acknowledged write's index.
    pub settle_target: Option<u64>,
}

/// Every node of a run, with the randomness of their disks and clocks.
pub struct Nodes {
    /// The nodes, by index.
    pub nodes: Vec<SimNode>,
    seed: u64,
    config: SimConfig,
    limits: Limits,
    timeout_draws: TimeoutDraws,
    disk_rng: Xoshiro256PlusPlus,
    clock_rng: Xoshiro256PlusPlus,
    /// The cluster's committed configuration and the entry that set it.
    pub cluster: (LogIndex, Membership),
    /// Configuration entries applied past the cluster's (see [`NodeIo`]).
    confs_committed: Vec<Entry>,
    shutdown_rng: Xoshiro256PlusPlus,
    flip_rng: Xoshiro256PlusPlus,
    /// A node's files were damaged this run (at most one is).
    damaged: bool,
    /// How each client read is served (drawn only when reads may go by
    /// ReadIndex).
    read_rng: Xoshiro256PlusPlus,
    /// Reads handed to a node without the log and not answered yet: the
    /// node, the client's token, and the highest commit index any node
    /// knew when the read arrived (the index it must be served at, or
    /// above).
    read_floors: Vec<(usize, ClientToken, LogIndex)>,
}

impl Nodes {
    /// The nodes of run `seed`, not yet booted.
    #[must_use]
    pub fn new(seed: u64, config: &SimConfig) -> Nodes {
        let voters = config.bootstrap_voters();
        let nodes = (0..config.nodes)
            .map(|i| SimNode {
                standing: if i < voters {
                    Standing::Member
                } else {
                    Standing::Spare
                },
                driver: None,
                disk: new_disk(),
                undamaged: None,
                incarnation: 0,
                tick_us: config
                    .node_tick_us
                    .get(i)
                    .copied()
                    .unwrap_or(config.tick_us)
                    .max(1),
                paused: false,
                pause_generation: 0,
                missed_ticks: 0,
                inbox: VecDeque::new(),
                sync_in_flight: false,
                crash_at_sync: None,
                view: NodeView {
                    role: Role::Follower,
                    term: Term(0),
                    vote: None,
                    commit: LogIndex(0),
                    last_written: LogIndex(0),
                    rejections: 0,
                    ticks: 0,
                    answered_at_tick: [0; NODES_MAX],
                    heard_leader: None,
                    membership_index: LogIndex(0),
                    transfer: None,
                    watch: Watch::default(),
                    installed: None,
                },
            })
            .collect();
        let bootstrap: Vec<NodeId> = (0..voters as u64).map(NodeId).collect();
        Nodes {
            nodes,
            seed,
            config: config.clone(),
            limits: Limits::of(config),
            timeout_draws: TimeoutDraws::default(),
            disk_rng: rng::stream(seed, Stream::Disk),
            clock_rng: rng::stream(seed, Stream::Clock),
            cluster: (LogIndex(0), Membership::bootstrap(&bootstrap)),
            confs_committed: Vec::new(),
            shutdown_rng: rng::stream(seed, Stream::Shutdown),
            flip_rng: rng::stream(seed, Stream::BitFlips),
            damaged: false,
            read_rng: rng::stream(seed, Stream::Reads),
            read_floors: Vec::new(),
        }
    }

    /// The number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The first live leader, if any.
    #[must_use]
    pub fn leader(&self) -> Option<usize> {
        self.nodes.iter().position(SimNode::is_leader)
    }

    /// Runs `f` on node `node`'s driver with the effects wired to the run.
    fn with_driver(
        &mut self,
        node: usize,
        cx: &mut Ctx<'_>,
        f: impl FnOnce(&mut Driver<KvStore, ClientToken>, &mut Disk, &mut NodeIo<'_>),
    ) {
        self.with_driver_after(node, cx, None, f);
    }

    /// Like `with_driver`, with the node's state before the input captured
    /// for the efficiency rules (`None`: an input only the batch rule
    /// looks at).
    fn with_driver_after(
        &mut self,
        node: usize,
        cx: &mut Ctx<'_>,
        input: Option<&Before>,
        f: impl FnOnce(&mut Driver<KvStore, ClientToken>, &mut Disk, &mut NodeIo<'_>),
    ) {
        let (others_before, rest) = self.nodes.split_at_mut(node);
        let Some((me, after)) = rest.split_first_mut() else {
            return;
        };
        let Some(driver) = me.driver.as_mut() else {
            return;
        };
        let last_before = driver.raft().log().last_index();
        let mut io = NodeIo {
            node,
            view: &mut me.view,
            others: (others_before, after),
            queue: cx.queue,
            net: cx.net,
            obs: cx.obs,
            run: cx.run,
            settle_target: cx.settle_target,
            lease_ticks: if self.config.raft.check_quorum {
                u64::from(self.config.raft.election_timeout_ticks_min)
            } else {
                0
            },
            limits: &self.limits,
            timeout_draws: &mut self.timeout_draws,
            read_floors: &mut self.read_floors,
            last_before,
            input,
            cluster_index: self.cluster.0,
            confs_committed: &mut self.confs_committed,
            durable: me.disk.hard_state(),
        };
        f(driver, &mut me.disk, &mut io);
        io.end_of_input(driver.raft());
        if let Some(index) = me.view.installed.take() {
            snapshots::restored(node, index, driver.state_machine(), cx.obs);
        }
        if !self.confs_committed.is_empty() {
            self.follow_committed(cx);
        }
    }

    /// After the driver handled an input: end the run at a violation, or
    /// start a sync for what it wrote.
    fn finish(&mut self, node: usize, cx: &mut Ctx<'_>) {
        cx.run.stop_at_first_violation(cx.obs);
        if cx.run.over() {
            return;
        }
        self.start_sync(node, cx);
    }

    // ----- inputs ----------------------------------------------------------

    /// A clock tick of incarnation `incarnation`.
    pub fn on_tick(&mut self, node: usize, incarnation: u64, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if !n.alive() || n.incarnation != incarnation {
            return;
        }
        cx.queue
            .push_in(n.tick_us, Event::Tick { node, incarnation });
        if n.paused {
            n.missed_ticks = (n.missed_ticks + 1).min(MISSED_TICKS_MAX);
            return;
        }
        self.tick_node(node, cx);
    }

    /// Hands one clock tick to a live, running node; a leader that has not
    /// stepped down after two quorum-check rounds without answers from a
    /// quorum is a liveness failure (check-quorum, when on).
    fn tick_node(&mut self, node: usize, cx: &mut Ctx<'_>) {
        // Most ticks only count: then there is no batch to wire up.
        let counted = self.nodes[node]
            .driver
            .as_mut()
            .map_or(true, Driver::tick_only_counts);
        if !counted {
            self.with_driver(node, cx, |d, disk, io| d.after_tick(disk, io));
        }
        self.nodes[node].view.ticks += 1;
        self.check_follower_read_wait(node, cx);
        let n = &mut self.nodes[node];
        if self.config.raft.check_quorum && n.is_leader() {
            let rounds = 2 * u64::from(self.config.raft.election_timeout_ticks_min);
            let membership = n.driver.as_ref().map(|d| d.raft().membership());
            if let Some(silent) = membership
                .and_then(|m| quorum_silent_ticks(&n.view.answered_at_tick, n.view.ticks, node, m))
            {
                if silent > rounds {
                    let expected = format!(
                        "a leader steps down within two quorum checks ({rounds} ticks) \
                         without answers from a quorum"
                    );
                    let found = format!(
                        "n{node} still leads term {} after {silent} ticks without answers \
                         from a quorum",
                        n.view.term
                    );
                    let v =
                        Violation::new(Property::Liveness, cx.obs.event_index(), expected, found)
                            .with_nodes(&[node]);
                    cx.run.fail_liveness(v, cx.obs);
                }
            }
        }
        self.finish(node, cx);
    }

    /// A message arrives: lost if the node is down, queued if it is paused.
    pub fn on_deliver(&mut self, m: Message, sent_us: u64, cx: &mut Ctx<'_>) {
        let node = m.to.0 as usize;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let sent = m.from != m.to;
        if !n.alive() {
            if sent {
                cx.obs.emit(SimEvent::MessageDropped {
                    m: &m,
                    why: "receiver down",
                });
            }
            return;
        }
        if n.paused {
            if n.inbox.len() < INBOX_CAPACITY {
                n.inbox.push_back(Inbound::Raft(m, sent_us));
            } else if sent {
                cx.obs.emit(SimEvent::MessageDropped {
                    m: &m,
                    why: "paused receiver's inbox full",
                });
            }
            return;
        }
        self.step(node, m, sent_us, cx);
    }

    /// Hands a delivered message to the node.
    fn step(&mut self, node: usize, m: Message, sent_us: u64, cx: &mut Ctx<'_>) {
        cx.obs.emit(SimEvent::Delivered { m: &m, sent_us });
        let view = &mut self.nodes[node].view;
        let answer = matches!(
            m.body,
            MessageBody::AppendEntriesResponse { .. }
                | MessageBody::HeartbeatResponse { .. }
                | MessageBody::InstallSnapshotResponse { .. }
        );
        if answer && view.role == Role::Leader && m.term == view.term {
            if let Some(at) = view.answered_at_tick.get_mut(m.from.0 as usize) {
                *at = view.ticks;
            }
        }
        let from_leader = matches!(
            m.body,
            MessageBody::AppendEntries { .. }
                | MessageBody::Heartbeat { .. }
                | MessageBody::InstallSnapshot { .. }
        );
        if from_leader && m.term >= view.term {
            view.heard_leader = Some((view.ticks, m.from, m.term));
            view.watch.lease_from_tick = Some(view.ticks);
        }
        let (ticks, lease_from) = (view.ticks, view.watch.lease_from_tick);
        let k = &self.config.raft;
        let lease_ticks = u64::from(k.election_timeout_ticks_min);
        let check_quorum = k.check_quorum;
        let lease_over =
            || !check_quorum || lease_from.map_or(true, |at| ticks - at >= lease_ticks);
        let input = self.nodes[node]
            .driver
            .as_ref()
            .and_then(|d| Before::message(d.raft(), &m, lease_over));
        let transfer = self.transfer_expectation(node, &m);
        self.with_driver_after(node, cx, input.as_ref(), |d, disk, io| d.step(m, disk, io));
        if let Some(expected) = transfer {
            self.check_transfer(node, expected, cx);
        }
        self.finish(node, cx);
    }

    /// A client request arrives: lost if the node is down, queued if paused.
    pub fn on_client_request(
        &mut self,
        node: usize,
        token: ClientToken,
        command: Bytes,
        cx: &mut Ctx<'_>,
    ) {
        let n = &mut self.nodes[node];
        if !n.alive() {
            return; // lost; the client times out
        }
        if n.paused {
            if n.inbox.len() < INBOX_CAPACITY {
                n.inbox.push_back(Inbound::Client { token, command });
            }
            return;
        }
        self.propose(node, token, command, cx);
    }

    /// A burst of the load generator's proposals arrives (lost if the node
    /// is down or paused); answers go nowhere.
    pub fn on_burst(&mut self, node: usize, commands: Vec<Bytes>, cx: &mut Ctx<'_>) {
        let n = &self.nodes[node];
        if !n.alive() || n.paused {
            return;
        }
        let token = ClientToken {
            client: LOAD_CLIENT,
            attempt: 0,
        };
        let input = n.driver.as_ref().map(|d| Before::burst(d.raft()));
        let handing_over = self.handing_over(node);
        let mut accepted = 0;
        self.with_driver_after(node, cx, input.as_ref(), |d, disk, io| {
            accepted = d.propose_many(commands.into_iter().map(|c| (c, token)), disk, io);
        });
        if let (Some(t), true) = (handing_over, accepted > 0) {
            let found = format!(
                "n{node} accepted {accepted} proposals while handing leadership to n{}",
                t.target
            );
            efficiency_broken(Broken::new("transfer-refuses", found), node, cx);
        }
        self.finish(node, cx);
    }

    /// Proposes a client's command, or serves a read by ReadIndex (as the
    /// seed's `read_index_probability` draws it, per read); a refusal is
    /// answered at once.
    fn propose(&mut self, node: usize, token: ClientToken, command: Bytes, cx: &mut Ctx<'_>) {
        let p = self.config.read_index_probability;
        if p > 0.0 && is_get(&command) && self.read_rng.gen_bool(p.min(1.0)) {
            self.read(node, token, command, cx);
            return;
        }
        let mut refused = None;
        let handing_over = self.handing_over(node);
        self.with_driver(node, cx, |d, disk, io| {
            refused = d.propose(command, token, disk, io).err();
        });
        match refused {
            None => {
                if let Some(t) = handing_over {
                    let found = format!(
                        "n{node} accepted a proposal while handing leadership to n{}",
                        t.target
                    );
                    efficiency_broken(Broken::new("transfer-refuses", found), node, cx);
                }
                self.finish(node, cx);
            }
            Some(e) => {
                let reply = match e {
                    ProposeError::NotLeader { leader } => {
                        Reply::Redirect(leader.map(|l| l.0 as usize))
                    }
                    // (The membership refusals answer only membership changes.)
                    ProposeError::TooManyUncommitted
                    | ProposeError::ConfChangePending
                    | ProposeError::NoCommitInTerm
                    | ProposeError::InvalidConfChange(_)
                    | ProposeError::TransferInProgress => Reply::Busy,
                };
                cx.net
                    .reply(token.client, token.attempt, reply, cx.queue, cx.obs);
            }
        }
    }

    // ----- the disk --------------------------------------------------------

    /// Starts a sync of everything written so far, unless one is running.
    fn start_sync(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if !n.alive() || n.sync_in_flight || !n.disk.has_unsynced() {
            return;
        }
        n.sync_in_flight = true;
        let (incarnation, upto_seq) = (n.incarnation, n.disk.issued_seq());
        let (lo, hi) = (
            self.config.sync_us_min,
            self.config.sync_us_max.max(self.config.sync_us_min),
        );
        let latency = self.disk_rng.gen_range(lo..=hi);
        let done = Event::SyncDone {
            node,
            incarnation,
            upto_seq,
        };
        cx.queue.push_in(latency, done);
    }

    /// A sync completes (unless a crash was waiting for it).
    pub fn on_sync_done(&mut self, node: usize, incarnation: u64, upto: u64, cx: &mut Ctx<'_>) {
        let n = &mut self.nodes[node];
        if !n.alive() || n.incarnation != incarnation {
            return;
        }
        if let Some((point @ CrashPoint::BeforeSync, restart_after_us)) = n.crash_at_sync {
            cx.obs.emit(SimEvent::CrashPointReached { node, point });
            self.crash(node, restart_after_us, cx);
            return;
        }
        let entries = match n.disk.sync_to(upto) {
            Ok(entries) => entries,
            Err(e) => {
                let found = format!("n{node} cannot sync its disk: {e}");
                let v = Violation::new(
                    Property::Durability,
                    cx.obs.event_index(),
                    "a simulated disk syncs",
                    found,
                )
                .with_nodes(&[node]);
                cx.run.fail_safety(v, cx.obs);
                return;
            }
        };
        n.sync_in_flight = false;
        let hard_state = n.disk.hard_state();
        cx.obs.emit(SimEvent::DurableHardState {
            node,
            hard_state,
            entries,
        });
        let n = &mut self.nodes[node];
        if let Some((point, restart_after_us)) = n.crash_at_sync.take() {
            cx.obs.emit(SimEvent::CrashPointReached { node, point });
            self.crash(node, restart_after_us, cx);
            return;
        }
        if n.paused {
            n.inbox.push_back(Inbound::Synced);
            return;
        }
        self.with_driver(node, cx, |d, disk, io| d.on_synced(disk, io));
        self.finish(node, cx);
    }
}

/// A broken efficiency rule of `node`, found outside its effects.
fn efficiency_broken(b: Broken, node: usize, cx: &mut Ctx<'_>) {
    let found = format!("n{node} broke the {} rule: {}", b.rule, b.found);
    let v = Violation::new(
        Property::Efficiency,
        cx.obs.event_index(),
        b.expected(),
        found,
    )
    .with_nodes(&[node]);
    cx.run.fail_liveness(v, cx.obs);
}

mod io;
mod life;
mod members;
mod reads;
mod snapshots;
mod transfers;

pub use io::NodeIo;
pub use transfers::TransferWatch;
#[cfg(test)]
use transfers::{transfer_answer_broken, TransferAfter, TransferExpectation};

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;

/// Whether an encoded client command is a get.
fn is_get(command: &[u8]) -> bool {
    matches!(
        kv::Command::decode(command),
        Ok(kv::Command {
            op: kv::Op::Get { .. },
            ..
        })
    )
}
