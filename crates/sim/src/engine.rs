//! One seeded run of a simulated cluster, from the first boot to the verdict.
//!
//! The engine owns the components and routes each event the queue pops to
//! the one whose job it is: [`Nodes`] (ticks, messages, syncs, crashes,
//! restarts, pauses), [`Clients`] (operations, replies, timeouts), the
//! [`Injector`] (the fault schedule) and the network ([`Net`]). It runs the
//! phases itself: chaos, heal, the liveness window, settling, and the
//! end-of-run checks (liveness, durability, linearizability). Everything the
//! components do reaches the trace hash, the text trace, the timeline, the
//! counters and the checker as one event stream ([`Observers`]).
//!
//! The engine checks its own rules too: time never goes back, the queue and
//! the number of events per run are bounded, and a broken rule is a
//! structured violation like any other, never a process abort.

use crate::case::{Case, Expect, ScriptedOp, CASE_VERSION};
use crate::clients::{ClientCtx, Clients};
use crate::faults::{self, TimedFault};
use crate::inject::Injector;
use crate::load::Load;
use crate::net::Net;
use crate::node::{ClientToken, Ctx, Nodes, Standing};
use crate::observe::{describe_command, membership_event, Observers, SimEvent};
use crate::phase::RunState;
use crate::profile::{Profile, SimConfig};
use crate::queue::{Event, EventQueue, QueueError};
use crate::rng::{self, Stream};
use crate::stats::{RunResult, Verdict};
use crate::timeline::Timeline;
use checker::{
    check_durability, check_linearizability_report, check_liveness, FinalNode, HistoryOp,
    LinearizabilityOutcome, LivenessBounds, Property, Violation,
};
use raft_core::{Entry, LogIndex};

/// Hard cap on events per run: a run that needs more is a bug.
pub const EVENTS_MAX: u64 = 5_000_000;
/// The latency probe's session (apart from clients and the load generator).
const LATENCY_PROBE_SESSION: u64 = u64::MAX - 1;

/// Slack on the latency probe's bound (scheduling within one instant).
const LATENCY_SLACK_US: u64 = 1_000;

/// Longest the live nodes get, after recovery, to apply every acknowledged write.
const SETTLE_US_MAX: u64 = 2_000_000;
/// Linearizability search budget per key.
pub const LINEARIZABILITY_STEPS_MAX: u64 = 1_000_000;

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
    queue: EventQueue,
    nodes: Nodes,
    net: Net,
    clients: Clients,
    faults: Injector,
    load: Load,
    obs: Observers,
    run: RunState,
    events: u64,
}

impl Simulation {
    /// Builds the run of `seed` with the given configuration and fault schedule.
    #[must_use]
    pub fn new(seed: u64, config: SimConfig, schedule: Vec<TimedFault>) -> Simulation {
        Simulation::build(seed, config, schedule, None)
    }

    fn build(
        seed: u64,
        config: SimConfig,
        schedule: Vec<TimedFault>,
        script: Option<&[ScriptedOp]>,
    ) -> Simulation {
        let mut sim = Simulation {
            seed,
            queue: EventQueue::default(),
            nodes: Nodes::new(seed, &config),
            net: Net::new(seed, &config),
            clients: Clients::new(seed, &config, script),
            faults: Injector::new(
                schedule,
                rng::stream(seed, Stream::FaultTargets),
                config.tick_us * u64::from(config.raft.election_timeout_ticks_min),
            ),
            load: Load::new(seed, &config),
            obs: Observers::new(
                config.nodes,
                config.bootstrap_voters(),
                2 * config.election_timeout_us_max(),
            ),
            run: RunState {
                stability_window_us: config.stability_window_us,
                ..RunState::default()
            },
            events: 0,
            config,
        };
        if sim.config.snapshot_every == 0 {
            // No snapshot, no restored state to compare.
            sim.obs.track_state(false);
        }
        sim
    }

    /// The run of `seed` in the profile's swarm: configuration and fault
    /// schedule drawn from the seed's streams.
    #[must_use]
    pub fn from_seed(seed: u64, profile: &Profile) -> Simulation {
        Simulation::from_seed_with_nodes(seed, profile, None)
    }

