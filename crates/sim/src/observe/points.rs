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
                node, hard_state, ..
            } if hard_state.vote.is_some_and(|v| v.0 as usize != node)
                && self.mask & bit(Point::VoteDurable) != 0 =>
            {
                (node, Point::VoteDurable, hard_state.term)
            }
            SimEvent::DurableHardState {
                node,
                entries,
                hard_state,
            } if entries > 0 => (node, Point::AppendDurable, hard_state.term),
            SimEvent::AckSent { node } => (node, Point::Acked, term_of(node)),
            SimEvent::RoleChanged { node, term, .. } if e.took_role(Role::Leader) => {
                (node, Point::BecameLeader, term)
            }
            SimEvent::RoleChanged { node, term, .. } if e.took_role(Role::Candidate) => {
                (node, Point::Campaigned, term)
            }
            SimEvent::Applied { node, entry } => (node, Point::Applied, entry.term),
            _ => return,
        };
        if self.mask & bit(hit.1) != 0 {
            self.hits.push(hit);
        }
    }
}
