//! Fault profiles and the per-seed configuration drawn from them.
//!
//! A [`Profile`] is a set of ranges; every seed draws its own [`SimConfig`]
//! within them (swarm testing: each seed also switches whole fault kinds
//! off at random, so rare combinations get explored without tuning). The
//! fault model is data: everything the engine does differently per seed is
//! in the `SimConfig`.

use crate::config::{
    default_max_bytes_per_message, default_max_uncommitted_entries, default_snapshot_chunk_bytes,
};
pub use crate::config::{RaftKnobs, SimConfig, LONG_DELAY_US_MIN};
use crate::rng::{self, Stream};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

/// An inclusive range a per-seed value is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Range {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

const fn r(min: f64, max: f64) -> Range {
    Range { min, max }
}

impl Range {
    fn draw(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        if self.max <= self.min {
            return self.min;
        }
        rng.gen_range(self.min..=self.max)
    }
}

/// Named ranges for every knob of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    /// The profile's name on the command line.
    pub name: &'static str,
    /// One line on what it targets.
    pub description: &'static str,
    /// Probability that a seed runs 5 nodes rather than 3.
    pub five_nodes_probability: f64,
    /// Length of the fault phase, in milliseconds.
    pub chaos_ms: Range,
    /// Probability each message is dropped.
    pub drop_probability: Range,
    /// Probability each message is delivered twice.
    pub duplicate_probability: Range,
    /// Base one-way delay, in microseconds.
    pub delay_us: Range,
    /// Probability a message takes the heavy tail (hence reordering).
    pub delay_tail_probability: Range,
    /// Largest multiple of the base delay on the heavy tail.
    pub delay_tail_factor_max: Range,
    /// Partitions per simulated second.
    pub partitions_per_sec: Range,
    /// How long a partition lasts, in milliseconds.
    pub partition_ms: Range,
    /// Crashes per simulated second.
    pub crashes_per_sec: Range,
    /// Downtime before a restart, in milliseconds.
    pub restart_delay_ms: Range,
    /// Probability a crash waits for the node's next sync and hits just
    /// before it completes or just after (persisted, not yet sent), evenly.
    pub crash_at_sync_probability: f64,
    /// Probability a crash keeps a random prefix of the unsynced writes.
    pub torn_tail_probability: Range,
    /// Probability a crash also flips one bit of the node's synced files
    /// (silent damage at rest). Drawn only where losing the node for good
    /// leaves a quorum: three or more voters, no membership changes, at
    /// most one damaged node per run.
    pub bit_flip_probability: Range,
    /// The share of seeds whose clients read by ReadIndex at all.
    pub read_index_seeds: f64,
    /// The share of seeds (with check-quorum on) whose leaders serve reads
    /// on a lease, with a clock-drift bound that covers the seed's skew.
    pub read_lease_seeds: f64,
    /// Scales that safe bound: 1 in every profile but `reads-unsafe`
    /// (0: no drift allowed for, the configuration the docs call unsafe).
    pub lease_bound_scale: f64,
    /// How long a client waits for an answer before it tries another
    /// node, in milliseconds.
    pub client_timeout_ms: Range,

    /// In those seeds, the probability each read is served by ReadIndex
    /// (no log entry) rather than through the log.
    pub read_index_probability: Range,
    /// Pauses per simulated second.
    pub pauses_per_sec: Range,
    /// How long a pause lasts, in milliseconds.
    pub pause_ms: Range,
    /// Time a sync takes, in microseconds.
    pub sync_us: Range,
    /// Largest clock skew, in percent of the tick interval.
    pub clock_skew_percent_max: Range,
    /// Probability that a fault kind present in the profile is switched off for a seed.
    pub swarm_off_probability: f64,
    /// Probability of extreme replication knobs (batch of 1 entry, 1 message in flight).
    pub tiny_knobs_probability: f64,
    /// Probability pre-vote is off.
    pub pre_vote_off_probability: f64,
    /// Probability check-quorum is off.
    pub check_quorum_off_probability: f64,
    /// Probability a message is held for a long time (seconds, across
    /// elections) before it is delivered, while long delays are on.
    pub long_delay_probability: Range,
    /// Longest such hold, in milliseconds.
    pub long_delay_ms_max: Range,
    /// Probability the seed runs with frequent elections: an election
    /// timeout of a few ticks and a heartbeat just under it.
    pub frequent_elections_probability: f64,
    /// Probability the seed's byte and uncommitted-entry limits are tiny
    /// (byte-limited batches; leaders refusing proposals as busy).
    pub tiny_limits_probability: f64,
    /// Whether the tick length and the election and heartbeat ticks are
    /// drawn per seed (else 20 ms, 10 and 2 ticks: the baseline's timing).
    pub timing_varies: bool,
    /// Faults armed per simulated second that fire at a protocol point
    /// (a vote granted, a sync, an ack, a new leader, an election, an apply).
    pub triggered_per_sec: Range,
    /// Bursts of pipelined proposals per simulated second.
    pub bursts_per_sec: Range,
    /// Most proposals in one burst.
    pub burst_size_max: Range,
    /// Probability a seed runs a single node (unless the size is forced):
    /// a leader alone, whose own vote is the whole quorum.
    pub single_node_probability: f64,
    /// Probability a seed ends with an idle stability window (only drawn
    /// where pre-vote and check-quorum are on and heartbeats are well
    /// under the election timeout, so that nothing but a broken rule can
    /// start an election in it).
    pub stability_window_probability: f64,
    /// Probability a seed's candidates re-send unanswered vote requests
    /// within a campaign (raft-core's `vote_retry_ticks`, a third of the
    /// minimum election timeout).
    pub vote_retry_probability: f64,
    /// Probability a seed changes the cluster's membership: it gets four
    /// spare node ids beyond its bootstrap voters (up to [`NODES_MAX`]),
    /// and an operator adds, promotes, removes and replaces members and
    /// transfers leadership during the chaos phase.
    pub reconfig_probability: f64,
    /// Membership changes asked per simulated second, in such seeds.
    pub membership_changes_per_sec: Range,
    /// Leadership transfers asked per simulated second, in such seeds.
    pub transfers_per_sec: Range,
    /// Probability an operator's transfer also cuts the leader off as it
    /// starts handing over (where leases must end with the transfer).
    pub transfer_cut_probability: f64,
    /// Probability a seed's nodes compact their logs behind snapshots.
    pub snapshot_probability: f64,
    /// In such seeds, probability the policy is tiny (a snapshot every 1
    /// to 4 applied entries) rather than every 5 to 64.
    pub tiny_snapshots_probability: f64,
}

