//! Linearizable reads without log writes: ReadIndex (thesis §6.4).
//!
//! A read asked of the leader ([`RaftNode::read_index`]) is served at the
//! leader's commit index of that moment, once the leader has confirmed it
//! still leads: a quorum of its configuration (of both halves, while
//! joint) answers a heartbeat sent after the read arrived. Reads share
//! those rounds: one round is in flight at a time, and every read that
//! arrives meanwhile waits for the next. A leader that has not yet
//! committed an entry of its own term does not know the latest commit
//! index: its reads wait for that commit first. The node hands a
//! confirmed read out in [`Ready::read_states`] with its index; the host
//! answers it from its state machine once that has applied the index. A
//! read the node cannot serve any more (it stopped leading) comes out with
//! no index, for the host to refuse.
//!
//! A follower read ([`RaftNode::follower_read`]) asks the leader for the
//! index with a `ReadIndex` message; the leader treats it as one of its own
//! reads and answers `ReadIndexResponse` once confirmed; the follower hands
//! it out in `read_states` like a leader's (the host serves it once its own
//! state machine reaches the index). A follower that moves to another term
//! or role refuses what it still waits for, and so does one whose leader
//! has not answered within a minimum election timeout (a lost request or
//! answer must not leave a read waiting for ever).
//!
//! This module owns the pending reads and the rounds. It must never hand
//! out an index before the round that confirms it, nor an index below the
//! commit index at the read's arrival.
//!
//! [`Ready::read_states`]: crate::ready::Ready::read_states

use super::{RaftNode, Role};
use crate::message::MessageBody;
use crate::ready::ReadState;
use crate::types::{LogIndex, NodeId};
use std::collections::VecDeque;
use std::fmt;

/// Why a read was refused at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// This node does not lead (it knows of `leader`, if any).
    NotLeader {
        /// The leader it knows of.
        leader: Option<NodeId>,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotLeader { leader: Some(l) } => write!(f, "not the leader ({l} is)"),
            ReadError::NotLeader { leader: None } => write!(f, "not the leader (none known)"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A read waiting for its confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    ctx: u64,
    /// The follower that asked for it (`None`: this node's own).
    from: Option<NodeId>,
    /// The commit index when the read arrived (`None`: it arrived before
    /// the leader committed an entry of its term).
    index: Option<LogIndex>,
    /// The round that confirms it (0: not yet assigned).
    round: u64,
}

/// The leader's pending reads and heartbeat rounds.
#[derive(Clone, Debug, Default)]
pub(super) struct Reads {
    pending: VecDeque<Pending>,
    /// The last round sent in heartbeats.
    sent: u64,
    /// The last round a quorum answered.
    confirmed: u64,
    /// Per peer: the last round it answered.
    acked: Vec<(NodeId, u64)>,
    /// Confirmed or dropped reads, for the next `Ready`.
    pub(super) out: Vec<ReadState>,
    /// A follower's reads waiting for the leader's answer: (ctx, the
    /// follower's tick when it asked).
    asked: VecDeque<(u64, u64)>,
    /// A follower's clock, in ticks (asked reads time out by it).
    follower_ticks: u64,
    /// The leader's own clock, in ticks since it took office (leases).
    ticks: u64,
    /// When the round in flight was sent (leases).
    sent_at: u64,
    /// The leader's lease holds while `ticks` is below this.
    lease_until: u64,
}

/// A follower's reads waiting for their answer, at most (the oldest is
/// refused past it: answers the network lost would pile up).
const ASKED_MAX: usize = 1024;

impl Reads {
    /// The round heartbeats carry.
    pub(super) fn round(&self) -> u64 {
        self.sent
    }

    pub(super) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }
}

impl RaftNode {
    /// Asks for a linearizable read, identified by `ctx` (the host's own
    /// token): once it is safe, [`Ready::read_states`] holds `ctx` with the
    /// index the state machine must have applied before the read is
    /// answered from it.
    ///
    /// # Errors
    /// [`ReadError::NotLeader`] if this node does not lead.
    ///
    /// [`Ready::read_states`]: crate::ready::Ready::read_states
    pub fn read_index(&mut self, ctx: u64) -> Result<(), ReadError> {
        if self.role != Role::Leader {
            return Err(ReadError::NotLeader {
                leader: self.leader,
            });
        }
        self.leader_read(ctx, None);
        Ok(())
    }

