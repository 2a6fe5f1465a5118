//! Bursts of pipelined proposals: an open-loop load generator.
//!
//! The clients have one operation outstanding each, so a leader cut off
//! from the others gathers only a few uncommitted entries. A burst sends
//! dozens to hundreds of proposals at once, without waiting for answers,
//! to whichever node leads as far as the run can tell (a stale leader
//! too): across a few terms, that builds the long divergent suffixes of
//! the Raft paper's Figure 7 that backoff and truncation must repair.
//!
//! Each proposal is a put on a key of its own session (never read by the
//! checked clients, so the linearizability check is unaffected); answers
//! are not awaited. A burst travels as one pipelined request, proposed in
//! one input (one batch, appends carrying many entries), and is lost whole
//! if the link loses it or the node is down or paused. Bursts come only
//! during the chaos phase.

use crate::node::Nodes;
use crate::observe::{Observers, SimEvent};
use crate::phase::RunState;
use crate::profile::SimConfig;
use crate::queue::{Event, EventQueue};
use crate::rng::{self, Stream};
use kv::{Command, Op};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Session ids of burst proposals start here (far above the clients').
const LOAD_SESSION_BASE: u64 = 1 << 32;

/// The load generator of one run.
pub struct Load {
    rng: Xoshiro256PlusPlus,
    interval_us: u64,
    size_max: u64,
    nodes: usize,
    /// The client link's delay bounds and loss (drawn from this stream, so
    /// bursts never shift the checked clients' draws).
    delay_us_min: u64,
    delay_us_max: u64,
    drop_probability: f64,
    /// Proposals sent so far (each its own session).
    sent: u64,
}

impl Load {
    /// The load of run `seed` (none if the configuration has no bursts).
    #[must_use]
    pub fn new(seed: u64, config: &SimConfig) -> Load {
        Load {
            rng: rng::stream(seed, Stream::Load),
            interval_us: config.burst_interval_us,
            size_max: config.burst_size_max.max(1),
            nodes: config.nodes,
            delay_us_min: config.delay_us_min,
            delay_us_max: config.delay_us_max.max(config.delay_us_min),
            drop_probability: config.drop_probability,
            sent: 0,
        }
    }

    /// Schedules the first burst.
    pub fn start(&mut self, queue: &mut EventQueue) {
        if self.interval_us > 0 {
            let gap = self.rng.gen_range(0..=2 * self.interval_us);
            queue.push_in(gap, Event::Burst);
        }
    }

    /// Sends one burst and schedules the next (until the heal).
    pub fn on_burst(
        &mut self,
        nodes: &Nodes,
        queue: &mut EventQueue,
        obs: &mut Observers,
        run: &RunState,
    ) {
        if run.heal_at_us.is_some() || run.over() {
            return;
        }
        // Every draw is made every time, in the same order.
        let anyone = self.rng.gen_range(0..self.nodes);
        let node = nodes.leader().unwrap_or(anyone);
        let proposals = self.rng.gen_range(1..=self.size_max);
        let delay_us = self.rng.gen_range(self.delay_us_min..=self.delay_us_max);
        let lost = self.rng.gen_bool(self.drop_probability.clamp(0.0, 1.0));
        let commands = (0..proposals)
            .map(|_| {
                self.sent += 1;
                let command = Command {
                    client_id: LOAD_SESSION_BASE + self.sent,
                    seq: 1,
                    op: Op::Put {
                        key: "burst".into(),
                        value: self.sent.to_string(),
                    },
                };
                bytes::Bytes::from(command.encode())
            })
            .collect();
        obs.emit(SimEvent::Burst { node, proposals });
        if lost {
            obs.emit(SimEvent::ClientMessageLost);
        } else {
            queue.push_in(delay_us, Event::BurstArrives { node, commands });
        }
        let gap = self.rng.gen_range(0..=2 * self.interval_us);
        queue.push_in(gap, Event::Burst);
    }
}
