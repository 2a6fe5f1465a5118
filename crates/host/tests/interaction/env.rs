//! The scripted cluster: N nodes, each a [`host::Driver`] over the
//! write-ahead log on a simulated disk that survives crashes, one FIFO in-flight list as the
//! network, network cuts, and the observer ([`Io`]) that prints what happens
//! and feeds every change to a `SafetyChecker`.
//!
//! This module owns the cluster's state and the operations that change
//! nodes (adding them, time, proposals, crashes and restarts); the network
//! and syncs are in `network`, the read-only views in `views`, the observer
//! in `observer`, parsing in `args`, formats in `format`. It must never draw
//! randomness except each node's election jitter, seeded from a fixed
//! function of its id and incarnation, and never iterate a hash map: the same
//! script must always print the same output.

use crate::args::Res;
use crate::format;
use crate::observer::{checker_durable, Io, Seen};
use bytes::Bytes;
use host::fs::SimFs;
use host::wal_storage::WalStorage;
use host::Driver;
use kv::{Command, KvStore, Op};
use raft_core::{
    Config, LogIndex, Message, NodeId, ProposeError, RaftNode, Role, Term, Xoshiro256PlusPlus,
};
use rand_xoshiro::rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[path = "network.rs"]
mod network;
#[path = "views.rs"]
mod views;

/// The driver every node runs: the kv store, proposals tokened by their
/// command's sequence number.
type NodeDriver = Driver<KvStore, u64>;

/// The election-jitter generator of one incarnation of a node.
fn node_rng(id: u64, incarnation: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64((id << 32) | incarnation)
}

/// Which messages a directive acts on; an unset field matches everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The sender.
    pub from: Option<u64>,
    /// The receiver.
    pub to: Option<u64>,
    /// The message kind as printed (`Append`, `VoteResp`, ...).
    pub kind: Option<String>,
}

impl Filter {
    fn matches(&self, m: &Message) -> bool {
        self.from.map_or(true, |f| f == m.from.0)
            && self.to.map_or(true, |t| t == m.to.0)
            && self.kind.as_deref().map_or(true, |k| k == m.body.name())
    }
}

/// The knobs `add-nodes` sets on every node's [`Config`].
#[derive(Clone, Debug, Default)]
pub struct Knobs {
    /// `pre_vote`.
    pub pre_vote: Option<bool>,
    /// `check_quorum`.
    pub check_quorum: Option<bool>,
    /// `election_timeout_ticks_min`.
    pub election: Option<u32>,
    /// `heartbeat_interval_ticks`.
    pub heartbeat: Option<u32>,
    /// `max_entries_per_message`.
    pub max_entries: Option<u32>,
    /// `max_inflight_messages`.
    pub max_inflight: Option<u32>,
    /// `max_uncommitted_entries`.
    pub max_uncommitted: Option<u32>,
    /// The driver's compaction policy (`snapshot-every`, 0: never).
    pub snapshot_every: Option<u64>,
    /// `snapshot_chunk_bytes`.
    pub chunk: Option<u64>,
}

/// One node: its driver (absent while crashed) and its disk.
struct Node {
    id: u64,
    config: Config,
    driver: Option<NodeDriver>,
    disk: WalStorage<SimFs>,
    incarnation: u64,
}

/// The scripted cluster.
pub struct Env {
    nodes: Vec<Node>,
    io: Io,
    /// Network side of each node; nodes on different sides cannot talk.
    sides: BTreeMap<u64, u32>,
    next_side: u32,
    /// Messages taken off the network by `hold`, oldest first.
    held: Vec<Message>,
    client_id: u64,
    next_seq: u64,
    /// Every node's compaction policy (0: never).
    snapshot_every: u64,
}

impl Default for Env {
    fn default() -> Env {
        Env {
            nodes: Vec::new(),
            io: Io::new(0),
            sides: BTreeMap::new(),
            next_side: 1,
            held: Vec::new(),
            client_id: 1,
            next_seq: 1,
            snapshot_every: 0,
        }
    }
}

impl Env {
    // ----- the output ------------------------------------------------------

    /// Takes the current directive's output (never empty: `ok` if nothing
    /// was printed).
    pub fn take_output(&mut self) -> String {
        let out = std::mem::take(&mut self.io.out);
        if out.is_empty() {
            "ok\n".to_string()
        } else {
            out
        }
    }

    /// Appends a line to the output.
    pub fn print(&mut self, text: impl AsRef<str>) {
        self.io.line(true, text);
    }

    /// Every violation and fault so far.
    pub fn problems(&self) -> &[String] {
        &self.io.problems
    }

