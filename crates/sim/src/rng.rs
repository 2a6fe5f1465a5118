//! Seeded random streams, one per concern.
//!
//! A run's seed is expanded into independent `Xoshiro256PlusPlus` streams,
//! one for each concern (network, disk, clock, workload, fault schedule,
//! swarm configuration, and each node incarnation's Raft timer jitter), so
//! that drawing more or fewer numbers in one concern never reshuffles the
//! others. That keeps a replay stable when one part of a run changes, which
//! is also what makes shrinking a fault schedule meaningful.

use rand::distributions::Bernoulli;
use rand::Rng;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The concerns that draw randomness, each from its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Per-seed configuration (swarm testing).
    Swarm = 1,
    /// Message drop, duplication and delay.
    Network = 2,
    /// Sync latency and torn tails.
    Disk = 3,
    /// Where in its first tick interval each node incarnation starts.
    Clock = 4,
    /// Client operations, keys, values and think times.
    Workload = 5,
    /// The fault schedule.
    Faults = 6,
    /// Raft election jitter; combined with node id and incarnation.
    Node = 7,
    /// Delay and loss of client requests and replies.
    ClientNetwork = 8,
    /// Which node a leader-targeted fault hits when no leader is in place.
    FaultTargets = 9,
    /// Per-seed configuration added after the first swarm (long delays, the
    /// timing and limit knobs): drawn apart so that the first swarm's draws,
    /// and every recorded case, keep their values.
    SwarmTiming = 10,
    /// The faults armed to fire at protocol points.
    TriggeredFaults = 11,
    /// Bursts of pipelined proposals (the load generator).
    Load = 12,
    /// The operator's membership changes and leadership transfers.
    Membership = 13,
    /// When a removed member is shut down.
    Shutdown = 14,
    /// Which crashes flip a bit of the node's synced files, and where.
    BitFlips = 15,
    /// How each client read is served (through the log or by ReadIndex).
    Reads = 16,
}

/// SplitMix64 finalizer: a bijective mix of 64 bits.
#[must_use]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream of `concern` for run `seed`.
///
/// ```
/// use sim::rng::{stream, Stream};
/// use rand::RngCore;
/// let mut a = stream(42, Stream::Network);
/// let mut b = stream(42, Stream::Network);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[must_use]
pub fn stream(seed: u64, concern: Stream) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix64(seed ^ mix64(concern as u64)))
}

/// Sub-stream `knob` of `concern` for run `seed`: one knob's own draws,
/// so that how many numbers one knob draws never shifts another's.
#[must_use]
pub fn knob_stream(seed: u64, concern: Stream, knob: u64) -> Xoshiro256PlusPlus {
    let salt = mix64(concern as u64) ^ mix64(knob.wrapping_add(1) << 32);
    Xoshiro256PlusPlus::seed_from_u64(mix64(seed ^ salt))
}

/// The Raft jitter stream of one node incarnation.
#[must_use]
pub fn node_stream(seed: u64, node: u64, incarnation: u64) -> Xoshiro256PlusPlus {
    let salt = mix64(Stream::Node as u64) ^ mix64(node.wrapping_add(1) << 20 ^ incarnation);
    Xoshiro256PlusPlus::seed_from_u64(mix64(seed ^ salt))
}

/// A fixed probability, ready to draw: `gen_bool(p)` rebuilds its
/// distribution at every call, which the network pays per message. A
/// `Chance` draws exactly what `gen_bool(p)` draws from the same stream
/// (one `u64`), and draws nothing when `p` is 0 (callers skip the draw
/// then, as they always did).
#[derive(Clone, Copy, Debug)]
pub struct Chance {
    p: f64,
    dist: Option<Bernoulli>,
}

impl Chance {
    /// Probability `p`, clamped to `0..=1`.
    #[must_use]
    pub fn new(p: f64) -> Chance {
        let p = p.clamp(0.0, 1.0);
        Chance {
            p,
            dist: Bernoulli::new(p).ok().filter(|_| p > 0.0),
        }
    }

    /// The probability.
    #[must_use]
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Whether it can ever hit.
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.dist.is_some()
    }

    /// Draws: true with probability `p` (nothing drawn when it is 0).
    #[inline]
    pub fn hit(&self, rng: &mut Xoshiro256PlusPlus) -> bool {
        self.dist.is_some_and(|d| rng.sample(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn a_chance_draws_what_gen_bool_draws() {
        for p in [0.0, 0.01, 0.3, 0.5, 0.999, 1.0] {
            let (mut a, mut b) = (stream(7, Stream::Network), stream(7, Stream::Network));
            let c = Chance::new(p);
            for _ in 0..1_000 {
                let expected = p > 0.0 && a.gen_bool(p);
                assert_eq!(c.hit(&mut b), expected, "p = {p}");
            }
            assert_eq!(a.next_u64(), b.next_u64(), "the streams stay in step");
        }
    }

    #[test]
    fn streams_differ_by_concern_node_and_incarnation() {
        let a = stream(1, Stream::Network).next_u64();
        let b = stream(1, Stream::Disk).next_u64();
        let c = node_stream(1, 0, 0).next_u64();
        let d = node_stream(1, 1, 0).next_u64();
        let e = node_stream(1, 0, 1).next_u64();
        let all = [a, b, c, d, e];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j], "streams {i} and {j} coincide");
            }
        }
    }
}
