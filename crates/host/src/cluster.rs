//! A cluster in one process: every node a [`Driver`] over the write-ahead
//! log ([`WalStorage`]) on its own in-memory file system, messages handed
//! from node to node by direct calls, time advanced by explicit ticks.
//! Nothing is random but each node's election jitter (seeded), so a
//! program using it behaves the same on every run.
//!
//! It is the quickest way to use the library (an embedded replicated kv
//! store, a test of an application's use of it) and the in-process mode of
//! the real node: the code is the host code a real node and the simulator
//! run; only the disk is memory and the network a queue.
//!
//! ```
//! use host::cluster::LocalCluster;
//! use kv::{Op, OpResult};
//!
//! let mut cluster = LocalCluster::new(3, 7).expect("three nodes");
//! let leader = cluster.elect(200).expect("a leader within 200 ticks");
//! let put = Op::Put { key: "k".into(), value: "v".into() };
//! assert_eq!(cluster.submit(put, 100), Ok(OpResult::Ok));
//! cluster.crash(leader);
//! cluster.elect(400).expect("another leader");
//! let get = Op::Get { key: "k".into() };
//! assert_eq!(cluster.submit(get, 100), Ok(OpResult::Value(Some("v".into()))));
//! ```

use crate::driver::Driver;
use crate::fs::SimFs;
use crate::io::{Answer, Effects, HostFault, Transport};
use crate::wal_storage::WalStorage;
use kv::{Applied, Command, KvStore, Op, OpResult};
use raft_core::{Config, Message, NodeId, RaftNode, Role, Xoshiro256PlusPlus};
use rand_xoshiro::rand_core::SeedableRng;
use std::collections::VecDeque;
use std::fmt;

/// Why an operation did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterError {
    /// No live leader accepted it within the ticks given.
    NoLeader,
    /// It was accepted but not applied within the ticks given (its outcome
    /// is unknown).
    Timeout,
    /// A node stopped on a broken rule (a bug: never on correct code).
    Fault(String),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::NoLeader => f.write_str("no leader accepted the operation"),
            ClusterError::Timeout => f.write_str("the operation was not applied in time"),
            ClusterError::Fault(e) => write!(f, "a node stopped: {e}"),
        }
    }
}

impl std::error::Error for ClusterError {}

/// The node side of the in-process network: what a driver sends and
/// answers during one input.
#[derive(Default)]
struct Outbox {
    messages: Vec<Message>,
    answers: Vec<(u64, Answer<Applied>)>,
    faults: Vec<HostFault>,
}

impl Transport for Outbox {
    fn send(&mut self, m: Message) {
        self.messages.push(m);
    }
}

impl Effects<u64, Applied> for Outbox {
    fn answer(&mut self, token: u64, answer: Answer<Applied>) {
        self.answers.push((token, answer));
    }

    fn fault(&mut self, fault: HostFault) {
        self.faults.push(fault);
    }
}

/// One node: its driver (absent while crashed) and its disk.
struct LocalNode {
    config: Config,
    driver: Option<Driver<KvStore, u64>>,
    disk: WalStorage<SimFs>,
    incarnation: u64,
}

/// A cluster of nodes `0..n` in one process (see the module docs).
pub struct LocalCluster {
    nodes: Vec<LocalNode>,
    network: VecDeque<Message>,
    answers: Vec<(u64, Answer<Applied>)>,
    faults: Vec<String>,
    seed: u64,
    client_id: u64,
    next_seq: u64,
}

impl LocalCluster {
    /// `n` nodes, all voters, with raft-core's default configuration and
    /// snapshots every 1,000 applied entries; `seed` seeds their election
    /// jitter.
    ///
    /// # Errors
    /// `n` is 0.
    pub fn new(n: usize, seed: u64) -> Result<LocalCluster, ClusterError> {
        if n == 0 {
            return Err(ClusterError::Fault("a cluster needs a node".into()));
        }
        let voters: Vec<NodeId> = (0..n as u64).map(NodeId).collect();
        let mut cluster = LocalCluster {
            nodes: Vec::new(),
            network: VecDeque::new(),
            answers: Vec::new(),
            faults: Vec::new(),
            seed,
            client_id: 1,
            next_seq: 1,
        };
        for id in 0..n as u64 {
            let (disk, _) = WalStorage::open(SimFs::default())
                .map_err(|e| ClusterError::Fault(e.to_string()))?;
            cluster.nodes.push(LocalNode {
                config: Config::new(NodeId(id), voters.clone()),
                driver: None,
                disk,
                incarnation: 0,
            });
            cluster.boot(id as usize)?;
        }
        Ok(cluster)
    }

