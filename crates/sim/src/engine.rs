//! The discrete-event engine: one seeded run of a simulated cluster.
//!
//! Events sit in a queue ordered by (virtual time, insertion sequence), so
//! ties resolve first-in-first-out and a run is a pure function of its seed
//! and configuration. No wall clock is read anywhere in a run.
//!
//! Each node host follows raft-core's persistence contract exactly: a
//! `Ready` is written to the simulated disk, the leader's replication
//! messages leave at once, every other message waits until a sync covers
//! the batch, durability is reported with `on_persisted`, and committed
//! entries are applied to the node's kv store.

use crate::case::{Case, Expect, ScriptedOp, CASE_VERSION};
use crate::disk::Disk;
use crate::faults::{self, CrashPoint, Fault, Partition, Target, TimedFault};
use crate::profile::SimConfig;
use crate::rng::{self, Stream};
use crate::stats::{RunResult, RunStats, Verdict};
use crate::timeline::{Timeline, TimelineEvent};
use crate::workload::{Client, Reply};
use bytes::Bytes;
use checker::{
    check_durability, check_linearizability, check_liveness, AckedWrite, FinalNode, HistoryOp,
    LinearizabilityOutcome, LivenessBounds, Property, SafetyChecker, Violation,
};
use kv::{Applied, KvStore};
use raft_core::{
    Config, Entry, HardState, LogIndex, Message, NodeId, ProposeError, RaftNode, Ready, Role, Term,
};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Most items a paused node's inbox holds; later ones are dropped.
const INBOX_CAPACITY: usize = 10_000;
/// Most missed ticks replayed when a paused node resumes.
const MISSED_TICKS_MAX: u32 = 1_000;
/// Hard cap on events per run: a run that needs more is a bug.
pub const EVENTS_MAX: u64 = 5_000_000;
/// Longest the live nodes get, after recovery, to apply every acknowledged write.
const SETTLE_US_MAX: u64 = 2_000_000;
/// Linearizability search budget per key.
const LINEARIZABILITY_STEPS_MAX: u64 = 1_000_000;
/// Client backoff after a refusal without a leader hint.
const CLIENT_BACKOFF_US: u64 = 20_000;

/// What happens at a point of simulated time.
#[derive(Clone, Debug)]
enum Event {
    Tick {
        node: usize,
        incarnation: u64,
    },
    Deliver {
        m: Message,
        sent_us: u64,
    },
    SyncDone {
        node: usize,
        incarnation: u64,
        upto_seq: u64,
    },
    ClientStart {
        client: usize,
    },
    ClientRequest {
        node: usize,
        client: usize,
        attempt: u32,
    },
    ClientReply {
        client: usize,
        attempt: u32,
        reply: Reply,
    },
    ClientTimeout {
        client: usize,
        attempt: u32,
    },
    Fault(usize),
    Restart {
        node: usize,
    },
    Resume {
        node: usize,
        pause: u64,
    },
    Heal,
    LivenessDeadline,
    SettleDeadline,
}

/// The event queue: a heap of small (time, sequence, slot) keys over a slab
/// of events, so sifting moves 24 bytes rather than whole messages.
#[derive(Default)]
struct EventQueue {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slots: Vec<Option<Event>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl EventQueue {
    fn push(&mut self, at_us: u64, event: Event) {
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(event);
                i
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.next_seq += 1;
        self.heap.push(Reverse((at_us, self.next_seq, slot)));
    }

    fn pop(&mut self) -> Option<(u64, Event)> {
        let Reverse((at_us, _, slot)) = self.heap.pop()?;
        self.free.push(slot);
        self.slots[slot as usize].take().map(|e| (at_us, e))
    }
}

/// Work a paused node has not seen yet.
#[derive(Clone, Debug)]
enum Inbound {
    Raft(Message, u64),
    Client { client: usize, attempt: u32 },
    Synced,
}

/// A proposal this node made for a client, awaiting its index's application.
#[derive(Clone, Copy, Debug)]
struct PendingProposal {
    index: LogIndex,
    term: Term,
    client: usize,
    attempt: u32,
}

/// One simulated server: a raft-core node, its disk and its kv store.
struct Host {
    raft: Option<RaftNode>,
    disk: Disk,
    kv: KvStore,
    incarnation: u64,
    tick_us: u64,
    paused: bool,
    /// Counts pauses, so a resume ends only the pause that scheduled it.
    pause_generation: u64,
    missed_ticks: u32,
    inbox: VecDeque<Inbound>,
    /// Messages waiting for the disk batch they depend on: (batch seq, message).
    waiting_messages: VecDeque<(u64, Message)>,
    /// Durability reports waiting for their batch: (batch seq, index, term).
    waiting_persisted: VecDeque<(u64, LogIndex, Term)>,
    sync_in_flight: bool,
    /// A crash waiting for the next sync: (before or after it, downtime).
    crash_at_sync: Option<(CrashPoint, u64)>,
    pending: Vec<PendingProposal>,
    ready: Ready,
    role: Role,
    term: Term,
    vote: Option<NodeId>,
    commit: LogIndex,
    /// The hard state last shown in the trace.
    traced_hard_state: HardState,
}

/// Final observable state of one node, for `--dump`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeDump {
    /// Node index.
    pub node: usize,
    /// Whether it was up at the end.
    pub alive: bool,
    /// Role at the end.
    pub role: String,
    /// Term at the end.
    pub term: u64,
    /// Commit index at the end.
    pub commit: u64,
    /// (index, term, command) of each log entry.
    pub log: Vec<(u64, u64, String)>,
    /// The kv store's contents.
    pub kv: Vec<(String, String)>,
    /// The kv digest.
    pub digest: u64,
}

/// A seeded simulation of one cluster run.
pub struct Simulation {
    seed: u64,
    config: SimConfig,
    now_us: u64,
    queue: EventQueue,
    hosts: Vec<Host>,
    clients: Vec<Client>,
    history: Vec<HistoryOp>,
    /// The node each history op was first sent to (for recording a case).
    history_via: Vec<usize>,
    /// Scripted operations per client (a case); `None` draws them from the seed.
    script: Option<Vec<VecDeque<ScriptedOp>>>,
    schedule: Vec<TimedFault>,
    net_rng: Xoshiro256PlusPlus,
    disk_rng: Xoshiro256PlusPlus,
    clock_rng: Xoshiro256PlusPlus,
    work_rng: Xoshiro256PlusPlus,
    client_net_rng: Xoshiro256PlusPlus,
    fault_rng: Xoshiro256PlusPlus,
    /// blocked[from] has bit `to` set when from -> to is cut.
    blocked: Vec<u32>,
    chaos: bool,
    heal_at_us: Option<u64>,
    done: bool,
    stats: RunStats,
    verdict: Verdict,
    /// The incremental safety checker (None: checks off, for measuring cost).
    checker: Option<SafetyChecker>,
    /// Acknowledged writes, for the durability check.
    acked: Vec<AckedWrite>,
    /// When a leader was first in place after the heal.
    first_leader_after_heal_us: Option<u64>,
    /// After recovery: no new client operations; the run ends once every live
    /// node applied the highest acknowledged write.
    settling: bool,
    /// The clients (ids) that must complete an operation invoked after the heal.
    liveness_clients: Vec<u64>,
    events: u64,
    trace_hash: u64,
    trace: Option<Vec<String>>,
    timeline: Option<Timeline>,
}