    /// Like [`Simulation::from_seed`], with the cluster size forced.
    #[must_use]
    pub fn from_seed_with_nodes(seed: u64, profile: &Profile, nodes: Option<usize>) -> Simulation {
        let config = profile.draw(seed, nodes);
        let mut schedule = faults::generate(&config, &mut rng::stream(seed, Stream::Faults));
        let triggered = &mut rng::stream(seed, Stream::TriggeredFaults);
        schedule.extend(faults::generate_triggered(&config, triggered));
        let membership = &mut rng::stream(seed, Stream::Membership);
        schedule.extend(faults::generate_membership(&config, membership));
        schedule.sort_by_key(|f| f.at_us);
        Simulation::new(seed, config, schedule)
    }

    /// The run a case describes: its configuration, faults and client
    /// operations, with the case's seed for everything else.
    #[must_use]
    pub fn from_case(case: &Case) -> Simulation {
        let config = case.config.clone();
        Simulation::build(case.seed, config, case.faults.clone(), Some(&case.ops))
    }

    /// The case that replays this run exactly: its configuration, fault
    /// schedule and every client operation invoked so far.
    #[must_use]
    pub fn record_case(&self) -> Case {
        let ops = self
            .clients
            .history()
            .iter()
            .zip(self.clients.history_via())
            .map(|(h, &via)| ScriptedOp {
                at_us: h.invoke_us,
                client: h.client_id as usize,
                op: h.op.clone(),
                via: Some(via),
            })
            .collect();
        let expect = match &self.run.verdict {
            Verdict::Pass => Expect::Pass,
            v => Expect::Fail(v.failed_property().to_string()),
        };
        Case {
            version: CASE_VERSION,
            seed: self.seed,
            config: self.config.clone(),
            faults: self.faults.schedule().to_vec(),
            ops,
            expect,
            asserts: Vec::new(),
        }
    }

    /// Turns the safety, durability and linearizability checks off (to
    /// measure their cost). Liveness is still checked.
    pub fn disable_checker(&mut self) {
        self.obs.disable_checker();
    }

    /// Records a readable line per event (for `replay --trace`).
    pub fn enable_trace(&mut self) {
        self.obs.enable_text();
    }

    /// Records the structured timeline (for `replay --html`).
    pub fn enable_timeline(&mut self, title: &str) {
        let bootstrap = &self.nodes.cluster.1;
        self.obs.enable_timeline(Timeline {
            title: title.to_string(),
            nodes: self.config.nodes,
            events: vec![membership_event(0, 0, bootstrap)],
            ..Timeline::default()
        });
    }

    /// The recorded timeline, completed with the run's end (after `run`).
    #[must_use]
    pub fn timeline(&self) -> Option<Timeline> {
        let mut t = self.obs.timeline()?.clone();
        t.end_us = self.queue.now_us();
        t.heal_us = self.run.heal_at_us;
        t.verdict = match &self.run.verdict {
            Verdict::Pass => "pass".into(),
            v if v.violation().is_some() => v.message(),
            v => format!("{}: {}", v.failed_property(), v.message()),
        };
        Some(t)
    }

