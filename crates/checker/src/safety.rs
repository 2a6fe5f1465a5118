//! The incremental Raft safety checker: election safety, one vote per term,
//! leader append-only, log matching, leader completeness, state machine safety,
//! monotonic commit and monotonic terms, and configurations (membership): each
//! node's configuration follows its log, quorums are counted with it.
//!
//! This module owns [`SafetyChecker`] and what it remembers per node (term, vote,
//! durable hard state, a hash view of the log, the configurations of its log,
//! commit, applied, leadership) and per run (the bootstrap configuration, leaders
//! and votes per term, the (index, term) chain registry, the committed prefix,
//! the applied entries). Every call costs O(new entries) plus O(log) work
//! on the violation path only; it must never rescan a whole log or history on the
//! success path (the one exception is [`SafetyChecker::restarted`], O(log) once
//! per restart), never read a clock, and never iterate a hash map.
//! The order in which the simulator must report changes is on [`SafetyChecker`].

mod log_view;
mod logs;
mod membership;
#[cfg(test)]
mod membership_tests;
mod registry;
mod snapshots;
#[cfg(test)]
mod snapshots_tests;
#[cfg(test)]
mod tests;

use snapshots::StateOracle;

use crate::hash::{self, CHAIN_ROOT};
use crate::violation::{Property, Violation};
use log_view::LogView;
use membership::ConfRecord;
use raft_core::membership::Membership;
use raft_core::{DurableState, Entry, HardState, LogIndex, NodeId, Term};
use registry::{AppliedEntry, AppliedLog, ChainRegistry, CommittedLog, VoteRegistry};
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
    /// The configurations of the configuration entries in `log` that decode
    /// and apply, in index order (empty: the bootstrap configuration).
    confs: Vec<ConfRecord>,
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
/// # Configurations
///
/// The checker follows each node's configuration exactly as raft-core does:
/// the configuration of the latest configuration entry in the node's log,
/// committed or not, each applied in index order to the bootstrap
/// configuration (entries whose payload does not decode or apply are
/// skipped); truncating an entry falls back to the one before. Leader
/// completeness over future elections counts only the voters of the
/// leader's configuration (a majority of both halves while joint). With
/// [`SafetyChecker::check_election_quorums`] on (the default of
/// [`SafetyChecker::with_bootstrap`]), elections and commits must reach a
/// quorum of that configuration; [`SafetyChecker::batch_done`] and
/// [`SafetyChecker::membership`] check the configuration a node uses.
///
/// # Reporting order
///
/// Report what one node input (one `Ready`) changed in this order: `term_vote`,
/// then `stepped_down` / `became_leader`, then `entries_written`, then
/// `committed`, then `membership` (if the node's configuration changed) and
/// `batch_done`, then `applied`; `durable_hard_state` whenever a sync makes a hard
/// state durable; `crashed` / `restarted` as they happen. A node whose term rises
/// past the term it leads counts as stepped down even if `stepped_down` comes
/// later, so a deposed leader truncating its log is not taken for a leader
/// overwriting its own entries. A commit is attributed to the node's term as last
/// reported by `term_vote`; the term-qualified leader completeness check (a
/// leader of term T must hold what any node in a term below T knew committed)
/// relies on it.
#[derive(Clone, Debug)]
pub struct SafetyChecker {
    nodes: Vec<NodeState>,
    /// The configuration before any configuration entry.
    bootstrap: Membership,
    /// Whether `bootstrap` is "every node" and grows with the cluster
    /// ([`SafetyChecker::new`]).
    all_voters: bool,
    /// Whether elections and commits are checked against the quorums of the
    /// configuration ([`SafetyChecker::check_election_quorums`]).
    check_quorums: bool,
    /// term -> the node that led it (ever, across crashes).
    leaders: BTreeMap<Term, usize>,
    /// (term, candidate) -> who voted for it, ever.
    votes: VoteRegistry,
    registry: ChainRegistry,
    committed: CommittedLog,
    applied: AppliedLog,
    /// Every snapshot taken: index -> its term and configuration.
    snapshots: BTreeMap<u64, snapshots::TakenSnapshot>,
    /// The committed entries, to replay for restored states (recorded
    /// only while `track_state` is on).
    oracle: StateOracle,
    track_state: bool,
    violations: Vec<Violation>,
}

impl Default for SafetyChecker {
    /// The same as [`SafetyChecker::new`]`(0)`.
    fn default() -> Self {
        SafetyChecker::new(0)
    }
}

impl SafetyChecker {
    /// A checker for a cluster of `nodes` nodes with empty logs, every one of
    /// them a voter of the bootstrap configuration. (Calls about a node index
    /// beyond `nodes` grow the cluster, and the bootstrap configuration with
    /// it; configuration entries already written keep applying to the
    /// bootstrap configuration they were written under.) Election and commit
    /// quorums are not checked (see [`SafetyChecker::check_election_quorums`]).
    #[must_use]
    pub fn new(nodes: usize) -> Self {
        let ids: Vec<NodeId> = (0..nodes as u64).map(NodeId).collect();
        SafetyChecker {
            nodes: vec![NodeState::default(); nodes],
            bootstrap: Membership::bootstrap(&ids),
            all_voters: true,
            check_quorums: false,
            leaders: BTreeMap::new(),
            votes: VoteRegistry::default(),
            registry: ChainRegistry::default(),
            committed: CommittedLog::default(),
            applied: AppliedLog::default(),
            snapshots: BTreeMap::new(),
            oracle: StateOracle::default(),
            track_state: true,
            violations: Vec::new(),
        }
    }

