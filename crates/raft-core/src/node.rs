//! The Raft state machine: roles, elections, replication and commit.
//!
//! One shared [`RaftNode::step`] handles what every role shares (term
//! comparison, stepping down, votes), then hands the message to the role's
//! own step function. Quorum arithmetic lives in [`crate::quorum`], follower
//! pacing in [`crate::progress`], the log's cursors in [`crate::log`]; this
//! module calls them and never re-derives them.
//!
//! This module must never do I/O, read a clock, spawn threads or use
//! randomness other than the seeded generator it was given.
//!
//! The state machine is split by concern, each concern in a child module with
//! an `impl RaftNode` block of its own (the fields stay private to this
//! module and its children): this file holds the node's state, its
//! constructors and accessors, the public inputs, the [`Ready`] output and the
//! shared step; `election` holds the election timer, campaigns, votes and role
//! transitions; `replication` the leader's side of replication and commit;
//! `follower` the follower's side; `read` the leader's linearizable reads
//! (ReadIndex). Children may use this module; this module imports nothing
//! from them.
//!
//! [`RaftNode::check_invariants`] checks the state's invariants; see [`invariants`].

use crate::config::{Config, ConfigError};
use crate::log::{LogRestoreError, RaftLog};
use crate::membership::{ConfChangeError, Membership};
use crate::message::{Message, MessageBody};
use crate::progress::Progress;
use crate::ready::Ready;
use crate::snapshot::Snapshot;
use crate::types::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};
use bytes::Bytes;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fmt;

mod election;
mod follower;
pub mod invariants;
mod read;
mod reconfig;
mod replication;
mod snapshot;
mod transfer;

pub use read::ReadError;
pub use snapshot::CompactError;
pub use transfer::TransferError;

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks whether it could win an election, without raising its term.
    PreCandidate,
    /// Runs an election in its current term.
    Candidate,
    /// Leads the cluster in its current term.
    Leader,
}

/// What survives a crash: the hard state, the latest snapshot (if the log
/// was ever compacted) and the log after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableState {
    /// Term, vote and commit index as last written.
    pub hard_state: HardState,
    /// The latest durable snapshot: the log up to its index is compacted,
    /// and its configuration is the one in force there.
    pub snapshot: Option<Snapshot>,
    /// The entries after the snapshot, contiguous (entries at or below its
    /// index, a log not yet trimmed, are skipped).
    pub entries: Vec<Entry>,
}

/// Why a node could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The durable state is inconsistent.
    Log(LogRestoreError),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Config(e) => e.fmt(f),
            RestoreError::Log(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RestoreError {}

/// Why a proposal was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Only the leader accepts proposals; `leader` is the one this node knows of.
    NotLeader {
        /// The leader this node believes in, if any.
        leader: Option<NodeId>,
    },
    /// The leader holds `max_uncommitted_entries` uncommitted entries already.
    TooManyUncommitted,
    /// A membership change is still uncommitted: one change at a time.
    ConfChangePending,
    /// A new leader changes the membership only once an entry of its own
    /// term is committed.
    NoCommitInTerm,
    /// The change does not apply to the configuration in force.
    InvalidConfChange(ConfChangeError),
    /// Leadership is being handed over to another node.
    TransferInProgress,
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NotLeader { leader: Some(l) } => write!(f, "not the leader; try {l}"),
            ProposeError::NotLeader { leader: None } => write!(f, "not the leader; none known"),
            ProposeError::TooManyUncommitted => write!(f, "too many uncommitted entries"),
            ProposeError::ConfChangePending => {
                write!(f, "a membership change is still uncommitted")
            }
            ProposeError::NoCommitInTerm => {
                write!(f, "the leader has not committed an entry of its term yet")
            }
            ProposeError::InvalidConfChange(e) => write!(f, "{e}"),
            ProposeError::TransferInProgress => write!(f, "a leadership transfer is under way"),
        }
    }
}

impl std::error::Error for ProposeError {}