    // ----- nodes -----------------------------------------------------------

    fn index(&self, id: u64) -> Res<usize> {
        if id >= 1 && id as usize <= self.nodes.len() {
            Ok((id - 1) as usize)
        } else {
            Err(format!(
                "no node {id} (the nodes are 1..={})",
                self.nodes.len()
            ))
        }
    }

    fn live(&self, id: u64) -> Res<&NodeDriver> {
        let i = self.index(id)?;
        self.nodes[i]
            .driver
            .as_ref()
            .ok_or_else(|| format!("node {id} is down"))
    }

    /// The ids of every node.
    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// The live leader of the highest term.
    pub fn leader(&self) -> Res<u64> {
        self.nodes
            .iter()
            .filter_map(|n| n.driver.as_ref().map(|d| (n.id, d.raft())))
            .filter(|(_, r)| r.role() == Role::Leader)
            .max_by_key(|(_, r)| r.term())
            .map(|(id, _)| id)
            .ok_or_else(|| "no live leader".to_string())
    }

    /// `add-nodes`: `n` nodes with ids 1..=n.
    pub fn add_nodes(&mut self, n: u64, knobs: &Knobs) -> Res<()> {
        if !self.nodes.is_empty() {
            return Err("add-nodes: the nodes were already added".into());
        }
        if n == 0 {
            return Err("add-nodes: at least one node".into());
        }
        let voters: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let mut config = Config::new(NodeId(1), voters);
        let k = knobs;
        config.pre_vote = k.pre_vote.unwrap_or(config.pre_vote);
        config.check_quorum = k.check_quorum.unwrap_or(config.check_quorum);
        config.election_timeout_ticks_min = k.election.unwrap_or(config.election_timeout_ticks_min);
        config.heartbeat_interval_ticks = k.heartbeat.unwrap_or(config.heartbeat_interval_ticks);
        config.max_entries_per_message = k.max_entries.unwrap_or(config.max_entries_per_message);
        config.max_inflight_messages = k.max_inflight.unwrap_or(config.max_inflight_messages);
        config.max_uncommitted_entries =
            k.max_uncommitted.unwrap_or(config.max_uncommitted_entries);
        config.snapshot_chunk_bytes = k.chunk.unwrap_or(config.snapshot_chunk_bytes);
        self.snapshot_every = k.snapshot_every.unwrap_or(0);
        config.validate().map_err(|e| e.to_string())?;
        self.io = Io::new(n as usize);
        for id in 1..=n {
            let config = Config {
                id: NodeId(id),
                ..config.clone()
            };
            let raft = RaftNode::new(config.clone(), node_rng(id, 0)).map_err(|e| e.to_string())?;
            let mut driver = Driver::new(raft, KvStore::new());
            driver.set_check_invariants(true);
            driver.set_snapshot_every(self.snapshot_every);
            self.nodes.push(Node {
                id,
                config,
                driver: Some(driver),
                disk: WalStorage::default(),
                incarnation: 0,
            });
        }
        let onoff = |b: bool| if b { "on" } else { "off" };
        self.print(format!(
            "{n} nodes: pre-vote={} check-quorum={} election={} heartbeat={} max-entries={} max-inflight={}",
            onoff(config.pre_vote),
            onoff(config.check_quorum),
            config.election_timeout_ticks_min,
            config.heartbeat_interval_ticks,
            config.max_entries_per_message,
            config.max_inflight_messages,
        ));
        if self.snapshot_every > 0 {
            self.print(format!(
                "compaction: a snapshot every {} applied entries, sent in chunks of {} bytes",
                self.snapshot_every, config.snapshot_chunk_bytes
            ));
        }
        Ok(())
    }

    // ----- time ------------------------------------------------------------

    /// One tick of node `i` (if live).
    fn tick_one(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(driver) = node.driver.as_mut() else {
            return;
        };
        self.io.begin(i);
        driver.tick(&mut node.disk, &mut self.io);
        self.io.end();
    }

    /// `tick`: `n` ticks of node `id`.
    pub fn tick(&mut self, id: u64, n: u32) -> Res<()> {
        self.live(id)?;
        let i = self.index(id)?;
        for t in 1..=n {
            self.io.prefix = if n > 1 {
                format!("tick {t}: ")
            } else {
                String::new()
            };
            self.tick_one(i);
        }
        self.io.prefix.clear();
        Ok(())
    }

