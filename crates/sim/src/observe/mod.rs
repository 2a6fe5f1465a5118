//! The run's one typed event stream and the observers that consume it.
//!
//! Every state change a handler makes is announced once, as a [`SimEvent`],
//! to [`Observers::emit`], which hands it to each observer in a fixed order:
//! the trace hash, the counters (`count.rs`), the safety checker
//! (`check.rs`), and, when asked for, the text trace (`text.rs`) and the
//! timeline (`record.rs`). Handlers do their own job and emit; they never call an
//! observer directly. An observer only reads events: it never changes the
//! run (the engine reads the checker's verdict between steps).
//!
//! Emitting allocates nothing: events borrow what they describe, and the
//! text trace and the timeline format only when they are on.

mod check;
mod count;
mod points;
mod record;
mod text;

pub use record::membership_event;
pub use text::{describe_command, describe_membership, describe_message};

use crate::faults::{Action, CrashPoint, Partition, Point};
use crate::stats::RunStats;
use crate::timeline::Timeline;
use checker::{SafetyChecker, Violation};
use kv::OpResult;
use raft_core::membership::Membership;
use raft_core::{
    DurableState, Entry, HardState, LogIndex, Message, NodeId, Ready, Role, SnapshotMeta, Term,
};

/// One thing that happened in a run.
#[derive(Clone, Copy, Debug)]
pub enum SimEvent<'a> {
    /// A message was handed to the network (not a node's message to itself).
    MessageSent,
    /// A message handed to the network (or an extra copy of one) was lost:
    /// loss, partition, dead or overloaded receiver, or its receiver crashed
    /// with it in the inbox. Never a node's message to itself, which is not
    /// sent either: sent + duplicated = delivered + dropped + in flight.
    MessageDropped {
        /// The message.
        m: &'a Message,
        /// Why (loss, partition, receiver down, ...).
        why: &'static str,
    },
    /// The network will deliver an extra copy of a message.
    MessageDuplicated {
        /// The message.
        m: &'a Message,
    },
    /// A message (or a copy) will arrive `delay_us` after it was sent;
    /// `long`: held on purpose for seconds.
    MessageDelayed {
        /// The delay.
        delay_us: u64,
        /// Whether it is a long hold.
        long: bool,
    },
    /// A client request or reply was lost on its link.
    ClientMessageLost,
    /// A message reached a live node, which steps it now.
    Delivered {
        /// The message.
        m: &'a Message,
        /// When it was sent.
        sent_us: u64,
    },
    /// A node's durable term or vote changes with this batch.
    TermVote {
        /// The node.
        node: usize,
        /// The new term.
        term: Term,
        /// The vote in it.
        vote: Option<NodeId>,
    },
    /// A node's role or term changed.
    RoleChanged {
        /// The node.
        node: usize,
        /// Before.
        old_role: Role,
        /// Before.
        old_term: Term,
        /// After.
        role: Role,
        /// After.
        term: Term,
    },
    /// A node is about to write, send and apply a batch.
    Batch {
        /// The node.
        node: usize,
        /// The batch.
        ready: &'a Ready,
        /// The node's commit index, if this batch raises it.
        commit: Option<LogIndex>,
        /// The index of the entry that set the configuration the node
        /// uses after this batch (0: the bootstrap configuration).
        membership_index: LogIndex,
        /// The entries the node holds in memory after this batch (past
        /// its compacted prefix).
        log_len: usize,
    },
    /// A node compacted its log behind a snapshot of its state machine.
    SnapshotTaken {
        /// The node.
        node: usize,
        /// What the snapshot covers.
        meta: &'a SnapshotMeta,
        /// Its size in bytes.
        bytes: usize,
    },
    /// A leader sent a chunk of its snapshot (offset 0: a new send).
    SnapshotChunkSent {
        /// The leader.
        node: usize,
        /// The follower.
        to: usize,
        /// The snapshot's index.
        index: LogIndex,
        /// Where the chunk starts.
        offset: u64,
    },
    /// A follower installed its leader's snapshot (written, restored).
    SnapshotInstalled {
        /// The node.
        node: usize,
        /// What the snapshot covers.
        meta: &'a SnapshotMeta,
    },
    /// A node's state machine was restored from a snapshot (installed, or
    /// read back at a restart): the digest of the state it now holds.
    StateRestored {
        /// The node.
        node: usize,
        /// The snapshot's index.
        index: LogIndex,
        /// The kv store's digest right after the restore.
        digest: u64,
    },
    /// The configuration a node uses changed (a configuration entry
    /// appended or truncated, or a restart rebuilding it from the disk).
    MembershipChanged {
        /// The node.
        node: usize,
        /// The entry that set it (0: the bootstrap configuration).
        index: LogIndex,
        /// The configuration.
        membership: &'a Membership,
    },
    /// A leader put a membership change in its log (the operator's, or
    /// the leave of a joint configuration).
    ConfChangeProposed {
        /// The leader.
        node: usize,
        /// The entry's index.
        index: LogIndex,
    },
    /// A membership change committed (seen applied for the first time).
    ConfChangeCommitted {
        /// The entry's index.
        index: LogIndex,
        /// The cluster's configuration before.
        old: &'a Membership,
        /// And after.
        new: &'a Membership,
    },
    /// The operator's request was refused by the leader, or found no leader.
    OperatorRefused {
        /// The schedule's fault number.
        index: usize,
        /// Why.
        why: &'a str,
        /// Whether it will be asked again.
        retry: bool,
    },
    /// A leader started handing leadership to `target`.
    TransferStarted {
        /// The leader.
        node: usize,
        /// The target.
        target: usize,
    },
    /// A spare became a member and boots from an empty disk.
    Joined {
        /// The node.
        node: usize,
    },
    /// A node removed from the committed configuration was shut down.
    ShutDown {
        /// The node.
        node: usize,
    },
    /// A node is about to apply a committed entry.
    Applying {
        /// The node.
        node: usize,
        /// The entry.
        entry: &'a Entry,
    },
    /// A node applied a committed entry.
    Applied {
        /// The node.
        node: usize,
        /// The entry.
        entry: &'a Entry,
        /// A retried command its kv session recognized: answered with the
        /// first result, not run again.
        duplicate: bool,
    },
    /// A sync made a node's hard state durable.
    DurableHardState {
        /// The node.
        node: usize,
        /// What is durable now.
        hard_state: HardState,
        /// Log entries the sync made durable.
        entries: usize,
    },
    /// A node acknowledged an append (the ack just left).
    AckSent {
        /// The node.
        node: usize,
        /// The ack's term.
        term: Term,
    },
    /// A triggered fault fired: `node` reached `point`.
    Triggered {
        /// The node.
        node: usize,
        /// The point it reached.
        point: Point,
        /// What hit it.
        action: Action,
    },
    /// A leader accepted a client's proposal.
    Proposed {
        /// The node.
        node: usize,
        /// The client.
        client: usize,
        /// Where.
        index: LogIndex,
        /// In which term.
        term: Term,
    },
    /// The load generator sent `proposals` proposals to `node` at once.
    Burst {
        /// Where to.
        node: usize,
        /// How many.
        proposals: u64,
    },
    /// A node's write replaced `entries` entries of its log (a follower
    /// repairing a divergent suffix).
    Truncated {
        /// The node.
        node: usize,
        /// Entries replaced.
        entries: u64,
    },
    /// A follower acknowledged an append after rejecting `rejections` in a
    /// row (the leader probed back to the match point).
    ProbeEnded {
        /// The node.
        node: usize,
        /// Rejections before the ack.
        rejections: u64,
    },
    /// A client started an operation.
    ClientInvoked {
        /// The client.
        client: usize,
        /// The operation.
        op: &'a kv::Op,
    },
    /// A reply reached a client's current attempt.
    ClientReplied {
        /// The client.
        client: usize,
        /// The attempt.
        attempt: u32,
    },
    /// A node answered a client's read: through the log (applied like a
    /// write), or by ReadIndex at `index` (no log entry).
    ReadServed {
        /// The node.
        node: usize,
        /// Served by ReadIndex at this index (`None`: through the log).
        read_index: Option<LogIndex>,
        /// Served by a follower (a follower read: the leader confirmed
        /// the index).
        follower: bool,
        /// Served on the leader's lease (no heartbeat round).
        lease: bool,
    },
    /// A client's operation completed.
    ClientOk {
        /// The client.
        client: usize,
        /// Its result.
        result: &'a OpResult,
        /// Where it was committed.
        index: LogIndex,
        /// The term of that entry.
        term: Term,
    },
    /// A client attempt was refused and will be retried.
    ClientRefused {
        /// The client.
        client: usize,
        /// Why (a redirect, a lost proposal, a busy leader).
        why: &'static str,
    },
    /// A client attempt timed out and will be retried.
    ClientTimedOut {
        /// The client.
        client: usize,
        /// The attempt that timed out.
        attempt: u32,
    },
    /// The schedule's fault number `index` fired.
    FaultFired {
        /// Its position in the schedule.
        index: usize,
    },
    /// A partition was installed; `blocked[from]` has bit `to` set when cut.
    Partitioned {
        /// The shape.
        partition: Partition,
        /// The cut links.
        blocked: &'a [u32],
    },
    /// Every partition was repaired.
    PartitionHealed,
    /// A crash waiting for a sync reached it.
    CrashPointReached {
        /// The node.
        node: usize,
        /// Before or after the sync.
        point: CrashPoint,
    },
    /// A node crashed.
    Crashed {
        /// The node.
        node: usize,
        /// Unsynced bytes lost.
        lost: u64,
        /// Unsynced bytes kept (a torn write).
        kept: u64,
    },
    /// A bit of a crashed node's synced data was flipped (damage at rest).
    BitFlipped {
        /// The node.
        node: usize,
        /// The file.
        file: &'a str,
        /// The byte.
        offset: u64,
        /// The bit (0..8).
        bit: u8,
    },
    /// A node refused to start: recovery found its files damaged. It stays
    /// down for the rest of the run.
    CorruptionDetected {
        /// The node.
        node: usize,
        /// What recovery reported (file, offset, reason).
        error: &'a str,
    },
    /// A crashed node is rebuilt from what its disk holds.
    Rebooting {
        /// The node.
        node: usize,
        /// What it reads back.
        durable: &'a DurableState,
    },
    /// A node (re)started, with this hard state in memory.
    Booted {
        /// The node.
        node: usize,
        /// Its hard state.
        hard_state: HardState,
    },
    /// A crashed node restarted.
    Restarted {
        /// The node.
        node: usize,
        /// The term it restarted in.
        term: Term,
    },
    /// A node was paused.
    Paused {
        /// The node.
        node: usize,
    },
    /// A paused node resumed.
    Resumed {
        /// The node.
        node: usize,
        /// The ticks it missed, replayed now.
        ticks: u32,
    },
    /// The chaos phase ended.
    Heal,
    /// A leader is in place and every client progressed after the heal.
    Recovered,
    /// Every live node applied the highest acknowledged write; the idle
    /// stability window runs from `from_us` (once every message of the
    /// chaos phase has arrived) to `until_us`.
    StabilityWindow {
        /// Its start.
        from_us: u64,
        /// Its end.
        until_us: u64,
    },
    /// The run failed.
    Failed {
        /// What broke.
        violation: &'a Violation,
        /// Whether it is a liveness failure (else safety).
        liveness: bool,
    },
}

