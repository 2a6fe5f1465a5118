//! The client workload: who invokes what and when, retries, the history a
//! linearizability checker reads, and the acknowledged writes a durability
//! check reads.
//!
//! Each client ([`Client`]) has one operation outstanding; operations come
//! from the workload stream (think time, keys, values) or, for a case, from
//! its script. A request carries its encoded command when it is sent, so a
//! request held in a paused node's inbox proposes what was sent, never a
//! newer operation. This module never touches a node: requests go through
//! the event queue, over the client links of [`Net`].

use crate::case::ScriptedOp;
use crate::net::Net;
use crate::observe::{Observers, SimEvent};
use crate::phase::RunState;
use crate::profile::SimConfig;
use crate::queue::{Event, EventQueue};
use crate::rng::{self, Stream};
use crate::workload::{Client, Reply};
use checker::{AckedWrite, HistoryOp};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::VecDeque;

/// Client backoff after a refusal without a leader hint.
pub const CLIENT_BACKOFF_US: u64 = 20_000;

/// The clients of one run and what they saw.
pub struct Clients {
    clients: Vec<Client>,
    nodes: usize,
    keys: usize,
    think_us_max: u64,
    timeout_us: u64,
    rng: Xoshiro256PlusPlus,
    /// Scripted operations per client (a case); `None` draws them from the seed.
    script: Option<Vec<VecDeque<ScriptedOp>>>,
    history: Vec<HistoryOp>,
    /// The node each history op was first sent to (for recording a case).
    history_via: Vec<usize>,
    acked: Vec<AckedWrite>,
    /// The highest index among `acked` (0 if none).
    acked_index_max: u64,
    /// The clients (ids) that must complete an operation invoked after the heal.
    liveness_clients: Vec<u64>,
}

/// The handles a client handler needs.
pub struct ClientCtx<'a> {
    /// Time and events.
    pub queue: &'a mut EventQueue,
    /// The client links.
    pub net: &'a mut Net,
    /// The event stream.
    pub obs: &'a mut Observers,
    /// Phase and verdict.
    pub run: &'a mut RunState,
}

impl Clients {
    /// The clients of run `seed`; `script` replaces the drawn workload.
    #[must_use]
    pub fn new(seed: u64, config: &SimConfig, script: Option<&[ScriptedOp]>) -> Clients {
        let clients = (0..config.clients)
            .map(|i| Client::new(i as u64, i % config.bootstrap_voters()))
            .collect();
        let script = script.map(|ops| {
            let mut per_client = vec![VecDeque::new(); config.clients];
            for op in ops {
                if let Some(queue) = per_client.get_mut(op.client) {
                    queue.push_back(op.clone());
                }
            }
            per_client
        });
        Clients {
            clients,
            nodes: config.nodes,
            keys: config.keys,
            think_us_max: config.think_us_max,
            timeout_us: config.client_timeout_us,
            rng: rng::stream(seed, Stream::Workload),
            script,
            history: Vec::new(),
            history_via: Vec::new(),
            acked: Vec::new(),
            acked_index_max: 0,
            liveness_clients: Vec::new(),
        }
    }

    /// Every invoked operation, in invocation order.
    #[must_use]
    pub fn history(&self) -> &[HistoryOp] {
        &self.history
    }

    /// The node each history operation was first sent to.
    #[must_use]
    pub fn history_via(&self) -> &[usize] {
        &self.history_via
    }

    /// The acknowledged writes.
    #[must_use]
    pub fn acked(&self) -> &[AckedWrite] {
        &self.acked
    }

    /// The highest index of an acknowledged write (0 if none).
    #[must_use]
    pub fn acked_index_max(&self) -> u64 {
        self.acked_index_max
    }

    /// The clients (ids) the liveness check waits for.
    #[must_use]
    pub fn liveness_clients(&self) -> &[u64] {
        &self.liveness_clients
    }

    /// Operations whose outcome the client never learned.
    #[must_use]
    pub fn outstanding(&self) -> u64 {
        self.clients.iter().filter(|c| c.outstanding()).count() as u64
    }

    /// Whether every client progressed after the heal.
    #[must_use]
    pub fn all_recovered(&self) -> bool {
        self.clients.iter().all(Client::recovered)
    }

    /// Schedules every client's first operation.
    pub fn start(&mut self, queue: &mut EventQueue) {
        for client in 0..self.clients.len() {
            self.schedule_next_op(client, queue);
        }
    }

    /// The heal: every client's outstanding operation must now complete, and
    /// every client with work left must complete one more.
    pub fn mark_heal(&mut self) {
        for c in &mut self.clients {
            c.mark_heal();
        }
        let script = self.script.as_ref();
        self.liveness_clients = (0..self.clients.len())
            .filter(|&c| script.map_or(true, |s| !s[c].is_empty()))
            .map(|c| c as u64)
            .collect();
    }

