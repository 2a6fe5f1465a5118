//! The simulated network: links between nodes and between clients and
//! nodes, with loss, duplication, heavy-tailed delay (hence reordering) and
//! partitions.
//!
//! A seed may also hold a fraction of messages for seconds, across several
//! elections, and bring old duplicates back that late: what TCP
//! retransmissions across reconnects, proxy queues or a paused sender do.
//!
//! Raft messages draw from the network stream, client requests and replies
//! from a stream of their own, so client traffic never shifts Raft's draws.
//! Loss, duplication and the delay tail apply only during the chaos phase;
//! partitions are checked when a message is sent. A message to a crashed
//! node is lost on delivery (by the host, which knows it crashed).
//!
//! This module owns links only: it never touches a node.

use crate::faults::Partition;
use crate::observe::{Observers, SimEvent};
use crate::profile::{SimConfig, LONG_DELAY_US_MIN};
use crate::queue::{Event, EventQueue};
use crate::rng::{self, Chance, Stream};
use crate::workload::{Reply, LOAD_CLIENT};
use raft_core::{Message, MessageBody, NodeId, Term};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The links of one run.
pub struct Net {
    nodes: usize,
    /// blocked[from] has bit `to` set when from -> to is cut.
    blocked: Vec<u32>,
    /// Loss, duplication and the delay tail are on (the chaos phase).
    chaos: bool,
    /// When the last Raft message scheduled so far arrives.
    last_delivery_us: u64,
    rng: Xoshiro256PlusPlus,
    client_rng: Xoshiro256PlusPlus,
    drop: Chance,
    duplicate: Chance,
    client_duplicate: Chance,
    delay_us_min: u64,
    delay_us_max: u64,
    delay_tail: Chance,
    delay_tail_factor_max: f64,
    long_delay: Chance,
    long_delay_us_max: u64,
    /// Counts installed partitions, so a timed end of an isolation ends
    /// only the cut it made.
    partitions_installed: u64,
    /// Vote responses to these candidates in these terms are lost (None)
    /// or held this long (triggered faults on single elections).
    vote_holds: Vec<(NodeId, Term, Option<u64>)>,
}

impl Net {
    /// The network of run `seed` as `config` describes it, in chaos.
    #[must_use]
    pub fn new(seed: u64, config: &SimConfig) -> Net {
        Net {
            nodes: config.nodes,
            blocked: vec![0; config.nodes],
            chaos: true,
            last_delivery_us: 0,
            rng: rng::stream(seed, Stream::Network),
            client_rng: rng::stream(seed, Stream::ClientNetwork),
            drop: Chance::new(config.drop_probability),
            duplicate: Chance::new(config.duplicate_probability),
            client_duplicate: Chance::new(config.client_duplicate_probability),
            delay_us_min: config.delay_us_min,
            delay_us_max: config.delay_us_max.max(config.delay_us_min),
            delay_tail: Chance::new(config.delay_tail_probability),
            delay_tail_factor_max: config.delay_tail_factor_max.max(1.0),
            long_delay: Chance::new(config.long_delay_probability),
            long_delay_us_max: config.long_delay_us_max.max(LONG_DELAY_US_MIN),
            partitions_installed: 0,
            vote_holds: Vec::new(),
        }
    }

    /// Ends the chaos phase: partitions repaired, no more loss, duplication
    /// or delay tail.
    pub fn heal(&mut self) {
        self.chaos = false;
        self.vote_holds.clear();
        self.blocked.iter_mut().for_each(|b| *b = 0);
    }

    /// Loses (`delay_us` None) or holds the vote responses to `candidate`
    /// in `term`: one election that cannot be won, or is won late.
    pub fn hold_votes(&mut self, candidate: usize, term: Term, delay_us: Option<u64>) {
        self.vote_holds
            .push((NodeId(candidate as u64), term, delay_us));
    }