    /// A linearizable read served at once while the leader's lease holds
    /// ([`crate::Config::read_lease`]): the lease is renewed by every
    /// heartbeat round a quorum answers, and lasts
    /// `election_timeout_ticks_min - clock_drift_bound_ticks` of this
    /// node's ticks from the round's start (followers refuse votes for an
    /// election timeout after hearing from their leader). Without a lease
    /// (off, expired, a transfer under way, or no entry of this term
    /// committed yet) the read goes by ReadIndex. Safe only while clocks
    /// drift apart by less than the configured bound.
    ///
    /// # Errors
    /// [`ReadError::NotLeader`] if this node does not lead.
    pub fn lease_read(&mut self, ctx: u64) -> Result<(), ReadError> {
        if self.role != Role::Leader {
            return Err(ReadError::NotLeader {
                leader: self.leader,
            });
        }
        if self.lease_holds() {
            let index = Some(self.log.committed());
            self.reads.out.push(ReadState { ctx, index });
        } else {
            self.leader_read(ctx, None);
        }
        Ok(())
    }

    /// Whether a read may be served on the leader's lease now.
    pub fn lease_holds(&self) -> bool {
        self.config.read_lease
            && self.role == Role::Leader
            && self.transfer.is_none()
            && self.committed_in_term()
            && self.reads.ticks < self.reads.lease_until
    }

    /// One tick of the leader's clock (leases).
    pub(super) fn read_tick(&mut self) {
        self.reads.ticks += 1;
    }

    /// A transfer starts: the lease ends (the target campaigns at once,
    /// and voters grant it whatever they promised the leader).
    pub(super) fn end_lease(&mut self) {
        self.reads.lease_until = 0;
    }

    /// A heartbeat goes out: with leases on, each starts a round (if none
    /// is in flight), whose answers renew the lease.
    pub(super) fn lease_round(&mut self) {
        if self.config.read_lease && self.reads.sent == self.reads.confirmed {
            self.reads.sent += 1;
            self.reads.sent_at = self.reads.ticks;
        }
    }

    /// Asks the leader for a read index (a follower read), identified by
    /// `ctx`: [`Ready::read_states`] later holds `ctx` with the index this
    /// node's state machine must reach, or with none if the leader cannot
    /// serve it (or this node moved to another term first, or the leader
    /// did not answer within `election_timeout_ticks_min` of its ticks).
    ///
    /// # Errors
    /// [`ReadError::NotLeader`] (with no leader) if this node knows no
    /// leader to ask, or leads itself (it reads with
    /// [`RaftNode::read_index`]).
    ///
    /// [`Ready::read_states`]: crate::ready::Ready::read_states
    pub fn follower_read(&mut self, ctx: u64) -> Result<(), ReadError> {
        let Some(leader) = self.leader.filter(|_| self.role == Role::Follower) else {
            return Err(ReadError::NotLeader {
                leader: self.leader,
            });
        };
        if self.reads.asked.len() >= ASKED_MAX {
            if let Some((old, _)) = self.reads.asked.pop_front() {
                self.reads.out.push(ReadState {
                    ctx: old,
                    index: None,
                });
            }
        }
        self.reads.asked.push_back((ctx, self.reads.follower_ticks));
        self.send(leader, self.term, MessageBody::ReadIndex { ctx });
        Ok(())
    }

    /// A read this leader serves: its own (`from` is `None`) or a
    /// follower's.
    fn leader_read(&mut self, ctx: u64, from: Option<NodeId>) {
        let index = self.committed_in_term().then(|| self.log.committed());
        self.reads.pending.push_back(Pending {
            ctx,
            from,
            index,
            round: 0,
        });
        if index.is_some() {
            self.start_read_round();
        }
    }

    /// A follower's `ReadIndex`: a leader serves it; anyone else refuses.
    pub(super) fn read_index_asked(&mut self, from: NodeId, ctx: u64) {
        if self.role == Role::Leader {
            self.leader_read(ctx, Some(from));
        } else {
            let body = MessageBody::ReadIndexResponse { ctx, index: None };
            self.send(from, self.term, body);
        }
    }

    /// The leader answered a follower read.
    pub(super) fn read_index_answered(&mut self, ctx: u64, index: Option<LogIndex>) {
        if let Some(at) = self.reads.asked.iter().position(|&(c, _)| c == ctx) {
            self.reads.asked.remove(at);
            self.reads.out.push(ReadState { ctx, index });
        }
    }

    /// This node moved to another role or term: the follower reads it
    /// still waits for are refused (their answer would come from a leader
    /// it no longer follows).
    pub(super) fn reads_forget_asked(&mut self) {
        for (ctx, _) in self.reads.asked.drain(..) {
            self.reads.out.push(ReadState { ctx, index: None });
        }
    }

    /// One tick of a node that does not lead: a follower read the leader
    /// has not answered within a minimum election timeout is refused (the
    /// request or its answer was lost, or the leader is gone), so no read
    /// waits forever and the client hears at once that it may ask again.
    pub(super) fn asked_tick(&mut self) {
        self.reads.follower_ticks += 1;
        let timeout = u64::from(self.config.election_timeout_ticks_min);
        while let Some(&(ctx, at)) = self.reads.asked.front() {
            if self.reads.follower_ticks - at < timeout {
                break;
            }
            self.reads.asked.pop_front();
            self.reads.out.push(ReadState { ctx, index: None });
        }
    }