    /// `tick-all`: `n` ticks of every live node, in id order, delivering nothing.
    pub fn tick_all(&mut self, n: u32) {
        for t in 1..=n {
            self.io.prefix = if n > 1 {
                format!("tick {t}: ")
            } else {
                String::new()
            };
            for i in 0..self.nodes.len() {
                self.tick_one(i);
            }
        }
        self.io.prefix.clear();
    }

    /// `campaign`: ticks a follower until it leaves the follower role.
    pub fn campaign(&mut self, id: u64) -> Res<()> {
        let role = self.live(id)?.raft().role();
        if role != Role::Follower {
            return Err(format!("campaign: node {id} is {role:?}, not a follower"));
        }
        let i = self.index(id)?;
        // The timeout is drawn from [min, 2 * min).
        let max = 2 * self.nodes[i].config.election_timeout_ticks_min;
        for t in 1..=max {
            self.tick_one(i);
            let Some(driver) = self.nodes[i].driver.as_ref() else {
                return Ok(()); // stopped by a fault, already printed
            };
            if driver.raft().role() != Role::Follower {
                self.print(format!("{id} campaigned after {t} ticks"));
                return Ok(());
            }
        }
        self.print(format!("{id} did not campaign within {max} ticks"));
        Ok(())
    }

    /// `run`: `n` rounds of a tick of every live node then a quiet stabilize.
    pub fn run(&mut self, n: u32, verbose: bool) {
        let (delivered, dropped) = (self.io.delivered, self.io.dropped);
        let was_quiet = std::mem::replace(&mut self.io.quiet, !verbose);
        for t in 1..=n {
            self.io.prefix = format!("tick {t}: ");
            for i in 0..self.nodes.len() {
                self.tick_one(i);
            }
            self.stabilize_rounds(STABILIZE_ROUNDS, !verbose);
        }
        self.io.prefix.clear();
        self.io.quiet = was_quiet;
        self.print(format!(
            "ran {n} ticks: {} messages delivered, {} dropped",
            self.io.delivered - delivered,
            self.io.dropped - dropped
        ));
    }

    // ----- proposals -------------------------------------------------------

    fn next_command(&mut self, op: Op) -> Command {
        let seq = self.next_seq;
        self.next_seq += 1;
        Command {
            client_id: self.client_id,
            seq,
            op,
        }
    }

    /// Proposes one command on node `id`; the answer's token is its seq.
    fn propose_command(
        &mut self,
        id: u64,
        cmd: &Command,
    ) -> Res<Result<(LogIndex, Term), ProposeError>> {
        let i = self.index(id)?;
        self.live(id)?;
        let node = &mut self.nodes[i];
        let Some(driver) = node.driver.as_mut() else {
            return Err(format!("node {id} is down"));
        };
        self.io.begin(i);
        let result = driver.propose(
            Bytes::from(cmd.encode()),
            cmd.seq,
            &mut node.disk,
            &mut self.io,
        );
        self.io.end();
        Ok(result)
    }

    /// `propose`: one kv command; prints where it was accepted, or why not.
    pub fn propose(&mut self, id: u64, op: Op) -> Res<()> {
        let cmd = self.next_command(op);
        let what = format::op(&cmd.op);
        self.io.loud.insert(cmd.seq, what.clone());
        match self.propose_command(id, &cmd)? {
            Ok((index, term)) => {
                let head = format!(
                    "{id} accepts #{} ({what}) at {}",
                    cmd.seq,
                    format::at(index, term)
                );
                // The answer may already be printed (a single-node cluster):
                // put the acceptance first.
                let out = std::mem::take(&mut self.io.out);
                self.print(head);
                self.io.out.push_str(&out);
            }
            Err(e) => {
                self.io.loud.remove(&cmd.seq);
                self.print(format!(
                    "{id} refuses #{} ({what}): {}",
                    cmd.seq,
                    refusal(e)
                ));
            }
        }
        Ok(())
    }

