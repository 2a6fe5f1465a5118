//! The incremental Raft safety checker: election safety, one vote per term,
//! leader append-only, log matching, leader completeness, state machine safety,
//! monotonic commit and monotonic terms.
//!
//! This module owns [`SafetyChecker`] and what it remembers per node (term, vote,
//! durable hard state, a hash view of the log, commit, applied, leadership) and
//! per run (leaders per term, the (index, term) chain registry, the committed
//! prefix, the applied entries). Every call costs O(new entries) plus O(log) work
//! on the violation path only; it must never rescan a whole log or history on the
//! success path (the one exception is [`SafetyChecker::restarted`], O(log) once
//! per restart), never read a clock, and never iterate a hash map.
//! The order in which the simulator must report changes is on [`SafetyChecker`].

mod log_view;
mod logs;
mod registry;
#[cfg(test)]
mod tests;

use crate::hash::{self, CHAIN_ROOT};
use crate::violation::{Property, Violation};
use log_view::LogView;
use raft_core::{DurableState, Entry, HardState, LogIndex, NodeId, Term};
use registry::{AppliedEntry, AppliedLog, ChainRegistry, CommittedLog};
use std::collections::btree_map::Entry as MapEntry;
use std::collections::BTreeMap;

/// A node's current leadership.
#[derive(Clone, Copy, Debug)]
struct Leadership {
    term: Term,
    /// The node's last log index when it became leader.
    last_at_election: u64,
}

/// What the checker remembers about one node.
#[derive(Clone, Debug, Default)]
struct NodeState {
    /// In-memory term of the current incarnation.
    term: Term,
    /// The first vote seen in `term` during the current incarnation.
    vote: Option<NodeId>,
    /// The last hard state a sync made durable.
    durable: HardState,
    /// Every durable vote ever reported: term -> candidate.
    durable_votes: BTreeMap<Term, NodeId>,
    log: LogView,
    commit: u64,
    applied: u64,
    leader: Option<Leadership>,
}

/// Incremental safety checker over one run.
///
/// Feed it every state change of every node as it happens; it records each
/// broken property as a [`Violation`]. `event_index` is the simulator's event
/// counter, recorded in violations. Node numbers are the simulator's node
/// indices; a node's [`NodeId`] is taken to be its index.
///
/// # Reporting order
///
/// Report what one node input (one `Ready`) changed in this order: `term_vote`,
/// then `stepped_down` / `became_leader`, then `entries_written`, then
/// `committed`, then `applied`; `durable_hard_state` whenever a sync makes a hard
/// state durable; `crashed` / `restarted` as they happen. A node whose term rises
/// past the term it leads counts as stepped down even if `stepped_down` comes
/// later, so a deposed leader truncating its log is not taken for a leader
/// overwriting its own entries. A commit is attributed to the node's term as last
/// reported by `term_vote`; the term-qualified leader completeness check (a
/// leader of term T must hold what any node in a term below T knew committed)
/// relies on it.
#[derive(Clone, Debug, Default)]
pub struct SafetyChecker {
    nodes: Vec<NodeState>,
    /// term -> the node that led it (ever, across crashes).
    leaders: BTreeMap<Term, usize>,
    registry: ChainRegistry,
    committed: CommittedLog,
    applied: AppliedLog,
    violations: Vec<Violation>,
}

impl SafetyChecker {
    /// A checker for a cluster of `nodes` nodes with empty logs. (Calls about a
    /// node index beyond `nodes` grow the cluster.)
    #[must_use]
    pub fn new(nodes: usize) -> Self {
        SafetyChecker {
            nodes: vec![NodeState::default(); nodes],
            ..SafetyChecker::default()
        }
    }