    /// Whether the leader's commit index is of its own term (it has
    /// committed an entry of its term, so it knows every committed entry).
    fn committed_in_term(&self) -> bool {
        self.log.term(self.log.committed()) == Some(self.term)
    }

    /// Starts a round for the reads that have an index and none yet, unless
    /// one is in flight (they wait for the next); a node alone in its
    /// quorum confirms at once.
    fn start_read_round(&mut self) {
        let waiting = self
            .reads
            .pending
            .iter()
            .any(|p| p.index.is_some() && p.round == 0);
        if !waiting || self.reads.sent > self.reads.confirmed {
            return;
        }
        self.reads.sent += 1;
        self.reads.sent_at = self.reads.ticks;
        let round = self.reads.sent;
        for p in self.reads.pending.iter_mut() {
            if p.index.is_some() && p.round == 0 {
                p.round = round;
            }
        }
        let me = self.id();
        if self.membership().has_quorum(|peer| peer == me) {
            self.confirm_reads(round);
            return;
        }
        self.broadcast_heartbeat();
    }

    /// A peer answered a heartbeat of round `round`.
    pub(super) fn read_round_acked(&mut self, from: NodeId, round: u64) {
        if self.role != Role::Leader || round == 0 || round <= self.reads.confirmed {
            return;
        }
        match self.reads.acked.iter_mut().find(|(p, _)| *p == from) {
            Some((_, r)) => *r = (*r).max(round),
            None => self.reads.acked.push((from, round)),
        }
        self.recheck_read_round();
    }

    /// Confirms the round in flight if a quorum of the configuration now
    /// in force has answered it: after an answer, and at every heartbeat
    /// (the configuration may have changed under the round, e.g. to fewer
    /// voters that answered already, or to this node alone).
    pub(super) fn recheck_read_round(&mut self) {
        if self.role != Role::Leader || self.reads.sent <= self.reads.confirmed {
            return;
        }
        let target = self.reads.sent;
        let (me, acked) = (self.id(), &self.reads.acked);
        let answered =
            |peer: NodeId| peer == me || acked.iter().any(|&(p, r)| p == peer && r >= target);
        if self.membership().has_quorum(answered) {
            self.confirm_reads(target);
        }
    }

    /// Round `round` is confirmed: its reads (and earlier ones) go out.
    fn confirm_reads(&mut self, round: u64) {
        self.reads.confirmed = round;
        if self.config.read_lease {
            let timeout = u64::from(self.config.election_timeout_ticks_min);
            let drift = u64::from(self.config.clock_drift_bound_ticks);
            let until = self.reads.sent_at + timeout.saturating_sub(drift);
            self.reads.lease_until = self.reads.lease_until.max(until);
        }
        while let Some(p) = self.reads.pending.front().copied() {
            let Some(index) = p.index.filter(|_| p.round != 0 && p.round <= round) else {
                break;
            };
            self.reads.pending.pop_front();
            self.read_done(p, Some(index));
        }
        self.start_read_round();
    }

    /// The leader's commit advanced: reads that waited for an entry of its
    /// term take the commit index and a round.
    pub(super) fn reads_after_commit(&mut self) {
        if self.role != Role::Leader || !self.committed_in_term() {
            return;
        }
        let committed = self.log.committed();
        let mut any = false;
        for p in self.reads.pending.iter_mut().filter(|p| p.index.is_none()) {
            p.index = Some(committed);
            any = true;
        }
        if any {
            self.start_read_round();
        }
    }

    /// The node stops leading: its pending reads cannot be served.
    pub(super) fn reads_lost_leadership(&mut self) {
        while let Some(p) = self.reads.pending.pop_front() {
            self.read_done(p, None);
        }
        self.reads.acked.clear();
        self.reads.sent = 0;
        self.reads.confirmed = 0;
        self.reads.ticks = 0;
        self.reads.sent_at = 0;
        self.reads.lease_until = 0;
    }

    /// A read's fate: out in the next `Ready` if it is this node's own,
    /// else back to the follower that asked.
    fn read_done(&mut self, p: Pending, index: Option<LogIndex>) {
        match p.from {
            None => self.reads.out.push(ReadState { ctx: p.ctx, index }),
            Some(to) => {
                let body = MessageBody::ReadIndexResponse { ctx: p.ctx, index };
                self.send(to, self.term, body);
            }
        }
    }

    /// The heartbeat body to `to`, carrying the current read round.
    pub(super) fn heartbeat_body(&self, commit: LogIndex) -> MessageBody {
        MessageBody::Heartbeat {
            commit,
            read_round: self.reads.round(),
        }
    }
}
