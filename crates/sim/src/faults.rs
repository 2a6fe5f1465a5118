//! The fault schedule: data, drawn up front from the fault stream.
//!
//! A schedule is a list of timed [`Fault`]s. Targets that depend on the run
//! (the current leader) are resolved when the fault fires, so the same
//! schedule means the same thing in a replay. Keeping faults as data is what
//! lets a schedule be recorded, edited and shrunk.

use crate::profile::SimConfig;
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Which node a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A fixed node (0-based).
    Node(usize),
    /// Whoever leads when the fault fires (any node if none does).
    Leader,
}

/// A network partition shape. Sides are bit masks over node indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Partition {
    /// Nodes in `side` and the rest cannot talk either way.
    Split {
        /// One side's nodes.
        side: u32,
    },
    /// The current leader is cut off from everyone.
    IsolateLeader,
    /// Messages from `from` to everyone else are lost; the reverse still works.
    OneWay {
        /// The nodes whose outgoing messages are blocked.
        from: u32,
    },
    /// `side` and the rest cannot talk, except through `bridge`, which sees both.
    Bridge {
        /// The node connected to both sides.
        bridge: usize,
        /// One side's nodes (without the bridge).
        side: u32,
    },
}

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Install a partition (replacing any other).
    Partition(Partition),
    /// Repair every partition.
    HealPartition,
    /// Crash a node; it restarts after `restart_after_us`.
    Crash {
        /// Which node.
        target: Target,
        /// Downtime.
        restart_after_us: u64,
        /// When, relative to the node's disk syncs.
        at: CrashPoint,
    },
    /// Freeze a node; timers and messages pile up until it resumes.
    Pause {
        /// Which node.
        target: Target,
        /// Pause length.
        resume_after_us: u64,
    },
    /// The operator asks the leader to change the membership (retried while
    /// there is no leader or the leader refuses for now).
    Reconfigure(Reconfig),
    /// The operator asks the leader to hand leadership to `target`.
    TransferLeader {
        /// The node to lead next (`Leader`: a transfer to itself, a no-op).
        target: Target,
    },
    /// Armed at its time: when `node` (any node if None) next reaches
    /// `point`, `action` hits it at once (FoundationDB's BUGGIFY, placed
    /// where a protocol is most fragile rather than at a random time).
    On {
        /// The protocol point that fires it.
        point: Point,
        /// The node that must reach it (None: the first that does).
        node: Option<usize>,
        /// What happens to that node then.
        action: Action,
    },
}

/// A membership change the operator asks for. A node id names a node slot
/// of the run; a spare slot becomes a member (and boots, from an empty
/// disk) once a change adding it commits, and a member leaves (and is shut
/// down for good) once a change removing it commits. Ids are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reconfig {
    /// Add a spare as a learner.
    AddLearner(usize),
    /// Make a learner a voter.
    Promote(usize),
    /// Add a spare straight as a voter.
    AddVoter(usize),
    /// Remove a voter or a learner.
    Remove(Target),
    /// Add a spare as a voter and remove a member in one change (through
    /// a joint configuration).
    Replace {
        /// The member removed.
        remove: Target,
        /// The spare added as a voter.
        add: usize,
    },
}

/// A moment in a node's protocol a triggered fault can wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Point {
    /// It granted a vote to another node (not yet durable).
    VoteGranted,
    /// A sync made its vote for another node durable.
    VoteDurable,
    /// A sync made appended entries durable.
    AppendDurable,
    /// It acknowledged an append (the ack just left).
    Acked,
    /// It became leader.
    BecameLeader,
    /// It became a candidate (an election starts).
    Campaigned,
    /// It applied a committed entry.
    Applied,
    /// As leader, it started handing leadership over (a transfer).
    HandingOver,
}

impl Point {
    /// Every point, in declaration order.
    pub const ALL: [Point; 8] = [
        Point::VoteGranted,
        Point::VoteDurable,
        Point::AppendDurable,
        Point::Acked,
        Point::BecameLeader,
        Point::Campaigned,
        Point::Applied,
        Point::HandingOver,
    ];

    /// The points [`generate_triggered`] draws from: every one that any
    /// run reaches, which are all but the last (a handover happens only
    /// where the operator transfers leadership, and is drawn with the
    /// transfer, see [`generate_membership`]).
    const DRAWN: &'static [Point] = Point::ALL.split_at(Point::ALL.len() - 1).0;

