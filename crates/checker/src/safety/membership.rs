//! The configuration checks of [`SafetyChecker`]: each node's configurations
//! follow its log as raft-core's do (`node/reconfig.rs`), elections and
//! commits reach a quorum of the configuration in force, a node uses the
//! latest configuration entry of its log, and a leader holds at most one
//! uncommitted configuration entry.
//!
//! Same rules as the parent module: O(new entries) on the success path (a
//! configuration is decoded and cloned only when a configuration entry is
//! written), O(voters) per election and per leader commit, never a hash-map
//! iteration. An entry payload is never trusted: one that does not decode or
//! apply is skipped, as raft-core skips it.

use super::SafetyChecker;
use crate::violation::{Property, Violation};
use raft_core::membership::{ConfChange, Membership};
use raft_core::{Entry, EntryKind, NodeId, Term};

/// The configuration set by one configuration entry of a node's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ConfRecord {
    pub(super) index: u64,
    pub(super) term: Term,
    pub(super) membership: Membership,
}

fn majority(voters: usize) -> usize {
    voters / 2 + 1
}

/// Whether the voters for which `holds` is true make a majority of `m`'s
/// voters and, while joint, of its outgoing voters (counted here, not with
/// raft-core's own quorum code, so that a bug there is not shared).
/// `Err` names the half that falls short and lists it.
fn quorum(m: &Membership, holds: impl Fn(NodeId) -> bool) -> Result<(), (&'static str, &[NodeId])> {
    let short = |half: &[NodeId]| half.iter().filter(|&&v| holds(v)).count() < majority(half.len());
    if short(&m.voters) {
        return Err(("voters", &m.voters));
    }
    if m.is_joint() && short(&m.outgoing) {
        return Err(("outgoing voters", &m.outgoing));
    }
    Ok(())
}

/// `{n0,n2}`.
fn list(ids: impl Iterator<Item = NodeId>) -> String {
    let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
    format!("{{{}}}", ids.join(","))
}

/// A configuration and where it comes from, for messages.
pub(super) fn describe(index: u64, m: &Membership) -> String {
    if index == 0 {
        format!("{m} (bootstrap)")
    } else {
        format!("{m} (entry {index})")
    }
}

impl SafetyChecker {
    /// The node's configuration in force: the index of the entry that set it
    /// (0: the bootstrap configuration) and the configuration.
    pub(super) fn latest_conf(&self, node: usize) -> (u64, &Membership) {
        match self.nodes.get(node).and_then(|st| st.confs.last()) {
            Some(c) => (c.index, &c.membership),
            None => (0, &self.bootstrap),
        }
    }

    /// Whether the node's log view holds the entry whose chain hash at
    /// `index` is `chain` (an unknown node holds nothing). A position
    /// inside the node's compacted prefix holds the committed entry there
    /// (a snapshot holds committed entries only, checked when it was
    /// installed or restarted from).
    pub(super) fn node_holds(&self, id: NodeId, index: u64, chain: u64) -> bool {
        usize::try_from(id.0)
            .ok()
            .and_then(|n| self.nodes.get(n))
            .is_some_and(|st| {
                let held = match st.log.chain_at(index) {
                    Some(c) => Some(c),
                    None if index < st.log.prefix_index() => self.committed.chain_at(index),
                    None => None,
                };
                held == Some(chain)
            })
    }

    /// The node's log is now its old log truncated before `from`, then
    /// `entries`: drops the configurations of replaced entries and adds those
    /// of new configuration entries that decode and apply.
    pub(super) fn track_confs(&mut self, node: usize, from: u64, entries: &[Entry]) {
        let st = &mut self.nodes[node];
        while st.confs.last().is_some_and(|c| c.index >= from) {
            st.confs.pop();
        }
        for e in entries {
            if e.kind != EntryKind::ConfChange {
                continue;
            }
            let current = st.confs.last().map_or(&self.bootstrap, |c| &c.membership);
            let Ok(membership) = ConfChange::decode(&e.data).and_then(|c| current.apply(&c)) else {
                continue;
            };
            st.confs.push(ConfRecord {
                index: e.index.0,
                term: e.term,
                membership,
            });
        }
    }

    /// Whether `node` may lead: it votes in its configuration or, while
    /// that one is not committed on the node, in the one before (a leader
    /// that lost its leadership before its own removal committed must be
    /// able to finish the change; thesis §4.2.2 lets a leader manage a
    /// configuration it is not part of).
    fn may_lead(&self, node: usize) -> bool {
        let id = NodeId(node as u64);
        let Some(st) = self.nodes.get(node) else {
            return self.bootstrap.is_voter(id);
        };
        let n = st.confs.len();
        let latest = st.confs.last().map_or(&self.bootstrap, |c| &c.membership);
        if latest.is_voter(id) {
            return true;
        }
        let uncommitted = st.confs.last().is_some_and(|c| c.index > st.commit);
        let before = match n {
            0 => return false,
            1 => &self.bootstrap,
            _ => &st.confs[n - 2].membership,
        };
        uncommitted && before.is_voter(id)
    }

