//! Elections: the election timer, pre-vote and real campaigns, counting the
//! votes, the role transitions they lead to (follower, pre-candidate,
//! candidate, leader) and the voter's side, answering a vote request.
//!
//! Majorities come from [`crate::quorum`]; this module never re-derives them.
//! The only randomness it draws is one election timeout per timer reset, from
//! the node's seeded generator. It must never write to the log except the new
//! leader's no-op entry (through the replication module), never grant a vote
//! that is not up to date (§5.4.1) and never count its own real vote before it
//! comes back through the host, durable.

use super::{RaftNode, Role};
use crate::message::{Message, MessageBody};
use crate::progress::Progress;
use crate::quorum::VoteResult;
use crate::types::{EntryKind, NodeId, Term};
use bytes::Bytes;
use rand::Rng;

impl RaftNode {
    // ----- elections -------------------------------------------------------

    pub(super) fn tick_election(&mut self) {
        self.asked_tick();
        self.election_elapsed_ticks += 1;
        if self.may_campaign() && self.election_elapsed_ticks >= self.election_timeout_ticks {
            self.campaign(self.config.pre_vote);
            return;
        }
        let retry = self.config.vote_retry_ticks;
        if retry > 0 && matches!(self.role, Role::PreCandidate | Role::Candidate) {
            self.vote_retry_elapsed_ticks += 1;
            if self.vote_retry_elapsed_ticks >= retry {
                self.vote_retry_elapsed_ticks = 0;
                self.request_votes(true);
            }
        }
    }

    /// Campaigns: a pre-vote round if `pre_vote`, else a real election.
    fn campaign(&mut self, pre_vote: bool) {
        self.campaign_now(pre_vote, false);
    }

    pub(super) fn is_voter(&self) -> bool {
        self.membership().is_voter(self.id())
    }

    /// Whether this node starts elections when its timer runs out: it
    /// votes in the configuration in force or, while that one is not
    /// committed, in the one before. (A leader that proposed its own
    /// removal and lost its leadership before the change committed may
    /// hold the change alone; the others still count it as a voter and
    /// cannot win without its vote, which its longer log keeps from them.
    /// So it campaigns, wins with the votes of the new configuration,
    /// commits the change and steps down.) Votes are always counted in
    /// the configuration in force.
    pub(super) fn may_campaign(&self) -> bool {
        if self.is_voter() {
            return true;
        }
        let n = self.confs.len();
        n >= 2
            && self.membership_index() > self.log.committed()
            && self.confs[n - 2].membership.is_voter(self.id())
    }

    pub(super) fn reset_election_timer(&mut self) {
        self.election_elapsed_ticks = 0;
        let min = self.config.election_timeout_ticks_min;
        self.election_timeout_ticks = self.rng.gen_range(min..2 * min);
    }

    /// Starts a pre-vote round (`pre_vote`) or a real election; `transfer`:
    /// on the leader's `TimeoutNow`.
    pub(super) fn campaign_now(&mut self, pre_vote: bool, transfer: bool) {
        self.campaigns += 1;
        self.campaign_transfer = transfer;
        self.vote_retry_elapsed_ticks = 0;
        if pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate();
        }
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
        self.request_votes(false);
    }

    /// Sends the campaign's vote requests to every other voter (`retry`:
    /// only to those that have not answered yet).
    fn request_votes(&mut self, retry: bool) {
        let pre_vote = self.role == Role::PreCandidate;
        let request_term = if pre_vote {
            self.term.next()
        } else {
            self.term
        };
        let body = MessageBody::RequestVote {
            pre_vote,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            transfer: self.campaign_transfer,
        };
        for i in 0..self.members.len() {
            let to = self.members[i];
            let answered = retry && self.votes.iter().any(|&(id, _)| id == to);
            if to != self.id() && !answered && self.membership().is_voter(to) {
                self.send(to, request_term, body.clone());
            }
        }
    }

    pub(super) fn record_vote(&mut self, from: NodeId, granted: bool) {
        if !self.membership().is_voter(from) {
            return;
        }
        if !self.votes.iter().any(|&(id, _)| id == from) {
            self.votes.push((from, granted));
        }
    }

    pub(super) fn tally_votes(&mut self) -> VoteResult {
        let result = self.membership().vote_result(&self.votes);
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
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        debug_assert!(term >= self.term);
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        if self.role == Role::Leader {
            self.reads_lost_leadership();
        }
        self.reads_forget_asked();
        self.role = Role::Follower;
        self.leader = leader;
        self.progress.clear();
        self.votes.clear();
        self.transfer = None;
        if leader.is_some() {
            self.reset_election_timer();
        }
    }

    fn become_pre_candidate(&mut self) {
        debug_assert_ne!(self.role, Role::Leader);
        self.reads_forget_asked();
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes.clear();
        self.reset_election_timer();
    }

    fn become_candidate(&mut self) {
        debug_assert_ne!(self.role, Role::Leader);
        self.reads_forget_asked();
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
        self.transfer = None;
        self.heartbeat_elapsed_ticks = 0;
        self.election_elapsed_ticks = 0;
        let last = self.log.last_index();
        let max_inflight = self.config.max_inflight_messages as usize;
        self.progress = self
            .members
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

    // ----- votes -----------------------------------------------------------

    pub(super) fn handle_vote_request(&mut self, m: &Message) {
        let MessageBody::RequestVote {
            pre_vote,
            last_log_index,
            last_log_term,
            ..
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
}
