//! Protocol points for triggered faults: which node reached which point
//! ([`Point`]) during the current input, noted only while a triggered fault
//! waits for that kind of point (a bit mask), so runs without triggered
//! faults pay one test per event.

use super::SimEvent;
use crate::faults::Point;
use raft_core::{Role, Term};

/// The points watched for, and those reached since the injector last looked.
#[derive(Debug, Default)]
pub(super) struct PointWatch {
    /// Bit `p as u8` set: point `p` is watched.
    pub(super) mask: u8,
    /// (node, point, the node's term then), in the order reached.
    pub(super) hits: Vec<(usize, Point, Term)>,
    /// Per node, the (term, vote) last made durable: a vote is made
    /// durable once, however many syncs follow.
    durable_votes: Vec<(Term, Option<raft_core::NodeId>)>,
}

/// The bit of a point in a [`PointWatch`] mask.
pub(super) fn bit(p: Point) -> u8 {
    1 << (p as u8)
}

impl PointWatch {
    /// Notes the point `e` marks, if it is watched.
    #[inline(always)]
    pub(super) fn note(&mut self, e: &SimEvent<'_>, term_of: impl Fn(usize) -> Term) {
        let hit = match *e {
            SimEvent::TermVote {
                node,
                term,
                vote: Some(v),
            } if v.0 as usize != node => (node, Point::VoteGranted, term),
            SimEvent::DurableHardState {
                node,
                hard_state,
                entries,
            } => {
                if self.durable_votes.len() <= node {
                    self.durable_votes.resize(node + 1, (Term(0), None));
                }
                let vote = (hard_state.term, hard_state.vote);
                let new_vote = std::mem::replace(&mut self.durable_votes[node], vote) != vote;
                if new_vote && hard_state.vote.is_some_and(|v| v.0 as usize != node) {
                    self.hit(node, Point::VoteDurable, hard_state.term);
                }
                if entries > 0 {
                    self.hit(node, Point::AppendDurable, hard_state.term);
                }
                return;
            }
            SimEvent::AckSent { node, term } => (node, Point::Acked, term),
            SimEvent::RoleChanged { node, term, .. } if e.took_role(Role::Leader) => {
                (node, Point::BecameLeader, term)
            }
            SimEvent::RoleChanged { node, term, .. } if e.took_role(Role::Candidate) => {
                (node, Point::Campaigned, term)
            }
            SimEvent::Applied { node, .. } => (node, Point::Applied, term_of(node)),
            SimEvent::TransferStarted { node, .. } => (node, Point::HandingOver, term_of(node)),
            _ => return,
        };
        self.hit(hit.0, hit.1, hit.2);
    }

    fn hit(&mut self, node: usize, point: Point, term: Term) {
        if self.mask & bit(point) != 0 {
            self.hits.push((node, point, term));
        }
    }
}
