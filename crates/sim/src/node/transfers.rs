//! Leadership transfers watched from outside (the efficiency property's
//! transfer rules): the run's own record of each transfer it asked a
//! leader for, and what a leader's or a target's answer to a message must
//! do for it. The node handlers apply them (`crate::node`).

use super::*;

/// What a node's answer to a message must do for a transfer.
#[derive(Clone, Copy, Debug)]
pub(super) enum TransferExpectation {
    /// Send TimeoutNow (the leader's log ending at `last`).
    HandOver {
        /// The leader's last index.
        last: LogIndex,
    },
    /// Campaign in the next term after `term`.
    Campaign {
        /// The term it was told in.
        term: Term,
    },
    /// Stay a follower in `term` (a late TimeoutNow, or one to a non-voter).
    Stay {
        /// The term it was told in.
        term: Term,
    },
}

/// A node's state after its answer to a message, as the transfer rules
/// read it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TransferAfter {
    pub(super) role: Role,
    pub(super) term: Term,
    pub(super) last: LogIndex,
    pub(super) transfer: Option<TransferWatch>,
}

/// Whether `node`'s answer broke a transfer rule (`expected`: what the
/// message called for; `after`: the node's state once it answered).
pub(super) fn transfer_answer_broken(
    node: usize,
    expected: TransferExpectation,
    after: TransferAfter,
) -> Option<Broken> {
    let (role, term) = (after.role, after.term);
    match expected {
        TransferExpectation::HandOver { last } => {
            let sent = after.transfer.is_some_and(|t| t.sent);
            // (A commit the ack made may have had the leader append, e.g.
            // the leave of a joint configuration: then the target is
            // behind again.)
            let still_all = after.last == last && role == Role::Leader;
            (still_all && !sent).then(|| {
                let target = after.transfer.map_or(0, |t| t.target);
                let found = format!(
                    "n{node} handing over to n{target}, which acknowledged its whole log (to {last}), sent it no TimeoutNow"
                );
                Broken::new("transfer-hand-over", found)
            })
        }
        TransferExpectation::Stay { term: told } => {
            let stayed = role == Role::Follower && term == told;
            (!stayed).then(|| {
                let found = format!(
                    "n{node}, told to campaign in {told} by a late TimeoutNow or as a non-voter, is {role:?} in {term}"
                );
                Broken::new("transfer-obeys", found)
            })
        }
        TransferExpectation::Campaign { term: told } => {
            let campaigned = role == Role::Candidate && term == told.next();
            (!campaigned).then(|| {
                let found = format!(
                    "n{node}, told to campaign in {told} with an up-to-date log, is {role:?} in {term}"
                );
                Broken::new("transfer-obeys", found)
            })
        }
    }
}

/// A leadership transfer the run asked a leader for, watched from
/// outside (the efficiency module's transfer rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferWatch {
    /// The node to lead next.
    pub target: usize,
    /// The leader's term.
    pub term: Term,
    /// The leader's `ticks` when it was asked.
    pub from_tick: u64,
    /// Whether its TimeoutNow went out.
    pub sent: bool,
}

impl NodeView {
    /// The transfer under way, if the node still leads the term it was
    /// asked in and fewer than `timeout_ticks` of its ticks have passed
    /// (raft-core abandons a transfer after an election timeout).
    #[must_use]
    pub fn transfer_under_way(&self, timeout_ticks: u64) -> Option<TransferWatch> {
        self.transfer.filter(|t| {
            self.role == Role::Leader
                && t.term == self.term
                && self.ticks - t.from_tick < timeout_ticks
        })
    }
}

impl Nodes {
    /// The transfer `node` is handing leadership over in, if any.
    pub(super) fn handing_over(&self, node: usize) -> Option<TransferWatch> {
        self.nodes[node]
            .view
            .transfer_under_way(self.limits.timeout_ticks())
    }

    /// What the transfer rules expect of `node`'s answer to `m`: a leader
    /// handing over sends TimeoutNow once its target acknowledges its
    /// whole log; a voter told to campaign with a log ending where its
    /// leader's did campaigns at once.
    #[inline]
    pub(super) fn transfer_expectation(
        &self,
        node: usize,
        m: &Message,
    ) -> Option<TransferExpectation> {
        let n = &self.nodes[node];
        match m.body {
            MessageBody::AppendEntriesResponse {
                reject: None,
                index,
            } => {
                let t = self.handing_over(node)?;
                let last = n.driver.as_ref()?.raft().log().last_index();
                let acks_all =
                    m.from.0 as usize == t.target && m.term == n.view.term && index == last;
                (acks_all && !t.sent).then_some(TransferExpectation::HandOver { last })
            }
            MessageBody::TimeoutNow { last_index } => {
                let raft = n.driver.as_ref()?.raft();
                let last = raft.log().last_index();
                let told = m.term == raft.term() && raft.role() == Role::Follower;
                let obeys = last_index == last && raft.membership().is_voter(NodeId(node as u64));
                let term = raft.term();
                told.then_some(if obeys {
                    TransferExpectation::Campaign { term }
                } else {
                    TransferExpectation::Stay { term }
                })
            }
            _ => None,
        }
    }

    pub(super) fn check_transfer(
        &mut self,
        node: usize,
        expected: TransferExpectation,
        cx: &mut Ctx<'_>,
    ) {
        let n = &self.nodes[node];
        let Some(raft) = n.driver.as_ref().map(|d| d.raft()) else {
            return;
        };
        let after = TransferAfter {
            role: raft.role(),
            term: raft.term(),
            last: raft.log().last_index(),
            transfer: n.view.transfer,
        };
        if let Some(b) = transfer_answer_broken(node, expected, after) {
            efficiency_broken(b, node, cx);
        }
    }
}