impl Simulation {
    /// Builds the run of `seed` with the given configuration and fault schedule.
    #[must_use]
    pub fn new(seed: u64, config: SimConfig, schedule: Vec<TimedFault>) -> Simulation {
        let hosts = (0..config.nodes)
            .map(|i| Host {
                raft: None,
                disk: Disk::default(),
                kv: KvStore::new(),
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
                waiting_messages: VecDeque::new(),
                waiting_persisted: VecDeque::new(),
                sync_in_flight: false,
                crash_at_sync: None,
                pending: Vec::new(),
                ready: Ready::default(),
                role: Role::Follower,
                term: Term(0),
                vote: None,
                commit: LogIndex(0),
                traced_hard_state: HardState::default(),
            })
            .collect();
        let clients = (0..config.clients)
            .map(|i| Client::new(i as u64 + 1, i % config.nodes))
            .collect();
        Simulation {
            seed,
            now_us: 0,
            queue: EventQueue::default(),
            hosts,
            clients,
            history: Vec::new(),
            history_via: Vec::new(),
            script: None,
            schedule,
            net_rng: rng::stream(seed, Stream::Network),
            disk_rng: rng::stream(seed, Stream::Disk),
            clock_rng: rng::stream(seed, Stream::Clock),
            work_rng: rng::stream(seed, Stream::Workload),
            client_net_rng: rng::stream(seed, Stream::ClientNetwork),
            fault_rng: rng::stream(seed, Stream::Faults),
            blocked: vec![0; config.nodes],
            chaos: true,
            heal_at_us: None,
            done: false,
            stats: RunStats::default(),
            verdict: Verdict::Pass,
            checker: Some(SafetyChecker::new(config.nodes)),
            acked: Vec::new(),
            first_leader_after_heal_us: None,
            settling: false,
            liveness_clients: Vec::new(),
            events: 0,
            trace_hash: 0,
            trace: None,
            timeline: None,
            config,
        }
    }

    /// The run of `seed` in the profile's swarm: configuration and fault
    /// schedule drawn from the seed's streams.
    #[must_use]
    pub fn from_seed(seed: u64, profile: &crate::profile::Profile) -> Simulation {
        Simulation::from_seed_with_nodes(seed, profile, None)
    }

    /// Like [`Simulation::from_seed`], with the cluster size forced.
    #[must_use]
    pub fn from_seed_with_nodes(
        seed: u64,
        profile: &crate::profile::Profile,
        nodes: Option<usize>,
    ) -> Simulation {
        let config = profile.draw(&mut rng::stream(seed, Stream::Swarm), nodes);
        let schedule = faults::generate(&config, &mut rng::stream(seed, Stream::Faults));
        Simulation::new(seed, config, schedule)
    }

    /// The run a case describes: its configuration, faults and client
    /// operations, with the case's seed for everything else.
    #[must_use]
    pub fn from_case(case: &Case) -> Simulation {
        let mut sim = Simulation::new(case.seed, case.config.clone(), case.faults.clone());
        let mut per_client = vec![VecDeque::new(); case.config.clients];
        for op in &case.ops {
            if let Some(queue) = per_client.get_mut(op.client) {
                queue.push_back(op.clone());
            }
        }
        sim.script = Some(per_client);
        sim
    }

    /// The case that replays this run exactly: its configuration, fault
    /// schedule and every client operation invoked so far.
    #[must_use]
    pub fn record_case(&self) -> Case {
        let ops = self
            .history
            .iter()
            .zip(&self.history_via)
            .map(|(h, &via)| ScriptedOp {
                at_us: h.invoke_us,
                client: (h.client_id - 1) as usize,
                op: h.op.clone(),
                via: Some(via),
            })
            .collect();
        let expect = match &self.verdict {
            Verdict::Pass => Expect::Pass,
            v => Expect::Fail(v.invariant().to_string()),
        };
        Case {
            version: CASE_VERSION,
            seed: self.seed,
            config: self.config.clone(),
            faults: self.schedule.clone(),
            ops,
            expect,
            asserts: Vec::new(),
        }
    }

    /// Turns the safety, durability and linearizability checks off (to
    /// measure their cost). Liveness is still checked.
    pub fn disable_checker(&mut self) {
        self.checker = None;
    }

    /// Records a readable line per event (for `replay --trace`).
    pub fn enable_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// Records the structured timeline (for `replay --html`).
    pub fn enable_timeline(&mut self, title: &str) {
        self.timeline = Some(Timeline {
            title: title.to_string(),
            nodes: self.config.nodes,
            ..Timeline::default()
        });
    }

    /// The recorded timeline, completed with the run's end (after `run`).
    #[must_use]
    pub fn timeline(&self) -> Option<Timeline> {
        let mut t = self.timeline.clone()?;
        t.end_us = self.now_us;
        t.heal_us = self.heal_at_us;
        t.verdict = match &self.verdict {
            Verdict::Pass => "pass".into(),
            v if v.violation().is_some() => v.message(),
            v => format!("{}: {}", v.invariant(), v.message()),
        };
        Some(t)
    }

    fn record_violation(&mut self, v: &Violation) {
        let now = self.now_us;
        self.record(|| TimelineEvent::Violation {
            t: now,
            nodes: v.nodes.iter().map(|&n| n as usize).collect(),
            text: v.message(),
        });
    }

    fn record(&mut self, event: impl FnOnce() -> TimelineEvent) {
        if let Some(t) = self.timeline.as_mut() {
            t.events.push(event());
        }
    }

    /// The recorded trace lines.
    #[must_use]
    pub fn trace_lines(&self) -> &[String] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The fault schedule.
    #[must_use]
    pub fn schedule(&self) -> &[TimedFault] {
        &self.schedule
    }

    /// The client history (for the checker).
    #[must_use]
    pub fn history(&self) -> &[HistoryOp] {
        &self.history
    }

    // ----- driving ---------------------------------------------------------