/// One Raft participant as a pure state machine. See the crate docs for the
/// host loop and [`crate::ready`] for the persistence contract.
#[derive(Clone, Debug)]
pub struct RaftNode {
    config: Config,
    /// The configurations of the log's `ConfChange` entries, after the
    /// bootstrap one; the last is in force (see `reconfig`).
    confs: Vec<reconfig::ConfEntry>,
    /// Every member of the configuration in force, sorted.
    members: Vec<NodeId>,
    role: Role,
    term: Term,
    vote: Option<NodeId>,
    leader: Option<NodeId>,
    log: RaftLog,
    /// The leader's view of every member (itself included), in member
    /// order; empty otherwise.
    progress: Vec<Progress>,
    /// A (pre-)candidate's votes: (voter, granted).
    votes: Vec<(NodeId, bool)>,
    /// The campaign under way was started by the leader's `TimeoutNow`.
    campaign_transfer: bool,
    /// Campaigns started since the node was built.
    campaigns: u64,
    /// Ticks since the (pre-)candidate last sent its vote requests.
    vote_retry_elapsed_ticks: u32,
    /// The leadership transfer under way (leader only).
    transfer: Option<transfer::Transfer>,
    /// The latest snapshot (taken here or installed): the log is compacted
    /// up to its index. A leader sends it to followers that need it.
    snapshot: Option<Snapshot>,
    /// A snapshot installed from the leader, not yet handed to the host.
    unhanded_snapshot: Option<Box<Snapshot>>,
    /// The chunks of a leader's snapshot received so far.
    incoming: Option<snapshot::Incoming>,
    election_elapsed_ticks: u32,
    heartbeat_elapsed_ticks: u32,
    election_timeout_ticks: u32,
    rng: Xoshiro256PlusPlus,
    messages: Vec<Message>,
    persisted_messages: Vec<Message>,
    last_handed_hard_state: HardState,
    scratch: Vec<LogIndex>,
    /// The leader's pending linearizable reads (ReadIndex).
    reads: read::Reads,
}

impl RaftNode {
    /// A node with empty durable state.
    pub fn new(config: Config, rng: Xoshiro256PlusPlus) -> Result<RaftNode, RestoreError> {
        RaftNode::restore(config, DurableState::default(), rng)
    }

    /// A node rebuilt from its durable state after a restart. It starts as a
    /// follower of its durable term, with its vote; nothing past the prefix
    /// counts as applied, so committed entries are handed out again.
    pub fn restore(
        config: Config,
        durable: DurableState,
        rng: Xoshiro256PlusPlus,
    ) -> Result<RaftNode, RestoreError> {
        config.validate().map_err(RestoreError::Config)?;
        let (prefix_index, prefix_term) = durable
            .snapshot
            .as_ref()
            .map_or((LogIndex(0), Term(0)), |s| (s.meta.index, s.meta.term));
        let log = RaftLog::restore(
            prefix_index,
            prefix_term,
            durable.entries,
            durable.hard_state.commit,
        )
        .map_err(RestoreError::Log)?;
        let start = match &durable.snapshot {
            Some(s) => reconfig::ConfEntry::of_snapshot(&s.meta),
            None => reconfig::ConfEntry::bootstrap(Membership::bootstrap(&config.voters)),
        };
        let confs = reconfig::confs_of_log(start, &log);
        let members = confs[confs.len() - 1].membership.members();
        let hard_state = HardState {
            commit: log.committed(),
            ..durable.hard_state
        };
        let mut node = RaftNode {
            confs,
            members,
            role: Role::Follower,
            term: hard_state.term,
            vote: hard_state.vote,
            leader: None,
            log,
            progress: Vec::new(),
            votes: Vec::new(),
            campaign_transfer: false,
            campaigns: 0,
            vote_retry_elapsed_ticks: 0,
            transfer: None,
            snapshot: durable.snapshot,
            unhanded_snapshot: None,
            incoming: None,
            election_elapsed_ticks: 0,
            heartbeat_elapsed_ticks: 0,
            election_timeout_ticks: config.election_timeout_ticks_min,
            rng,
            messages: Vec::new(),
            persisted_messages: Vec::new(),
            last_handed_hard_state: hard_state,
            scratch: Vec::new(),
            reads: read::Reads::default(),
            config,
        };
        node.reset_election_timer();
        Ok(node)
    }

    // ----- accessors -------------------------------------------------------

    /// This node's id.
    #[must_use]
    #[inline]
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The configuration the node runs with.
    #[must_use]
    #[inline]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current role.
    #[must_use]
    #[inline]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current term.
    #[must_use]
    #[inline]
    pub fn term(&self) -> Term {
        self.term
    }

