//! Cluster membership: who votes, who only learns, and how a configuration
//! changes through the log (Raft thesis §4.3, joint consensus; the change
//! format follows etcd's `ConfChangeV2`).
//!
//! A configuration is a [`Membership`]. It changes only through
//! [`EntryKind::ConfChange`](crate::EntryKind::ConfChange) entries, each
//! carrying an encoded [`ConfChange`]; a node uses the configuration of the
//! latest such entry in its log, committed or not, and falls back to the one
//! before when that entry is truncated. The configuration before the first
//! change is the bootstrap one ([`Config::voters`](crate::Config::voters)),
//! the same on every node that is ever part of the cluster.
//!
//! A change of at most one voter (any number of learners) applies directly;
//! any other enters a *joint* configuration in which elections and commits
//! need a majority of the old voters **and** a majority of the new, and a
//! second change leaves it for the new configuration alone (automatically
//! once the joint entry commits, unless the change asked to leave
//! explicitly).
//!
//! ```
//! use raft_core::membership::{Change, ConfChange, Membership};
//! use raft_core::NodeId;
//!
//! let three = Membership::bootstrap(&[NodeId(0), NodeId(1), NodeId(2)]);
//! // Replace n2 by n3: two voters change, so through a joint configuration.
//! let replace = ConfChange::auto(vec![Change::AddVoter(NodeId(3)), Change::Remove(NodeId(2))]);
//! let joint = three.apply(&replace).expect("a valid change");
//! assert!(joint.is_joint());
//! assert_eq!(joint.outgoing, vec![NodeId(0), NodeId(1), NodeId(2)]);
//! assert_eq!(joint.voters, vec![NodeId(0), NodeId(1), NodeId(3)]);
//! let new = joint.apply(&ConfChange::leave_joint()).expect("a valid change");
//! assert!(!new.is_joint());
//! assert!(!new.is_voter(NodeId(2)));
//! ```

use crate::quorum::{self, VoteResult};
use crate::types::{LogIndex, NodeId};
use std::fmt;

/// A cluster configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    /// The voters (the new configuration's, while joint), sorted.
    pub voters: Vec<NodeId>,
    /// While joint: the old configuration's voters, sorted; empty otherwise.
    pub outgoing: Vec<NodeId>,
    /// Members that receive the log but never vote, count or campaign, sorted.
    pub learners: Vec<NodeId>,
    /// While joint: leave for the new configuration as soon as the joint
    /// one commits (false: only on an explicit [`ConfChange::leave_joint`]).
    pub auto_leave: bool,
}

/// One change to a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Make the node a voter (a new node, or a learner promoted).
    AddVoter(NodeId),
    /// Make a new node a learner.
    AddLearner(NodeId),
    /// Remove a voter or a learner.
    Remove(NodeId),
}

/// How a change moves between configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Directly if at most one voter changes, else through a joint
    /// configuration left automatically.
    Auto,
    /// Through a joint configuration left automatically once committed.
    JointImplicit,
    /// Through a joint configuration left only on an explicit
    /// [`ConfChange::leave_joint`].
    JointExplicit,
}

/// A membership change: the payload of a `ConfChange` entry. No changes at
/// all means: leave the joint configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfChange {
    /// The changes, applied together.
    pub changes: Vec<Change>,
    /// Directly or through a joint configuration.
    pub transition: Transition,
}

/// Why a change cannot apply to a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfChangeError(pub String);

impl fmt::Display for ConfChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid membership change: {}", self.0)
    }
}

impl std::error::Error for ConfChangeError {}

fn err<T>(message: impl Into<String>) -> Result<T, ConfChangeError> {
    Err(ConfChangeError(message.into()))
}

impl ConfChange {
    /// `changes` with [`Transition::Auto`].
    #[must_use]
    pub fn auto(changes: Vec<Change>) -> ConfChange {
        ConfChange {
            changes,
            transition: Transition::Auto,
        }
    }

    /// Leave the joint configuration.
    #[must_use]
    pub fn leave_joint() -> ConfChange {
        ConfChange::auto(Vec::new())
    }