    /// Runs to the end and returns the result.
    pub fn run(&mut self) -> RunResult {
        self.start();
        while !self.done {
            let Some((at_us, event)) = self.queue.pop() else {
                break;
            };
            if self.settling && matches!(event, Event::ClientStart { .. }) {
                // The workload has stopped: a client waking up for its next
                // operation is not part of the run (a replayed case, whose
                // script ends with the last operation invoked, has no such
                // wake-ups, and must count the same events).
                continue;
            }
            self.now_us = at_us;
            self.events += 1;
            if self.events > EVENTS_MAX {
                let found = format!("more than {EVENTS_MAX} events");
                let v = Violation::new(Property::Liveness, self.events, "a run settles", found);
                self.fail_liveness(v);
                break;
            }
            self.dispatch(event);
        }
        self.finish()
    }

    fn start(&mut self) {
        for node in 0..self.hosts.len() {
            self.boot(node);
        }
        for client in 0..self.clients.len() {
            self.schedule_next_op(client);
        }
        for i in 0..self.schedule.len() {
            let at = self.schedule[i].at_us;
            self.schedule_at(at, Event::Fault(i));
        }
        self.schedule_at(self.config.chaos_us, Event::Heal);
    }

    fn finish(&mut self) -> RunResult {
        for c in &self.clients {
            if c.outstanding() {
                self.stats.client_ops_indeterminate += 1;
            }
        }
        for h in &self.hosts {
            self.stats.entries_committed = self.stats.entries_committed.max(h.commit.0);
        }
        if !self.done {
            self.final_checks();
        }
        RunResult {
            seed: self.seed,
            profile: self.config.profile.clone(),
            verdict: self.verdict.clone(),
            stats: self.stats.clone(),
            events: self.events,
            sim_time_us: self.now_us,
            trace_hash: self.trace_hash,
        }
    }

    fn schedule_at(&mut self, at_us: u64, event: Event) {
        self.queue.push(at_us, event);
    }

    fn schedule_in(&mut self, delay_us: u64, event: Event) {
        self.schedule_at(self.now_us.saturating_add(delay_us), event);
    }

    fn hash(&mut self, words: [u64; 4]) {
        let mut h = self.trace_hash;
        for w in words {
            h = rng::mix64(h ^ w);
        }
        self.trace_hash = h;
    }

    fn trace(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_mut() {
            let ms = self.now_us as f64 / 1_000.0;
            t.push(format!("{:>6} {:>10.3}ms  {}", self.events, ms, line()));
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Tick { node, incarnation } => self.on_tick(node, incarnation),
            Event::Deliver { m, sent_us } => self.on_deliver(m, sent_us),
            Event::SyncDone {
                node,
                incarnation,
                upto_seq,
            } => {
                self.on_sync_done(node, incarnation, upto_seq);
            }
            Event::ClientStart { client } => self.on_client_start(client),
            Event::ClientRequest {
                node,
                client,
                attempt,
            } => {
                self.on_client_request(node, client, attempt);
            }
            Event::ClientReply {
                client,
                attempt,
                reply,
            } => {
                self.on_client_reply(client, attempt, reply);
            }
            Event::ClientTimeout { client, attempt } => self.on_client_timeout(client, attempt),
            Event::Fault(i) => self.on_fault(i),
            Event::Restart { node } => self.restart(node),
            Event::Resume { node, pause } => {
                if self.hosts[node].pause_generation == pause {
                    self.resume(node);
                }
            }
            Event::Heal => self.on_heal(),
            Event::LivenessDeadline => self.on_liveness_deadline(),
            Event::SettleDeadline => self.on_settle_deadline(),
        }
    }

    // ----- nodes -----------------------------------------------------------

    fn raft_config(&self, node: usize) -> Config {
        raft_config(&self.config, node)
    }

    /// (Re)builds a node from its disk alone and starts its clock.
    fn boot(&mut self, node: usize) {
        let config = self.raft_config(node);
        let host = &mut self.hosts[node];
        host.incarnation += 1;
        let rng = rng::node_stream(self.seed, node as u64, host.incarnation);
        let durable = host.disk.durable_state();
        if host.incarnation > 1 {
            if let Some(c) = self.checker.as_mut() {
                c.restarted(self.events, node, &durable);
            }
        }
        let raft = match RaftNode::restore(config, durable, rng) {
            Ok(r) => r,
            Err(e) => {
                let found = format!("n{node} cannot restart from its disk: {e}");
                let v = Violation::new(
                    Property::Durability,
                    self.events,
                    "a disk a node restarts from is consistent",
                    found,
                )
                .with_nodes(&[node]);
                self.fail_safety(v);
                return;
            }
        };
        let host = &mut self.hosts[node];
        host.role = raft.role();
        host.term = raft.term();
        host.vote = raft.vote();
        host.commit = raft.log().committed();
        host.traced_hard_state = raft.hard_state();
        host.raft = Some(raft);
        host.kv = KvStore::new();
        host.paused = false;
        host.missed_ticks = 0;
        let (tick_us, incarnation) = (host.tick_us, host.incarnation);
        // Stagger the first tick so nodes do not tick in lockstep.
        let offset = self.clock_rng.gen_range(0..tick_us);
        self.schedule_in(offset, Event::Tick { node, incarnation });
        self.collect_violations();
    }

    fn on_tick(&mut self, node: usize, incarnation: u64) {
        let host = &mut self.hosts[node];
        if host.raft.is_none() || host.incarnation != incarnation {
            return;
        }
        let tick_us = host.tick_us;
        self.schedule_in(tick_us, Event::Tick { node, incarnation });
        let host = &mut self.hosts[node];
        if host.paused {
            host.missed_ticks = (host.missed_ticks + 1).min(MISSED_TICKS_MAX);
            return;
        }
        if let Some(raft) = host.raft.as_mut() {
            raft.tick();
        }
        self.pump(node);
    }

    fn on_deliver(&mut self, m: Message, sent_us: u64) {
        let node = m.to.0 as usize;
        let Some(host) = self.hosts.get_mut(node) else {
            return;
        };
        if host.raft.is_none() {
            self.stats.messages_dropped += 1;
            return;
        }
        if host.paused {
            if host.inbox.len() < INBOX_CAPACITY {
                host.inbox.push_back(Inbound::Raft(m, sent_us));
            } else {
                self.stats.messages_dropped += 1;
            }
            return;
        }
        self.step_node(node, m, sent_us);
    }

