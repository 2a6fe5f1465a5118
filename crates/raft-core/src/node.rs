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

use crate::config::{Config, ConfigError};
use crate::log::{LogRestoreError, RaftLog};
use crate::progress::{Progress, ProgressState};
use crate::quorum::{self, VoteResult};
use crate::ready::Ready;
use crate::types::{
    Entry, EntryKind, HardState, LogIndex, Message, MessageBody, NodeId, RejectHint, Term,
};
use bytes::Bytes;
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fmt;

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

/// What survives a crash: the hard state and the log, possibly with a
/// compacted prefix described by its last index and term.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableState {
    /// Term, vote and commit index as last written.
    pub hard_state: HardState,
    /// Last index of the compacted prefix (0 if nothing is compacted).
    pub prefix_index: LogIndex,
    /// Term of the entry at `prefix_index`.
    pub prefix_term: Term,
    /// The entries after the prefix, contiguous.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Only the leader accepts proposals; `leader` is the one this node knows of.
    NotLeader {
        /// The leader this node believes in, if any.
        leader: Option<NodeId>,
    },
    /// The leader holds `max_uncommitted_entries` uncommitted entries already.
    TooManyUncommitted,
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NotLeader { leader: Some(l) } => write!(f, "not the leader; try {l}"),
            ProposeError::NotLeader { leader: None } => write!(f, "not the leader; none known"),
            ProposeError::TooManyUncommitted => write!(f, "too many uncommitted entries"),
        }
    }
}

impl std::error::Error for ProposeError {}