    /// The name a case script uses.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Point::VoteGranted => "vote-granted",
            Point::VoteDurable => "vote-durable",
            Point::AppendDurable => "append-durable",
            Point::Acked => "acked",
            Point::BecameLeader => "became-leader",
            Point::Campaigned => "campaigned",
            Point::Applied => "applied",
            Point::HandingOver => "handing-over",
        }
    }
}

/// What a triggered fault does to the node that reached its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Crash it; it restarts after `restart_after_us`.
    Crash {
        /// Downtime.
        restart_after_us: u64,
    },
    /// Pause it for `resume_after_us`.
    Pause {
        /// Pause length.
        resume_after_us: u64,
    },
    /// Cut it off from every other node for `heal_after_us`.
    Isolate {
        /// How long.
        heal_after_us: u64,
    },
    /// Lose every vote response to it in its current term (its election
    /// cannot be won).
    DropVotes,
    /// Hold every vote response to it in its current term for `delay_us`.
    DelayVotes {
        /// How long.
        delay_us: u64,
    },
}

/// Where a crash lands relative to the node's next disk sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// At the fault's time, whatever the node is doing.
    Now,
    /// When the next sync completes, after the write is durable but before
    /// the messages waiting for it are sent.
    AfterSync,
    /// When the next sync would complete, before it does: power lost with
    /// writes in flight (they are lost, or torn).
    BeforeSync,
}

impl Action {
    /// How long the action lasts (0 for one that has no duration).
    #[must_use]
    pub fn duration_us(&self) -> u64 {
        match *self {
            Action::Crash { restart_after_us } => restart_after_us,
            Action::Pause { resume_after_us } => resume_after_us,
            Action::Isolate { heal_after_us } => heal_after_us,
            Action::DelayVotes { delay_us } => delay_us,
            Action::DropVotes => 0,
        }
    }

    /// The same action, half as long (None if it has no duration to halve).
    #[must_use]
    pub fn halved(&self) -> Option<Action> {
        Some(match *self {
            Action::Crash { restart_after_us } if restart_after_us > 1_000 => Action::Crash {
                restart_after_us: restart_after_us / 2,
            },
            Action::Pause { resume_after_us } if resume_after_us > 1_000 => Action::Pause {
                resume_after_us: resume_after_us / 2,
            },
            Action::Isolate { heal_after_us } if heal_after_us > 1_000 => Action::Isolate {
                heal_after_us: heal_after_us / 2,
            },
            Action::DelayVotes { delay_us } if delay_us > 1_000 => Action::DelayVotes {
                delay_us: delay_us / 2,
            },
            _ => return None,
        })
    }
}

/// A fault at a simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedFault {
    /// When, in simulated microseconds.
    pub at_us: u64,
    /// What.
    pub fault: Fault,
}

/// An exponentially distributed gap (a Poisson process of faults) with the
/// given mean.
fn exp_gap(rng: &mut Xoshiro256PlusPlus, mean_us: u64) -> u64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    (-portable_ln(u) * mean_us as f64) as u64 + 1
}

/// Natural logarithm of `x > 0` from `+ - * /` only, which IEEE 754 makes
/// bit-identical everywhere. The platform's `ln` (libm) may differ in the
/// last bit between systems, and one bit can move a fault by a microsecond:
/// a seed must give the same run on every machine.
#[must_use]
pub fn portable_ln(x: f64) -> f64 {
    const LN_2: f64 = std::f64::consts::LN_2;
    // x = m * 2^e with m in [1, 2), read off the bits (x is normal here).
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // ln(m) = 2 atanh(z), z = (m - 1) / (m + 1) in [0, 1/3): a fast series.
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut term = z;
    let mut sum = 0.0;
    for k in 0..30 {
        sum += term / f64::from(2 * k + 1);
        term *= z2;
    }
    e as f64 * LN_2 + 2.0 * sum
}

fn random_side(rng: &mut Xoshiro256PlusPlus, nodes: usize) -> u32 {
    let all = (1u32 << nodes) - 1;
    loop {
        let side = rng.gen_range(1..all);
        if side != 0 && side != all {
            return side;
        }
    }
}