    /// Hands a delivered message to the node and drains what it produced.
    fn step_node(&mut self, node: usize, m: Message, sent_us: u64) {
        if m.from != m.to {
            self.stats.messages_delivered += 1;
        }
        self.hash([1, m.from.0, m.to.0, m.term.0]);
        self.trace(|| describe_message("recv", &m));
        let now = self.now_us;
        self.record(|| TimelineEvent::Message {
            t: now,
            sent: sent_us,
            from: m.from.0 as usize,
            to: m.to.0 as usize,
            name: m.body.name().to_string(),
            detail: message_detail(&m),
        });
        if let Some(raft) = self.hosts[node].raft.as_mut() {
            raft.step(m);
        }
        self.pump(node);
    }

    /// The host loop: drain every Ready the node has.
    fn pump(&mut self, node: usize) {
        loop {
            let host = &mut self.hosts[node];
            let Some(raft) = host.raft.as_mut() else {
                return;
            };
            if !raft.has_ready() {
                break;
            }
            let mut ready = std::mem::take(&mut host.ready);
            raft.take_ready(&mut ready);
            self.observe(node, ready.hard_state);
            self.handle_ready(node, &mut ready);
            ready.clear();
            self.hosts[node].ready = ready;
            self.collect_violations();
            if self.done {
                return;
            }
        }
        self.observe(node, None);
        self.collect_violations();
        self.start_sync(node);
    }

    fn handle_ready(&mut self, node: usize, ready: &mut Ready) {
        if self.trace.is_some() {
            self.trace_ready(node, ready);
        }
        self.check_ready(node, ready);
        let host = &mut self.hosts[node];
        let seq = host.disk.write(&ready.entries, ready.hard_state);
        let synced = seq <= host.disk.synced_seq();
        if !synced {
            for m in ready.persisted_messages.drain(..) {
                host.waiting_messages.push_back((seq, m));
            }
            if let Some(last) = ready.entries.last() {
                host.waiting_persisted
                    .push_back((seq, last.index, last.term));
            }
        }
        for m in ready.messages.drain(..) {
            self.send(m);
        }
        if synced {
            for m in ready.persisted_messages.drain(..) {
                self.send(m);
            }
            if let (Some(last), Some(raft)) = (ready.entries.last(), self.hosts[node].raft.as_mut())
            {
                raft.on_persisted(last.index, last.term);
            }
        }
        for e in ready.committed_entries.drain(..) {
            self.apply(node, &e);
            if self.done {
                return;
            }
        }
    }

    /// Feeds a batch's log writes and commit to the checker.
    fn check_ready(&mut self, node: usize, ready: &Ready) {
        let host = &mut self.hosts[node];
        let commit = ready
            .hard_state
            .map(|hs| hs.commit)
            .filter(|&c| c != host.commit);
        if let Some(c) = commit {
            host.commit = c;
            let now = self.now_us;
            self.record(|| TimelineEvent::Commit {
                t: now,
                node,
                index: c.0,
            });
        }
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        if !ready.entries.is_empty() {
            checker.entries_written(self.events, node, &ready.entries);
        }
        if let Some(c) = commit {
            checker.committed(self.events, node, c);
        }
    }

    /// Ends the run at the checker's first violation.
    fn collect_violations(&mut self) {
        let first = self
            .checker
            .as_ref()
            .and_then(|c| c.violations().first())
            .cloned();
        if let Some(v) = first {
            self.fail_safety(v);
        }
    }

    /// One trace line with the log and hard-state changes of a batch.
    fn trace_ready(&mut self, node: usize, ready: &Ready) {
        let mut parts = Vec::new();
        if let (Some(first), Some(last)) = (ready.entries.first(), ready.entries.last()) {
            parts.push(format!(
                "log +[{}..{}] terms {}..{}",
                first.index, last.index, first.term, last.term
            ));
        }
        if let Some(hs) = ready.hard_state {
            let old = self.hosts[node].traced_hard_state;
            if hs.term != old.term {
                parts.push(format!("term {}->{}", old.term, hs.term));
            }
            if hs.vote != old.vote {
                let show = |v: Option<NodeId>| v.map_or("none".to_string(), |n| n.to_string());
                parts.push(format!("vote {}->{}", show(old.vote), show(hs.vote)));
            }
            if hs.commit != old.commit {
                parts.push(format!("commit {}->{}", old.commit, hs.commit));
            }
            self.hosts[node].traced_hard_state = hs;
        }
        if let (Some(first), Some(last)) = (
            ready.committed_entries.first(),
            ready.committed_entries.last(),
        ) {
            parts.push(format!("apply [{}..{}]", first.index, last.index));
        }
        if !parts.is_empty() {
            self.trace(|| format!("{} {}", NodeId(node as u64), parts.join(", ")));
        }
    }

    fn start_sync(&mut self, node: usize) {
        let host = &mut self.hosts[node];
        if host.raft.is_none() || host.sync_in_flight || !host.disk.has_unsynced() {
            return;
        }
        host.sync_in_flight = true;
        let (incarnation, upto_seq) = (host.incarnation, host.disk.issued_seq());
        let (lo, hi) = (
            self.config.sync_us_min,
            self.config.sync_us_max.max(self.config.sync_us_min),
        );
        let latency = self.disk_rng.gen_range(lo..=hi);
        self.schedule_in(
            latency,
            Event::SyncDone {
                node,
                incarnation,
                upto_seq,
            },
        );
    }

    fn on_sync_done(&mut self, node: usize, incarnation: u64, upto_seq: u64) {
        let host = &mut self.hosts[node];
        if host.raft.is_none() || host.incarnation != incarnation {
            return;
        }
        if let Some((CrashPoint::BeforeSync, restart_after_us)) = host.crash_at_sync {
            self.trace(|| format!("n{node} power lost with writes in flight"));
            self.crash(node, restart_after_us);
            return;
        }
        host.disk.sync_to(upto_seq);
        host.sync_in_flight = false;
        let durable = host.disk.hard_state();
        if let Some(c) = self.checker.as_mut() {
            c.durable_hard_state(self.events, node, durable);
        }
        let host = &mut self.hosts[node];
        if let Some((_, restart_after_us)) = host.crash_at_sync.take() {
            self.trace(|| format!("n{node} crash after sync, before send"));
            self.crash(node, restart_after_us);
            return;
        }
        if host.paused {
            host.inbox.push_back(Inbound::Synced);
            return;
        }
        self.release_synced(node);
        self.pump(node);
    }