/// One Raft participant as a pure state machine. See the crate docs for the
/// host loop and [`crate::ready`] for the persistence contract.
#[derive(Clone, Debug)]
pub struct RaftNode {
    config: Config,
    voters: Vec<NodeId>,
    role: Role,
    term: Term,
    vote: Option<NodeId>,
    leader: Option<NodeId>,
    log: RaftLog,
    /// The leader's view of every voter (itself included); empty otherwise.
    progress: Vec<Progress>,
    /// A (pre-)candidate's votes: (voter, granted).
    votes: Vec<(NodeId, bool)>,
    election_elapsed_ticks: u32,
    heartbeat_elapsed_ticks: u32,
    election_timeout_ticks: u32,
    rng: Xoshiro256PlusPlus,
    messages: Vec<Message>,
    persisted_messages: Vec<Message>,
    last_handed_hard_state: HardState,
    scratch: Vec<LogIndex>,
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
        let log = RaftLog::restore(
            durable.prefix_index,
            durable.prefix_term,
            durable.entries,
            durable.hard_state.commit,
        )
        .map_err(RestoreError::Log)?;
        let mut voters = config.voters.clone();
        voters.sort_unstable();
        let hard_state = HardState {
            commit: log.committed(),
            ..durable.hard_state
        };
        let mut node = RaftNode {
            voters,
            role: Role::Follower,
            term: hard_state.term,
            vote: hard_state.vote,
            leader: None,
            log,
            progress: Vec::new(),
            votes: Vec::new(),
            election_elapsed_ticks: 0,
            heartbeat_elapsed_ticks: 0,
            election_timeout_ticks: config.election_timeout_ticks_min,
            rng,
            messages: Vec::new(),
            persisted_messages: Vec::new(),
            last_handed_hard_state: hard_state,
            scratch: Vec::new(),
            config,
        };
        node.reset_election_timer();
        Ok(node)
    }

    // ----- accessors -------------------------------------------------------

    /// This node's id.
    #[must_use]
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The configuration the node runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current term.
    #[must_use]
    pub fn term(&self) -> Term {
        self.term
    }

    /// The vote cast in the current term.
    #[must_use]
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }

    /// The leader this node believes in for the current term.
    #[must_use]
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The log (read-only).
    #[must_use]
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// The current voter set, sorted.
    #[must_use]
    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }

    /// The hard state as it stands in memory.
    #[must_use]
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed(),
        }
    }

    /// A leader's replication progress for `peer`.
    #[must_use]
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
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader {
                leader: self.leader,
            });
        }
        let uncommitted = self.log.last_index().0 - self.log.committed().0;
        if uncommitted >= u64::from(self.config.max_uncommitted_entries) {
            return Err(ProposeError::TooManyUncommitted);
        }
        let index = self.append_own(EntryKind::Normal, data);
        self.broadcast_append(false);
        Ok((index, self.term))
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
            || !self.log.unstable_entries().is_empty()
            || !self.messages.is_empty()
            || !self.persisted_messages.is_empty()
            || !self.log.entries_to_apply().is_empty()
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
        out.entries.extend_from_slice(self.log.unstable_entries());
        self.log.mark_handed_out();
        out.messages.append(&mut self.messages);
        out.persisted_messages.append(&mut self.persisted_messages);
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
            MessageBody::RequestVote { pre_vote, .. } => {
                if self.in_leader_lease() {
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
            MessageBody::AppendEntries { .. } | MessageBody::Heartbeat { .. } => {
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
            MessageBody::AppendEntries { .. } | MessageBody::Heartbeat { .. } => {
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

    fn handle_vote_request(&mut self, m: &Message) {
        let MessageBody::RequestVote {
            pre_vote,
            last_log_index,
            last_log_term,
        } = m.body
        else {
            return;
        };
        let can_vote = self.vote == Some(m.from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre_vote && m.term > self.term);
        let granted = can_vote && self.log.is_up_to_date(last_log_index, last_log_term);
        let reply_term = if granted { m.term } else { self.term };
        if granted && !pre_vote {
            self.vote = Some(m.from);
            self.election_elapsed_ticks = 0;
        }
        let body = MessageBody::RequestVoteResponse { pre_vote, granted };
        self.send(m.from, reply_term, body);
    }

    // ----- role step functions ---------------------------------------------

    fn step_follower(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries { .. } | MessageBody::Heartbeat { .. } => {
                self.election_elapsed_ticks = 0;
                self.leader = Some(m.from);
                self.handle_from_leader(m);
            }
            _ => {}
        }
    }

    fn step_candidate(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries { .. } | MessageBody::Heartbeat { .. } => {
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
            _ => {}
        }
    }

    fn step_leader(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntriesResponse { index, reject } => {
                self.handle_append_response(m.from, index, reject);
            }
            MessageBody::HeartbeatResponse => self.handle_heartbeat_response(m.from),
            _ => {}
        }
    }

    // ----- elections -------------------------------------------------------

    fn tick_election(&mut self) {
        self.election_elapsed_ticks += 1;
        if self.is_voter() && self.election_elapsed_ticks >= self.election_timeout_ticks {
            self.campaign(self.config.pre_vote);
        }
    }

    fn is_voter(&self) -> bool {
        self.voters.binary_search(&self.id()).is_ok()
    }

    fn reset_election_timer(&mut self) {
        self.election_elapsed_ticks = 0;
        let min = self.config.election_timeout_ticks_min;
        self.election_timeout_ticks = self.rng.gen_range(min..2 * min);
    }

    /// Starts a pre-vote round (`pre_vote`) or a real election.
    fn campaign(&mut self, pre_vote: bool) {
        let request_term = if pre_vote {
            self.become_pre_candidate();
            self.term.next()
        } else {
            self.become_candidate();
            self.term
        };
        if pre_vote {
            // A pre-vote changes no state: our own counts at once.
            self.record_vote(self.id(), true);
            if self.tally_votes() != VoteResult::Pending {
                return; // a single-voter cluster decides at once
            }
        } else {
            // Our own vote counts only once our new term and vote are durable:
            // it travels like any vote reply, to ourselves, after the batch is
            // synced. Otherwise a single-voter cluster could lead a term it
            // never made durable and, after a crash, lead it again with other
            // entries.
            let body = MessageBody::RequestVoteResponse {
                pre_vote: false,
                granted: true,
            };
            self.send(self.id(), self.term, body);
        }
        let body = MessageBody::RequestVote {
            pre_vote,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for i in 0..self.voters.len() {
            let to = self.voters[i];
            if to != self.id() {
                self.send(to, request_term, body.clone());
            }
        }
    }

    fn record_vote(&mut self, from: NodeId, granted: bool) {
        if self.voters.binary_search(&from).is_err() {
            return;
        }
        if !self.votes.iter().any(|&(id, _)| id == from) {
            self.votes.push((from, granted));
        }
    }

    fn tally_votes(&mut self) -> VoteResult {
        let granted = self.votes.iter().filter(|v| v.1).count();
        let rejected = self.votes.len() - granted;
        let result = quorum::vote_result(self.voters.len(), granted, rejected);
        match (result, self.role) {
            (VoteResult::Won, Role::PreCandidate) => self.campaign(false),
            (VoteResult::Won, Role::Candidate) => self.become_leader(),
            (VoteResult::Lost, _) => self.become_follower(self.term, None),
            _ => {}
        }
        result
    }

    /// Steps down. The election timer restarts only when a leader is known
    /// (Figure 2: only hearing from the leader, granting a vote or starting a
    /// campaign resets it). Restarting it on every higher-term vote request
    /// would let a candidate that can never win (its log is behind) keep
    /// resetting the timers of the nodes that could, holding the cluster
    /// leaderless while it campaigns again and again.
    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        debug_assert!(term >= self.term);
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.progress.clear();
        self.votes.clear();
        if leader.is_some() {
            self.reset_election_timer();
        }
    }

    fn become_pre_candidate(&mut self) {
        debug_assert_ne!(self.role, Role::Leader);
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes.clear();
        self.reset_election_timer();
    }

    fn become_candidate(&mut self) {
        debug_assert_ne!(self.role, Role::Leader);
        self.term = self.term.next();
        self.vote = Some(self.id());
        self.role = Role::Candidate;
        self.leader = None;
        self.votes.clear();
        self.reset_election_timer();
    }

    fn become_leader(&mut self) {
        debug_assert_eq!(self.role, Role::Candidate);
        self.role = Role::Leader;
        self.leader = Some(self.id());
        self.votes.clear();
        self.heartbeat_elapsed_ticks = 0;
        self.election_elapsed_ticks = 0;
        let last = self.log.last_index();
        let max_inflight = self.config.max_inflight_messages as usize;
        self.progress = self
            .voters
            .iter()
            .map(|&id| Progress::new(id, last, max_inflight))
            .collect();
        let (id, persisted) = (self.id(), self.log.persisted());
        if let Some(me) = self.progress_mut(id) {
            me.become_replicate();
            me.maybe_update(persisted);
            me.recent_active = true;
        }
        // §5.4.2: commit earlier terms' entries through an entry of our own.
        self.append_own(EntryKind::Normal, Bytes::new());
        self.broadcast_append(true);
    }

    // ----- leader ----------------------------------------------------------

    fn tick_leader(&mut self) {
        self.heartbeat_elapsed_ticks += 1;
        self.election_elapsed_ticks += 1;
        if self.election_elapsed_ticks >= self.config.election_timeout_ticks_min {
            self.election_elapsed_ticks = 0;
            if self.config.check_quorum && !self.check_quorum_round() {
                self.become_follower(self.term, None);
                return;
            }
        }
        if self.heartbeat_elapsed_ticks >= self.config.heartbeat_interval_ticks {
            self.heartbeat_elapsed_ticks = 0;
            self.broadcast_heartbeat();
        }
    }

    /// Whether a quorum was active since the last round; starts a new round.
    fn check_quorum_round(&mut self) -> bool {
        let id = self.id();
        let mut active = 0;
        for pr in &mut self.progress {
            if pr.recent_active || pr.id == id {
                active += 1;
            }
            pr.recent_active = pr.id == id;
        }
        active >= quorum::majority(self.voters.len())
    }

    fn append_own(&mut self, kind: EntryKind, data: Bytes) -> LogIndex {
        let index = self.log.last_index().next();
        self.log.append(Entry {
            term: self.term,
            index,
            kind,
            data,
        });
        index
    }

    fn progress_mut(&mut self, peer: NodeId) -> Option<&mut Progress> {
        self.progress.iter_mut().find(|p| p.id == peer)
    }

    fn broadcast_append(&mut self, send_if_empty: bool) {
        for i in 0..self.progress.len() {
            let to = self.progress[i].id;
            if to != self.id() {
                self.send_append(i, send_if_empty);
            }
        }
    }

    fn broadcast_heartbeat(&mut self) {
        let committed = self.log.committed();
        for i in 0..self.progress.len() {
            let pr = &self.progress[i];
            if pr.id != self.id() {
                let body = MessageBody::Heartbeat {
                    commit: pr.match_index.min(committed),
                };
                self.send(pr.id, self.term, body);
            }
        }
    }

    /// Sends the next `AppendEntries` to the peer at `slot` if its pacing
    /// allows. Returns whether a message was sent.
    fn send_append(&mut self, slot: usize, send_if_empty: bool) -> bool {
        let pr = &self.progress[slot];
        if pr.is_paused() {
            return false;
        }
        let prev_log_index = pr.next_index.prev();
        let Some(prev_log_term) = self.log.term(prev_log_index) else {
            return false; // compacted away: needs a snapshot (not supported yet)
        };
        let entries = self.log.entries_from(
            pr.next_index,
            self.config.max_entries_per_message as usize,
            self.config.max_bytes_per_message,
        );
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        let last = LogIndex(prev_log_index.0 + entries.len() as u64);
        let to = pr.id;
        self.progress[slot].sent_entries(last, entries.len());
        let body = MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.log.committed(),
        };
        self.send(to, self.term, body);
        true
    }

    fn handle_append_response(
        &mut self,
        from: NodeId,
        index: LogIndex,
        reject: Option<RejectHint>,
    ) {
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        self.progress[slot].recent_active = true;
        if let Some(hint) = reject {
            let next_probe = if hint.term > Term(0) {
                self.log.find_conflict_by_term(hint.index, hint.term).0
            } else {
                hint.index
            };
            let pr = &mut self.progress[slot];
            if pr.maybe_decrease_to(index, next_probe) {
                if pr.state == ProgressState::Replicate {
                    pr.become_probe();
                }
                self.send_append(slot, true);
            }
            return;
        }
        let pr = &mut self.progress[slot];
        if !pr.maybe_update(index) {
            return; // stale or duplicated acknowledgement
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Replicate => pr.inflights.free_to(index),
        }
        if self.maybe_commit() {
            self.broadcast_append(true);
        }
        while self.send_append(slot, false) {}
    }

    fn handle_heartbeat_response(&mut self, from: NodeId) {
        let Some(slot) = self.progress.iter().position(|p| p.id == from) else {
            return;
        };
        let pr = &mut self.progress[slot];
        pr.recent_active = true;
        pr.probe_sent = false;
        if pr.match_index < self.log.last_index() {
            // The follower is alive but behind. A full window that it never
            // acknowledged was lost: probe from the match point again.
            if pr.state == ProgressState::Replicate && pr.inflights.is_full() {
                pr.become_probe();
            }
            // Send even if nothing new is left to send: if the pipelined
            // appends were lost, the follower's rejection restarts probing.
            self.send_append(slot, true);
        }
    }

    /// Advances the commit index to what a majority has, if that entry is of
    /// the current term (§5.4.2, Figure 8).
    fn maybe_commit(&mut self) -> bool {
        let mut matched = std::mem::take(&mut self.scratch);
        matched.clear();
        let voters = &self.voters;
        let voter_matches = self
            .progress
            .iter()
            .filter(|pr| voters.binary_search(&pr.id).is_ok());
        matched.extend(voter_matches.map(|pr| pr.match_index));
        let quorum_index = quorum::committed_index(&mut matched);
        self.scratch = matched;
        self.log.maybe_commit(quorum_index, self.term)
    }

    // ----- follower --------------------------------------------------------

    fn handle_from_leader(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append(
                m.from,
                prev_log_index,
                prev_log_term,
                &entries,
                leader_commit,
            ),
            MessageBody::Heartbeat { commit } => {
                let commit = commit.min(self.log.last_index());
                self.log.commit_to(commit);
                self.send(m.from, self.term, MessageBody::HeartbeatResponse);
            }
            _ => {}
        }
    }

    fn handle_append(
        &mut self,
        from: NodeId,
        mut prev_index: LogIndex,
        mut prev_term: Term,
        mut entries: &[Entry],
        leader_commit: LogIndex,
    ) {
        let committed = self.log.committed();
        if prev_index < committed {
            // Everything up to our commit index matches the leader (leader
            // completeness): skip it rather than re-check it.
            let skip = (committed.0 - prev_index.0) as usize;
            if entries.len() <= skip {
                self.send_append_ack(from, committed);
                return;
            }
            prev_index = committed;
            prev_term = entries[skip - 1].term;
            entries = &entries[skip..];
        }
        match self
            .log
            .maybe_append(prev_index, prev_term, leader_commit, entries)
        {
            Some(last_new) => self.send_append_ack(from, last_new),
            None => {
                let probe = prev_index.min(self.log.last_index());
                let (index, term) = self.log.find_conflict_by_term(probe, prev_term);
                let body = MessageBody::AppendEntriesResponse {
                    index: prev_index,
                    reject: Some(RejectHint { index, term }),
                };
                self.send(from, self.term, body);
            }
        }
    }

    fn send_append_ack(&mut self, to: NodeId, index: LogIndex) {
        let body = MessageBody::AppendEntriesResponse {
            index,
            reject: None,
        };
        self.send(to, self.term, body);
    }

    // ----- messages --------------------------------------------------------

    /// Queues a message. Only the leader's `AppendEntries` and `Heartbeat`
    /// may leave before this batch is durable (see [`crate::ready`]).
    fn send(&mut self, to: NodeId, term: Term, body: MessageBody) {
        let immediate = matches!(
            body,
            MessageBody::AppendEntries { .. } | MessageBody::Heartbeat { .. }
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