fn random_partition(rng: &mut Xoshiro256PlusPlus, nodes: usize) -> Partition {
    match rng.gen_range(0..4) {
        0 => Partition::Split {
            side: random_side(rng, nodes),
        },
        1 => Partition::IsolateLeader,
        2 => Partition::OneWay {
            from: 1 << rng.gen_range(0..nodes),
        },
        _ => {
            let bridge = rng.gen_range(0..nodes);
            let others = ((1u32 << nodes) - 1) & !(1 << bridge);
            // A non-empty proper subset of the others.
            let mut side = random_side(rng, nodes) & others;
            if side == 0 || side == others {
                side = others & others.wrapping_neg(); // lowest other node alone
            }
            Partition::Bridge { bridge, side }
        }
    }
}

fn target(rng: &mut Xoshiro256PlusPlus, nodes: usize) -> Target {
    if rng.gen_bool(0.3) {
        Target::Leader
    } else {
        Target::Node(rng.gen_range(0..nodes))
    }
}

/// Probability that a crash is instead a burst of leader crashes.
const LEADER_CHURN_PROBABILITY: f64 = 0.2;

fn crash_point(rng: &mut Xoshiro256PlusPlus, config: &SimConfig) -> CrashPoint {
    if !rng.gen_bool(config.crash_at_sync_probability) {
        CrashPoint::Now
    } else if rng.gen_bool(0.5) {
        CrashPoint::AfterSync
    } else {
        CrashPoint::BeforeSync
    }
}

/// Leader churn: the leader crashes a few times in a row, each time soon
/// after a successor could have been elected, and comes back quickly. This
/// is what leaves different nodes holding uncommitted entries of different
/// terms at the same index (the setting of the Raft paper's Figure 8).
/// Returns the time of the last crash.
fn leader_churn(
    rng: &mut Xoshiro256PlusPlus,
    config: &SimConfig,
    start_us: u64,
    out: &mut Vec<TimedFault>,
) -> u64 {
    let election_us = config.tick_us * u64::from(config.raft.election_timeout_ticks_min);
    let mut t = start_us;
    for _ in 0..rng.gen_range(2..=5) {
        let fault = Fault::Crash {
            target: Target::Leader,
            restart_after_us: rng.gen_range(1_000..=election_us),
            at: crash_point(rng, config),
        };
        out.push(TimedFault { at_us: t, fault });
        t += rng.gen_range(election_us..=3 * election_us);
    }
    t
}

/// Draws the fault schedule of the chaos phase, sorted by time.
#[must_use]
pub fn generate(config: &SimConfig, rng: &mut Xoshiro256PlusPlus) -> Vec<TimedFault> {
    let mut out = Vec::new();
    let end = config.chaos_us;
    // A partition needs two sides.
    if config.partition_interval_us > 0 && config.nodes >= 2 {
        let mut t = exp_gap(rng, config.partition_interval_us);
        while t < end {
            let duration = rng.gen_range(1..=config.partition_us_max.max(1));
            if rng.gen_bool(0.15) {
                // Flapping: the same cut toggled quickly, several times.
                let cut = random_partition(rng, config.nodes);
                let flaps = rng.gen_range(2..=6);
                let period = (duration / flaps).max(1_000);
                for k in 0..flaps {
                    let at = t + k * period;
                    out.push(TimedFault {
                        at_us: at,
                        fault: Fault::Partition(cut),
                    });
                    out.push(TimedFault {
                        at_us: at + period / 2,
                        fault: Fault::HealPartition,
                    });
                }
            } else {
                let fault = Fault::Partition(random_partition(rng, config.nodes));
                out.push(TimedFault { at_us: t, fault });
                out.push(TimedFault {
                    at_us: t + duration,
                    fault: Fault::HealPartition,
                });
            }
            t += duration + exp_gap(rng, config.partition_interval_us);
        }
    }
    if config.crash_interval_us > 0 {
        let mut t = exp_gap(rng, config.crash_interval_us);
        while t < end {
            if rng.gen_bool(LEADER_CHURN_PROBABILITY) {
                t = leader_churn(rng, config, t, &mut out);
            } else {
                let fault = Fault::Crash {
                    target: target(rng, config.nodes),
                    restart_after_us: rng.gen_range(1..=config.restart_delay_us_max.max(1)),
                    at: crash_point(rng, config),
                };
                out.push(TimedFault { at_us: t, fault });
            }
            t += exp_gap(rng, config.crash_interval_us);
        }
    }
    if config.pause_interval_us > 0 {
        let mut t = exp_gap(rng, config.pause_interval_us);
        while t < end {
            let fault = Fault::Pause {
                target: target(rng, config.nodes),
                resume_after_us: rng.gen_range(1..=config.pause_us_max.max(1)),
            };
            out.push(TimedFault { at_us: t, fault });
            t += exp_gap(rng, config.pause_interval_us);
        }
    }
    out.retain(|f| f.at_us < end);
    out.sort_by_key(|f| f.at_us);
    out
}