    /// The recorded trace lines.
    #[must_use]
    pub fn trace_lines(&self) -> &[String] {
        self.obs.text_lines()
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The fault schedule.
    #[must_use]
    pub fn schedule(&self) -> &[TimedFault] {
        self.faults.schedule()
    }

    /// The client history (for the checker).
    #[must_use]
    pub fn history(&self) -> &[HistoryOp] {
        self.clients.history()
    }

    // ----- driving ---------------------------------------------------------

    /// Runs to the end and returns the result.
    pub fn run(&mut self) -> RunResult {
        self.start();
        while self.step() {}
        self.finish()
    }

    /// Handles the next event and what it makes due. Returns false once the
    /// run is over (the verdict is in, or nothing is left to happen).
    fn step(&mut self) -> bool {
        if self.run.done {
            return false;
        }
        let Some(event) = self.queue.pop() else {
            return false;
        };
        if self.run.settling && matches!(event, Event::ClientStart { .. }) {
            // The workload has stopped: a client waking up for its next
            // operation is not part of the run (a replayed case, whose
            // script ends with the last operation invoked, has no such
            // wake-ups, and must count the same events).
            return true;
        }
        self.events += 1;
        self.obs.at(self.queue.now_us(), self.events);
        if self.events > EVENTS_MAX {
            self.out_of_events();
            return false;
        }
        self.dispatch(event);
        if self.obs.has_hits() {
            let (nodes, _, faults, mut cx) = self.parts();
            faults.on_points(nodes, &mut cx);
        }
        self.run.stop_at_first_violation(&mut self.obs);
        self.check_queue();
        if std::mem::take(&mut self.run.stability_due) {
            self.open_stability_window();
        }
        if self.run.settled {
            self.final_checks();
        }
        true
    }

    fn start(&mut self) {
        for node in 0..self.nodes.len() {
            let (nodes, _, _, mut cx) = self.parts();
            if nodes.nodes[node].standing == Standing::Member {
                nodes.boot(node, &mut cx);
            }
        }
        self.clients.start(&mut self.queue);
        self.faults.start(&mut self.queue);
        self.load.start(&mut self.queue);
        self.queue.push_at(self.config.chaos_us, Event::Heal);
    }

    fn finish(&mut self) -> RunResult {
        let indeterminate = self.clients.outstanding();
        let committed = self.nodes.nodes.iter().map(|n| n.view.commit.0).max();
        let stats = self.obs.stats_mut();
        stats.client_ops_indeterminate += indeterminate;
        stats.entries_committed = stats.entries_committed.max(committed.unwrap_or(0));
        if !self.run.done {
            self.final_checks();
        }
        self.result()
    }

    /// The run as it stands: verdict, counters, time and trace hash.
    fn result(&self) -> RunResult {
        RunResult {
            seed: self.seed,
            profile: self.config.profile.clone(),
            verdict: self.run.verdict.clone(),
            stats: self.obs.stats().clone(),
            events: self.events,
            sim_time_us: self.queue.now_us(),
            trace_hash: self.obs.trace_hash(),
        }
    }

    /// The run panicked (in node code) while handling an event: its verdict
    /// is the panic, and the trace, the timeline and the counters stay as
    /// far as the run got, so a panicking seed is as debuggable as a
    /// violating one.
    pub fn panicked(&mut self, message: String) -> RunResult {
        self.obs.note_panic(&message);
        self.run.done = true;
        self.run.verdict = Verdict::Panic { message };
        self.result()
    }

    /// The run hit its event budget. Before the heal that is the
    /// configuration's doing (more chaos, nodes or ticks than a run may
    /// take), reported as such; after it, the cluster does not settle (a
    /// message or timer storm): a liveness failure.
    fn out_of_events(&mut self) {
        let now_ms = self.queue.now_us() / 1_000;
        if self.run.heal_at_us.is_none() {
            let found = format!(
                "more than {EVENTS_MAX} events by {now_ms} ms, before the heal at {} ms: the \
                 configuration asks for more than one run may do (shorten the chaos phase, \
                 lengthen the tick); not a Raft verdict",
                self.config.chaos_us / 1_000
            );
            let expected = "a run within its event budget";
            let v = Violation::new(Property::EngineInvariant, self.events, expected, found);
            self.run.fail_safety(v, &mut self.obs);
        } else {
            let found = format!(
                "more than {EVENTS_MAX} events by {now_ms} ms: the cluster does not settle \
                 after the heal (a message or timer storm)"
            );
            let v = Violation::new(Property::Liveness, self.events, "a run settles", found);
            self.run.fail_liveness(v, &mut self.obs);
        }
    }

    /// The seed of the run's remaining randomness.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A broken queue rule ends the run with an engine violation.
    fn check_queue(&mut self) {
        let Some(error) = self.queue.take_error() else {
            return;
        };
        let found = match error {
            QueueError::TimeWentBack { now_us, at_us } => {
                format!("an event scheduled at {at_us} us while the time is {now_us} us")
            }
            QueueError::Full => format!("{} events pending", self.queue.len()),
        };
        let expected = "time never goes back and the event queue stays bounded";
        let v = Violation::new(Property::EngineInvariant, self.events, expected, found);
        self.run.fail_safety(v, &mut self.obs);
    }

    /// The components, and the context a node or client handler needs.
    fn parts(&mut self) -> (&mut Nodes, &mut Clients, &mut Injector, Ctx<'_>) {
        let settle_target = self
            .run
            .awaiting_settle()
            .then(|| self.clients.acked_index_max());
        let Simulation {
            nodes,
            clients,
            faults,
            queue,
            net,
            obs,
            run,
            ..
        } = self;
        let cx = Ctx {
            queue,
            net,
            obs,
            run,
            settle_target,
        };
        (nodes, clients, faults, cx)
    }

    fn dispatch(&mut self, event: Event) {
        let (nodes, clients, faults, mut cx) = self.parts();
        match event {
            Event::Tick { node, incarnation } => nodes.on_tick(node, incarnation, &mut cx),
            Event::Deliver { m, sent_us } => nodes.on_deliver(m, sent_us, &mut cx),
            Event::SyncDone {
                node,
                incarnation,
                upto_seq,
            } => nodes.on_sync_done(node, incarnation, upto_seq, &mut cx),
            Event::ClientStart { client } => clients.on_start(client, &mut client_ctx(&mut cx)),
            Event::ClientRequest {
                node,
                client,
                attempt,
                command,
            } => {
                let token = ClientToken { client, attempt };
                nodes.on_client_request(node, token, command, &mut cx);
            }
            Event::ClientReply {
                client,
                attempt,
                reply,
            } => {
                clients.on_reply(client, attempt, reply, &mut client_ctx(&mut cx));
            }
            Event::ClientTimeout { client, attempt } => {
                clients.on_timeout(client, attempt, &mut client_ctx(&mut cx));
            }
            Event::Fault(i) => faults.fire(i, nodes, &mut cx),
            Event::Restart { node } => nodes.restart(node, &mut cx),
            Event::Shutdown { node } => nodes.shut_down(node, &mut cx),
            Event::Resume { node, pause } => nodes.on_resume(node, pause, &mut cx),
            Event::EndIsolation { isolation } => cx.net.end_isolation(isolation, cx.obs),
            Event::BurstArrives { node, commands } => nodes.on_burst(node, commands, &mut cx),
            Event::Burst => {
                let (queue, obs) = (&mut self.queue, &mut self.obs);
                self.load.on_burst(&self.nodes, queue, obs, &self.run);
            }
            Event::Heal => self.on_heal(),
            Event::LivenessDeadline => {
                if !self.run.done && !self.run.settling {
                    self.final_checks();
                }
            }
            Event::SettleDeadline => {
                let due = self.queue.now_us() >= self.run.settle_deadline_us;
                if !self.run.done && self.run.awaiting_settle() && due {
                    self.final_checks();
                }
            }
            Event::LatencyProbe => self.latency_probe(),
            Event::LatencyDeadline => self.latency_deadline(),
            Event::StabilityEnd => {
                if !self.run.done {
                    self.obs.stats_mut().stability_windows_passed += 1;
                    self.run.stability_over = true;
                    self.await_settle();
                    self.check_settled();
                }
            }
        }
        if std::mem::take(&mut self.run.recovery_check_due) {
            self.check_recovered();
        }
    }

    // ----- phases ----------------------------------------------------------

    fn on_heal(&mut self) {
        self.net.heal();
        let now = self.queue.now_us();
        self.run.heal_at_us = Some(now);
        self.obs.emit(SimEvent::Heal);
        for node in 0..self.nodes.len() {
            let (nodes, _, _, mut cx) = self.parts();
            let n = &mut nodes.nodes[node];
            n.crash_at_sync = None;
            if n.standing == Standing::Leaving {
                nodes.shut_down(node, &mut cx);
            } else if n.alive() {
                nodes.resume(node, &mut cx);
            } else {
                nodes.restart(node, &mut cx);
            }
        }
        {
            // (Once every member is back up with its log.)
            let (nodes, _, _, mut cx) = self.parts();
            nodes.abandon_lost_joins(&mut cx);
        }
        if self.nodes.leader().is_some() {
            self.run.first_leader_after_heal_us = Some(now);
        }
        self.clients.mark_heal();
        let (_, window_us) = self.config.recovery_bounds_us();
        self.queue.push_in(window_us, Event::LivenessDeadline);
        self.check_recovered();
    }

    /// After the heal: once a leader is in place and every client made
    /// progress, stop issuing operations and let the live nodes catch up.
    fn check_recovered(&mut self) {
        let leader = self.run.first_leader_after_heal_us.is_some();
        if self.run.over() || self.run.settling || !leader || !self.clients.all_recovered() {
            return;
        }
        self.obs.emit(SimEvent::Recovered);
        self.run.settling = true;
        self.await_settle();
        self.check_settled();
    }

    /// Settling must end within its bound from now.
    fn await_settle(&mut self) {
        self.run.settle_deadline_us = self.queue.now_us() + SETTLE_US_MAX;
        self.queue.push_in(SETTLE_US_MAX, Event::SettleDeadline);
    }

    /// Settling ends when every live node applied the highest acknowledged write.
    fn check_settled(&mut self) {
        let target = self.clients.acked_index_max();
        let caught_up = self.nodes.nodes.iter().all(|n| n.caught_up(target));
        if caught_up {
            self.run.reach_settle_point();
        }
    }

    /// Every live node applied the highest acknowledged write, and the run
    /// idles through its stability window (from when the last message of
    /// the chaos phase has arrived), in which no node may start an election
    /// or change its role: heartbeats alone must keep the leader in place.
    /// After the window the run settles again and ends.
    fn open_stability_window(&mut self) {
        if self.run.over() {
            return;
        }
        // Strictly after the last message of the chaos phase has arrived.
        let from_us = self.queue.now_us().max(self.net.last_delivery_us() + 1);
        let until_us = from_us + self.run.stability_window_us;
        self.run.stability = Some((from_us, until_us));
        self.obs
            .emit(SimEvent::StabilityWindow { from_us, until_us });
        self.queue.push_at(until_us, Event::StabilityEnd);
        let probe_at = from_us + self.run.stability_window_us / 2;
        self.queue.push_at(probe_at, Event::LatencyProbe);
    }

    /// Mid-window, a burst of proposals to the idle leader, two more than
    /// its in-flight limit (the efficiency rules check that the first ones
    /// leave at once and the rest wait): on a calm network the first must
    /// commit within two network delays (the append and its ack) and two
    /// syncs (one may be in flight), whatever the tick: a leader that waits
    /// for a heartbeat to replicate passes every other check. (Later
    /// appends of the burst may overtake the first and be refused, so only
    /// the first has this bound.)
    fn latency_probe(&mut self) {
        let Some(leader) = self.nodes.leader() else {
            return; // the stability check reports a leaderless window
        };
        if self.run.over() || self.run.stability_over {
            return;
        }
        let last = |nodes: &Nodes| {
            nodes.nodes[leader]
                .driver
                .as_ref()
                .map_or(0, |d| d.raft().log().last_index().0)
        };
        let before = last(&self.nodes);
        let count = u64::from(self.config.raft.max_inflight_messages) + 2;
        let burst = (1..=count)
            .map(|seq| {
                let probe = kv::Command {
                    client_id: LATENCY_PROBE_SESSION,
                    seq,
                    op: kv::Op::Put {
                        key: "probe".into(),
                        value: seq.to_string(),
                    },
                };
                probe.encode().into()
            })
            .collect();
        let (nodes, _, _, mut cx) = self.parts();
        nodes.on_burst(leader, burst, &mut cx);
        if last(&self.nodes) > before {
            let c = &self.config;
            let bound_us = 2 * c.delay_us_max + 2 * c.sync_us_max + LATENCY_SLACK_US;
            self.run.probe = Some((leader, before + 1, bound_us));
            self.queue.push_in(bound_us, Event::LatencyDeadline);
        }
    }

    fn latency_deadline(&mut self) {
        let Some((node, index, bound_us)) = self.run.probe.take() else {
            return;
        };
        if self.run.done {
            return;
        }
        let commit = self.nodes.nodes[node].view.commit.0;
        if commit >= index {
            self.obs.stats_mut().latency_probes_passed += 1;
            return;
        }
        let expected = format!(
            "the first of a burst of proposals to an idle leader on a calm network commits within two network \
             delays and two syncs ({bound_us} us)"
        );
        let found =
            format!("n{node} committed up to {commit} only, {bound_us} us after proposing {index}");
        let v =
            Violation::new(Property::Liveness, self.events, expected, found).with_nodes(&[node]);
        self.run.fail_liveness(v, &mut self.obs);
    }

    /// The end-of-run checks: liveness, durability, linearizability.
    fn final_checks(&mut self) {
        // A violation found by the very input that ended the run comes first.
        self.run.stop_at_first_violation(&mut self.obs);
        if self.run.done {
            return;
        }
        self.run.done = true;
        if let Some(v) = self.liveness_violation() {
            self.run.fail_liveness(v, &mut self.obs);
            return;
        }
        self.obs.stats_mut().liveness_checks_passed += 1;
        if !self.obs.checking() {
            return;
        }
        let finals: Vec<FinalNode<'_>> = self
            .nodes
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.standing == Standing::Member)
            .filter_map(|(node, n)| {
                let driver = n.driver.as_ref()?;
                Some(FinalNode {
                    node,
                    applied: LogIndex(driver.state_machine().applied_index()),
                    first_index: driver.raft().log().first_index(),
                    log: driver.raft().log().entries(),
                    store: driver.state_machine(),
                })
            })
            .collect();
        let durability = check_durability(self.clients.acked(), &finals, self.events);
        drop(finals);
        if let Some(v) = durability {
            self.run.fail_safety(v, &mut self.obs);
            return;
        }
        let acked = self.clients.acked().len() as u64;
        self.obs.stats_mut().durable_writes_checked += acked;
        let report =
            check_linearizability_report(self.clients.history(), LINEARIZABILITY_STEPS_MAX);
        let steps = &mut self.obs.stats_mut().linearizability_steps_max;
        *steps = (*steps).max(report.max_key_steps);
        match report.outcome {
            LinearizabilityOutcome::Linearizable => {
                self.obs.stats_mut().linearizability_checked += 1;
            }
            LinearizabilityOutcome::Unknown { .. } => {
                self.obs.stats_mut().linearizability_unknown += 1;
            }
            LinearizabilityOutcome::Violation(mut v) => {
                v.event_index = self.events;
                self.run.fail_safety(v, &mut self.obs);
            }
        }
    }