    /// Builds node `i`'s driver from its disk alone.
    fn boot(&mut self, i: usize) -> Result<(), ClusterError> {
        let node = &mut self.nodes[i];
        node.incarnation += 1;
        let fs = std::mem::replace(
            &mut node.disk,
            WalStorage::open(SimFs::default())
                .map_err(|e| ClusterError::Fault(e.to_string()))?
                .0,
        )
        .into_fs();
        // Everything was synced as it was written: a crash loses nothing.
        let mut fs = fs;
        fs.crash(None);
        let (disk, durable) =
            WalStorage::open(fs).map_err(|e| ClusterError::Fault(e.to_string()))?;
        node.disk = disk;
        let rng =
            Xoshiro256PlusPlus::seed_from_u64(self.seed ^ ((i as u64) << 32) ^ node.incarnation);
        let raft = RaftNode::restore(node.config.clone(), durable, rng)
            .map_err(|e| ClusterError::Fault(e.to_string()))?;
        let mut driver = Driver::restore(raft, KvStore::new())
            .map_err(|e| ClusterError::Fault(e.to_string()))?;
        driver.set_check_invariants(true);
        driver.set_snapshot_every(1_000);
        node.driver = Some(driver);
        self.with_node(i, |d, disk, out| d.on_synced(disk, out));
        Ok(())
    }