/// Draws the triggered faults of the chaos phase (from their own stream,
/// so that the timed schedule of a seed is the same with or without them):
/// each is armed at a time and fires at the next protocol point it names.
#[must_use]
pub fn generate_triggered(config: &SimConfig, rng: &mut Xoshiro256PlusPlus) -> Vec<TimedFault> {
    let mut out = Vec::new();
    if config.triggered_interval_us == 0 {
        return out;
    }
    let mut t = exp_gap(rng, config.triggered_interval_us);
    while t < config.chaos_us {
        let point = Point::DRAWN[rng.gen_range(0..Point::DRAWN.len())];
        let node = if rng.gen_bool(0.5) {
            None
        } else {
            Some(rng.gen_range(0..config.nodes))
        };
        let action = match (point, rng.gen_range(0..4)) {
            (Point::Campaigned, 0) => Action::DropVotes,
            (Point::Campaigned, 1) => Action::DelayVotes {
                delay_us: rng.gen_range(1_000..=500_000),
            },
            (_, 0 | 1) => Action::Crash {
                restart_after_us: rng.gen_range(1..=config.restart_delay_us_max.max(1)),
            },
            (_, 2) => Action::Pause {
                resume_after_us: rng.gen_range(1..=config.pause_us_max.max(1)),
            },
            _ => Action::Isolate {
                heal_after_us: rng.gen_range(1..=config.partition_us_max.max(1)),
            },
        };
        out.push(TimedFault {
            at_us: t,
            fault: Fault::On {
                point,
                node,
                action,
            },
        });
        t += exp_gap(rng, config.triggered_interval_us);
    }
    out
}

/// Draws the operator's membership changes and leadership transfers of
/// the chaos phase (from their own stream, so the other schedules of a
/// seed are the same with or without them), sorted by time.
///
/// The changes wander the cluster's size: spares are added as learners
/// (then promoted) or straight as voters, and members are removed or
/// replaced (through a joint configuration), removals more likely the more
/// the cluster has grown. A removal or a transfer sometimes comes at a bad
/// moment, made so by a fault just before it: its node crashed, cut off
/// or (for a transfer's target) paused, hence lagging.
#[must_use]
pub fn generate_membership(config: &SimConfig, rng: &mut Xoshiro256PlusPlus) -> Vec<TimedFault> {
    let mut out = Vec::new();
    let end = config.chaos_us;
    let election_us = config.tick_us * u64::from(config.raft.election_timeout_ticks_min);
    let voters0 = config.bootstrap_voters();
    if config.membership_interval_us > 0 {
        let mut voters: Vec<usize> = (0..voters0).collect();
        let mut learners: Vec<usize> = Vec::new();
        let mut next_spare = voters0;
        let mut t = exp_gap(rng, config.membership_interval_us);
        while t < end {
            let spare = (next_spare < config.nodes).then_some(next_spare);
            let grown = voters.len() > voters0;
            let change = match (rng.gen_range(0..12), spare) {
                (0..=2, Some(s)) => {
                    next_spare += 1;
                    learners.push(s);
                    Some(Reconfig::AddLearner(s))
                }
                (3..=4, _) if !learners.is_empty() => {
                    let l = learners.remove(rng.gen_range(0..learners.len()));
                    voters.push(l);
                    Some(Reconfig::Promote(l))
                }
                (5, Some(s)) => {
                    next_spare += 1;
                    voters.push(s);
                    Some(Reconfig::AddVoter(s))
                }
                (6, Some(s)) if voters.len() > 1 => {
                    next_spare += 1;
                    let remove = removal(rng, &mut voters, config, t, &mut out);
                    voters.push(s);
                    Some(Reconfig::Replace { remove, add: s })
                }
                (7..=8, _) if voters.len() > 1 && (grown || rng.gen_bool(0.3)) => Some(
                    Reconfig::Remove(removal(rng, &mut voters, config, t, &mut out)),
                ),
                (9, _) if !learners.is_empty() => {
                    let l = learners.remove(rng.gen_range(0..learners.len()));
                    Some(Reconfig::Remove(Target::Node(l)))
                }
                _ => None,
            };
            if let Some(change) = change {
                out.push(TimedFault {
                    at_us: t,
                    fault: Fault::Reconfigure(change),
                });
            }
            t += exp_gap(rng, config.membership_interval_us);
        }
    }
    if config.transfer_interval_us > 0 {
        let mut t = exp_gap(rng, config.transfer_interval_us);
        while t < end {
            let node = rng.gen_range(0..config.nodes);
            let before = t.saturating_sub(rng.gen_range(1_000..=election_us.max(1_000)));
            match rng.gen_range(0..8) {
                0 => out.push(TimedFault {
                    at_us: before,
                    fault: Fault::Pause {
                        target: Target::Node(node),
                        resume_after_us: rng.gen_range(1..=2 * election_us.max(1)),
                    },
                }),
                1 => out.push(crash_of(rng, config, node, before)),
                2 => cut_off(rng, config, node, before, &mut out),
                _ => {}
            }
            let p = config.transfer_cut_probability;
            if p > 0.0 && rng.gen_bool(p.min(1.0)) {
                // The leader is cut off as it hands over: it may keep
                // believing it leads while the target wins without it.
                out.push(TimedFault {
                    at_us: t,
                    fault: Fault::On {
                        point: Point::HandingOver,
                        node: None,
                        action: Action::Isolate {
                            heal_after_us: rng.gen_range(1..=config.partition_us_max.max(1)),
                        },
                    },
                });
            }
            out.push(TimedFault {
                at_us: t,
                fault: Fault::TransferLeader {
                    target: Target::Node(node),
                },
            });
            t += exp_gap(rng, config.transfer_interval_us);
        }
    }
    out.retain(|f| f.at_us < end);
    out.sort_by_key(|f| f.at_us);
    out
}