    /// Sends what waited for durability and reports it to the node.
    fn release_synced(&mut self, node: usize) {
        let synced = self.hosts[node].disk.synced_seq();
        while let Some(&(seq, _)) = self.hosts[node].waiting_messages.front() {
            if seq > synced {
                break;
            }
            if let Some((_, m)) = self.hosts[node].waiting_messages.pop_front() {
                self.send(m);
            }
        }
        let host = &mut self.hosts[node];
        while let Some(&(seq, index, term)) = host.waiting_persisted.front() {
            if seq > synced {
                break;
            }
            host.waiting_persisted.pop_front();
            if let Some(raft) = host.raft.as_mut() {
                raft.on_persisted(index, term);
            }
        }
    }

    fn apply(&mut self, node: usize, e: &Entry) {
        if let Some(c) = self.checker.as_mut() {
            c.applied(self.events, node, e);
        }
        let host = &mut self.hosts[node];
        let applied = match host.kv.apply(e.index.0, &e.data) {
            Ok(a) => a,
            Err(kv::KvError::Decode(_)) => Applied::Noop,
            Err(err) => {
                let v = Violation::new(
                    Property::StateMachineSafety,
                    self.events,
                    "entries apply in log order",
                    format!("n{node}: {err}"),
                )
                .with_nodes(&[node])
                .with_index(e.index.0);
                self.fail_safety(v);
                return;
            }
        };
        let pending = host.pending.iter().position(|p| p.index == e.index);
        let pending = pending.map(|pos| host.pending.swap_remove(pos));
        self.hash([2, node as u64, e.index.0, e.term.0]);
        if self.settling {
            self.check_settled();
        }
        let Some(p) = pending else { return };
        let reply = if p.term != e.term {
            Reply::Lost
        } else {
            match applied {
                Applied::Fresh { result, .. } | Applied::Duplicate { result, .. } => Reply::Ok {
                    result,
                    index: e.index,
                    term: e.term,
                },
                Applied::Stale { .. } | Applied::Noop => Reply::Lost,
            }
        };
        self.reply(p.client, p.attempt, reply);
    }

    /// Notes role, term and commit changes after the node handled an input.
    fn observe(&mut self, node: usize, hard_state: Option<HardState>) {
        let host = &mut self.hosts[node];
        let Some(raft) = host.raft.as_ref() else {
            return;
        };
        let (role, term, vote) = (raft.role(), raft.term(), raft.vote());
        let (old_role, old_term) = (host.role, host.term);
        let term_or_vote_changed =
            hard_state.is_some_and(|hs| (hs.term, hs.vote) != (host.term, host.vote));
        host.vote = vote;
        if term_or_vote_changed {
            if let Some(c) = self.checker.as_mut() {
                c.term_vote(self.events, node, term, vote);
            }
        }
        if role == old_role && term == old_term {
            return;
        }
        let host = &mut self.hosts[node];
        host.role = role;
        host.term = term;
        self.stats.max_term = self.stats.max_term.max(term.0);
        self.hash([3, node as u64, role as u64, term.0]);
        self.trace(|| format!("n{node} {old_role:?}@{old_term} -> {role:?}@{term}"));
        let now = self.now_us;
        self.record(|| TimelineEvent::Role {
            t: now,
            node,
            role: format!("{role:?}"),
            term: term.0,
        });
        if role == Role::Candidate && (old_role != Role::Candidate || old_term != term) {
            self.stats.elections += 1;
        }
        if old_role == Role::Leader && (role != Role::Leader || term != old_term) {
            if let Some(c) = self.checker.as_mut() {
                c.stepped_down(node);
            }
        }
        if role == Role::Leader && (old_role != Role::Leader || term != old_term) {
            self.stats.leaders_elected += 1;
            if self.heal_at_us.is_some() && self.first_leader_after_heal_us.is_none() {
                self.first_leader_after_heal_us = Some(self.now_us);
            }
            if let Some(c) = self.checker.as_mut() {
                c.became_leader(self.events, node, term);
            }
        }
    }

    // ----- network ---------------------------------------------------------

    fn send(&mut self, m: Message) {
        let (from, to) = (m.from.0 as usize, m.to.0 as usize);
        if from == to {
            // A node's message to itself (a candidate's own vote) never
            // touches the network: it is handed back at once.
            let sent_us = self.now_us;
            self.schedule_in(0, Event::Deliver { m, sent_us });
            return;
        }
        self.stats.messages_sent += 1;
        if to >= self.hosts.len() || self.blocked[from] & (1 << to) != 0 {
            self.stats.messages_dropped += 1;
            return;
        }
        if self.chaos
            && self.config.drop_probability > 0.0
            && self.net_rng.gen_bool(self.config.drop_probability)
        {
            self.stats.messages_dropped += 1;
            return;
        }
        if self.chaos
            && self.config.duplicate_probability > 0.0
            && self.net_rng.gen_bool(self.config.duplicate_probability)
        {
            self.stats.messages_duplicated += 1;
            let delay = self.delay_us();
            let sent_us = self.now_us;
            self.schedule_in(
                delay,
                Event::Deliver {
                    m: m.clone(),
                    sent_us,
                },
            );
        }
        let delay = self.delay_us();
        let sent_us = self.now_us;
        self.schedule_in(delay, Event::Deliver { m, sent_us });
    }

    fn delay_us(&mut self) -> u64 {
        let (lo, hi) = (
            self.config.delay_us_min,
            self.config.delay_us_max.max(self.config.delay_us_min),
        );
        let base = self.net_rng.gen_range(lo..=hi);
        let p = self.config.delay_tail_probability;
        if self.chaos && p > 0.0 && self.net_rng.gen_bool(p) {
            let factor = self
                .net_rng
                .gen_range(1.0..=self.config.delay_tail_factor_max.max(1.0));
            return (base as f64 * factor) as u64;
        }
        base
    }

    fn client_delay_us(&mut self) -> u64 {
        let (lo, hi) = (
            self.config.delay_us_min,
            self.config.delay_us_max.max(self.config.delay_us_min),
        );
        self.client_net_rng.gen_range(lo..=hi)
    }

    /// Client links share the chaos phase's loss rate (drawn from the client
    /// network stream, so client traffic never shifts Raft's network draws).
    fn client_message_lost(&mut self) -> bool {
        let p = self.config.drop_probability;
        let lost = self.chaos && p > 0.0 && self.client_net_rng.gen_bool(p);
        if lost {
            self.stats.messages_dropped += 1;
        }
        lost
    }

    // ----- clients ---------------------------------------------------------

    /// Schedules the client's next operation: after a think time drawn
    /// from the workload stream, or at the script's time for it.
    fn schedule_next_op(&mut self, client: usize) {
        let Some(script) = self.script.as_ref() else {
            let think = self.work_rng.gen_range(0..=self.config.think_us_max);
            self.schedule_in(think, Event::ClientStart { client });
            return;
        };
        match script[client].front() {
            Some(next) => {
                let at = next.at_us.max(self.now_us);
                self.schedule_at(at, Event::ClientStart { client });
            }
            None => self.clients[client].finish_script(),
        }
    }