const BASE: Profile = Profile {
    name: "calm",
    description: "no faults beyond ordinary delay jitter: the baseline",
    five_nodes_probability: 0.3,
    chaos_ms: r(4_000.0, 6_000.0),
    drop_probability: r(0.0, 0.0),
    duplicate_probability: r(0.0, 0.0),
    delay_us: r(200.0, 2_000.0),
    delay_tail_probability: r(0.0, 0.0),
    delay_tail_factor_max: r(1.0, 1.0),
    partitions_per_sec: r(0.0, 0.0),
    partition_ms: r(100.0, 1_000.0),
    crashes_per_sec: r(0.0, 0.0),
    restart_delay_ms: r(10.0, 500.0),
    crash_at_sync_probability: 0.0,
    torn_tail_probability: r(0.0, 0.0),
    bit_flip_probability: r(0.0, 0.0),
    read_index_seeds: 0.5,
    read_lease_seeds: 0.5,
    lease_bound_scale: 1.0,
    client_timeout_ms: r(500.0, 500.0),

    read_index_probability: r(0.2, 1.0),
    pauses_per_sec: r(0.0, 0.0),
    pause_ms: r(50.0, 500.0),
    sync_us: r(50.0, 2_000.0),
    clock_skew_percent_max: r(0.0, 0.0),
    swarm_off_probability: 0.0,
    tiny_knobs_probability: 0.0,
    pre_vote_off_probability: 0.0,
    check_quorum_off_probability: 0.0,
    long_delay_probability: r(0.0, 0.0),
    long_delay_ms_max: r(1_000.0, 3_000.0),
    frequent_elections_probability: 0.0,
    tiny_limits_probability: 0.0,
    timing_varies: false,
    triggered_per_sec: r(0.0, 0.0),
    bursts_per_sec: r(0.0, 0.0),
    burst_size_max: r(10.0, 200.0),
    single_node_probability: 0.0,
    stability_window_probability: 0.15,
    vote_retry_probability: 0.5,
    reconfig_probability: 0.0,
    membership_changes_per_sec: r(1.0, 4.0),
    transfers_per_sec: r(0.2, 2.0),
    transfer_cut_probability: 0.0,
    snapshot_probability: 0.5,
    tiny_snapshots_probability: 0.2,
};