    /// Every violation found so far, in detection order.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The node's in-memory term and vote after it handled an input (called only
    /// when they changed).
    ///
    /// Checks that the term never decreases within an incarnation, and that the
    /// node votes at most once per term: a different vote in the same term is a
    /// violation, also across restarts, but across a restart only votes that were
    /// reported durable (via [`SafetyChecker::durable_hard_state`]) count.
    pub fn term_vote(&mut self, event_index: u64, node: usize, term: Term, vote: Option<NodeId>) {
        let st = self.node_mut(node);
        let previous = st.term;
        if term != previous {
            st.term = term;
            st.vote = None;
        }
        if st.leader.is_some_and(|l| l.term < term) {
            st.leader = None;
        }
        if term < previous {
            self.report(
                Violation::new(
                    Property::TermMonotonic,
                    event_index,
                    "a node's term never decreases",
                    format!("n{node}'s term fell from {} to {}", previous.0, term.0),
                )
                .with_nodes(&[node])
                .with_term(term.0),
            );
        }
        if let Some(candidate) = vote {
            self.check_vote(event_index, node, term, candidate);
        }
    }

    /// A sync made `hs` durable on the node. Checks that the durable term and
    /// commit never decrease and that durable votes never change within a term.
    pub fn durable_hard_state(&mut self, event_index: u64, node: usize, hs: HardState) {
        let previous = std::mem::replace(&mut self.node_mut(node).durable, hs);
        self.check_durable_monotonic(event_index, node, previous, hs, "");
        self.record_durable_vote(event_index, node, hs, "durably voted");
    }

    /// The node became leader of `term`.
    ///
    /// Checks election safety (at most one leader per term over the whole run,
    /// crashes and restarts included) and leader completeness: every entry
    /// committed in a term below `term` is in this leader's log (one chain-hash
    /// comparison).
    pub fn became_leader(&mut self, event_index: u64, node: usize, term: Term) {
        self.ensure(node);
        match self.leaders.entry(term) {
            MapEntry::Vacant(slot) => {
                slot.insert(node);
            }
            MapEntry::Occupied(slot) if *slot.get() != node => {
                let other = *slot.get();
                self.report(
                    Violation::new(
                        Property::ElectionSafety,
                        event_index,
                        "at most one leader per term",
                        format!("n{other} and n{node} both leaders of term {}", term.0),
                    )
                    .with_nodes(&[other, node])
                    .with_term(term.0),
                );
            }
            MapEntry::Occupied(_) => {}
        }
        let st = &mut self.nodes[node];
        st.leader = Some(Leadership {
            term,
            last_at_election: st.log.last_index(),
        });
        let required = self.committed.required_for_leader(term);
        self.check_leader_holds(event_index, node, term, required);
    }

    /// The node is no longer leader (it stepped down, or crashed).
    pub fn stepped_down(&mut self, node: usize) {
        self.node_mut(node).leader = None;
    }

    /// The node's in-memory log changed: it is now its old log truncated before
    /// `entries[0].index`, followed by `entries` (exactly raft-core's `Ready::entries`).
    ///
    /// Checks leader append-only (while leader, `entries[0].index` is past the last
    /// index it had when elected and no entry of its own term is replaced), log
    /// matching (an entry at an (index, term) seen anywhere before has the same
    /// chain hash: same entry, same prefix), and that no committed entry is replaced.
    pub fn entries_written(&mut self, event_index: u64, node: usize, entries: &[Entry]) {
        self.ensure(node);
        let Some(first) = entries.first() else {
            return;
        };
        let from = first.index.0;
        if !self.check_write_position(event_index, node, entries) {
            return;
        }
        self.check_leader_append_only(event_index, node, from);
        self.nodes[node].log.truncate_from(from);
        self.append_entries(event_index, node, entries);
        if from <= self.nodes[node].commit {
            self.check_committed_prefix(event_index, node);
        }
    }

    /// The node's commit index rose to `commit`.
    ///
    /// Checks that commit never decreases within an incarnation and stays within
    /// the log, and that the node's committed prefix equals the global committed
    /// prefix where they overlap. Extends the global committed prefix, and when
    /// that raises what leaders of later terms must hold, checks every current
    /// leader of such a term (leader completeness on commit).
    pub fn committed(&mut self, event_index: u64, node: usize, commit: LogIndex) {
        let commit = commit.0;
        let st = self.node_mut(node);
        let (previous, last) = (st.commit, st.log.last_index());
        if commit <= previous {
            if commit < previous {
                self.report_commit_fell(event_index, node, previous, commit, "");
            }
            return;
        }
        if commit > last {
            self.report(
                Violation::new(
                    Property::CommitMonotonic,
                    event_index,
                    "commit index <= last log index",
                    format!("n{node} committed index {commit} beyond its last index {last}"),
                )
                .with_nodes(&[node])
                .with_index(commit),
            );
            return;
        }
        st.commit = commit;
        let term = st.term;
        let leads = st.leader.is_some_and(|l| l.term == term);
        self.check_committed_prefix(event_index, node);
        if leads {
            self.check_commit_survives_elections(event_index, node, commit);
        }
        self.extend_committed(node);
        if self.committed.observe(term, commit) {
            self.check_leaders_after_commit(event_index, term, commit);
        }
    }