    /// Schedules the client's next operation: after a think time drawn
    /// from the workload stream, or at the script's time for it.
    fn schedule_next_op(&mut self, client: usize, queue: &mut EventQueue) {
        let Some(script) = self.script.as_ref() else {
            let think = self.rng.gen_range(0..=self.think_us_max);
            queue.push_in(think, Event::ClientStart { client });
            return;
        };
        match script[client].front() {
            Some(next) => {
                let at = next.at_us.max(queue.now_us());
                queue.push_at(at, Event::ClientStart { client });
            }
            None => self.clients[client].finish_script(),
        }
    }

    /// The client invokes its next operation.
    pub fn on_start(&mut self, client: usize, cx: &mut ClientCtx<'_>) {
        if cx.run.done || cx.run.settling {
            return;
        }
        let op = match self.script.as_mut() {
            None => self.clients[client].next_op(&mut self.rng, self.keys),
            Some(script) => {
                let Some(next) = script[client].pop_front() else {
                    return;
                };
                if let Some(via) = next.via.filter(|&v| v < self.nodes) {
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
            invoke_us: cx.queue.now_us(),
            complete_us: None,
            result: None,
            cas_current_unknown: false,
        });
        self.clients[client].begin(history_index);
        if let Some(h) = self.history.last() {
            cx.obs.emit(SimEvent::ClientInvoked { client, op: &h.op });
        }
        self.attempt(client, 0, cx);
    }

    /// Sends the current operation (again), and arms its timeout.
    fn attempt(&mut self, client: usize, backoff_us: u64, cx: &mut ClientCtx<'_>) {
        let (node, attempt) = self.clients[client].new_attempt();
        let command = self.clients[client].encoded();
        cx.net
            .request(node, client, attempt, command, backoff_us, cx.queue, cx.obs);
        let timeout = backoff_us + self.timeout_us;
        cx.queue
            .push_in(timeout, Event::ClientTimeout { client, attempt });
    }

    /// A node's reply reaches the client. An operation completed after
    /// the heal makes a recovery check due.
    pub fn on_reply(&mut self, client: usize, attempt: u32, reply: Reply, cx: &mut ClientCtx<'_>) {
        // Replies to the load generator's bursts (no client of ours) are dropped.
        let current = self
            .clients
            .get(client)
            .is_some_and(|c| c.is_current(attempt));
        if !current {
            return;
        }
        cx.obs.emit(SimEvent::ClientReplied { client, attempt });
        match reply {
            Reply::Ok {
                result,
                index,
                term,
            } => {
                let Some(h) = self.clients[client].complete() else {
                    return;
                };
                cx.obs.emit(SimEvent::ClientOk {
                    client,
                    result: &result,
                    index,
                    term,
                });
                let op = &mut self.history[h];
                if is_write(&op.op, &result) {
                    let (client_id, seq) = (op.client_id, op.seq);
                    self.acked.push(AckedWrite {
                        client_id,
                        seq,
                        index,
                        term,
                    });
                    self.acked_index_max = self.acked_index_max.max(index.0);
                }
                op.result = Some(result);
                op.complete_us = Some(cx.queue.now_us());
                let after_heal = cx.run.heal_at_us.map(|heal| op.invoke_us >= heal);
                // Schedule first: a scripted client with nothing left counts
                // as done, which the recovery check must see.
                self.schedule_next_op(client, cx.queue);
                if let Some(invoked_after_heal) = after_heal {
                    self.clients[client].note_completion(invoked_after_heal);
                    cx.run.recovery_check_due = true;
                }
            }
            Reply::Redirect(Some(leader)) if leader < self.nodes => {
                cx.obs.emit(SimEvent::ClientRefused {
                    client,
                    why: "redirected to the leader",
                });
                self.clients[client].set_leader_guess(leader);
                self.attempt(client, 0, cx);
            }
            Reply::Redirect(_) | Reply::Lost | Reply::Busy => {
                let why = match reply {
                    Reply::Lost => "its entry was lost to another term's",
                    Reply::Busy => "the leader is busy",
                    _ => "no leader known",
                };
                cx.obs.emit(SimEvent::ClientRefused { client, why });
                self.clients[client].rotate_guess(self.nodes);
                self.attempt(client, CLIENT_BACKOFF_US, cx);
            }
        }
    }

    /// The client gave up waiting for `attempt`: it tries the next node.
    pub fn on_timeout(&mut self, client: usize, attempt: u32, cx: &mut ClientCtx<'_>) {
        if cx.run.done || !self.clients[client].is_current(attempt) {
            return;
        }
        cx.obs.emit(SimEvent::ClientTimedOut { client, attempt });
        self.clients[client].rotate_guess(self.nodes);
        self.attempt(client, 0, cx);
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