/// Every profile, the default (`chaos`) last.
pub const PROFILES: [Profile; 8] = [
    BASE,
    Profile {
        name: "lossy",
        description: "message loss, duplication and heavy-tailed delay (reordering)",
        drop_probability: r(0.0, 0.3),
        duplicate_probability: r(0.0, 0.2),
        delay_tail_probability: r(0.0, 0.2),
        delay_tail_factor_max: r(5.0, 100.0),
        swarm_off_probability: 0.2,
        tiny_knobs_probability: 0.3,
        long_delay_probability: r(0.0, 0.05),
        tiny_limits_probability: 0.2,
        timing_varies: true,
        ..BASE
    },
    Profile {
        name: "partitions",
        description: "splits, leader isolation, one-way links, bridges and flapping",
        partitions_per_sec: r(0.5, 3.0),
        drop_probability: r(0.0, 0.02),
        swarm_off_probability: 0.1,
        pre_vote_off_probability: 0.3,
        check_quorum_off_probability: 0.3,
        frequent_elections_probability: 0.1,
        timing_varies: true,
        bursts_per_sec: r(0.0, 1.0),
        ..BASE
    },
    Profile {
        name: "crashes",
        description: "crash-restarts losing unsynced writes, torn tails, bit flips, pauses, clock skew",
        crashes_per_sec: r(0.5, 3.0),
        crash_at_sync_probability: 0.5,
        torn_tail_probability: r(0.0, 0.5),
        bit_flip_probability: r(0.0, 0.2),
        pauses_per_sec: r(0.0, 1.0),
        triggered_per_sec: r(0.0, 2.0),
        sync_us: r(100.0, 10_000.0),
        clock_skew_percent_max: r(0.0, 20.0),
        swarm_off_probability: 0.1,
        timing_varies: true,
        ..BASE
    },
    Profile {
        name: "reconfig",
        description: "membership changes and leadership transfers amid loss, partitions, crashes and long delays",
        reconfig_probability: 1.0,
        drop_probability: r(0.0, 0.1),
        duplicate_probability: r(0.0, 0.05),
        delay_tail_probability: r(0.0, 0.1),
        delay_tail_factor_max: r(5.0, 50.0),
        partitions_per_sec: r(0.0, 1.0),
        crashes_per_sec: r(0.0, 1.0),
        crash_at_sync_probability: 0.5,
        torn_tail_probability: r(0.0, 0.5),
        bit_flip_probability: r(0.0, 0.1),
        pauses_per_sec: r(0.0, 0.5),
        sync_us: r(100.0, 5_000.0),
        clock_skew_percent_max: r(0.0, 20.0),
        swarm_off_probability: 0.3,
        tiny_knobs_probability: 0.2,
        pre_vote_off_probability: 0.25,
        check_quorum_off_probability: 0.25,
        long_delay_probability: r(0.0, 0.02),
        tiny_limits_probability: 0.1,
        timing_varies: true,
        triggered_per_sec: r(0.0, 1.0),
        bursts_per_sec: r(0.0, 0.5),
        single_node_probability: 0.05,
        ..BASE
    },
    Profile {
        name: "chaos",
        description: "everything at once (the default)",
        drop_probability: r(0.0, 0.2),
        duplicate_probability: r(0.0, 0.1),
        delay_tail_probability: r(0.0, 0.1),
        delay_tail_factor_max: r(5.0, 50.0),
        partitions_per_sec: r(0.0, 2.0),
        crashes_per_sec: r(0.0, 1.5),
        crash_at_sync_probability: 0.5,
        torn_tail_probability: r(0.0, 0.5),
        bit_flip_probability: r(0.0, 0.1),
        pauses_per_sec: r(0.0, 0.5),
        sync_us: r(100.0, 5_000.0),
        clock_skew_percent_max: r(0.0, 20.0),
        swarm_off_probability: 0.25,
        tiny_knobs_probability: 0.4,
        pre_vote_off_probability: 0.25,
        check_quorum_off_probability: 0.25,
        long_delay_probability: r(0.0, 0.03),
        frequent_elections_probability: 0.1,
        tiny_limits_probability: 0.2,
        timing_varies: true,
        triggered_per_sec: r(0.0, 1.5),
        bursts_per_sec: r(0.0, 0.5),
        single_node_probability: 0.05,
        reconfig_probability: 0.02,
        ..BASE
    },
    READS,
    Profile {
        name: "reads-unsafe",
        description: "`reads` with leases that allow for no clock drift: UNSAFE, stale reads expected",
        lease_bound_scale: 0.0,
        read_lease_seeds: 1.0,
        ..READS
    },
];