    /// The extra delay of a held vote response (None: not held; Some(None): lost).
    fn vote_held(&self, m: &Message) -> Option<Option<u64>> {
        if !matches!(m.body, MessageBody::RequestVoteResponse { .. }) {
            return None;
        }
        let hold = self
            .vote_holds
            .iter()
            .find(|&&(c, t, _)| m.to == c && m.term == t);
        hold.map(|&(_, _, delay)| delay)
    }

    /// Sends a Raft message: schedules its delivery (and maybe a duplicate's),
    /// or loses it.
    pub fn send(&mut self, m: Message, queue: &mut EventQueue, obs: &mut Observers) {
        let (from, to) = (m.from.0 as usize, m.to.0 as usize);
        let sent_us = queue.now_us();
        if from == to {
            // A node's message to itself (a candidate's own vote) never
            // touches the network: it is handed back at once.
            queue.push_in(0, Event::Deliver { m, sent_us });
            return;
        }
        obs.emit(SimEvent::MessageSent);
        if to >= self.nodes || self.is_cut(from, to) {
            let why = if to >= self.nodes {
                "no such node"
            } else {
                "partition"
            };
            obs.emit(SimEvent::MessageDropped { m: &m, why });
            return;
        }
        let mut held_us = 0;
        if !self.vote_holds.is_empty() {
            match self.vote_held(&m) {
                Some(None) => {
                    obs.emit(SimEvent::MessageDropped {
                        m: &m,
                        why: "vote response dropped",
                    });
                    return;
                }
                Some(Some(delay_us)) => held_us = delay_us,
                None => {}
            }
        }
        if self.chaos && self.drop.hit(&mut self.rng) {
            obs.emit(SimEvent::MessageDropped { m: &m, why: "loss" });
            return;
        }
        if self.chaos && self.duplicate.hit(&mut self.rng) {
            obs.emit(SimEvent::MessageDuplicated { m: &m });
            // An old duplicate may come back much later (half of them, when
            // long delays are on).
            let long = self.long_delays_on() && self.rng.gen_bool(0.5);
            let copy = m.clone();
            self.schedule(copy, long, held_us, queue, obs);
        }
        let long = self.chaos && self.long_delay.hit(&mut self.rng);
        self.schedule(m, long, held_us, queue, obs);
    }

    /// Queues one copy's delivery: a normal delay, or a long hold.
    fn schedule(
        &mut self,
        m: Message,
        long: bool,
        held_us: u64,
        queue: &mut EventQueue,
        obs: &mut Observers,
    ) {
        let sent_us = queue.now_us();
        let delay = held_us
            + if long {
                self.long_delay_us()
            } else {
                self.delay_us()
            };
        obs.emit(SimEvent::MessageDelayed {
            delay_us: delay,
            long,
        });
        self.last_delivery_us = self.last_delivery_us.max(sent_us + delay);
        queue.push_in(delay, Event::Deliver { m, sent_us });
    }

    /// When the last Raft message scheduled so far arrives (after it, no
    /// message held or delayed by the chaos phase is still on its way).
    #[must_use]
    pub fn last_delivery_us(&self) -> u64 {
        self.last_delivery_us
    }

    /// Whether messages may be held for seconds now (chaos, and on for the seed).
    fn long_delays_on(&self) -> bool {
        self.chaos && self.long_delay.is_on()
    }

    /// A long hold: across several election timeouts.
    fn long_delay_us(&mut self) -> u64 {
        self.rng
            .gen_range(LONG_DELAY_US_MIN..=self.long_delay_us_max)
    }