    /// The node applied `entry` to its state machine.
    ///
    /// Checks state machine safety: applies are contiguous from the incarnation's
    /// start (the log's first index), each index once, only committed entries of
    /// the node's own log, and every node applies the same entry (term and payload)
    /// at each index.
    pub fn applied(&mut self, event_index: u64, node: usize, entry: &Entry) {
        let index = entry.index.0;
        let st = self.node_mut(node);
        let (previous, commit) = (st.applied, st.commit);
        st.applied = st.applied.max(index);
        let problem = if index <= previous {
            Some(format!(
                "n{node} applied index {index} again (already applied up to {previous})"
            ))
        } else if index != previous + 1 {
            Some(format!(
                "n{node} applied index {index} right after index {previous}"
            ))
        } else if index > commit {
            Some(format!(
                "n{node} applied index {index} beyond its commit index {commit}"
            ))
        } else {
            None
        };
        if let Some(found) = problem {
            let expected = "applies in index order, once each, only up to the commit index";
            self.report_sms(event_index, &[node], entry, expected, found);
            return;
        }
        let data_hash = hash::data_hash(entry);
        if !self.log_holds(node, entry, data_hash) {
            let found = format!(
                "n{node} applied an entry of term {} at index {index} that is not the one in its log",
                entry.term.0
            );
            self.report_sms(
                event_index,
                &[node],
                entry,
                "applied entries come from the node's log",
                found,
            );
            return;
        }
        let applied = AppliedEntry {
            term: entry.term,
            data_hash,
            node,
        };
        if let Some(earlier) = self.applied.check_or_insert(index, applied) {
            let found = format!(
                "n{} applied an entry of term {} at index {index}, n{node} a different one of term {}",
                earlier.node, earlier.term.0, entry.term.0
            );
            let nodes = [earlier.node, node];
            self.report_sms(
                event_index,
                &nodes,
                entry,
                "every node applies the same entry at each index",
                found,
            );
        }
    }

    /// The node crashed: its in-memory state (and leadership) is gone.
    pub fn crashed(&mut self, node: usize) {
        self.node_mut(node).leader = None;
    }

    /// The node restarted from `durable` (its disk).
    ///
    /// Checks its durable term and commit against the last durable hard state
    /// reported for it, re-registers its durable log (log matching) and checks that
    /// its committed prefix is the global one. Its log view becomes
    /// `durable.entries`, its applied index the prefix index. O(log) once.
    pub fn restarted(&mut self, event_index: u64, node: usize, durable: &DurableState) {
        let hs = durable.hard_state;
        let previous = std::mem::replace(&mut self.node_mut(node).durable, hs);
        self.check_durable_monotonic(event_index, node, previous, hs, " across a restart");
        self.record_durable_vote(event_index, node, hs, "restarted with a durable vote");
        let prefix = durable.prefix_index.0;
        let prefix_chain = self.prefix_chain(event_index, node, prefix, durable.prefix_term);
        let st = &mut self.nodes[node];
        st.log.reset(prefix, durable.prefix_term, prefix_chain);
        st.term = hs.term;
        st.vote = hs.vote;
        st.leader = None;
        st.commit = hs.commit.0.max(prefix);
        st.applied = prefix;
        if !durable.entries.is_empty()
            && self.check_write_position(event_index, node, &durable.entries)
        {
            self.append_entries(event_index, node, &durable.entries);
        }
        let st = &self.nodes[node];
        let (commit, last) = (st.commit, st.log.last_index());
        if commit > last {
            self.report(
                Violation::new(
                    Property::CommitMonotonic,
                    event_index,
                    "commit index <= last log index",
                    format!(
                        "n{node} restarted with commit index {commit} beyond its last index {last}"
                    ),
                )
                .with_nodes(&[node])
                .with_index(commit),
            );
            return;
        }
        self.check_committed_prefix(event_index, node);
    }