/// Reads without the log under partitions and clock skew: every seed
/// reads by ReadIndex or follower read, half of them with leases too,
/// with check-quorum on and clocks up to 60% apart.
const READS: Profile = Profile {
    name: "reads",
    description:
        "reads by ReadIndex, lease and follower under partitions and clocks up to 60% apart",
    drop_probability: r(0.0, 0.05),
    partitions_per_sec: r(1.0, 3.0),
    partition_ms: r(100.0, 600.0),
    clock_skew_percent_max: r(20.0, 60.0),
    check_quorum_off_probability: 0.0,
    read_index_seeds: 1.0,
    read_index_probability: r(0.6, 1.0),
    read_lease_seeds: 0.5,
    triggered_per_sec: r(0.5, 2.0),
    // Leadership transfers (no membership changes) put slow clocks in
    // office too: elections alone mostly pick the fastest.
    reconfig_probability: 1.0,
    membership_changes_per_sec: r(0.0, 0.0),
    transfers_per_sec: r(1.0, 4.0),
    // Half the transfers cut their leader off as it hands over.
    transfer_cut_probability: 0.5,
    swarm_off_probability: 0.0,
    // Clients give up on a cut-off leader quickly and find the new one,
    // while others still read at the old: where stale reads would show.
    client_timeout_ms: r(80.0, 200.0),
    ..BASE
};

/// Largest cluster the simulator runs (partitions are bit masks).
pub const NODES_MAX: usize = 9;

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "chaos";