    /// Whether this leaves a joint configuration.
    #[must_use]
    pub fn is_leave_joint(&self) -> bool {
        self.changes.is_empty()
    }

    /// The entry payload: a version byte, the transition, then one tag
    /// byte and an 8-byte little-endian node id per change.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 9 * self.changes.len());
        out.push(1);
        out.push(match self.transition {
            Transition::Auto => 0,
            Transition::JointImplicit => 1,
            Transition::JointExplicit => 2,
        });
        for c in &self.changes {
            let (tag, id) = match *c {
                Change::AddVoter(id) => (0, id),
                Change::AddLearner(id) => (1, id),
                Change::Remove(id) => (2, id),
            };
            out.push(tag);
            out.extend_from_slice(&id.0.to_le_bytes());
        }
        out
    }

    /// Reads an entry payload written by [`ConfChange::encode`].
    ///
    /// # Errors
    /// On any other bytes.
    pub fn decode(bytes: &[u8]) -> Result<ConfChange, ConfChangeError> {
        let [version, transition, rest @ ..] = bytes else {
            return err("payload shorter than its header");
        };
        if *version != 1 {
            return err(format!("unknown format version {version}"));
        }
        let transition = match transition {
            0 => Transition::Auto,
            1 => Transition::JointImplicit,
            2 => Transition::JointExplicit,
            t => return err(format!("unknown transition {t}")),
        };
        if rest.len() % 9 != 0 {
            return err("payload is not a whole number of changes");
        }
        let changes = rest
            .chunks_exact(9)
            .map(|c| {
                let mut id = [0; 8];
                id.copy_from_slice(&c[1..]);
                let id = NodeId(u64::from_le_bytes(id));
                match c[0] {
                    0 => Ok(Change::AddVoter(id)),
                    1 => Ok(Change::AddLearner(id)),
                    2 => Ok(Change::Remove(id)),
                    t => err(format!("unknown change {t}")),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(ConfChange {
            changes,
            transition,
        })
    }
}

fn insert(set: &mut Vec<NodeId>, id: NodeId) {
    if let Err(at) = set.binary_search(&id) {
        set.insert(at, id);
    }
}

fn remove(set: &mut Vec<NodeId>, id: NodeId) {
    if let Ok(at) = set.binary_search(&id) {
        set.remove(at);
    }
}

impl Membership {
    /// The configuration before any change: these voters, no learners.
    #[must_use]
    pub fn bootstrap(voters: &[NodeId]) -> Membership {
        let mut voters = voters.to_vec();
        voters.sort_unstable();
        voters.dedup();
        Membership {
            voters,
            ..Membership::default()
        }
    }

    /// Whether elections and commits need both the old and the new majority.
    #[must_use]
    pub fn is_joint(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// Whether `id` votes (in either half, while joint).
    #[must_use]
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.binary_search(&id).is_ok() || self.outgoing.binary_search(&id).is_ok()
    }

    /// Whether `id` is a learner.
    #[must_use]
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.binary_search(&id).is_ok()
    }

    /// Whether `id` is a member at all.
    #[must_use]
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// Every member, voters of both halves and learners, sorted, once each.
    #[must_use]
    pub fn members(&self) -> Vec<NodeId> {
        let mut all = self.voters.clone();
        for &id in self.outgoing.iter().chain(&self.learners) {
            insert(&mut all, id);
        }
        all
    }

    /// The configuration after `change`.
    ///
    /// # Errors
    /// Leaving when not joint; changing while joint; adding a member that
    /// is one already (except promoting a learner), removing a non-member,
    /// demoting a voter to a learner, a node changed twice; a simple change
    /// of more than one voter; no voter left.
    pub fn apply(&self, change: &ConfChange) -> Result<Membership, ConfChangeError> {
        if change.is_leave_joint() {
            if !self.is_joint() {
                return err("leaving a joint configuration when not in one");
            }
            return Ok(Membership {
                voters: self.voters.clone(),
                outgoing: Vec::new(),
                learners: self.learners.clone(),
                auto_leave: false,
            });
        }
        if self.is_joint() {
            return err("a change while joint (leave the joint configuration first)");
        }
        let mut next = self.clone();
        let mut seen: Vec<NodeId> = Vec::with_capacity(change.changes.len());
        for c in &change.changes {
            let id = match *c {
                Change::AddVoter(id) | Change::AddLearner(id) | Change::Remove(id) => id,
            };
            if seen.contains(&id) {
                return err(format!("{id} is changed twice"));
            }
            seen.push(id);
            match *c {
                Change::AddVoter(id) => {
                    if next.voters.binary_search(&id).is_ok() {
                        return err(format!("{id} is a voter already"));
                    }
                    remove(&mut next.learners, id);
                    insert(&mut next.voters, id);
                }
                Change::AddLearner(id) => {
                    if next.contains(id) {
                        return err(format!("{id} is a member already"));
                    }
                    insert(&mut next.learners, id);
                }
                Change::Remove(id) => {
                    if !next.contains(id) {
                        return err(format!("{id} is not a member"));
                    }
                    remove(&mut next.voters, id);
                    remove(&mut next.learners, id);
                }
            }
        }
        if next.voters.is_empty() {
            return err("no voter would be left");
        }
        let changed_voters = self
            .voters
            .iter()
            .filter(|v| next.voters.binary_search(v).is_err())
            .count()
            + next
                .voters
                .iter()
                .filter(|v| self.voters.binary_search(v).is_err())
                .count();
        let joint = match change.transition {
            Transition::Auto => changed_voters > 1,
            Transition::JointImplicit | Transition::JointExplicit => true,
        };
        if joint {
            next.outgoing = self.voters.clone();
            next.auto_leave = change.transition != Transition::JointExplicit;
        }
        Ok(next)
    }

    /// The highest index a quorum holds (of both halves while joint), given
    /// each member's match index. `scratch` is reused between calls.
    pub fn committed_index(
        &self,
        match_of: impl Fn(NodeId) -> LogIndex,
        scratch: &mut Vec<LogIndex>,
    ) -> LogIndex {
        let mut half = |voters: &[NodeId]| {
            scratch.clear();
            scratch.extend(voters.iter().map(|&v| match_of(v)));
            quorum::committed_index(scratch)
        };
        let incoming = half(&self.voters);
        if self.is_joint() {
            incoming.min(half(&self.outgoing))
        } else {
            incoming
        }
    }

    /// Counts an election: `votes` holds (voter, granted) answers; answers
    /// of non-voters do not count.
    #[must_use]
    pub fn vote_result(&self, votes: &[(NodeId, bool)]) -> VoteResult {
        let half = |voters: &[NodeId]| {
            let answered = |granted: bool| {
                votes
                    .iter()
                    .filter(|&&(id, g)| g == granted && voters.binary_search(&id).is_ok())
                    .count()
            };
            quorum::vote_result(voters.len(), answered(true), answered(false))
        };
        let incoming = half(&self.voters);
        if !self.is_joint() {
            return incoming;
        }
        match (incoming, half(&self.outgoing)) {
            (VoteResult::Won, VoteResult::Won) => VoteResult::Won,
            (VoteResult::Lost, _) | (_, VoteResult::Lost) => VoteResult::Lost,
            _ => VoteResult::Pending,
        }
    }

    /// Whether the members for which `active` holds make a quorum (of both
    /// halves while joint).
    pub fn has_quorum(&self, active: impl Fn(NodeId) -> bool) -> bool {
        let half = |voters: &[NodeId]| {
            let n = voters.iter().filter(|&&v| active(v)).count();
            n >= quorum::majority(voters.len())
        };
        half(&self.voters) && (!self.is_joint() || half(&self.outgoing))
    }
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ids: &[NodeId]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(f, "voters {{{}}}", list(&self.voters))?;
        if self.is_joint() {
            write!(f, " & {{{}}}", list(&self.outgoing))?;
        }
        if !self.learners.is_empty() {
            write!(f, " learners {{{}}}", list(&self.learners))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;
