//! The host loop of one node: raft-core's persistence contract, in one place.
//!
//! For every input (tick, message, proposal, sync completion) the
//! [`Driver`] hands the input to raft-core, then drains every [`Ready`]:
//!
//! 1. checks the batch against the disk boundary (writes are contiguous,
//!    nothing at or below the written commit index is rewritten, the commit
//!    index never passes the written log nor goes back, the term never goes
//!    back, a vote is never changed within its term) and writes entries,
//!    then the hard state;
//! 2. sends `messages` at once;
//! 3. sends `persisted_messages` and reports `on_persisted` only once a
//!    sync covers the batch (at once if the storage already says so, else
//!    parked until [`Driver::on_synced`]), checking that the node's durable
//!    cursor then names only an entry that report covers (a report for an
//!    entry a truncation replaced meanwhile must be ignored);
//! 4. applies `committed_entries` in order and answers the proposals this
//!    node accepted by (index, term): the same term applied means done,
//!    another term at that index means lost.
//!
//! A batch that carries the leader's snapshot has it restored into the
//! state machine and written (replacing the log) before anything else.
//! After applying, the driver compacts by its policy (every
//! `snapshot_every` applied entries): the state machine's state goes to
//! raft-core's [`RaftNode::compact`], and the snapshot that returns is
//! written like any batch.
//!
//! After each input it can check raft-core's own invariants, and any broken
//! rule is reported as a [`HostFault`] that stops the node. The driver owns
//! no clock, socket or file: the simulator and the real node plug those in
//! through [`crate::io`]. This module must never read a clock, block, or
//! draw randomness.

use crate::io::{Answer, Effects, HostFault, StateMachine, Storage};
use bytes::Bytes;
use raft_core::membership::ConfChange;
use raft_core::{
    CompactError, Entry, LogIndex, Message, NodeId, ProposeError, RaftNode, Ready, Role, Snapshot,
    Term, TransferError,
};
use std::collections::VecDeque;

/// Most batches one input may produce before the loop is declared stuck.
pub const READY_ROUNDS_MAX: usize = 10_000;

/// A proposal this node accepted, waiting for its index to be applied.
#[derive(Clone, Debug)]
struct Pending<T> {
    index: LogIndex,
    term: Term,
    token: T,
}

/// What this incarnation has issued to storage, for the boundary checks.
#[derive(Clone, Copy, Debug)]
struct Written {
    last_index: LogIndex,
    commit: LogIndex,
    term: Term,
    vote: Option<raft_core::NodeId>,
}