    /// `propose-many`: `n` puts on node `id`, printed as one summary line.
    pub fn propose_many(&mut self, id: u64, n: u64) -> Res<()> {
        let mut accepted: Vec<(LogIndex, Term)> = Vec::new();
        let mut refused = None;
        let quiet = std::mem::replace(&mut self.io.quiet, true);
        for _ in 0..n {
            let seq = self.next_seq;
            let op = Op::Put {
                key: format!("k{seq}"),
                value: format!("v{seq}"),
            };
            let cmd = self.next_command(op);
            match self.propose_command(id, &cmd)? {
                Ok(at) => accepted.push(at),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        self.io.quiet = quiet;
        let mut line = match (accepted.first(), accepted.last()) {
            (Some(first), Some(last)) => format!(
                "{id} accepts {} puts at {}..{}",
                accepted.len(),
                first.0 .0,
                format::at(last.0, last.1)
            ),
            _ => format!("{id} accepts no puts"),
        };
        if let Some(e) = refused {
            let _ = write!(line, "; then refuses: {}", refusal(e));
        }
        self.print(line);
        Ok(())
    }

    // ----- crashes ---------------------------------------------------------

    /// `crash`: the node loses its memory and its unsynced writes (all of
    /// them, or all but the first `keep`).
    pub fn crash(&mut self, id: u64, keep: usize) -> Res<()> {
        self.live(id)?;
        let i = self.index(id)?;
        let node = &mut self.nodes[i];
        node.driver = None;
        let lost = node.disk.crash_keeping(keep);
        self.io.checker.crashed(i);
        // The disk as a restart reads it back (its views show that).
        let durable = node.disk.recover().map_err(|e| format!("crash: {e}"))?;
        self.io.seen[i] = Seen::restored(&durable);
        let s = if lost == 1 { "" } else { "s" };
        let kept = if keep > 0 {
            format!(" (kept the first {keep})")
        } else {
            String::new()
        };
        self.print(format!("{id} crashed: lost {lost} unsynced write{s}{kept}"));
        Ok(())
    }

    /// `restart`: rebuilds the node from its disk alone, with a fresh kv
    /// store; the host reports its disk synced at once, which hands out the
    /// durable committed prefix to re-apply.
    pub fn restart(&mut self, id: u64) -> Res<()> {
        let i = self.index(id)?;
        if self.nodes[i].driver.is_some() {
            return Err(format!("restart: node {id} is running"));
        }
        let node = &mut self.nodes[i];
        node.incarnation += 1;
        let durable = node.disk.recover().map_err(|e| format!("restart: {e}"))?;
        self.io.begin(i);
        let for_checker = checker_durable(&durable);
        self.io.checker.restarted(self.io.events, i, &for_checker);
        self.io.seen[i] = Seen::restored(&durable);
        let hs = durable.hard_state;
        let snapshot = durable
            .snapshot
            .as_ref()
            .map(|s| (s.meta.index, s.meta.term));
        let last = durable.entries.last().map(|e| (e.index, e.term));
        let last = last
            .or(snapshot)
            .map_or_else(|| "0@0".to_string(), |(i, t)| format::at(i, t));
        let rng = node_rng(id, node.incarnation);
        let raft = match RaftNode::restore(node.config.clone(), durable, rng) {
            Ok(raft) => raft,
            Err(e) => {
                let text = format!("node {id} cannot restart from its disk: {e}");
                self.io.line(true, format!("VIOLATION: {text}"));
                self.io.problems.push(text);
                return Ok(());
            }
        };
        self.io.end();
        self.io.line(
            true,
            format!(
                "{id} restarted: term={} vote={} commit={} last={last}",
                hs.term.0,
                format::vote(hs.vote),
                hs.commit.0
            ),
        );
        let mut driver = match Driver::restore(raft, KvStore::new()) {
            Ok(driver) => driver,
            Err(e) => {
                let text = format!("node {id} cannot restore its snapshot: {e}");
                self.io.line(true, format!("VIOLATION: {text}"));
                self.io.problems.push(text);
                return Ok(());
            }
        };
        driver.set_check_invariants(true);
        driver.set_snapshot_every(self.snapshot_every);
        if let Some((index, term)) = snapshot {
            self.io.line(
                true,
                format!(
                    "{id} restores its kv store from snapshot {}",
                    format::at(index, term)
                ),
            );
        }
        self.io.begin(i);
        driver.on_synced(&mut node.disk, &mut self.io);
        self.io.end();
        let applied = driver.state_machine().applied_index();
        node.driver = Some(driver);
        let first = snapshot.map_or(1, |(index, _)| index.0 + 1);
        if applied >= first {
            self.io
                .line(true, format!("{id} re-applied {first}..{applied}"));
        }
        Ok(())
    }
}

/// Most rounds of one `stabilize` (and of each tick's in `run`) by default.
pub const STABILIZE_ROUNDS: u32 = 1_000;

/// Why a proposal was refused, with node ids as the scripts write them.
fn refusal(e: ProposeError) -> String {
    match e {
        ProposeError::NotLeader { leader: Some(l) } => {
            format!("not the leader (the leader is {})", l.0)
        }
        ProposeError::NotLeader { leader: None } => "not the leader (none known)".to_string(),
        other => other.to_string(),
    }
}