    // ----- helpers -----------------------------------------------------------

    fn ensure(&mut self, node: usize) {
        if self.nodes.len() <= node {
            self.nodes.resize_with(node + 1, NodeState::default);
        }
    }

    fn node_mut(&mut self, node: usize) -> &mut NodeState {
        self.ensure(node);
        &mut self.nodes[node]
    }

    fn report(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    fn report_sms(
        &mut self,
        event_index: u64,
        nodes: &[usize],
        entry: &Entry,
        expected: &str,
        found: String,
    ) {
        self.report(
            Violation::new(Property::StateMachineSafety, event_index, expected, found)
                .with_nodes(nodes)
                .with_term(entry.term.0)
                .with_index(entry.index.0),
        );
    }

    fn report_commit_fell(
        &mut self,
        event_index: u64,
        node: usize,
        from: u64,
        to: u64,
        what: &str,
    ) {
        self.report(
            Violation::new(
                Property::CommitMonotonic,
                event_index,
                "a node's commit index never decreases",
                format!("n{node}'s{what} commit index fell from {from} to {to}"),
            )
            .with_nodes(&[node])
            .with_index(to),
        );
    }

    /// A vote for `candidate` in `term`: the same as any earlier vote of this
    /// incarnation in `term`, or else any durable vote in `term`.
    fn check_vote(&mut self, event_index: u64, node: usize, term: Term, candidate: NodeId) {
        let st = &mut self.nodes[node];
        let differs = |v: &NodeId| *v != candidate;
        let in_memory = st.vote.filter(differs).map(|v| (v, "voting"));
        let durable = st.durable_votes.get(&term).copied().filter(differs);
        let earlier = in_memory.or(durable.map(|v| (v, "durably voting, before a restart,")));
        st.vote.get_or_insert(candidate);
        let Some((earlier, how)) = earlier else {
            return;
        };
        self.report_second_vote(
            event_index,
            node,
            term,
            format!(
                "n{node} voted for {candidate} in term {} after {how} for {earlier}",
                term.0
            ),
        );
    }

    /// Records `hs.vote` as durable; a different durable vote in the same term
    /// is a violation (`what` describes the new one).
    fn record_durable_vote(&mut self, event_index: u64, node: usize, hs: HardState, what: &str) {
        let Some(vote) = hs.vote else {
            return;
        };
        let earlier = match self.nodes[node].durable_votes.entry(hs.term) {
            MapEntry::Vacant(slot) => {
                slot.insert(vote);
                return;
            }
            MapEntry::Occupied(slot) => *slot.get(),
        };
        if earlier != vote {
            let found = format!(
                "n{node} {what} for {vote} in term {} after durably voting for {earlier}",
                hs.term.0
            );
            self.report_second_vote(event_index, node, hs.term, found);
        }
    }

    fn report_second_vote(&mut self, event_index: u64, node: usize, term: Term, found: String) {
        self.report(
            Violation::new(
                Property::VoteOncePerTerm,
                event_index,
                "at most one vote per node per term",
                found,
            )
            .with_nodes(&[node])
            .with_term(term.0),
        );
    }

    /// Durable term and commit never decrease (`context` says where).
    fn check_durable_monotonic(
        &mut self,
        event_index: u64,
        node: usize,
        previous: HardState,
        now: HardState,
        context: &str,
    ) {
        if now.term < previous.term {
            self.report(
                Violation::new(
                    Property::TermMonotonic,
                    event_index,
                    "a node's durable term never decreases",
                    format!(
                        "n{node}'s durable term fell from {} to {}{context}",
                        previous.term.0, now.term.0
                    ),
                )
                .with_nodes(&[node])
                .with_term(now.term.0),
            );
        }
        if now.commit < previous.commit {
            let what = format!(" durable{context}");
            self.report_commit_fell(event_index, node, previous.commit.0, now.commit.0, &what);
        }
    }
}