/// One node's host loop: a raft-core node, its state machine, and the
/// messages and durability reports waiting for a sync.
///
/// A fault, or [`Effects::stopped`] returning true, stops the driver for
/// good: it takes no more input (the rest of the batch it was handling is
/// dropped, so the node must be rebuilt from storage, as after a crash).
///
/// `T` is the host's token for a proposal (a client and attempt, a request
/// id); `S` the state machine. The storage and the effects are passed to
/// each call, so that they can outlive the driver (a disk survives a crash;
/// the driver is rebuilt from it).
///
/// ```
/// use host::fs::SimFs;
/// use host::wal_storage::WalStorage;
/// use host::{Answer, Driver, Effects, HostFault, Transport};
/// use raft_core::{Config, Message, NodeId, RaftNode, Role, Xoshiro256PlusPlus};
/// use rand_xoshiro::rand_core::SeedableRng;
///
/// #[derive(Default)]
/// struct Loopback { inbox: Vec<Message>, answers: Vec<Answer<kv::Applied>> }
/// impl Transport for Loopback {
///     fn send(&mut self, m: Message) { self.inbox.push(m); }
/// }
/// impl Effects<u32, kv::Applied> for Loopback {
///     fn answer(&mut self, _token: u32, a: Answer<kv::Applied>) { self.answers.push(a); }
///     fn fault(&mut self, f: HostFault) { panic!("{f}"); }
/// }
///
/// let config = Config::new(NodeId(0), vec![NodeId(0)]);
/// let raft = RaftNode::new(config, Xoshiro256PlusPlus::seed_from_u64(1)).expect("valid config");
/// let mut driver = Driver::new(raft, kv::KvStore::new());
/// // The write-ahead log, on a simulated disk (`RealFs` for a real one).
/// let (mut disk, mut io) = (WalStorage::<SimFs>::default(), Loopback::default());
/// while driver.raft().role() != Role::Leader {
///     driver.tick(&mut disk, &mut io);
///     disk.sync_all().expect("a simulated disk syncs");
///     driver.on_synced(&mut disk, &mut io);
///     for m in std::mem::take(&mut io.inbox) {
///         driver.step(m, &mut disk, &mut io); // our own vote
///     }
/// }
/// let put = kv::Command { client_id: 1, seq: 1, op: kv::Op::Put { key: "k".into(), value: "v".into() } };
/// driver.propose(put.encode().into(), 7, &mut disk, &mut io).expect("the leader accepts");
/// disk.sync_all().expect("a simulated disk syncs");
/// driver.on_synced(&mut disk, &mut io);
/// assert!(matches!(io.answers[..], [Answer::Applied { .. }]));
/// assert_eq!(driver.state_machine().get("k"), Some("v"));
/// ```
pub struct Driver<S: StateMachine, T> {
    raft: RaftNode,
    state_machine: S,
    /// The batch, reused between rounds (taken while it is handled; boxed,
    /// so taking it moves a pointer, not the batch).
    ready: Option<Box<Ready>>,
    /// Messages waiting for the batch they depend on: (batch seq, message).
    waiting_messages: VecDeque<(u64, Message)>,
    /// Durability reports waiting for their batch: (batch seq, index, term).
    waiting_persisted: VecDeque<(u64, LogIndex, Term)>,
    /// Accepted proposals, in index order (a new proposal always takes an
    /// index past everything applied).
    pending: VecDeque<Pending<T>>,
    written: Written,
    check_invariants: bool,
    /// Compact once this many entries are applied past the last snapshot
    /// (0: never).
    snapshot_every: u64,
    /// Set by the first fault: the node does nothing more.
    stopped: bool,
    /// Linearizable reads waiting for their index or for the state machine.
    reads: Vec<reads::WaitingRead<T>>,
    /// The last read's context (raft-core's token for it).
    next_read: u64,
    /// Ticks handed to the node (how long reads wait is told in them).
    ticks: u64,
}

impl<S: StateMachine, T> Driver<S, T> {
    /// Drives `raft` (new, or restored from what storage holds) and applies
    /// its committed entries to `state_machine`.
    pub fn new(raft: RaftNode, state_machine: S) -> Driver<S, T> {
        let written = Written {
            last_index: raft.log().last_index(),
            commit: raft.log().committed(),
            term: raft.term(),
            vote: raft.vote(),
        };
        Driver {
            raft,
            state_machine,
            ready: Some(Box::default()),
            waiting_messages: VecDeque::new(),
            waiting_persisted: VecDeque::new(),
            pending: VecDeque::new(),
            written,
            check_invariants: false,
            snapshot_every: 0,
            stopped: false,
            reads: Vec::new(),
            next_read: 0,
            ticks: 0,
        }
    }

    /// Like [`Driver::new`] for a node restored from storage: its durable
    /// snapshot, if any, is restored into `state_machine` first (the node
    /// then applies the committed entries after it).
    ///
    /// # Errors
    /// The state machine refused the snapshot.
    pub fn restore(raft: RaftNode, mut state_machine: S) -> Result<Driver<S, T>, HostFault> {
        if let Some(snap) = raft.snapshot() {
            state_machine
                .restore(snap.meta.index, &snap.data)
                .map_err(|error| HostFault::Restore {
                    index: snap.meta.index,
                    error,
                })?;
        }
        Ok(Driver::new(raft, state_machine))
    }

    /// Compacts the log whenever `entries` more are applied past the last
    /// snapshot (0: never, the default).
    pub fn set_snapshot_every(&mut self, entries: u64) {
        self.snapshot_every = entries;
    }

    /// Checks raft-core's own invariants after every input (O(members) each).
    pub fn set_check_invariants(&mut self, on: bool) {
        self.check_invariants = on;
    }

    /// The Raft node (read-only: inputs go through the driver).
    #[must_use]
    pub fn raft(&self) -> &RaftNode {
        &self.raft
    }

    /// The state machine.
    #[must_use]
    pub fn state_machine(&self) -> &S {
        &self.state_machine
    }

    /// Whether a fault stopped the node.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Proposals accepted and not yet answered.
    #[must_use]
    pub fn pending_proposals(&self) -> usize {
        self.pending.len()
    }