    /// The vote cast in the current term.
    #[must_use]
    #[inline]
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }

    /// The leader this node believes in for the current term.
    #[must_use]
    #[inline]
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// How many campaigns (pre-vote rounds and elections) the node started
    /// since it was built: a host telling a new campaign from a re-sent
    /// vote request of the same one.
    #[must_use]
    pub fn campaigns(&self) -> u64 {
        self.campaigns
    }

    /// The log (read-only).
    #[must_use]
    #[inline]
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// The hard state as it stands in memory.
    #[must_use]
    #[inline]
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed(),
        }
    }

    /// A leader's replication progress for `peer`.
    #[must_use]
    #[inline]
    pub fn progress(&self, peer: NodeId) -> Option<&Progress> {
        self.progress.iter().find(|p| p.id == peer)
    }

    /// The randomized election timeout currently in force, in ticks.
    #[must_use]
    pub fn election_timeout_ticks(&self) -> u32 {
        self.election_timeout_ticks
    }

    // ----- inputs ----------------------------------------------------------

    /// Advances logical time by one tick.
    pub fn tick(&mut self) {
        match self.role {
            Role::Leader => self.tick_leader(),
            _ => self.tick_election(),
        }
    }

    /// Proposes `data` as a new entry. On the leader, returns the entry's
    /// (index, term): if a different term is later applied at that index,
    /// the proposal was lost to a leader change.
    pub fn propose(&mut self, data: Bytes) -> Result<(LogIndex, Term), ProposeError> {
        self.check_can_propose()?;
        let index = self.append_own(EntryKind::Normal, data);
        self.broadcast_append(false);
        Ok((index, self.term))
    }

    /// Whether this node may append a proposal now.
    fn check_can_propose(&self) -> Result<(), ProposeError> {
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader {
                leader: self.leader,
            });
        }
        if self.transfer.is_some() {
            return Err(ProposeError::TransferInProgress);
        }
        let uncommitted = self.log.last_index().0 - self.log.committed().0;
        if uncommitted >= u64::from(self.config.max_uncommitted_entries) {
            return Err(ProposeError::TooManyUncommitted);
        }
        Ok(())
    }

    /// The host made everything up to (`index`, `term`) durable (the last
    /// entry of a handled [`Ready`]). Stale reports are ignored.
    pub fn on_persisted(&mut self, index: LogIndex, term: Term) {
        self.log.persisted_to(index, term);
        if self.role != Role::Leader {
            return;
        }
        let id = self.id();
        let persisted = self.log.persisted();
        if let Some(pr) = self.progress_mut(id) {
            pr.maybe_update(persisted);
        }
        if self.maybe_commit() {
            self.broadcast_append(true);
            self.after_leader_commit();
        }
    }

    /// Handles a message from a peer. Messages addressed to another node are
    /// ignored.
    pub fn step(&mut self, m: Message) {
        if m.to != self.id() {
            return;
        }
        if m.term > self.term {
            if !self.accept_higher_term(&m) {
                return;
            }
        } else if m.term < self.term {
            self.answer_stale(&m);
            return;
        }
        match m.body {
            MessageBody::RequestVote { .. } => self.handle_vote_request(&m),
            _ => match self.role {
                Role::Follower => self.step_follower(m),
                Role::PreCandidate | Role::Candidate => self.step_candidate(m),
                Role::Leader => self.step_leader(m),
            },
        }
    }

    // ----- output ----------------------------------------------------------

    /// Whether a [`Ready`] would have anything in it.
    #[must_use]
    pub fn has_ready(&self) -> bool {
        self.hard_state() != self.last_handed_hard_state
            || self.unhanded_snapshot.is_some()
            || !self.log.unstable_entries().is_empty()
            || !self.messages.is_empty()
            || !self.persisted_messages.is_empty()
            || !self.log.entries_to_apply().is_empty()
            || self.reads.has_output()
    }

    /// Takes everything the host must do now. See [`crate::ready`].
    pub fn ready(&mut self) -> Ready {
        let mut ready = Ready::default();
        self.take_ready(&mut ready);
        ready
    }

    /// Like [`RaftNode::ready`], but appends into a batch the host reuses, so a
    /// steady-state host loop allocates nothing for the batch itself.
    pub fn take_ready(&mut self, out: &mut Ready) {
        let hard_state = self.hard_state();
        if hard_state != self.last_handed_hard_state {
            out.hard_state = Some(hard_state);
            self.last_handed_hard_state = hard_state;
        }
        if self.unhanded_snapshot.is_some() {
            out.snapshot = self.unhanded_snapshot.take();
        }
        out.entries.extend_from_slice(self.log.unstable_entries());
        self.log.mark_handed_out();
        out.messages.append(&mut self.messages);
        out.persisted_messages.append(&mut self.persisted_messages);
        out.read_states.append(&mut self.reads.out);
        let to_apply = self.log.entries_to_apply();
        if let Some(last) = to_apply.last() {
            let last = last.index;
            out.committed_entries.extend_from_slice(to_apply);
            self.log.applied_to(last);
        }
    }

    // ----- shared step -----------------------------------------------------

    /// A message from a higher term. Returns false if it must be ignored.
    fn accept_higher_term(&mut self, m: &Message) -> bool {
        match m.body {
            MessageBody::RequestVote {
                pre_vote, transfer, ..
            } => {
                if !transfer && self.in_leader_lease() {
                    return false; // check-quorum: a live leader exists, ignore disruption
                }
                if !pre_vote {
                    self.become_follower(m.term, None);
                }
            }
            // A granted pre-vote carries the term the candidate asked for.
            MessageBody::RequestVoteResponse {
                pre_vote: true,
                granted: true,
            } => {}
            MessageBody::AppendEntries { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::InstallSnapshot { .. } => {
                self.become_follower(m.term, Some(m.from));
            }
            _ => self.become_follower(m.term, None),
        }
        true
    }

    /// Heard from a leader within the minimum election timeout (check-quorum only).
    fn in_leader_lease(&self) -> bool {
        self.config.check_quorum
            && self.leader.is_some()
            && self.election_elapsed_ticks < self.config.election_timeout_ticks_min
    }

    /// A message from an older term: tell stale leaders and pre-candidates
    /// about the newer term so they step down; ignore everything else.
    fn answer_stale(&mut self, m: &Message) {
        match m.body {
            MessageBody::AppendEntries { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::InstallSnapshot { .. } => {
                let body = MessageBody::AppendEntriesResponse {
                    index: LogIndex(0),
                    reject: None,
                };
                self.send(m.from, self.term, body);
            }
            MessageBody::RequestVote { pre_vote: true, .. } => {
                let body = MessageBody::RequestVoteResponse {
                    pre_vote: true,
                    granted: false,
                };
                self.send(m.from, self.term, body);
            }
            _ => {}
        }
    }

    // ----- role step functions ---------------------------------------------

    fn step_follower(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::InstallSnapshot { .. } => {
                self.election_elapsed_ticks = 0;
                self.leader = Some(m.from);
                self.handle_from_leader(m);
            }
            MessageBody::TimeoutNow { last_index } => self.handle_timeout_now(last_index),
            MessageBody::ReadIndex { ctx } => self.read_index_asked(m.from, ctx),
            MessageBody::ReadIndexResponse { ctx, index } => self.read_index_answered(ctx, index),
            _ => {}
        }
    }

    fn step_candidate(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::InstallSnapshot { .. } => {
                // A leader won this term.
                self.become_follower(self.term, Some(m.from));
                self.handle_from_leader(m);
            }
            MessageBody::RequestVoteResponse { pre_vote, granted }
                if pre_vote == (self.role == Role::PreCandidate) =>
            {
                self.record_vote(m.from, granted);
                self.tally_votes();
            }
            MessageBody::ReadIndex { ctx } => self.read_index_asked(m.from, ctx),
            _ => {}
        }
    }

    fn step_leader(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntriesResponse { index, reject } => {
                self.handle_append_response(m.from, index, reject);
            }
            MessageBody::HeartbeatResponse { read_round } => {
                self.handle_heartbeat_response(m.from);
                self.read_round_acked(m.from, read_round);
            }
            MessageBody::InstallSnapshotResponse { index, received } => {
                self.handle_snapshot_response(m.from, index, received);
            }
            MessageBody::ReadIndex { ctx } => self.read_index_asked(m.from, ctx),
            _ => {}
        }
    }

    // ----- messages --------------------------------------------------------

    /// Queues a message. Only the leader's `AppendEntries` and `Heartbeat`
    /// may leave before this batch is durable (see [`crate::ready`]).
    fn send(&mut self, to: NodeId, term: Term, body: MessageBody) {
        let immediate = matches!(
            body,
            MessageBody::AppendEntries { .. }
                | MessageBody::Heartbeat { .. }
                | MessageBody::InstallSnapshot { .. }
        );
        let m = Message {
            from: self.id(),
            to,
            term,
            body,
        };
        if immediate {
            self.messages.push(m);
        } else {
            self.persisted_messages.push(m);
        }
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