    fn on_client_start(&mut self, client: usize) {
        if self.done || self.settling {
            return;
        }
        let op = match self.script.as_mut() {
            None => {
                let keys = self.config.keys;
                self.clients[client].next_op(&mut self.work_rng, keys)
            }
            Some(script) => {
                let Some(next) = script[client].pop_front() else {
                    return;
                };
                if let Some(via) = next.via.filter(|&v| v < self.hosts.len()) {
                    self.clients[client].set_leader_guess(via);
                }
                self.clients[client].script_op(next.op)
            }
        };
        self.history_via.push(self.clients[client].leader_guess());
        let history_index = self.history.len();
        let (client_id, seq) = self.clients[client].session();
        self.history.push(HistoryOp {
            client_id,
            seq,
            op,
            invoke_us: self.now_us,
            complete_us: None,
            result: None,
        });
        self.clients[client].begin(history_index);
        self.stats.client_ops_invoked += 1;
        self.client_attempt(client, 0);
    }

    fn client_attempt(&mut self, client: usize, backoff_us: u64) {
        let (node, attempt) = self.clients[client].new_attempt();
        let delay = backoff_us + self.client_delay_us();
        if !self.client_message_lost() {
            let request = Event::ClientRequest {
                node,
                client,
                attempt,
            };
            self.schedule_in(delay, request);
        }
        let timeout = backoff_us + self.config.client_timeout_us;
        self.schedule_in(timeout, Event::ClientTimeout { client, attempt });
    }

    fn on_client_request(&mut self, node: usize, client: usize, attempt: u32) {
        let host = &mut self.hosts[node];
        if host.raft.is_none() {
            return; // lost; the client times out
        }
        if host.paused {
            if host.inbox.len() < INBOX_CAPACITY {
                host.inbox.push_back(Inbound::Client { client, attempt });
            }
            return;
        }
        self.handle_client_request(node, client, attempt);
    }

    fn handle_client_request(&mut self, node: usize, client: usize, attempt: u32) {
        let data: Bytes = self.clients[client].encoded();
        let Some(raft) = self.hosts[node].raft.as_mut() else {
            return;
        };
        let result = raft.propose(data);
        let reply = match result {
            Ok((index, term)) => {
                self.hosts[node].pending.push(PendingProposal {
                    index,
                    term,
                    client,
                    attempt,
                });
                self.trace(|| format!("n{node} propose c{client} -> {index}@{term}"));
                let now = self.now_us;
                self.record(|| TimelineEvent::Client {
                    t: now,
                    client,
                    node: Some(node),
                    text: format!("c{client} proposed at {index}@{term}"),
                });
                self.pump(node);
                return;
            }
            Err(ProposeError::NotLeader { leader }) => {
                Reply::Redirect(leader.map(|l| l.0 as usize))
            }
            Err(ProposeError::TooManyUncommitted) => Reply::Busy,
        };
        self.reply(client, attempt, reply);
    }

    fn reply(&mut self, client: usize, attempt: u32, reply: Reply) {
        let delay = self.client_delay_us();
        if self.client_message_lost() {
            return;
        }
        self.schedule_in(
            delay,
            Event::ClientReply {
                client,
                attempt,
                reply,
            },
        );
    }

    fn on_client_reply(&mut self, client: usize, attempt: u32, reply: Reply) {
        if !self.clients[client].is_current(attempt) {
            return;
        }
        self.hash([4, client as u64, attempt as u64, 0]);
        match reply {
            Reply::Ok {
                result,
                index: at,
                term,
            } => {
                let c = &mut self.clients[client];
                let Some(index) = c.complete() else { return };
                self.trace(|| format!("c{client} ok {result:?} ({at}@{term})"));
                let now = self.now_us;
                self.record(|| TimelineEvent::Client {
                    t: now,
                    client,
                    node: None,
                    text: format!("c{client} ok {result:?} ({at}@{term})"),
                });
                let h = &self.history[index];
                if is_write(&h.op, &result) {
                    let (client_id, seq) = (h.client_id, h.seq);
                    self.acked.push(AckedWrite {
                        client_id,
                        seq,
                        index: at,
                        term,
                    });
                }
                let h = &mut self.history[index];
                h.result = Some(result);
                h.complete_us = Some(self.now_us);
                self.stats.client_ops_ok += 1;
                if let Some(heal) = self.heal_at_us {
                    self.clients[client].note_completion(self.history[index].invoke_us >= heal);
                    self.check_recovered();
                }
                self.schedule_next_op(client);
            }
            Reply::Redirect(Some(leader)) if leader < self.hosts.len() => {
                self.stats.client_ops_failed += 1;
                self.clients[client].set_leader_guess(leader);
                self.client_attempt(client, 0);
            }
            Reply::Redirect(_) | Reply::Lost | Reply::Busy => {
                self.stats.client_ops_failed += 1;
                self.clients[client].rotate_guess(self.hosts.len());
                self.client_attempt(client, CLIENT_BACKOFF_US);
            }
        }
    }

    fn on_client_timeout(&mut self, client: usize, attempt: u32) {
        if self.done || !self.clients[client].is_current(attempt) {
            return;
        }
        self.stats.client_timeouts += 1;
        self.clients[client].rotate_guess(self.hosts.len());
        self.client_attempt(client, 0);
    }

    // ----- faults ----------------------------------------------------------

    fn resolve(&mut self, target: Target) -> usize {
        match target {
            Target::Node(n) => n.min(self.hosts.len() - 1),
            Target::Leader => self
                .hosts
                .iter()
                .position(|h| h.raft.is_some() && h.role == Role::Leader)
                .unwrap_or_else(|| self.fault_rng.gen_range(0..self.hosts.len())),
        }
    }

    fn on_fault(&mut self, i: usize) {
        if !self.chaos {
            return;
        }
        let fault = self.schedule[i].fault;
        self.hash([5, i as u64, 0, 0]);
        match fault {
            Fault::Partition(p) => self.partition(p),
            Fault::HealPartition => {
                self.trace(|| "net heal partition".into());
                let now = self.now_us;
                self.record(|| TimelineEvent::HealPartition { t: now });
                self.blocked.iter_mut().for_each(|b| *b = 0);
            }
            Fault::Crash {
                target,
                restart_after_us,
                at,
            } => {
                let node = self.resolve(target);
                if self.hosts[node].raft.is_none() {
                    return;
                }
                match at {
                    CrashPoint::Now => self.crash(node, restart_after_us),
                    _ => self.hosts[node].crash_at_sync = Some((at, restart_after_us)),
                }
            }
            Fault::Pause {
                target,
                resume_after_us,
            } => {
                let node = self.resolve(target);
                let host = &mut self.hosts[node];
                if host.raft.is_none() || host.paused {
                    return;
                }
                host.paused = true;
                host.pause_generation += 1;
                let pause = host.pause_generation;
                self.stats.pauses += 1;
                self.trace(|| format!("n{node} pause"));
                let now = self.now_us;
                self.record(|| TimelineEvent::Pause { t: now, node });
                self.schedule_in(resume_after_us, Event::Resume { node, pause });
            }
        }
    }