impl SimEvent<'_> {
    /// Whether this is a node taking `role` anew: from another role, or in a
    /// new term (a leader of term 3 elected leader of term 5 leads anew).
    #[must_use]
    pub fn took_role(&self, r: Role) -> bool {
        matches!(*self, SimEvent::RoleChanged { old_role, old_term, role, term, .. }
            if role == r && (old_role != r || term != old_term))
    }

    /// Whether this is a node leaving `role`, or holding it into a new term.
    #[must_use]
    pub fn left_role(&self, r: Role) -> bool {
        matches!(*self, SimEvent::RoleChanged { old_role, old_term, role, term, .. }
            if old_role == r && (role != r || term != old_term))
    }
}

/// The observers of one run.
pub struct Observers {
    now_us: u64,
    event_index: u64,
    trace_hash: u64,
    stats: RunStats,
    checker: Option<SafetyChecker>,
    text: Option<text::TextTrace>,
    timeline: Option<Timeline>,
    points: points::PointWatch,
    /// Each node's term as last seen (for points that do not carry one).
    terms: Vec<Term>,
    /// The transfer under way: its target, and until when its success counts.
    transfer: Option<(usize, u64)>,
    /// How long a transfer may take to count as a success.
    transfer_within_us: u64,
}

impl Observers {
    /// Observers for a cluster of `nodes` node slots whose first `voters`
    /// are the bootstrap voters, with the checker on; a leadership transfer
    /// counts as a success when its target leads within `transfer_within_us`.
    #[must_use]
    pub fn new(nodes: usize, voters: usize, transfer_within_us: u64) -> Observers {
        let bootstrap: Vec<NodeId> = (0..voters as u64).map(NodeId).collect();
        Observers {
            transfer: None,
            transfer_within_us,
            now_us: 0,
            event_index: 0,
            trace_hash: 0,
            stats: RunStats::default(),
            checker: Some(SafetyChecker::with_bootstrap(nodes, &bootstrap)),
            text: None,
            timeline: None,
            points: points::PointWatch::default(),
            terms: vec![Term(0); nodes],
        }
    }