/// Picks the voter a change removes (the leader, or a given voter, which
/// is sometimes crashed or cut off just before) and drops it from `voters`.
fn removal(
    rng: &mut Xoshiro256PlusPlus,
    voters: &mut Vec<usize>,
    config: &SimConfig,
    at_us: u64,
    out: &mut Vec<TimedFault>,
) -> Target {
    let v = voters.remove(rng.gen_range(0..voters.len()));
    if rng.gen_bool(0.3) {
        return Target::Leader;
    }
    let election_us = config.tick_us * u64::from(config.raft.election_timeout_ticks_min);
    let before = at_us.saturating_sub(rng.gen_range(1_000..=election_us.max(1_000)));
    match rng.gen_range(0..5) {
        0 => out.push(crash_of(rng, config, v, before)),
        1 => cut_off(rng, config, v, before, out),
        _ => {}
    }
    Target::Node(v)
}

fn crash_of(
    rng: &mut Xoshiro256PlusPlus,
    config: &SimConfig,
    node: usize,
    at_us: u64,
) -> TimedFault {
    TimedFault {
        at_us,
        fault: Fault::Crash {
            target: Target::Node(node),
            restart_after_us: rng.gen_range(1..=config.restart_delay_us_max.max(1)),
            at: CrashPoint::Now,
        },
    }
}

/// `node` alone on one side of a partition, for a while.
fn cut_off(
    rng: &mut Xoshiro256PlusPlus,
    config: &SimConfig,
    node: usize,
    at_us: u64,
    out: &mut Vec<TimedFault>,
) {
    out.push(TimedFault {
        at_us,
        fault: Fault::Partition(Partition::Split { side: 1 << node }),
    });
    out.push(TimedFault {
        at_us: at_us + rng.gen_range(1..=config.partition_us_max.max(1)),
        fault: Fault::HealPartition,
    });
}

#[cfg(test)]
mod tests {
    use super::portable_ln;

    #[test]
    fn portable_ln_matches_ln_closely() {
        for &x in &[
            f64::EPSILON,
            1e-9,
            0.001,
            0.1,
            0.25,
            0.5,
            0.75,
            0.999_999,
            1.0,
        ] {
            let (got, want) = (portable_ln(x), x.ln());
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "ln({x}): {got} vs {want}"
            );
        }
        assert_eq!(portable_ln(1.0), 0.0);
    }
}