    fn partition(&mut self, p: Partition) {
        let n = self.hosts.len();
        let all = (1u32 << n) - 1;
        self.blocked.iter_mut().for_each(|b| *b = 0);
        match p {
            Partition::Split { side } => self.cut(side & all, all & !side),
            Partition::IsolateLeader => {
                let leader = self.resolve(Target::Leader);
                self.cut(1 << leader, all & !(1 << leader));
            }
            Partition::OneWay { from } => {
                for a in 0..n {
                    if from & (1 << a) != 0 {
                        self.blocked[a] |= all & !from;
                    }
                }
            }
            Partition::Bridge { bridge, side } => {
                let side = side & all & !(1 << bridge);
                let rest = all & !side & !(1 << bridge);
                self.cut(side, rest);
            }
        }
        self.stats.partitions += 1;
        if self.trace.is_none() && self.timeline.is_none() {
            return;
        }
        let blocked = self.blocked.clone();
        self.trace(|| format!("net partition {p:?} blocked={blocked:?}"));
        let now = self.now_us;
        self.record(|| TimelineEvent::Partition {
            t: now,
            blocked: blocked
                .iter()
                .map(|mask| (0..32).filter(|b| mask & (1 << b) != 0).collect())
                .collect(),
            description: format!("{p:?}"),
        });
    }

    /// Cuts every link between `a` and `b`, both ways.
    fn cut(&mut self, a: u32, b: u32) {
        for x in 0..self.hosts.len() {
            if a & (1 << x) != 0 {
                self.blocked[x] |= b;
            }
            if b & (1 << x) != 0 {
                self.blocked[x] |= a;
            }
        }
    }

    fn crash(&mut self, node: usize, restart_after_us: u64) {
        let keep = if self.config.torn_tail_probability > 0.0
            && self.disk_rng.gen_bool(self.config.torn_tail_probability)
        {
            let unsynced = self.hosts[node].disk.unsynced_writes();
            self.disk_rng.gen_range(0..=unsynced)
        } else {
            0
        };
        let host = &mut self.hosts[node];
        let lost = host.disk.crash(keep);
        host.raft = None;
        host.paused = false;
        host.inbox.clear();
        host.waiting_messages.clear();
        host.waiting_persisted.clear();
        host.pending.clear();
        host.sync_in_flight = false;
        host.crash_at_sync = None;
        host.role = Role::Follower;
        if let Some(c) = self.checker.as_mut() {
            c.crashed(node);
        }
        self.stats.crashes += 1;
        self.stats.unsynced_writes_lost += lost;
        self.hash([6, node as u64, lost, 0]);
        self.trace(|| format!("n{node} CRASH (lost {lost} unsynced writes, kept {keep})"));
        let now = self.now_us;
        self.record(|| TimelineEvent::Crash {
            t: now,
            node,
            lost_writes: lost,
        });
        self.schedule_in(restart_after_us, Event::Restart { node });
    }

    fn restart(&mut self, node: usize) {
        if self.hosts[node].raft.is_some() || self.done {
            return;
        }
        self.stats.restarts += 1;
        self.boot(node);
        let term = self.hosts[node].term;
        self.trace(|| format!("n{node} RESTART from disk at {term}"));
        let now = self.now_us;
        self.record(|| TimelineEvent::Restart { t: now, node });
    }

    fn resume(&mut self, node: usize) {
        let host = &mut self.hosts[node];
        if !host.paused || host.raft.is_none() {
            return;
        }
        host.paused = false;
        let ticks = std::mem::take(&mut host.missed_ticks);
        self.trace(|| format!("n{node} resume ({ticks} missed ticks)"));
        let now = self.now_us;
        self.record(|| TimelineEvent::Resume { t: now, node });
        for _ in 0..ticks {
            if self.done {
                return;
            }
            if let Some(raft) = self.hosts[node].raft.as_mut() {
                raft.tick();
            }
            self.pump(node);
        }
        while let Some(item) = self.hosts[node].inbox.pop_front() {
            match item {
                Inbound::Raft(m, sent_us) => self.step_node(node, m, sent_us),
                Inbound::Client { client, attempt } => {
                    self.handle_client_request(node, client, attempt)
                }
                Inbound::Synced => {
                    self.release_synced(node);
                    self.pump(node);
                }
            }
            if self.done {
                return;
            }
        }
    }

    // ----- phases ----------------------------------------------------------

    fn on_heal(&mut self) {
        self.chaos = false;
        self.heal_at_us = Some(self.now_us);
        self.trace(|| "HEAL: partitions repaired, loss off, crashed nodes restarted".into());
        let now = self.now_us;
        self.record(|| TimelineEvent::Heal { t: now });
        self.blocked.iter_mut().for_each(|b| *b = 0);
        for node in 0..self.hosts.len() {
            self.hosts[node].crash_at_sync = None;
            if self.hosts[node].raft.is_none() {
                self.restart(node);
            } else {
                self.resume(node);
            }
        }
        if self
            .hosts
            .iter()
            .any(|h| h.raft.is_some() && h.role == Role::Leader)
        {
            self.first_leader_after_heal_us = Some(self.now_us);
        }
        for c in &mut self.clients {
            c.mark_heal();
        }
        // Every client must complete an operation invoked after the heal,
        // except a scripted one whose script has nothing left to invoke.
        self.liveness_clients = (0..self.clients.len())
            .filter(|&c| self.script.as_ref().map_or(true, |s| !s[c].is_empty()))
            .map(|c| c as u64 + 1)
            .collect();
        self.schedule_in(self.config.liveness_window_us, Event::LivenessDeadline);
        self.check_recovered();
    }

    /// After the heal: once a leader is in place and every client made
    /// progress, stop issuing operations and let the live nodes catch up.
    fn check_recovered(&mut self) {
        let leader = self.first_leader_after_heal_us.is_some();
        if self.done || self.settling || !leader || !self.clients.iter().all(Client::recovered) {
            return;
        }
        self.trace(|| {
            "RECOVERED: a leader, and every client completed its ops after the heal".into()
        });
        self.settling = true;
        self.schedule_in(SETTLE_US_MAX, Event::SettleDeadline);
        self.check_settled();
    }