    /// Sets the time and event counter that the next events carry.
    pub fn at(&mut self, now_us: u64, event_index: u64) {
        self.now_us = now_us;
        self.event_index = event_index;
    }

    /// The event counter.
    #[must_use]
    pub fn event_index(&self) -> u64 {
        self.event_index
    }

    /// The run ended by a panic in node code: the text trace and the
    /// timeline end with it (the trace hash and the checker are left as the
    /// panic found them).
    pub fn note_panic(&mut self, message: &str) {
        let line = format!("PANIC {message}");
        if let Some(t) = self.text.as_mut() {
            t.note(self.now_us, self.event_index, &line);
        }
        if let Some(t) = self.timeline.as_mut() {
            t.events.push(crate::timeline::TimelineEvent::Violation {
                t: self.now_us,
                nodes: Vec::new(),
                text: line,
            });
        }
    }

    /// Hands `e` to every observer. Inlined, so that at each call site the
    /// hash, the counters and the checker reduce to what that event needs.
    #[inline(always)]
    pub fn emit(&mut self, e: SimEvent<'_>) {
        if let Some(words) = hash_words(&e) {
            self.fold_hash(words);
        }
        count::count(&mut self.stats, &e);
        if let SimEvent::TransferStarted { target, .. } = e {
            self.transfer = Some((target, self.now_us + self.transfer_within_us));
        }
        if e.took_role(Role::Leader) {
            if self.stats.first_leader_ms == 0 {
                self.stats.first_leader_ms = self.now_us.div_ceil(1_000).max(1);
            }
            if let (Some((target, until_us)), SimEvent::RoleChanged { node, .. }) =
                (self.transfer.take(), e)
            {
                let ok = node == target && self.now_us <= until_us;
                self.stats.leader_transfers_ok += u64::from(ok);
            }
        }
        if let Some(c) = self.checker.as_mut() {
            check::feed(c, self.event_index, &e);
        }
        if let Some(t) = self.text.as_mut() {
            t.observe(self.now_us, self.event_index, &e);
        }
        if let Some(t) = self.timeline.as_mut() {
            record::record(t, self.now_us, &e);
        }
        if let SimEvent::RoleChanged { node, term, .. }
        | SimEvent::Booted {
            node,
            hard_state: HardState { term, .. },
        } = e
        {
            if let Some(t) = self.terms.get_mut(node) {
                *t = term;
            }
        }
        if self.points.mask != 0 {
            let terms = &self.terms;
            let term_of = |n: usize| terms.get(n).copied().unwrap_or_default();
            self.points.note(&e, term_of);
        }
    }