    /// The new leader `node` of `term` may lead (see `may_lead`) and was
    /// voted for by a quorum of its configuration.
    pub(super) fn check_election_quorum(&mut self, event_index: u64, node: usize, term: Term) {
        let may_lead = self.may_lead(node);
        let (index, m) = self.latest_conf(node);
        let id = NodeId(node as u64);
        let found = if !may_lead {
            format!(
                "n{node} became leader of term {} but is not a voter of its configuration {} (nor of the one before it, with that one uncommitted)",
                term.0,
                describe(index, m)
            )
        } else {
            let max = super::registry::VoteRegistry::MAX_NODES as u64;
            if m.voters.iter().chain(&m.outgoing).any(|v| v.0 >= max) {
                return;
            }
            let votes = self.votes.voters(term, id);
            let voted = |v: NodeId| v.0 < max && votes >> v.0 & 1 == 1;
            let Err((name, half)) = quorum(m, voted) else {
                return;
            };
            let from = (0..max).filter(|&v| votes >> v & 1 == 1).map(NodeId);
            format!(
                "n{node} became leader of term {} with votes from {} only, not a majority of the {} {} of its configuration {}",
                term.0,
                list(from),
                name,
                list(half.iter().copied()),
                describe(index, m)
            )
        };
        self.report(
            Violation::new(
                Property::ElectionSafety,
                event_index,
                "a leader is a voter of its configuration (or of the one before, while that one is uncommitted), elected by a majority of its voters (of both halves while joint)",
                found,
            )
            .with_nodes(&[node])
            .with_term(term.0),
        );
    }

    /// The leader's entry at its new commit index `commit` is held by a
    /// quorum of its configuration. Returns whether it is.
    pub(super) fn check_commit_quorum(
        &mut self,
        event_index: u64,
        leader: usize,
        commit: u64,
    ) -> bool {
        let Some(chain) = self.nodes[leader].log.chain_at(commit) else {
            return true;
        };
        let (index, m) = self.latest_conf(leader);
        let holds = |v: NodeId| self.node_holds(v, commit, chain);
        let Err((name, half)) = quorum(m, holds) else {
            return true;
        };
        let term = self.nodes[leader].term.0;
        let holders = half.iter().copied().filter(|&v| holds(v));
        let found = format!(
            "n{leader}, leader of term {term}, committed index {commit} held by {} only of the {} {} of its configuration {}",
            list(holders),
            name,
            list(half.iter().copied()),
            describe(index, m)
        );
        self.report(
            Violation::new(
                Property::LeaderCompleteness,
                event_index,
                "a leader commits an entry only once a majority of its configuration's voters hold it (of both halves while joint)",
                found,
            )
            .with_nodes(&[leader])
            .with_term(term)
            .with_index(commit),
        );
        false
    }

    /// The node uses the latest configuration entry of its log: `index`
    /// (0: the bootstrap configuration) is that entry's index and `m`, if
    /// given, its configuration.
    pub(super) fn check_latest_conf(
        &mut self,
        event_index: u64,
        node: usize,
        index: u64,
        m: Option<&Membership>,
    ) {
        let (latest, mine) = self.latest_conf(node);
        let at = |i: u64| {
            if i == 0 {
                "the bootstrap configuration".to_string()
            } else {
                format!("the configuration entry at index {i}")
            }
        };
        let (expected, found) = if index != latest {
            (
                "a node uses the latest configuration entry in its log",
                format!(
                    "n{node} uses {} but the latest configuration entry in its log is {}",
                    at(index),
                    if latest == 0 {
                        "none (bootstrap configuration)".to_string()
                    } else {
                        format!("at index {latest}")
                    }
                ),
            )
        } else if let Some(m) = m.filter(|&m| m != mine) {
            (
                "a node's configuration is the one its log's configuration entries give",
                format!(
                    "n{node} uses {m} from {}, but its log gives {}",
                    at(index),
                    describe(latest, mine)
                ),
            )
        } else {
            return;
        };
        self.report(
            Violation::new(Property::Membership, event_index, expected, found)
                .with_nodes(&[node])
                .with_index(index),
        );
    }

    /// A node leading its current term holds at most one configuration entry
    /// above the global committed index.
    pub(super) fn check_one_pending_conf(&mut self, event_index: u64, node: usize) {
        let st = &self.nodes[node];
        let term = st.term;
        if !st.leader.is_some_and(|l| l.term == term) {
            return;
        }
        let committed = self.committed.last_index();
        let [.., before, last] = st.confs.as_slice() else {
            return;
        };
        if before.index <= committed {
            return;
        }
        let last = last.index;
        let pending: Vec<String> = st
            .confs
            .iter()
            .filter(|c| c.index > committed)
            .map(|c| format!("{} (term {})", c.index, c.term.0))
            .collect();
        let found = format!(
            "n{node}, leader of term {}, holds configuration entries at indices {} above the committed index {committed}",
            term.0,
            pending.join(", ")
        );
        self.report(
            Violation::new(
                Property::Membership,
                event_index,
                "at most one uncommitted configuration entry in a leader's log",
                found,
            )
            .with_nodes(&[node])
            .with_term(term.0)
            .with_index(last),
        );
    }
}