    /// Settling ends when every live node applied the highest acknowledged write.
    fn check_settled(&mut self) {
        let target = self.acked.iter().map(|w| w.index.0).max().unwrap_or(0);
        let caught_up = self
            .hosts
            .iter()
            .all(|h| h.raft.is_some() && h.kv.applied_index() >= target);
        if caught_up {
            self.final_checks();
        }
    }

    fn on_settle_deadline(&mut self) {
        if !self.done {
            self.final_checks();
        }
    }

    fn on_liveness_deadline(&mut self) {
        if !self.done && !self.settling {
            self.final_checks();
        }
    }

    /// The end-of-run checks: liveness, durability, linearizability.
    fn final_checks(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(v) = self.liveness_violation() {
            self.fail_liveness(v);
            return;
        }
        self.stats.liveness_checks_passed += 1;
        if self.checker.is_none() {
            return;
        }
        let finals: Vec<FinalNode<'_>> = self
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(node, h)| {
                let raft = h.raft.as_ref()?;
                let applied = LogIndex(h.kv.applied_index());
                Some(FinalNode {
                    node,
                    applied,
                    log: raft.log().entries(),
                })
            })
            .collect();
        let durability = check_durability(&self.acked, &finals, self.events);
        drop(finals);
        if let Some(v) = durability {
            self.fail_safety(v);
            return;
        }
        self.stats.durable_writes_checked += self.acked.len() as u64;
        match check_linearizability(&self.history, LINEARIZABILITY_STEPS_MAX) {
            LinearizabilityOutcome::Linearizable => self.stats.linearizability_checked += 1,
            LinearizabilityOutcome::Unknown { .. } => self.stats.linearizability_unknown += 1,
            LinearizabilityOutcome::Violation(mut v) => {
                v.event_index = self.events;
                self.fail_safety(v);
            }
        }
    }

    fn liveness_violation(&self) -> Option<Violation> {
        let Some(heal_us) = self.heal_at_us else {
            let found = "the run ended before the heal";
            return Some(Violation::new(
                Property::Liveness,
                self.events,
                "a heal and a recovery",
                found,
            ));
        };
        let bounds = LivenessBounds {
            leader_within_us: self.config.liveness_leader_us,
            ops_within_us: self.config.liveness_window_us,
        };
        check_liveness(
            heal_us,
            self.first_leader_after_heal_us,
            &self.history,
            &self.liveness_clients,
            &bounds,
            self.events,
        )
    }

    fn fail_safety(&mut self, violation: Violation) {
        if !self.verdict.passed() {
            return;
        }
        self.trace(|| format!("VIOLATION {}", violation.message()));
        self.record_violation(&violation);
        self.verdict = Verdict::Safety { violation };
        self.done = true;
    }

    fn fail_liveness(&mut self, violation: Violation) {
        if !self.verdict.passed() {
            return;
        }
        self.trace(|| format!("LIVENESS FAILURE {}", violation.message()));
        self.record_violation(&violation);
        self.verdict = Verdict::Liveness { violation };
        self.done = true;
    }

    // ----- inspection ------------------------------------------------------

    /// Each node's final log and kv state.
    #[must_use]
    pub fn dump(&self) -> Vec<NodeDump> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(node, h)| {
                let (role, term, commit, entries): (String, u64, u64, Vec<Entry>) = match &h.raft {
                    Some(r) => (
                        format!("{:?}", r.role()),
                        r.term().0,
                        r.log().committed().0,
                        r.log().entries().to_vec(),
                    ),
                    None => (
                        "Crashed".into(),
                        h.disk.hard_state().term.0,
                        h.disk.hard_state().commit.0,
                        h.disk.log().to_vec(),
                    ),
                };
                let log = entries
                    .iter()
                    .map(|e| (e.index.0, e.term.0, describe_command(&e.data)))
                    .collect();
                NodeDump {
                    node,
                    alive: h.raft.is_some(),
                    role,
                    term,
                    commit,
                    log,
                    kv: h
                        .kv
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    digest: h.kv.digest(),
                }
            })
            .collect()
    }
}

/// The raft-core configuration of `node` in a run configured by `config`.
#[must_use]
pub fn raft_config(config: &SimConfig, node: usize) -> Config {
    let voters = (0..config.nodes as u64).map(NodeId).collect();
    let k = &config.raft;
    Config {
        election_timeout_ticks_min: k.election_timeout_ticks_min,
        heartbeat_interval_ticks: k.heartbeat_interval_ticks,
        max_entries_per_message: k.max_entries_per_message,
        max_inflight_messages: k.max_inflight_messages,
        pre_vote: k.pre_vote,
        check_quorum: k.check_quorum,
        ..Config::new(NodeId(node as u64), voters)
    }
}

/// Whether an acknowledged op changed state (a write the durability check tracks).
fn is_write(op: &kv::Op, result: &kv::OpResult) -> bool {
    match op {
        kv::Op::Get { .. } => false,
        kv::Op::Cas { .. } => matches!(result, kv::OpResult::CasOk),
        kv::Op::Put { .. } | kv::Op::Append { .. } => true,
    }
}

fn describe_command(data: &[u8]) -> String {
    if data.is_empty() {
        return "(no-op)".into();
    }
    match kv::Command::decode(data) {
        Ok(c) => format!("c{}#{} {:?}", c.client_id, c.seq, c.op),
        Err(_) => format!("({} bytes)", data.len()),
    }
}

/// A message's key fields, for traces.
fn describe_message(verb: &str, m: &Message) -> String {
    format!(
        "{} {verb} {} from {} {}: {}",
        m.to,
        m.body.name(),
        m.from,
        m.term,
        message_detail(m)
    )
}

/// The key fields of a message's body, one line.
fn message_detail(m: &Message) -> String {
    use raft_core::MessageBody as B;
    match &m.body {
        B::RequestVote {
            last_log_index,
            last_log_term,
            ..
        } => format!("last={last_log_index}@{last_log_term}"),
        B::RequestVoteResponse { granted, .. } => format!("granted={granted}"),
        B::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } => {
            format!(
                "prev={prev_log_index}@{prev_log_term} n={} commit={leader_commit}",
                entries.len()
            )
        }
        B::AppendEntriesResponse { index, reject } => match reject {
            None => format!("ok index={index}"),
            Some(h) => format!("reject index={index} hint={}@{}", h.index, h.term),
        },
        B::Heartbeat { commit } => format!("commit={commit}"),
        B::HeartbeatResponse => String::new(),
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