    /// Whether the link from -> to is cut.
    #[must_use]
    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        self.blocked.get(from).is_some_and(|b| b & (1 << to) != 0)
    }

    fn delay_us(&mut self) -> u64 {
        let base = self.rng.gen_range(self.delay_us_min..=self.delay_us_max);
        if self.chaos && self.delay_tail.hit(&mut self.rng) {
            let factor = self.rng.gen_range(1.0..=self.delay_tail_factor_max);
            return (base as f64 * factor) as u64;
        }
        base
    }

    /// The delay of a client request or reply.
    pub fn client_delay_us(&mut self) -> u64 {
        self.client_rng
            .gen_range(self.delay_us_min..=self.delay_us_max)
    }

    /// Whether a client request or reply is lost. Client links share the
    /// chaos phase's loss rate, drawn from the client stream.
    pub fn client_message_lost(&mut self, obs: &mut Observers) -> bool {
        let lost = self.chaos && self.drop.hit(&mut self.client_rng);
        if lost {
            obs.emit(SimEvent::ClientMessageLost);
        }
        lost
    }

    /// Sends a client's request to `node` over its client link, `wait_us`
    /// from now: lost, delayed (with the chaos phase's tail) or, at least
    /// once, delivered twice, so an old request can arrive after newer ones.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        node: usize,
        client: usize,
        attempt: u32,
        command: bytes::Bytes,
        wait_us: u64,
        queue: &mut EventQueue,
        obs: &mut Observers,
    ) {
        let delay = wait_us + self.client_delay_us();
        if self.client_message_lost(obs) {
            return;
        }
        if self.chaos && self.client_duplicate.hit(&mut self.client_rng) {
            let again = wait_us + self.client_tail_delay_us();
            let copy = Event::ClientRequest {
                node,
                client,
                attempt,
                command: command.clone(),
            };
            queue.push_in(again, copy);
        }
        let request = Event::ClientRequest {
            node,
            client,
            attempt,
            command,
        };
        queue.push_in(delay, request);
    }

    /// A client link's delay on the heavy tail (a late duplicate).
    fn client_tail_delay_us(&mut self) -> u64 {
        let base = self.client_delay_us();
        let factor = self.client_rng.gen_range(1.0..=self.delay_tail_factor_max);
        (base as f64 * factor) as u64
    }

    /// Sends a node's reply to a client's attempt over the client link.
    pub fn reply(
        &mut self,
        client: usize,
        attempt: u32,
        reply: Reply,
        queue: &mut EventQueue,
        obs: &mut Observers,
    ) {
        if client == LOAD_CLIENT {
            return; // the load generator does not wait for answers
        }
        let delay = self.client_delay_us();
        if self.client_message_lost(obs) {
            return;
        }
        let event = Event::ClientReply {
            client,
            attempt,
            reply,
        };
        queue.push_in(delay, event);
    }

    /// Installs a partition, replacing any other. `leader` is the node an
    /// `IsolateLeader` cuts off.
    pub fn partition(&mut self, p: Partition, leader: usize, obs: &mut Observers) {
        let n = self.nodes;
        let all = (1u32 << n) - 1;
        self.blocked.iter_mut().for_each(|b| *b = 0);
        self.partitions_installed += 1;
        match p {
            Partition::Split { side } => self.cut(side & all, all & !side),
            Partition::IsolateLeader => self.cut(1 << leader, all & !(1 << leader)),
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
        obs.emit(SimEvent::Partitioned {
            partition: p,
            blocked: &self.blocked,
        });
    }

    /// Cuts `node` off from every other node, replacing any partition;
    /// returns the number [`Net::end_isolation`] takes.
    pub fn isolate(&mut self, node: usize, obs: &mut Observers) -> u64 {
        self.partition(Partition::Split { side: 1 << node }, node, obs);
        self.partitions_installed
    }

    /// Ends isolation number `isolation`, unless a later partition replaced it.
    pub fn end_isolation(&mut self, isolation: u64, obs: &mut Observers) {
        if self.chaos && self.partitions_installed == isolation {
            self.heal_partitions(obs);
        }
    }

    /// Repairs every partition.
    pub fn heal_partitions(&mut self, obs: &mut Observers) {
        self.partitions_installed += 1; // a pending end of an isolation is void now
        obs.emit(SimEvent::PartitionHealed);
        self.blocked.iter_mut().for_each(|b| *b = 0);
    }

    /// Cuts every link between `a` and `b`, both ways.
    fn cut(&mut self, a: u32, b: u32) {
        for x in 0..self.nodes {
            if a & (1 << x) != 0 {
                self.blocked[x] |= b;
            }
            if b & (1 << x) != 0 {
                self.blocked[x] |= a;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile;
    use raft_core::{MessageBody, NodeId, Term};

    fn net(nodes: usize) -> (Net, EventQueue, Observers) {
        let p = profile::profile("calm").expect("built-in profile");
        let config = p.draw(1, Some(nodes));
        (
            Net::new(1, &config),
            EventQueue::default(),
            Observers::new(nodes, nodes, 0),
        )
    }

    fn heartbeat(from: u64, to: u64) -> Message {
        Message {
            from: NodeId(from),
            to: NodeId(to),
            term: Term(1),
            body: MessageBody::Heartbeat {
                commit: raft_core::LogIndex(0),
                read_round: 0,
            },
        }
    }

    #[test]
    fn one_way_partition_blocks_one_direction_only() {
        let (mut net, mut q, mut obs) = net(3);
        net.partition(Partition::OneWay { from: 1 << 0 }, 0, &mut obs);
        net.send(heartbeat(0, 1), &mut q, &mut obs);
        net.send(heartbeat(0, 2), &mut q, &mut obs);
        assert_eq!(obs.stats().messages_dropped, 2, "n0's messages are cut");
        net.send(heartbeat(1, 0), &mut q, &mut obs);
        net.send(heartbeat(2, 0), &mut q, &mut obs);
        net.send(heartbeat(1, 2), &mut q, &mut obs);
        assert_eq!(obs.stats().messages_dropped, 2, "the other links work");
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn split_and_bridge_partitions_cut_both_ways() {
        let (mut net, _, mut obs) = net(5);
        net.partition(Partition::Split { side: 0b00011 }, 0, &mut obs);
        for (a, b) in [(0, 2), (1, 4), (3, 0)] {
            assert!(net.is_cut(a, b), "{a}->{b} must be cut");
        }
        assert!(!net.is_cut(0, 1), "same side stays connected");
        net.partition(
            Partition::Bridge {
                bridge: 2,
                side: 0b00011,
            },
            0,
            &mut obs,
        );
        assert!(net.is_cut(0, 3), "the sides are cut");
        assert!(net.is_cut(3, 0), "the sides are cut both ways");
        for x in [0, 1, 3, 4] {
            assert!(!net.is_cut(x, 2), "n{x} reaches the bridge");
            assert!(!net.is_cut(2, x), "the bridge reaches n{x}");
        }
    }

    #[test]
    fn long_delays_hold_messages_for_seconds_and_are_counted() {
        let p = profile::profile("calm").expect("built-in profile");
        let mut config = p.draw(1, Some(3));
        config.long_delay_probability = 1.0;
        config.long_delay_us_max = 2_000_000;
        let (mut net, mut q, mut obs) = (
            Net::new(1, &config),
            EventQueue::default(),
            Observers::new(3, 3, 0),
        );
        for _ in 0..50 {
            net.send(heartbeat(0, 1), &mut q, &mut obs);
        }
        assert_eq!(obs.stats().messages_delayed_long, 50);
        let max = obs.stats().max_message_delay_ms;
        assert!((500..=2_000).contains(&max), "{max} ms");
        net.heal();
        net.send(heartbeat(0, 1), &mut q, &mut obs);
        assert_eq!(
            obs.stats().messages_delayed_long,
            50,
            "no long holds after the heal"
        );
    }

    #[test]
    fn an_isolation_ends_only_if_no_partition_replaced_it() {
        let p = profile::profile("calm").expect("built-in profile");
        let config = p.draw(1, Some(3));
        let (mut net, mut obs) = (Net::new(1, &config), Observers::new(3, 3, 0));
        let first = net.isolate(2, &mut obs);
        net.heal_partitions(&mut obs);
        let second = net.isolate(1, &mut obs);
        net.end_isolation(first, &mut obs);
        assert!(
            net.is_cut(1, 0),
            "the first isolation's end leaves the second alone"
        );
        net.end_isolation(second, &mut obs);
        assert!(!net.is_cut(1, 0));
    }
}