    /// Starts watching for `point` (a triggered fault waits for it).
    pub fn watch(&mut self, point: Point) {
        self.points.mask |= points::bit(point);
    }

    /// Stops watching for every point but `points`.
    pub fn watch_only(&mut self, points: impl Iterator<Item = Point>) {
        self.points.mask = points.fold(0, |m, p| m | points::bit(p));
    }

    /// Moves the points reached since the last call, in order, into
    /// `into` (emptied first; its buffer and this one are reused).
    pub fn take_hits(&mut self, into: &mut Vec<(usize, Point, Term)>) {
        into.clear();
        std::mem::swap(into, &mut self.points.hits);
    }

    /// Whether a watched point was reached since the last look.
    #[must_use]
    pub fn has_hits(&self) -> bool {
        !self.points.hits.is_empty()
    }

    /// Folds an event's words in with one multiply each (FxHash's step):
    /// the hash only has to tell two runs apart, and it runs on every
    /// delivery, apply and role change.
    fn fold_hash(&mut self, words: [u64; 4]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.trace_hash;
        for w in words {
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        self.trace_hash = h;
    }

    /// Whether the safety checker is on.
    #[must_use]
    pub fn checking(&self) -> bool {
        self.checker.is_some()
    }

    /// Whether the checker records the committed entries to compare
    /// restored states with (see `SafetyChecker::track_state`).
    pub fn track_state(&mut self, on: bool) {
        if let Some(c) = self.checker.as_mut() {
            c.track_state(on);
        }
    }

    /// Turns the safety checker off.
    pub fn disable_checker(&mut self) {
        self.checker = None;
    }

    /// The checker's first violation, if any.
    #[must_use]
    pub fn first_violation(&self) -> Option<&Violation> {
        self.checker.as_ref().and_then(|c| c.violations().first())
    }

    /// Records a text line per event from now on.
    pub fn enable_text(&mut self) {
        self.text = Some(text::TextTrace::default());
    }

    /// Records the structured timeline from now on.
    pub fn enable_timeline(&mut self, timeline: Timeline) {
        self.timeline = Some(timeline);
    }

    /// The text trace's lines.
    #[must_use]
    pub fn text_lines(&self) -> &[String] {
        self.text.as_ref().map_or(&[], |t| t.lines())
    }

    /// The timeline recorded so far.
    #[must_use]
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    /// The counters, for the end-of-run figures the engine adds.
    pub fn stats_mut(&mut self) -> &mut RunStats {
        &mut self.stats
    }

    /// The hash of every hashed event so far: equal for equal runs.
    #[must_use]
    pub fn trace_hash(&self) -> u64 {
        self.trace_hash
    }
}

/// The words an event folds into the trace hash (None: not hashed). Hashed
/// are what makes two runs different: deliveries, applies, role changes,
/// client replies, faults and crashes.
#[inline(always)]
fn hash_words(e: &SimEvent<'_>) -> Option<[u64; 4]> {
    Some(match *e {
        SimEvent::Delivered { m, .. } => [1, m.from.0, m.to.0, m.term.0],
        SimEvent::Applied { node, entry, .. } => [2, node as u64, entry.index.0, entry.term.0],
        SimEvent::RoleChanged {
            node, role, term, ..
        } => [3, node as u64, role as u64, term.0],
        SimEvent::ClientReplied { client, attempt } => [4, client as u64, u64::from(attempt), 0],
        SimEvent::FaultFired { index } => [5, index as u64, 0, 0],
        SimEvent::Crashed { node, lost, .. } => [6, node as u64, lost, 0],
        _ => return None,
    })
}