    /// Messages waiting for a sync.
    #[must_use]
    pub fn waiting_messages(&self) -> usize {
        self.waiting_messages.len()
    }

    // ----- inputs ----------------------------------------------------------

    /// One tick of logical time.
    ///
    /// Most ticks only count (three in four in the simulator's default
    /// sweep): no batch, and the role, term, vote and known leader as they
    /// were. Then there is nothing to write, send, apply or report, and
    /// nothing the node's invariants look at has moved, so the tick ends
    /// there.
    pub fn tick<St: Storage, E: Effects<T, S::Output>>(&mut self, storage: &mut St, fx: &mut E) {
        if !self.tick_only_counts() {
            self.after_tick(storage, fx);
        }
    }

    /// The first half of [`Driver::tick`], for a host that would rather not
    /// set up its storage and effects for a tick that only counts: ticks
    /// the node, and tells whether that was all. When it returns false,
    /// finish the tick with [`Driver::after_tick`].
    pub fn tick_only_counts(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        let seen = self.observed();
        self.ticks += 1;
        self.raft.tick();
        !self.raft.has_ready() && self.observed() == seen
    }

    /// The second half of [`Driver::tick`]: writes, sends, applies and
    /// reports what the tick started.
    pub fn after_tick<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        storage: &mut St,
        fx: &mut E,
    ) {
        if !self.stopped {
            self.after_input(storage, fx);
        }
    }

    /// What [`Effects::node_state`] reports of the node, besides batches.
    fn observed(&self) -> (Role, Term, Option<NodeId>, Option<NodeId>) {
        let r = &self.raft;
        (r.role(), r.term(), r.vote(), r.leader())
    }

    /// A message from the network (or from this node to itself).
    pub fn step<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        m: Message,
        storage: &mut St,
        fx: &mut E,
    ) {
        if self.stopped {
            return;
        }
        self.raft.step(m);
        self.after_input(storage, fx);
    }

    /// Proposes `data`; on acceptance the proposal is answered through
    /// [`Effects::answer`] with `token` once its index is applied.
    ///
    /// # Errors
    /// The node is not the leader, or holds too many uncommitted entries
    /// (nothing was proposed; the caller answers its client).
    pub fn propose<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        data: Bytes,
        token: T,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(LogIndex, Term), ProposeError> {
        if self.stopped {
            return Err(ProposeError::NotLeader { leader: None });
        }
        let (index, term) = self.raft.propose(data)?;
        fx.proposed(&token, index, term);
        let at = self.pending.partition_point(|p| p.index <= index);
        self.pending.insert(at, Pending { index, term, token });
        self.after_input(storage, fx);
        Ok((index, term))
    }

    /// Proposes a membership change (see
    /// [`RaftNode::propose_conf_change`]); nobody is answered: the new
    /// configuration shows in the node's [`RaftNode::membership`] at once,
    /// and commits like any entry.
    ///
    /// # Errors
    /// Whatever the node refuses; a stopped node is no leader.
    pub fn propose_conf_change<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        change: &ConfChange,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(LogIndex, Term), ProposeError> {
        if self.stopped {
            return Err(ProposeError::NotLeader { leader: None });
        }
        let proposed = self.raft.propose_conf_change(change)?;
        self.after_input(storage, fx);
        Ok(proposed)
    }

    /// Hands leadership to `target` (see [`RaftNode::transfer_leadership`]).
    ///
    /// # Errors
    /// Whatever the node refuses; a stopped node is no leader.
    pub fn transfer_leadership<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        target: NodeId,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(), TransferError> {
        if self.stopped {
            return Err(TransferError::NotLeader { leader: None });
        }
        self.raft.transfer_leadership(target)?;
        self.after_input(storage, fx);
        Ok(())
    }

    /// Proposes each of `proposals` in turn, then handles what they produced
    /// as one input (a pipelined client: one batch, one write, appends
    /// carrying many entries). Stops at the first refusal; returns how many
    /// were accepted, each answered later like [`Driver::propose`]'s.
    pub fn propose_many<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        proposals: impl IntoIterator<Item = (Bytes, T)>,
        storage: &mut St,
        fx: &mut E,
    ) -> usize {
        if self.stopped {
            return 0;
        }
        let mut accepted = 0;
        for (data, token) in proposals {
            let Ok((index, term)) = self.raft.propose(data) else {
                break;
            };
            fx.proposed(&token, index, term);
            let at = self.pending.partition_point(|p| p.index <= index);
            self.pending.insert(at, Pending { index, term, token });
            accepted += 1;
        }
        self.after_input(storage, fx);
        accepted
    }

    /// The storage made more batches durable: sends what waited for them,
    /// reports durability to the node, and handles what that produces.
    pub fn on_synced<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        storage: &mut St,
        fx: &mut E,
    ) {
        if self.stopped {
            return;
        }
        self.release(storage.synced_seq(), fx);
        if self.stopped {
            return;
        }
        self.after_input(storage, fx);
    }

    /// Sends what waited for batches up to `synced` and reports them durable.
    fn release<E: Effects<T, S::Output>>(&mut self, synced: u64, fx: &mut E) {
        while self
            .waiting_messages
            .front()
            .is_some_and(|&(seq, _)| seq <= synced)
        {
            if let Some((_, m)) = self.waiting_messages.pop_front() {
                fx.send(m);
            }
        }
        while let Some(&(seq, index, term)) = self.waiting_persisted.front() {
            if seq > synced {
                break;
            }
            self.waiting_persisted.pop_front();
            if !self.report_persisted(index, term, fx) {
                return;
            }
        }
    }

    /// Tells the node that the batch ending at (`index`, `term`) is durable,
    /// and checks what it made of that: its durable cursor may name that
    /// entry only if the node still holds it with the same term (a report for
    /// an entry replaced since, by a truncation, must be ignored), and never
    /// passes it. Returns false if the node broke the rule (and stopped).
    fn report_persisted<E: Effects<T, S::Output>>(
        &mut self,
        index: LogIndex,
        term: Term,
        fx: &mut E,
    ) -> bool {
        self.raft.on_persisted(index, term);
        let log = self.raft.log();
        let persisted = log.persisted();
        // A snapshot installed since counts as durable at its index: what
        // depends on it waits for the batch that wrote it.
        let snapshot = persisted == log.first_index().prev() && self.raft.snapshot().is_some();
        let Some(detail) = durable_cursor_broken(index, term, persisted, log.term(persisted))
            .filter(|_| !snapshot)
        else {
            return true;
        };
        self.stop(
            fx,
            HostFault::Boundary {
                rule: "persisted-is-durable",
                detail,
            },
        );
        false
    }

    // ----- the loop --------------------------------------------------------

    /// Drains what the input produced, then checks the node's invariants
    /// (once per input: the state every later input starts from).
    fn after_input<St: Storage, E: Effects<T, S::Output>>(&mut self, storage: &mut St, fx: &mut E) {
        self.pump(storage, fx);
        if !self.stopped {
            self.invariants_broken(fx);
        }
    }

    /// Reports a broken node invariant (when checking is on).
    fn invariants_broken<E: Effects<T, S::Output>>(&mut self, fx: &mut E) -> bool {
        if !self.check_invariants {
            return false;
        }
        match self.raft.check_invariants() {
            Ok(()) => false,
            Err(v) => {
                self.stop(fx, HostFault::NodeInvariant(v));
                true
            }
        }
    }

    fn stop<E: Effects<T, S::Output>>(&mut self, fx: &mut E, fault: HostFault) {
        self.stopped = true;
        fx.fault(fault);
    }

    /// Drains every batch the node has.
    fn pump<St: Storage, E: Effects<T, S::Output>>(&mut self, storage: &mut St, fx: &mut E) {
        let mut rounds = 0;
        while self.raft.has_ready() {
            rounds += 1;
            if rounds > READY_ROUNDS_MAX {
                let fault = HostFault::ReadyRoundsExceeded {
                    rounds: READY_ROUNDS_MAX,
                };
                self.stop(fx, fault);
                return;
            }
            let mut ready = self.ready.take().unwrap_or_default();
            self.raft.take_ready(&mut ready);
            fx.node_state(&self.raft, ready.hard_state);
            let handled = self.handle_ready(&mut ready, storage, fx);
            ready.clear();
            self.ready = Some(ready);
            if !handled {
                return;
            }
            if fx.stopped() {
                self.stopped = true;
                return;
            }
        }
        if rounds == 0 {
            // No batch showed the node's state after this input (a role
            // change needs no batch: a lost pre-vote, a check-quorum step-down).
            fx.node_state(&self.raft, None);
        }
    }

    /// Writes, sends and applies one batch. Returns false if the node stopped.
    fn handle_ready<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        ready: &mut Ready,
        storage: &mut St,
        fx: &mut E,
    ) -> bool {
        fx.ready(&self.raft, ready);
        if let Some(snap) = ready.snapshot.take() {
            if !self.install(*snap, storage, fx) {
                return false;
            }
        }
        if let Err(fault) = self.check_boundary(ready) {
            self.stop(fx, fault);
            return false;
        }
        let seq = match storage.write(&ready.entries, ready.hard_state) {
            Ok(seq) => seq,
            Err(e) => {
                self.stop(fx, HostFault::Storage(e));
                return false;
            }
        };
        let synced_seq = storage.synced_seq();
        let synced = seq <= synced_seq;
        if synced {
            // Older batches the storage made durable meanwhile go first.
            self.release(synced_seq, fx);
            if self.stopped {
                return false;
            }
        } else {
            for m in ready.persisted_messages.drain(..) {
                self.waiting_messages.push_back((seq, m));
            }
            if let Some(last) = ready.entries.last() {
                self.waiting_persisted
                    .push_back((seq, last.index, last.term));
            }
        }
        for m in ready.messages.drain(..) {
            fx.send(m);
        }
        if synced {
            for m in ready.persisted_messages.drain(..) {
                fx.send(m);
            }
            if let Some(last) = ready.entries.last() {
                if !self.report_persisted(last.index, last.term, fx) {
                    return false;
                }
            }
        }
        for e in &ready.committed_entries {
            fx.applying(e);
            let output = match self.state_machine.apply(e) {
                Ok(output) => output,
                Err(error) => {
                    self.stop(
                        fx,
                        HostFault::Apply {
                            index: e.index,
                            error,
                        },
                    );
                    return false;
                }
            };
            fx.applied(e, &output);
            self.answer(e, output, fx);
            if fx.stopped() {
                self.stopped = true;
                return false;
            }
        }
        if !ready.read_states.is_empty() {
            self.read_states(&ready.read_states, fx);
        }
        if !self.reads.is_empty() {
            self.serve_reads(fx);
        }
        if self.snapshot_every > 0 && !ready.committed_entries.is_empty() {
            return self.maybe_compact(storage, fx);
        }
        true
    }

    /// Restores the state machine from the leader's snapshot, writes the
    /// snapshot (replacing the log), and answers the proposals it covers as lost
    /// (their outcome is in the snapshot; a retry under the same session
    /// applies at most once). Returns false if the node stopped.
    fn install<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        snap: Snapshot,
        storage: &mut St,
        fx: &mut E,
    ) -> bool {
        let index = snap.meta.index;
        if index <= self.written.commit {
            let detail = format!(
                "a snapshot at {index} installed at or below the written commit index {}",
                self.written.commit
            );
            let fault = HostFault::Boundary {
                rule: "snapshot-past-commit",
                detail,
            };
            self.stop(fx, fault);
            return false;
        }
        if let Err(error) = self.state_machine.restore(index, &snap.data) {
            self.stop(fx, HostFault::Restore { index, error });
            return false;
        }
        fx.snapshot_installed(&snap);
        if let Err(e) = storage.write_snapshot(snap, true) {
            self.stop(fx, HostFault::Storage(e));
            return false;
        }
        self.written.last_index = index;
        self.written.commit = index;
        while self.pending.front().is_some_and(|p| p.index <= index) {
            if let Some(p) = self.pending.pop_front() {
                fx.answer(p.token, Answer::Lost { index: p.index });
            }
        }
        true
    }

    /// Compacts the log now, at the applied index, whatever the policy (an
    /// operator's "snapshot now"); returns the snapshot's index. A storage
    /// failure stops the node (reported through [`Effects::fault`]).
    ///
    /// # Errors
    /// Nothing was applied past the last snapshot.
    pub fn compact_now<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<LogIndex, CompactError> {
        let applied = self.raft.log().applied();
        let data = self.state_machine.snapshot(applied);
        let snap = self.raft.compact(applied, data)?;
        fx.snapshot_taken(&self.raft, &snap);
        if let Err(e) = storage.write_snapshot(snap, false) {
            self.stop(fx, HostFault::Storage(e));
        }
        Ok(applied)
    }

    /// Compacts the log if the policy says so: the state machine's state
    /// at the applied index goes to raft-core, and the snapshot is written.
    /// Returns false if the node stopped.
    fn maybe_compact<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        storage: &mut St,
        fx: &mut E,
    ) -> bool {
        let log = self.raft.log();
        let (applied, prefix) = (log.applied(), log.first_index().prev());
        if applied.0 - prefix.0 < self.snapshot_every {
            return true;
        }
        let data = self.state_machine.snapshot(applied);
        let Ok(snap) = self.raft.compact(applied, data) else {
            return true; // applied is past the prefix: cannot happen
        };
        fx.snapshot_taken(&self.raft, &snap);
        if let Err(e) = storage.write_snapshot(snap, false) {
            self.stop(fx, HostFault::Storage(e));
            return false;
        }
        true
    }

    /// Answers the proposals at `e`'s index: done if `e` is of their term,
    /// lost otherwise. Proposals at lower indices (applied long ago, which
    /// cannot happen) are answered lost rather than left waiting.
    fn answer<E: Effects<T, S::Output>>(&mut self, e: &Entry, output: S::Output, fx: &mut E) {
        let mut output = Some(output);
        while self.pending.front().is_some_and(|p| p.index <= e.index) {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let answer = match output.take() {
                Some(output) if p.index == e.index && p.term == e.term => Answer::Applied {
                    index: e.index,
                    term: e.term,
                    output,
                },
                unused => {
                    output = unused;
                    Answer::Lost { index: p.index }
                }
            };
            fx.answer(p.token, answer);
        }
    }

    /// The disk boundary: what a batch may write given what was written.
    fn check_boundary(&mut self, ready: &Ready) -> Result<(), HostFault> {
        let w = &mut self.written;
        if let (Some(first), Some(last)) = (ready.entries.first(), ready.entries.last()) {
            let fault = |rule, detail| Err(HostFault::Boundary { rule, detail });
            if first.index.0 > w.last_index.0 + 1 {
                let detail = format!(
                    "entry {} written after last written index {}",
                    first.index, w.last_index
                );
                return fault("contiguous-writes", detail);
            }
            if ready
                .entries
                .windows(2)
                .any(|w| w[1].index != w[0].index.next())
            {
                let detail = format!(
                    "{} entries from {} to {}",
                    ready.entries.len(),
                    first.index,
                    last.index
                );
                return fault("contiguous-writes", detail);
            }
            if first.index <= w.commit {
                let detail = format!(
                    "entry {} rewritten at or below the written commit index {}",
                    first.index, w.commit
                );
                return fault("committed-never-rewritten", detail);
            }
            w.last_index = last.index;
        }
        if let Some(hs) = ready.hard_state {
            let fault = |rule, detail| Err(HostFault::Boundary { rule, detail });
            if hs.term < w.term {
                let detail = format!("term {} written after term {}", hs.term, w.term);
                return fault("term-never-decreases", detail);
            }
            if hs.term == w.term && w.vote.is_some() && hs.vote != w.vote {
                let detail = format!(
                    "vote {:?} written in term {} after vote {:?}",
                    hs.vote, hs.term, w.vote
                );
                return fault("one-vote-per-term", detail);
            }
            if hs.commit < w.commit {
                let detail = format!("commit {} written after commit {}", hs.commit, w.commit);
                return fault("commit-never-decreases", detail);
            }
            if hs.commit > w.last_index {
                let detail = format!(
                    "commit {} written past the last written index {}",
                    hs.commit, w.last_index
                );
                return fault("commit-within-log", detail);
            }
            w.term = hs.term;
            w.vote = hs.vote;
            w.commit = hs.commit;
        }
        Ok(())
    }
}

/// The rule for the node's durable cursor right after a durability report
/// for (`index`, `term`): it is `persisted`, where the node holds
/// `term_there`. It may stay below the report, or name the reported entry
/// itself; anything else counts an entry no sync covered. Returns what broke.
fn durable_cursor_broken(
    index: LogIndex,
    term: Term,
    persisted: LogIndex,
    term_there: Option<Term>,
) -> Option<String> {
    if persisted < index || (persisted == index && term_there == Some(term)) {
        return None;
    }
    let there = term_there.map_or_else(|| "no entry".to_string(), |t| t.to_string());
    Some(format!(
        "a sync covered {index} ({term}); the node counts {persisted} ({there}) as durable"
    ))
}

mod reads;

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
