//! Executable invariants of a node's state: what must hold between any two
//! inputs, whatever messages, ticks and restarts came before.
//!
//! [`RaftNode::check_invariants`] checks them and names the first rule
//! broken. The node never calls it itself: hosts, tests and the simulator
//! call it between inputs. It must never change the node or draw randomness,
//! never allocate unless a rule is broken, and stays O(members): it reads the
//! log's cursors, never its entries.
//!
//! The rules, in the order they are checked (`prefix` is the last index of
//! the compacted prefix, `first_index - 1`):
//!
//! | rule | what must hold |
//! |------|----------------|
//! | `log.prefix_le_applied` | `prefix <= applied` (the compacted prefix counts as applied) |
//! | `log.snapshot_at_prefix` | the node holds a snapshot exactly when `prefix > 0`, and its index is `prefix` |
//! | `log.applied_le_committed` | `applied <= committed` |
//! | `log.committed_le_last` | `committed <= last_index` |
//! | `log.applied_le_persisted` | `applied <= persisted` (only durable entries are applied) |
//! | `log.persisted_lt_unstable` | `persisted < unstable_from` (only entries handed out can be durable) |
//! | `log.unstable_le_last_next` | `unstable_from <= last_index + 1` |
//! | `progress.match_le_last` | every progress: `match_index <= last_index` |
//! | `progress.match_lt_next` | every progress: `match_index < next_index` |
//! | `progress.next_le_last_next` | every progress: `next_index <= last_index + 1` |
//! | `leader.leader_is_self` | a leader: `leader == Some(id)` |
//! | `leader.vote_is_self` | a leader: `vote == Some(id)` (it won its term's election) |
//! | `leader.progress_per_member` | a leader holds exactly one progress per member (voters of both halves and learners), in member order |
//! | `leader.own_match_le_persisted` | a leader's own `match_index <= persisted` (it counts only durable entries) |
//! | `non_leader.no_progress` | a follower or (pre-)candidate holds no progress |
//! | `candidate.vote_is_self` | a candidate: `vote == Some(id)` |
//! | `candidate.no_leader` | a candidate: `leader == None` |
//! | `pre_candidate.no_leader` | a pre-candidate: `leader == None` |
//! | `hard_state.handed_term_le_term` | the hard state last handed to the host has a term `<= term` (terms never go back) |
//!
//! The other cursor bounds follow from these: `committed` and `persisted` are
//! at least `applied`, hence at least `prefix`; `persisted <= last_index`
//! through `unstable_from`.

use super::{RaftNode, Role};
use crate::types::LogIndex;
use std::fmt;

/// A broken invariant: which rule, and the values that break it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation {
    /// The rule's stable name, such as `"log.applied_le_committed"` (the
    /// rules are listed in the [module docs](self)).
    pub rule: &'static str,
    /// The node and the values that break the rule, for a human.
    pub detail: String,
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant {} broken: {}", self.rule, self.detail)
    }
}

impl std::error::Error for InvariantViolation {}

/// `Ok` if `holds`, else the violation of `rule`; `detail` runs (and
/// allocates) only then.
fn ensure(
    holds: bool,
    rule: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), InvariantViolation> {
    if holds {
        Ok(())
    } else {
        Err(InvariantViolation {
            rule,
            detail: detail(),
        })
    }
}

