//! Leadership transfer (thesis §3.10): the leader stops taking proposals,
//! brings the target up to date and sends it `TimeoutNow`; the target
//! campaigns at once, and its vote requests pass the voters' leader leases
//! (the leader asked for the election). A transfer not done within an
//! election timeout is abandoned and the leader takes proposals again.
//!
//! This module must never let a leader take a proposal while a transfer is
//! under way, never send `TimeoutNow` to a target that lacks an entry of
//! the leader's log, and never let a learner or a non-member campaign.

use super::{RaftNode, Role};
use crate::message::MessageBody;
use crate::types::{LogIndex, NodeId};
use std::fmt;

/// A transfer under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Transfer {
    pub(super) target: NodeId,
    pub(super) elapsed_ticks: u32,
    /// `TimeoutNow` went out.
    pub(super) sent: bool,
}

/// Why a transfer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferError {
    /// Only the leader transfers leadership; `leader` is the one this node knows of.
    NotLeader {
        /// The leader this node believes in, if any.
        leader: Option<NodeId>,
    },
    /// The target is not a voter of the configuration in force.
    NotAVoter(NodeId),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::NotLeader { leader: Some(l) } => write!(f, "not the leader; try {l}"),
            TransferError::NotLeader { leader: None } => write!(f, "not the leader; none known"),
            TransferError::NotAVoter(id) => write!(f, "{id} is not a voter"),
        }
    }
}

impl std::error::Error for TransferError {}

impl RaftNode {
    /// Hands leadership to `target` (leader only): proposals are refused
    /// until the transfer ends (the target wins, or an election timeout
    /// passes). A transfer to the leader itself does nothing; a new one
    /// replaces the one under way.
    ///
    /// # Errors
    /// Not the leader; the target does not vote.
    pub fn transfer_leadership(&mut self, target: NodeId) -> Result<(), TransferError> {
        if self.role != Role::Leader {
            return Err(TransferError::NotLeader {
                leader: self.leader,
            });
        }
        if target == self.id() {
            return Ok(());
        }
        if !self.membership().is_voter(target) {
            return Err(TransferError::NotAVoter(target));
        }
        self.end_lease();
        self.transfer = Some(Transfer {
            target,
            elapsed_ticks: 0,
            sent: false,
        });
        if !self.maybe_send_timeout_now(target) {
            self.send_append_to(target);
        }
        Ok(())
    }

    /// The target of the transfer under way, if any.
    #[must_use]
    pub fn transfer_target(&self) -> Option<NodeId> {
        self.transfer.map(|t| t.target)
    }

    /// A leader's tick: abandons a transfer older than an election timeout.
    pub(super) fn tick_transfer(&mut self) {
        if let Some(t) = &mut self.transfer {
            t.elapsed_ticks += 1;
            if t.elapsed_ticks >= self.config.election_timeout_ticks_min {
                self.transfer = None;
            }
        }
    }

    /// Sends `TimeoutNow` if `peer` is the transfer's target and holds the
    /// whole log. Returns whether it went out.
    pub(super) fn maybe_send_timeout_now(&mut self, peer: NodeId) -> bool {
        let last = self.log.last_index();
        let ready = self.transfer.is_some_and(|t| t.target == peer && !t.sent)
            && self.progress(peer).is_some_and(|p| p.match_index == last);
        if ready {
            if let Some(t) = &mut self.transfer {
                t.sent = true;
            }
            let body = MessageBody::TimeoutNow { last_index: last };
            self.send(peer, self.term, body);
        }
        ready
    }

    /// A follower told by its leader to campaign: at once, if it votes and
    /// its log ends where the leader's did when it sent this (else it is a
    /// late copy of an abandoned transfer: ignored).
    pub(super) fn handle_timeout_now(&mut self, last_index: LogIndex) {
        if self.is_voter() && self.log.last_index() == last_index {
            self.campaign_now(false, true);
        }
    }
}