    /// Runs `f` on node `i`'s driver (if it is up), syncs its disk (the
    /// in-process disk is synchronous), and queues what it sent.
    fn with_node(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Driver<KvStore, u64>, &mut WalStorage<SimFs>, &mut Outbox),
    ) {
        let node = &mut self.nodes[i];
        let Some(driver) = node.driver.as_mut() else {
            return;
        };
        let mut out = Outbox::default();
        f(driver, &mut node.disk, &mut out);
        while node.disk.has_unsynced() {
            let upto = node.disk.issued_seq();
            if let Err(e) = node.disk.sync_to(upto) {
                out.faults.push(HostFault::Storage(e));
                break;
            }
            driver.on_synced(&mut node.disk, &mut out);
        }
        self.network.extend(out.messages);
        self.answers.extend(out.answers);
        self.faults
            .extend(out.faults.iter().map(|f| format!("node {i}: {f}")));
    }

    /// Delivers messages until none are in flight (messages to crashed
    /// nodes are lost).
    fn deliver(&mut self) {
        let mut budget = 1_000_000;
        while let Some(m) = self.network.pop_front() {
            budget -= 1;
            if budget == 0 {
                self.faults.push("the network never went quiet".into());
                self.network.clear();
                return;
            }
            let i = m.to.0 as usize;
            if i < self.nodes.len() {
                self.with_node(i, |d, disk, out| d.step(m, disk, out));
            }
        }
    }

    /// One tick of every live node, then every message delivered.
    pub fn tick(&mut self) {
        for i in 0..self.nodes.len() {
            self.with_node(i, |d, disk, out| d.tick(disk, out));
        }
        self.deliver();
    }

    /// The live leader of the highest term, if any.
    #[must_use]
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|n| n.driver.as_ref().map(Driver::raft))
            .filter(|r| r.role() == Role::Leader)
            .max_by_key(|r| r.term())
            .map(RaftNode::id)
    }

    /// Ticks until a live leader has committed an entry of its term (it
    /// can serve), at most `max_ticks`; returns it.
    pub fn elect(&mut self, max_ticks: u32) -> Option<NodeId> {
        for _ in 0..=max_ticks {
            if let Some(id) = self.leader() {
                let raft = self.nodes[id.0 as usize].driver.as_ref().map(Driver::raft);
                if raft.is_some_and(|r| r.log().term(r.log().committed()) == Some(r.term())) {
                    return Some(id);
                }
            }
            self.tick();
        }
        None
    }

    /// Submits `op` to the leader as one client session's next command and
    /// ticks until it is applied (at most `max_ticks`, retried at whichever
    /// node leads if the leader changes).
    ///
    /// # Errors
    /// [`ClusterError::NoLeader`] or [`ClusterError::Timeout`] once the
    /// ticks run out; [`ClusterError::Fault`] if a node stopped.
    pub fn submit(&mut self, op: Op, max_ticks: u32) -> Result<OpResult, ClusterError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let command = Command {
            client_id: self.client_id,
            seq,
            op,
        };
        let data: bytes::Bytes = command.encode().into();
        let mut accepted = false;
        for _ in 0..=max_ticks {
            if let Some(e) = self.faults.first() {
                return Err(ClusterError::Fault(e.clone()));
            }
            if let Some(at) = self.answers.iter().position(|(t, _)| *t == seq) {
                let (_, answer) = self.answers.swap_remove(at);
                match answer {
                    Answer::Applied {
                        output: Applied::Fresh { result, .. } | Applied::Duplicate { result, .. },
                        ..
                    }
                    | Answer::Read {
                        output: Applied::Fresh { result, .. },
                        ..
                    } => return Ok(result),
                    // Lost to a leader change: propose again (the session
                    // applies it at most once).
                    Answer::Applied { .. }
                    | Answer::Lost { .. }
                    | Answer::Read { .. }
                    | Answer::ReadRefused => accepted = false,
                }
            }
            if !accepted {
                if let Some(leader) = self.leader() {
                    let i = leader.0 as usize;
                    let mut ok = false;
                    self.with_node(i, |d, disk, out| {
                        ok = d.propose(data.clone(), seq, disk, out).is_ok();
                    });
                    accepted = ok;
                    self.deliver();
                    continue;
                }
            }
            self.tick();
        }
        Err(if accepted {
            ClusterError::Timeout
        } else {
            ClusterError::NoLeader
        })
    }

    /// The value of `key` in node `node`'s kv store (what it has applied),
    /// or `None` if the node is down or the key absent.
    #[must_use]
    pub fn read_local(&self, node: NodeId, key: &str) -> Option<String> {
        let n = self.nodes.get(node.0 as usize)?;
        n.driver
            .as_ref()
            .and_then(|d| d.state_machine().get(key))
            .map(str::to_owned)
    }

    /// Crashes node `node`: its memory is gone; its disk keeps what was
    /// synced (in-process, every write is synced at once).
    pub fn crash(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node.0 as usize) {
            n.driver = None;
        }
    }

    /// Restarts a crashed node from its disk.
    ///
    /// # Errors
    /// Its disk cannot be recovered (a bug: never on correct code).
    pub fn restart(&mut self, node: NodeId) -> Result<(), ClusterError> {
        let i = node.0 as usize;
        if self.nodes.get(i).is_some_and(|n| n.driver.is_none()) {
            self.boot(i)?;
        }
        Ok(())
    }

    /// The kv digests of the live nodes, by node: equal once they have
    /// applied the same entries.
    #[must_use]
    pub fn digests(&self) -> Vec<(NodeId, u64, u64)> {
        self.nodes
            .iter()
            .filter_map(|n| n.driver.as_ref())
            .map(|d| {
                let kv = d.state_machine();
                (d.raft().id(), kv.applied_index(), kv.digest())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> Op {
        Op::Put {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn a_five_node_cluster_survives_a_minority_down_and_agrees() {
        let mut c = LocalCluster::new(5, 3).expect("five nodes");
        let leader = c.elect(300).expect("a leader");
        for i in 0..20 {
            assert_eq!(c.submit(put("k", &i.to_string()), 100), Ok(OpResult::Ok));
        }
        c.crash(leader);
        let other = NodeId((leader.0 + 1) % 5);
        c.crash(other);
        c.elect(500).expect("three of five elect a leader");
        assert_eq!(c.submit(put("k", "after"), 200), Ok(OpResult::Ok));
        c.restart(leader).expect("recovers");
        c.restart(other).expect("recovers");
        for _ in 0..30 {
            c.tick();
        }
        let digests = c.digests();
        assert_eq!(digests.len(), 5);
        assert!(
            digests
                .windows(2)
                .all(|w| (w[0].1, w[0].2) == (w[1].1, w[1].2)),
            "{digests:?}"
        );
        assert_eq!(c.read_local(leader, "k").as_deref(), Some("after"));
    }

    #[test]
    fn with_a_majority_down_nothing_commits() {
        let mut c = LocalCluster::new(3, 9).expect("three nodes");
        let leader = c.elect(300).expect("a leader");
        for id in (0..3)
            .map(NodeId)
            .filter(|&id| id != leader)
            .collect::<Vec<_>>()
        {
            c.crash(id);
        }
        assert!(c.submit(put("k", "v"), 50).is_err());
    }

    #[test]
    fn snapshots_compact_the_log_and_a_lagging_node_catches_up() {
        let mut c = LocalCluster::new(3, 5).expect("three nodes");
        let leader = c.elect(300).expect("a leader");
        let lagging = NodeId((leader.0 + 1) % 3);
        c.crash(lagging);
        for i in 0..1_200 {
            assert_eq!(
                c.submit(put(&format!("k{}", i % 10), "v"), 100),
                Ok(OpResult::Ok)
            );
        }
        c.restart(lagging).expect("recovers");
        for _ in 0..30 {
            c.tick();
        }
        let digests = c.digests();
        assert!(digests.windows(2).all(|w| w[0].2 == w[1].2), "{digests:?}");
        assert!(digests.iter().all(|d| d.1 >= 1_200));
    }
}