impl RaftNode {
    /// Checks the node's invariants (the rules are listed in
    /// [`crate::node::invariants`]) and returns the first one broken.
    /// O(members), allocates nothing unless a rule is broken, and changes
    /// nothing: call it between any two inputs.
    ///
    /// # Errors
    /// The first rule broken, with the values that break it.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        if self.invariants_hold() {
            return Ok(());
        }
        self.first_broken_rule()
    }

    /// The rules one by one, to name the first that is broken.
    #[cold]
    #[inline(never)]
    fn first_broken_rule(&self) -> Result<(), InvariantViolation> {
        self.check_log_cursors()?;
        self.check_progress()?;
        self.check_role()?;
        self.check_handed_hard_state()?;
        // The one-pass check and the named rules disagree: still a failure.
        Err(InvariantViolation {
            rule: "invariants.unnamed",
            detail: format!(
                "node {}: the one-pass check failed, no named rule did",
                self.id()
            ),
        })
    }

    /// Every rule at once, without branching per rule: the fast path a
    /// simulator pays after every input. The rule-by-rule checks below run
    /// only when this fails, to name the rule (the unit tests break each
    /// rule and see both agree).
    #[inline]
    fn invariants_hold(&self) -> bool {
        let id = self.id();
        let log = &self.log;
        let (applied, committed, persisted) = (log.applied(), log.committed(), log.persisted());
        let (unstable_from, last) = (log.unstable_from(), log.last_index());
        let prefix = log.first_index().prev();
        let snapshot_index = self.snapshot.as_ref().map_or(LogIndex(0), |s| s.meta.index);
        let mut ok = (prefix <= applied)
            & (snapshot_index == prefix)
            & (applied <= committed)
            & (committed <= last)
            & (applied <= persisted)
            & (persisted < unstable_from)
            & (unstable_from <= last.next())
            & (self.last_handed_hard_state.term <= self.term);
        let (leader, vote) = (self.leader, self.vote);
        match self.role {
            Role::Leader => {
                ok &= (leader == Some(id))
                    & (vote == Some(id))
                    & (self.progress.len() == self.members.len());
                for (pr, &voter) in self.progress.iter().zip(&self.members) {
                    let (matched, next) = (pr.match_index, pr.next_index);
                    ok &= (pr.id == voter)
                        & (matched <= last)
                        & (matched < next)
                        & (next <= last.next())
                        & ((pr.id != id) | (matched <= persisted));
                }
            }
            Role::Candidate => {
                ok &= self.progress.is_empty() & (vote == Some(id)) & leader.is_none();
            }
            Role::PreCandidate => ok &= self.progress.is_empty() & leader.is_none(),
            Role::Follower => ok &= self.progress.is_empty(),
        }
        ok
    }

    fn check_log_cursors(&self) -> Result<(), InvariantViolation> {
        let id = self.id();
        let log = &self.log;
        let prefix = log.first_index().prev();
        let applied = log.applied();
        let committed = log.committed();
        let persisted = log.persisted();
        let unstable_from = log.unstable_from();
        let last = log.last_index();
        ensure(prefix <= applied, "log.prefix_le_applied", || {
            format!("node {id}: applied {applied} below the compacted prefix {prefix}")
        })?;
        let snapshot = self.snapshot.as_ref().map(|s| s.meta.index);
        ensure(
            snapshot.unwrap_or(LogIndex(0)) == prefix,
            "log.snapshot_at_prefix",
            || format!("node {id}: snapshot at {snapshot:?} but the log is compacted to {prefix}"),
        )?;
        ensure(applied <= committed, "log.applied_le_committed", || {
            format!("node {id}: applied {applied} beyond committed {committed}")
        })?;
        ensure(committed <= last, "log.committed_le_last", || {
            format!("node {id}: committed {committed} beyond last index {last}")
        })?;
        ensure(applied <= persisted, "log.applied_le_persisted", || {
            format!("node {id}: applied {applied} beyond persisted {persisted}")
        })?;
        ensure(
            persisted < unstable_from,
            "log.persisted_lt_unstable",
            || format!("node {id}: persisted {persisted} not below unstable_from {unstable_from}"),
        )?;
        ensure(
            unstable_from <= last.next(),
            "log.unstable_le_last_next",
            || format!("node {id}: unstable_from {unstable_from} beyond last index {last} + 1"),
        )
    }

    fn check_progress(&self) -> Result<(), InvariantViolation> {
        let id = self.id();
        let last = self.log.last_index();
        for pr in &self.progress {
            let (peer, matched, next) = (pr.id, pr.match_index, pr.next_index);
            ensure(matched <= last, "progress.match_le_last", || {
                format!("node {id}: peer {peer} match {matched} beyond last index {last}")
            })?;
            ensure(matched < next, "progress.match_lt_next", || {
                format!("node {id}: peer {peer} match {matched} not below next {next}")
            })?;
            ensure(next <= last.next(), "progress.next_le_last_next", || {
                format!("node {id}: peer {peer} next {next} beyond last index {last} + 1")
            })?;
        }
        Ok(())
    }

    fn check_role(&self) -> Result<(), InvariantViolation> {
        let id = self.id();
        let (role, leader, vote) = (self.role, self.leader, self.vote);
        if role == Role::Leader {
            ensure(leader == Some(id), "leader.leader_is_self", || {
                format!("node {id}: a leader believing in leader {leader:?}")
            })?;
            ensure(vote == Some(id), "leader.vote_is_self", || {
                format!("node {id}: a leader with vote {vote:?}")
            })?;
            // In member order: `become_leader` and `membership_changed` build
            // it so, and broadcasts follow it.
            let per_voter = self.progress.len() == self.members.len()
                && self
                    .progress
                    .iter()
                    .zip(&self.members)
                    .all(|(pr, &voter)| pr.id == voter);
            ensure(per_voter, "leader.progress_per_member", || {
                let peers: Vec<_> = self.progress.iter().map(|pr| pr.id).collect();
                format!(
                    "node {id}: progress for {peers:?}, members {:?}",
                    self.members
                )
            })?;
            if let Some(own) = self.progress(id) {
                let (matched, persisted) = (own.match_index, self.log.persisted());
                ensure(
                    matched <= persisted,
                    "leader.own_match_le_persisted",
                    || format!("node {id}: own match {matched} beyond persisted {persisted}"),
                )?;
            }
        } else {
            ensure(self.progress.is_empty(), "non_leader.no_progress", || {
                format!(
                    "node {id}: a {role:?} holding {} progress entries",
                    self.progress.len()
                )
            })?;
        }
        match role {
            Role::Candidate => {
                ensure(vote == Some(id), "candidate.vote_is_self", || {
                    format!("node {id}: a candidate with vote {vote:?}")
                })?;
                ensure(leader.is_none(), "candidate.no_leader", || {
                    format!("node {id}: a candidate believing in leader {leader:?}")
                })
            }
            Role::PreCandidate => ensure(leader.is_none(), "pre_candidate.no_leader", || {
                format!("node {id}: a pre-candidate believing in leader {leader:?}")
            }),
            Role::Follower | Role::Leader => Ok(()),
        }
    }

    fn check_handed_hard_state(&self) -> Result<(), InvariantViolation> {
        let (handed, term) = (self.last_handed_hard_state.term, self.term);
        ensure(handed <= term, "hard_state.handed_term_le_term", || {
            format!(
                "node {}: handed out term {handed}, beyond the current term {term}",
                self.id()
            )
        })
    }
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;