/// Looks up a profile by name.
#[must_use]
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The comma-separated profile names, for error messages.
#[must_use]
pub fn profile_names() -> String {
    PROFILES
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

const MS: f64 = 1_000.0;

fn interval_us(per_sec: f64) -> u64 {
    if per_sec <= 0.0 {
        0
    } else {
        (1_000_000.0 / per_sec) as u64
    }
}

/// A clock-drift bound, in ticks, that covers the seed's skew: the
/// leader's lease (in its ticks) must end before any follower (with the
/// fastest clock) can time out after the round (with the slowest clock
/// for the leader): `timeout * (1 - fastest / slowest)` ticks, rounded up,
/// plus one; below the election timeout.
#[must_use]
pub fn safe_drift_bound(config: &SimConfig) -> u32 {
    let timeout = config.raft.election_timeout_ticks_min;
    let fastest = config
        .node_tick_us
        .iter()
        .copied()
        .min()
        .unwrap_or(1)
        .max(1);
    let slowest = config
        .node_tick_us
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let share = 1.0 - fastest as f64 / slowest as f64;
    let bound = (f64::from(timeout) * share).ceil() as u32 + 1;
    bound.min(timeout.saturating_sub(1))
}

impl Profile {
    /// Draws seed `seed`'s configuration from its swarm streams; `nodes`
    /// forces the cluster size (the size is still drawn, and the per-node
    /// clock skews come last, so forcing it leaves every other value as
    /// drawn). The first swarm stream draws what the first profiles had; the
    /// timing stream draws what came later (long delays, tick length,
    /// election and heartbeat ticks, byte and uncommitted limits), so adding
    /// a knob there leaves earlier values, and recorded cases, as they were.
    #[must_use]
    pub fn draw(&self, seed: u64, nodes: Option<usize>) -> SimConfig {
        let mut config = self.draw_first(&mut rng::stream(seed, Stream::Swarm), nodes);
        self.draw_timing(seed, &mut config);
        let single =
            rng::knob_stream(seed, Stream::SwarmTiming, 15).gen_bool(self.single_node_probability);
        if single && nodes.is_none() {
            config.nodes = 1;
            config.node_tick_us.truncate(1);
        }
        self.draw_membership(seed, &mut config);
        self.draw_snapshots(seed, &mut config);
        config.bit_flip_probability =
            self.bit_flip_probability
                .draw(&mut rng::knob_stream(seed, Stream::SwarmTiming, 27));
        let reads_on =
            rng::knob_stream(seed, Stream::SwarmTiming, 28).gen_bool(self.read_index_seeds);
        let share =
            self.read_index_probability
                .draw(&mut rng::knob_stream(seed, Stream::SwarmTiming, 29));
        config.read_index_probability = if reads_on { share } else { 0.0 };
        let lease = rng::knob_stream(seed, Stream::SwarmTiming, 30).gen_bool(self.read_lease_seeds);
        if lease && reads_on && config.raft.check_quorum {
            config.raft.read_lease = true;
            let safe = f64::from(safe_drift_bound(&config));
            config.raft.clock_drift_bound_ticks = (safe * self.lease_bound_scale) as u32;
        }
        let timeout_ms =
            self.client_timeout_ms
                .draw(&mut rng::knob_stream(seed, Stream::SwarmTiming, 31));
        config.client_timeout_us = (timeout_ms * MS) as u64;
        config
    }

    /// The snapshot policy and chunk size (each from its own sub-stream,
    /// drawn whether used or not). Chunks are small next to the kv store's
    /// snapshots (tens to hundreds of bytes), so installs take several.
    fn draw_snapshots(&self, seed: u64, config: &mut SimConfig) {
        let knob = |id: u64| rng::knob_stream(seed, Stream::SwarmTiming, id);
        let on = knob(23).gen_bool(self.snapshot_probability);
        let tiny = knob(24).gen_bool(self.tiny_snapshots_probability);
        let (tiny_every, every) = {
            let mut k = knob(25);
            (k.gen_range(1..=4), k.gen_range(5..=64))
        };
        let chunk = knob(26).gen_range(16..=256);
        if on {
            config.snapshot_every = if tiny { tiny_every } else { every };
            config.raft.snapshot_chunk_bytes = chunk;
        }
    }

    /// Membership changes (knobs from their own sub-streams, drawn whether
    /// used or not): spare node ids beyond the bootstrap voters, and how
    /// often the operator changes the membership and transfers leadership.
    fn draw_membership(&self, seed: u64, config: &mut SimConfig) {
        let knob = |id: u64| rng::knob_stream(seed, Stream::SwarmTiming, id);
        let reconfig = knob(18).gen_bool(self.reconfig_probability);
        let changes_per_sec = self.membership_changes_per_sec.draw(&mut knob(19));
        let transfers_per_sec = self.transfers_per_sec.draw(&mut knob(20));
        let transfers_on = !knob(21).gen_bool(self.swarm_off_probability);
        let mut ticks = knob(22);
        if !reconfig {
            return;
        }
        let voters = config.nodes;
        let slots = (voters + 4).min(NODES_MAX);
        // A spare's clock is one of the bootstrap voters' (skew included).
        let spare_ticks: Vec<u64> = (voters..slots)
            .map(|_| config.node_tick_us[ticks.gen_range(0..voters)])
            .collect();
        config.node_tick_us.extend(spare_ticks);
        config.bootstrap_voters = voters;
        config.nodes = slots;
        config.membership_interval_us = interval_us(changes_per_sec);
        if transfers_on {
            config.transfer_interval_us = interval_us(transfers_per_sec);
            config.transfer_cut_probability = self.transfer_cut_probability;
        }
    }

    fn draw_first(&self, rng: &mut Xoshiro256PlusPlus, nodes: Option<usize>) -> SimConfig {
        let on = |rng: &mut Xoshiro256PlusPlus| !rng.gen_bool(self.swarm_off_probability);
        let drawn_nodes = if rng.gen_bool(self.five_nodes_probability) {
            5
        } else {
            3
        };
        let nodes = nodes.unwrap_or(drawn_nodes);
        let drop_on = on(rng);
        let dup_on = on(rng);
        let tail_on = on(rng);
        let partitions_on = on(rng);
        let crashes_on = on(rng);
        let pauses_on = on(rng);
        let skew_on = on(rng);
        let keep = |flag: bool, v: f64| if flag { v } else { 0.0 };
        let tick_us = 20_000;
        let skew = keep(skew_on, self.clock_skew_percent_max.draw(rng));
        let delay_a = self.delay_us.draw(rng) as u64;
        let delay_b = self.delay_us.draw(rng) as u64;
        let sync_a = self.sync_us.draw(rng) as u64;
        let sync_b = self.sync_us.draw(rng) as u64;
        let tiny = rng.gen_bool(self.tiny_knobs_probability);
        let mut config = SimConfig {
            profile: self.name.to_string(),
            nodes,
            clients: 3,
            keys: rng.gen_range(2..=5),
            chaos_us: (self.chaos_ms.draw(rng) * MS) as u64,
            liveness_window_us: 5_000_000,
            liveness_leader_us: 2_000_000,
            tick_us,
            drop_probability: keep(drop_on, self.drop_probability.draw(rng)),
            duplicate_probability: keep(dup_on, self.duplicate_probability.draw(rng)),
            delay_us_min: delay_a.min(delay_b),
            delay_us_max: delay_a.max(delay_b),
            delay_tail_probability: keep(tail_on, self.delay_tail_probability.draw(rng)),
            delay_tail_factor_max: self.delay_tail_factor_max.draw(rng),
            partition_interval_us: interval_us(keep(
                partitions_on,
                self.partitions_per_sec.draw(rng),
            )),
            partition_us_max: (self.partition_ms.draw(rng) * MS) as u64,
            crash_interval_us: interval_us(keep(crashes_on, self.crashes_per_sec.draw(rng))),
            restart_delay_us_max: (self.restart_delay_ms.draw(rng) * MS) as u64,
            crash_at_sync_probability: self.crash_at_sync_probability,
            torn_tail_probability: self.torn_tail_probability.draw(rng),
            pause_interval_us: interval_us(keep(pauses_on, self.pauses_per_sec.draw(rng))),
            pause_us_max: (self.pause_ms.draw(rng) * MS) as u64,
            sync_us_min: sync_a.min(sync_b),
            sync_us_max: sync_a.max(sync_b),
            think_us_max: rng.gen_range(150_000..=250_000),
            client_timeout_us: 500_000,
            long_delay_probability: 0.0,
            long_delay_us_max: 0,
            triggered_interval_us: 0,
            client_duplicate_probability: 0.0,
            burst_interval_us: 0,
            burst_size_max: 0,
            stability_window_us: 0,
            bootstrap_voters: 0,
            membership_interval_us: 0,
            transfer_interval_us: 0,
            snapshot_every: 0,
            bit_flip_probability: 0.0,
            read_index_probability: 0.0,
            transfer_cut_probability: 0.0,
            raft: RaftKnobs {
                election_timeout_ticks_min: 10,
                heartbeat_interval_ticks: 2,
                max_entries_per_message: if tiny { 1 } else { rng.gen_range(4..=64) },
                max_inflight_messages: if tiny { 1 } else { rng.gen_range(2..=16) },
                pre_vote: !rng.gen_bool(self.pre_vote_off_probability),
                check_quorum: !rng.gen_bool(self.check_quorum_off_probability),
                max_bytes_per_message: default_max_bytes_per_message(),
                max_uncommitted_entries: default_max_uncommitted_entries(),
                vote_retry_ticks: 0,
                snapshot_chunk_bytes: default_snapshot_chunk_bytes(),
                read_lease: false,
                clock_drift_bound_ticks: 0,
            },
            node_tick_us: Vec::new(),
        };
        // Drawn last: its number of draws depends on the cluster size.
        config.node_tick_us = (0..nodes)
            .map(|_| {
                let pct = if skew > 0.0 {
                    rng.gen_range(-skew..=skew)
                } else {
                    0.0
                };
                (tick_us as f64 * (1.0 + pct / 100.0)) as u64
            })
            .collect();
        config
    }

    /// The knobs added after the first swarm: each from a stream of its
    /// own (a sub-stream of `SwarmTiming`), drawn whether or not it is used,
    /// so no knob's value depends on another's or on an edit to another's
    /// range.
    fn draw_timing(&self, seed: u64, config: &mut SimConfig) {
        let knob = |id: u64| rng::knob_stream(seed, Stream::SwarmTiming, id);
        let on = |rng: &mut Xoshiro256PlusPlus| !rng.gen_bool(self.swarm_off_probability);
        let long_on = on(&mut knob(1));
        let long_p = self.long_delay_probability.draw(&mut knob(2));
        let long_max_us = (self.long_delay_ms_max.draw(&mut knob(3)) * MS) as u64;
        if long_on && long_p > 0.0 {
            config.long_delay_probability = long_p;
            config.long_delay_us_max = long_max_us.max(LONG_DELAY_US_MIN);
        }
        let triggered_on = on(&mut knob(4));
        let triggered_per_sec = self.triggered_per_sec.draw(&mut knob(5));
        if triggered_on {
            config.triggered_interval_us = interval_us(triggered_per_sec);
        }
        let frequent = knob(6).gen_bool(self.frequent_elections_probability);
        let churn_timeout = knob(7).gen_range(3..=5);
        let timeout = knob(8).gen_range(6..=20);
        let mut heartbeat = knob(9);
        let (close, short): (bool, u32) = (heartbeat.gen_bool(0.2), heartbeat.gen_range(0..=6));
        let k = &mut config.raft;
        if frequent {
            // Leader churn: a heartbeat late by a tick or two starts an election.
            k.election_timeout_ticks_min = churn_timeout;
            k.heartbeat_interval_ticks = churn_timeout - 1;
        } else if self.timing_varies {
            // Mostly well under the timeout, sometimes one tick short of it.
            let most = timeout - 1;
            k.election_timeout_ticks_min = timeout;
            k.heartbeat_interval_ticks = if close {
                most
            } else {
                1 + short % most.div_ceil(3)
            };
        }
        let mut limits = knob(10);
        let (tiny, bytes, uncommitted) = (
            limits.gen_bool(self.tiny_limits_probability),
            limits.gen_range(1..=256),
            limits.gen_range(1..=16),
        );
        if tiny {
            k.max_bytes_per_message = bytes;
            k.max_uncommitted_entries = uncommitted;
        }
        let tick_us = knob(11).gen_range(15_000..=30_000);
        if self.timing_varies {
            // The tick length varies too (the skew applies on top of it).
            let scale = |t: u64| t * tick_us / config.tick_us;
            config.node_tick_us = config.node_tick_us.iter().map(|&t| scale(t)).collect();
            config.tick_us = tick_us;
        }
        // A leader within a few election timeouts of the slowest clock (a
        // case that lengthens the timeout sets this bound too).
        let tick_max = config
            .node_tick_us
            .iter()
            .copied()
            .fold(config.tick_us, u64::max);
        let timeout_max_us = 2 * u64::from(config.raft.election_timeout_ticks_min) * tick_max;
        config.liveness_leader_us = config.liveness_leader_us.max(3 * timeout_max_us);
        // Client links duplicate requests as often as Raft links duplicate messages.
        config.client_duplicate_probability = config.duplicate_probability;
        let bursts_on = on(&mut knob(12));
        let bursts_per_sec = self.bursts_per_sec.draw(&mut knob(13));
        let burst_size_max = self.burst_size_max.draw(&mut knob(14)) as u64;
        if bursts_on {
            config.burst_interval_us = interval_us(bursts_per_sec);
            config.burst_size_max = burst_size_max;
        }
        // An idle window in which heartbeats alone must hold the leader in
        // place: only where nothing else may start an election (pre-vote
        // and check-quorum keep a rejoining node from disrupting, and a
        // heartbeat at most a third of the timeout arrives in time under
        // any drawn skew). Three shortest timeouts cover the longest
        // randomized one with room to spare.
        let stable = knob(16).gen_bool(self.stability_window_probability);
        let k = &config.raft;
        let (timeout, heartbeat) = (k.election_timeout_ticks_min, k.heartbeat_interval_ticks);
        if stable && k.pre_vote && k.check_quorum && 3 * heartbeat <= timeout {
            config.stability_window_us = 3 * u64::from(timeout) * tick_max;
        }
        if knob(17).gen_bool(self.vote_retry_probability) {
            config.raft.vote_retry_ticks = (timeout / 3).max(1);
        }
    }
}