    /// A checker for a cluster of `nodes` nodes with empty logs whose
    /// bootstrap configuration is [`Membership::bootstrap`]`(voters)` (node
    /// index `i` is `NodeId(i)`; the other nodes are not members until a
    /// configuration entry adds them). Election and commit quorums are
    /// checked ([`SafetyChecker::check_election_quorums`] is on).
    ///
    /// Votes are recorded for nodes below 64 only: an election in a
    /// configuration naming a voter of 64 or above is not checked for a
    /// quorum.
    ///
    /// ```
    /// use checker::{Property, SafetyChecker};
    /// use raft_core::membership::{Change, ConfChange};
    /// use raft_core::{Entry, EntryKind, NodeId, Term, LogIndex};
    ///
    /// // Voters n0, n1, n2; n0 leads term 1 and adds n3 as a learner.
    /// let mut c = SafetyChecker::with_bootstrap(4, &[NodeId(0), NodeId(1), NodeId(2)]);
    /// c.term_vote(1, 0, Term(1), Some(NodeId(0)));
    /// c.term_vote(2, 1, Term(1), Some(NodeId(0)));
    /// c.became_leader(3, 0, Term(1));
    /// let add = ConfChange::auto(vec![Change::AddLearner(NodeId(3))]);
    /// let entry = Entry { term: Term(1), index: LogIndex(1), kind: EntryKind::ConfChange, data: add.encode().into() };
    /// for n in 0..4 {
    ///     c.entries_written(4, n, &[entry.clone()]);
    /// }
    /// assert!(c.violations().is_empty());
    ///
    /// // n0 campaigns in term 2; its own vote and the learner n3's are not a
    /// // majority of the voters {n0, n1, n2}.
    /// c.term_vote(5, 0, Term(2), Some(NodeId(0)));
    /// c.term_vote(6, 3, Term(2), Some(NodeId(0)));
    /// c.became_leader(7, 0, Term(2));
    /// let v = &c.violations()[0];
    /// assert_eq!(v.property, Property::ElectionSafety);
    /// assert!(v.found.contains("with votes from {n0,n3} only, not a majority of the voters {n0,n1,n2}"), "{v}");
    /// ```
    #[must_use]
    pub fn with_bootstrap(nodes: usize, voters: &[NodeId]) -> Self {
        SafetyChecker {
            bootstrap: Membership::bootstrap(voters),
            all_voters: false,
            check_quorums: true,
            ..SafetyChecker::new(nodes)
        }
    }

    /// Turns the quorum checks on or off (off after [`SafetyChecker::new`],
    /// on after [`SafetyChecker::with_bootstrap`]). When on:
    ///
    /// * a node becoming leader of a term must be a voter of its
    ///   configuration in force (the latest configuration entry in its log),
    ///   and the nodes reported voting for it in that term (through
    ///   [`SafetyChecker::term_vote`], any incarnation) must include a
    ///   majority of that configuration's voters and, while it is joint, a
    ///   majority of its outgoing voters; learners and non-members never
    ///   count ([`Property::ElectionSafety`]);
    /// * a leader raising its commit index to `c` must have its entry at `c`
    ///   held (in the checker's view of their logs) by such a majority of
    ///   the voters of its configuration ([`Property::LeaderCompleteness`]).
    ///
    /// Votes are recorded whether or not the checks are on, so they may be
    /// turned on at any point of a run.
    pub fn check_election_quorums(&mut self, on: bool) {
        self.check_quorums = on;
    }