    fn liveness_violation(&self) -> Option<Violation> {
        let Some(heal_us) = self.run.heal_at_us else {
            let found = "the run ended before the heal";
            return Some(Violation::new(
                Property::Liveness,
                self.events,
                "a heal and a recovery",
                found,
            ));
        };
        let (leader_within_us, ops_within_us) = self.config.recovery_bounds_us();
        let bounds = LivenessBounds {
            leader_within_us,
            ops_within_us,
        };
        check_liveness(
            heal_us,
            self.run.first_leader_after_heal_us,
            self.clients.history(),
            self.clients.liveness_clients(),
            &bounds,
            self.events,
        )
    }

    // ----- inspection ------------------------------------------------------

    /// Each node's final log and kv state.
    #[must_use]
    pub fn dump(&self) -> Vec<NodeDump> {
        self.nodes
            .nodes
            .iter()
            .enumerate()
            .map(|(node, n)| {
                let (role, term, commit, entries): (String, u64, u64, &[Entry]) = match &n.driver {
                    Some(d) => (
                        format!("{:?}", d.raft().role()),
                        d.raft().term().0,
                        d.raft().log().committed().0,
                        d.raft().log().entries(),
                    ),
                    None => (
                        "Crashed".into(),
                        n.disk.hard_state().term.0,
                        n.disk.hard_state().commit.0,
                        n.disk.log(),
                    ),
                };
                let log = entries
                    .iter()
                    .map(|e| (e.index.0, e.term.0, describe_command(&e.data)))
                    .collect();
                let (kv, digest) = match &n.driver {
                    Some(d) => {
                        let store = d.state_machine();
                        let pairs = store.iter().map(|(k, v)| (k.to_string(), v.to_string()));
                        (pairs.collect(), store.digest())
                    }
                    None => (Vec::new(), kv::KvStore::new().digest()),
                };
                NodeDump {
                    node,
                    alive: n.alive(),
                    role,
                    term,
                    commit,
                    log,
                    kv,
                    digest,
                }
            })
            .collect()
    }
}

/// The handles a client handler needs, from a node context.
fn client_ctx<'a>(cx: &'a mut Ctx<'_>) -> ClientCtx<'a> {
    ClientCtx {
        queue: cx.queue,
        net: cx.net,
        obs: cx.obs,
        run: cx.run,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