    /// Whether the committed entries are recorded, to compare states
    /// restored from snapshots with ([`SafetyChecker::state_restored`]; on
    /// by default). A run that takes no snapshot may turn it off and save
    /// the copies.
    pub fn track_state(&mut self, on: bool) {
        self.track_state = on;
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
            self.votes.record(term, candidate, node);
            self.check_vote(event_index, node, term, candidate);
        }
    }

    /// A sync made `hs` durable on the node. Checks that the durable term and
    /// commit never decrease and that durable votes never change within a term.
    pub fn durable_hard_state(&mut self, event_index: u64, node: usize, hs: HardState) {
        let previous = std::mem::replace(&mut self.node_mut(node).durable, hs);
        self.check_durable_monotonic(event_index, node, previous, hs, "");
        if (hs.term, hs.vote) != (previous.term, previous.vote) {
            // (The same term and vote as the last durable hard state were
            // recorded then: most syncs only move the commit index.)
            self.record_durable_vote(event_index, node, hs, "durably voted");
        }
    }

    /// The node became leader of `term`.
    ///
    /// Checks election safety (at most one leader per term over the whole run,
    /// crashes and restarts included; with
    /// [`SafetyChecker::check_election_quorums`], a leader is a voter of its
    /// configuration elected by a quorum of it) and leader completeness: every
    /// entry committed in a term below `term` is in this leader's log (one
    /// chain-hash comparison).
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
        if self.check_quorums {
            self.check_election_quorum(event_index, node, term);
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
    /// Follows the node's configuration: configuration entries replaced are
    /// dropped, new ones that decode and apply are added (as raft-core does).
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
        self.track_confs(node, from, entries);
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
    /// leader of such a term (leader completeness on commit). When the node
    /// leads its current term, checks that the commit survives every election
    /// its configuration still allows and, with
    /// [`SafetyChecker::check_election_quorums`], that a quorum of that
    /// configuration holds the entry.
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
        if leads && (!self.check_quorums || self.check_commit_quorum(event_index, node, commit)) {
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
        if self.track_state {
            self.oracle.observe(entry);
        }
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

    /// One node input's `entries_written` / `committed` calls are done; the
    /// node now uses the configuration set by its entry at
    /// `membership_index` (raft-core's `RaftNode::membership_index`, 0 for
    /// the bootstrap configuration).
    ///
    /// Checks ([`Property::Membership`]) that this is the latest
    /// configuration entry in the checker's view of the node's log, and, if
    /// the node leads its current term, that its log holds at most one
    /// configuration entry above the committed index (the checker's global
    /// committed prefix). It must come after `committed`: a leader that
    /// commits a joint configuration appends the entry leaving it in the
    /// same input. Configuration entries are counted as raft-core counts
    /// them: those whose payload decodes and applies. O(1).
    #[inline]
    pub fn batch_done(&mut self, event_index: u64, node: usize, membership_index: LogIndex) {
        if let Some(st) = self.nodes.get(node) {
            // The common case, decided without a call: the node uses the
            // latest configuration entry of its log, and a leader with at
            // most one configuration entry cannot hold two uncommitted ones.
            let latest = st.confs.last().map_or(0, |c| c.index);
            let leads = st.leader.is_some_and(|l| l.term == st.term);
            if latest == membership_index.0 && (!leads || st.confs.len() < 2) {
                return;
            }
        }
        self.ensure(node);
        self.check_latest_conf(event_index, node, membership_index.0, None);
        self.check_one_pending_conf(event_index, node);
    }

    /// The node's configuration in force changed: it is `m`, set by its entry
    /// at `index` (0: the bootstrap configuration).
    ///
    /// Checks ([`Property::Membership`]) that `index` is the latest
    /// configuration entry in the checker's view of the node's log and that
    /// `m` is the configuration the checker derived for it (the bootstrap
    /// configuration, then each configuration entry applied in turn).
    pub fn membership(&mut self, event_index: u64, node: usize, index: LogIndex, m: &Membership) {
        self.ensure(node);
        self.check_latest_conf(event_index, node, index.0, Some(m));
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
    /// `durable.entries` after its snapshot (if any: see
    /// [`SafetyChecker::snapshot_installed`] for what is checked of it),
    /// its applied index the snapshot's index, and its configuration the
    /// one its configuration entries give from the snapshot's (or the
    /// bootstrap configuration). O(log) once.
    pub fn restarted(&mut self, event_index: u64, node: usize, durable: &DurableState) {
        let hs = durable.hard_state;
        let previous = std::mem::replace(&mut self.node_mut(node).durable, hs);
        self.check_durable_monotonic(event_index, node, previous, hs, " across a restart");
        self.record_durable_vote(event_index, node, hs, "restarted with a durable vote");
        let prefix = durable.snapshot.as_ref().map_or(0, |s| s.meta.index.0);
        match &durable.snapshot {
            Some(snap) => self.start_from_snapshot(event_index, node, &snap.meta, "restarted from"),
            None => {
                let st = &mut self.nodes[node];
                st.log.reset(0, Term(0), CHAIN_ROOT);
                st.confs.clear();
            }
        }
        let st = &mut self.nodes[node];
        st.term = hs.term;
        st.vote = hs.vote;
        st.leader = None;
        st.commit = hs.commit.0.max(prefix);
        st.applied = prefix;
        let kept = durable.entries.partition_point(|e| e.index.0 <= prefix);
        let entries = &durable.entries[kept..];
        if !entries.is_empty() && self.check_write_position(event_index, node, entries) {
            self.append_entries(event_index, node, entries);
            self.track_confs(node, entries[0].index.0, entries);
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

    #[inline]
    fn ensure(&mut self, node: usize) {
        if self.nodes.len() <= node {
            self.grow(node);
        }
    }

    #[cold]
    fn grow(&mut self, node: usize) {
        if self.all_voters {
            let grown = self.nodes.len() as u64..=node as u64;
            self.bootstrap.voters.extend(grown.map(NodeId));
        }
        self.nodes.resize_with(node + 1, NodeState::default);
    }

    #[inline]
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
