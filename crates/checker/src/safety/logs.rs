//! The log checks of [`SafetyChecker`]: where a write may land, leader
//! append-only, log matching through the (index, term) chain registry,
//! leader completeness (a leader holds every entry committed before its
//! term, and a commit must survive every election still possible), and the
//! committed prefix every node's log must extend.
//!
//! Same rules as the parent module: O(new entries) on the success path,
//! never a rescan of a whole log, never a hash-map iteration.

use super::membership::describe;
use super::registry::Written;
use super::{hash, SafetyChecker, CHAIN_ROOT};
use crate::violation::{Property, Violation};
use raft_core::{Entry, LogIndex, NodeId, Term};

impl SafetyChecker {
    /// `entries` start inside or just after the node's log and are contiguous.
    pub(super) fn check_write_position(
        &mut self,
        event_index: u64,
        node: usize,
        entries: &[Entry],
    ) -> bool {
        let log = &self.nodes[node].log;
        let (prefix, last) = (log.prefix_index(), log.last_index());
        let from = entries.first().map_or(last + 1, |e| e.index.0);
        let gap = entries
            .windows(2)
            .find(|w| w[1].index.0 != w[0].index.0 + 1);
        let found = if from <= prefix || from > last + 1 {
            format!(
                "n{node} wrote entries from index {from} to a log holding indices {}..={last}",
                prefix + 1
            )
        } else if let Some(w) = gap {
            format!(
                "n{node} wrote index {} right after index {}",
                w[1].index.0, w[0].index.0
            )
        } else {
            return true;
        };
        self.report(
            Violation::new(
                Property::LogMatching,
                event_index,
                "logs are contiguous sequences of indices",
                found,
            )
            .with_nodes(&[node])
            .with_index(from),
        );
        false
    }

    /// While leader, a write may not replace what the node held when elected,
    /// nor any entry of its own term.
    pub(super) fn check_leader_append_only(&mut self, event_index: u64, node: usize, from: u64) {
        let st = &self.nodes[node];
        let Some(lead) = st.leader else {
            return;
        };
        let last = st.log.last_index();
        if from > last {
            return;
        }
        let replaces_own = st.log.slots_from(from).iter().any(|s| s.term == lead.term);
        if from > lead.last_at_election && !replaces_own {
            return;
        }
        self.report(
            Violation::new(
                Property::LeaderAppendOnly,
                event_index,
                "a leader only appends to its log",
                format!(
                    "n{node}, leader of term {}, overwrote its log from index {from} (last index {last}, {} when elected)",
                    lead.term.0, lead.last_at_election
                ),
            )
            .with_nodes(&[node])
            .with_term(lead.term.0)
            .with_index(from),
        );
    }

    /// Appends `entries` (contiguous after the node's last index) to its view,
    /// checking each against the (index, term) registry.
    pub(super) fn append_entries(&mut self, event_index: u64, node: usize, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        let log = &self.nodes[node].log;
        let mut prev = log.chain_at(first.index.0 - 1).unwrap_or(CHAIN_ROOT);
        let mut mismatch = None;
        for e in entries {
            let data_hash = hash::data_hash(e);
            let chain = hash::chain(prev, e.index, e.term, data_hash);
            if mismatch.is_none() {
                let written = Written {
                    term: e.term,
                    chain,
                    data_hash,
                    node,
                };
                mismatch = self
                    .registry
                    .check_or_insert(e.index.0, written)
                    .map(|earlier| (earlier, e.index.0, data_hash));
            }
            self.nodes[node].log.push(e.term, chain);
            prev = chain;
        }
        if let Some((earlier, index, data_hash)) = mismatch {
            self.report_log_mismatch(event_index, node, earlier, index, data_hash);
        }
    }

    fn report_log_mismatch(
        &mut self,
        event_index: u64,
        node: usize,
        earlier: Written,
        index: u64,
        data_hash: u64,
    ) {
        let term = earlier.term.0;
        let what = if earlier.data_hash == data_hash {
            "the same entry after different prefixes"
        } else {
            "different entries"
        };
        let found = format!(
            "n{} and n{node} hold {what} at index {index}, term {term}",
            earlier.node
        );
        let nodes: &[usize] = if earlier.node == node {
            &[node]
        } else {
            &[earlier.node, node]
        };
        self.report(
            Violation::new(
                Property::LogMatching,
                event_index,
                "entries with equal index and term are identical, with identical prefixes",
                found,
            )
            .with_nodes(nodes)
            .with_term(term)
            .with_index(index),
        );
    }

    /// The first index in `1..=upto` at which the node's log differs from the
    /// committed log (or lacks the entry); `None` if they agree up to `upto` or the
    /// node compacted past it. Chains are cumulative, so agreement at `upto` is one
    /// comparison; only a disagreement costs a binary search.
    fn first_divergence(&self, node: usize, upto: u64) -> Option<u64> {
        let log = &self.nodes[node].log;
        let lo = log.prefix_index();
        if upto <= lo {
            return None;
        }
        let agrees =
            |i: u64| log.chain_at(i).is_some() && log.chain_at(i) == self.committed.chain_at(i);
        if agrees(upto) {
            return None;
        }
        // Invariant: agrees(ok) (or ok is the prefix), !agrees(bad).
        let (mut ok, mut bad) = (lo, upto);
        while bad - ok > 1 {
            let mid = ok + (bad - ok) / 2;
            if agrees(mid) {
                ok = mid;
            } else {
                bad = mid;
            }
        }
        Some(bad)
    }

    /// Leader completeness: the leader `node` of `term` holds the committed
    /// prefix up to `upto`.
    pub(super) fn check_leader_holds(
        &mut self,
        event_index: u64,
        node: usize,
        term: Term,
        upto: u64,
    ) {
        let Some(missing) = self.first_divergence(node, upto) else {
            return;
        };
        let found = format!(
            "n{node}, leader of term {}, lacks the committed entry at index {missing} (committed up to {upto} in earlier terms)",
            term.0
        );
        self.report(
            Violation::new(
                Property::LeaderCompleteness,
                event_index,
                "every leader holds every entry committed in earlier terms",
                found,
            )
            .with_nodes(&[node])
            .with_term(term.0)
            .with_index(missing),
        );
    }

    /// Leader completeness over every possible future: when a leader commits
    /// `commit`, no node lacking that entry may be able to win an election,
    /// i.e. no such node may have a log at least as up to date as those of a
    /// majority (itself included). In correct Raft the majority holding the
    /// new entry of the leader's own term refuses it; a leader that commits
    /// an earlier term's entry by counting replicas (Figure 8) is caught here
    /// at once, without waiting for the unlucky election that would lose it.
    ///
    /// Elections are those of the leader's configuration in force: only its
    /// voters campaign and grant votes, and a win needs a majority of its
    /// voters and, while joint, of its outgoing voters. (Every node, when
    /// they all vote: [`SafetyChecker::new`] without configuration entries.)
    pub(super) fn check_commit_survives_elections(
        &mut self,
        event_index: u64,
        leader: usize,
        commit: u64,
    ) {
        let Some(chain) = self.nodes[leader].log.chain_at(commit) else {
            return;
        };
        let entry_term = self.nodes[leader].log.term_at(commit).unwrap_or_default().0;
        let last_of = |id: NodeId| {
            usize::try_from(id.0)
                .ok()
                .and_then(|n| self.nodes.get(n))
                .map_or((Term(0), 0), |st| {
                    let last = st.log.last_index();
                    (st.log.term_at(last).unwrap_or_default(), last)
                })
        };
        let (conf_index, m) = self.latest_conf(leader);
        let grants = |x_last: (Term, u64), half: &[NodeId]| {
            half.iter().filter(|&&v| x_last >= last_of(v)).count()
        };
        let outgoing_only = m
            .outgoing
            .iter()
            .filter(|v| m.voters.binary_search(v).is_err());
        let mut winner = None;
        for &x in m.voters.iter().chain(outgoing_only) {
            if self.node_holds(x, commit, chain) {
                continue;
            }
            let x_last = last_of(x);
            let incoming = grants(x_last, &m.voters);
            if incoming < m.voters.len() / 2 + 1 {
                continue;
            }
            let outgoing = grants(x_last, &m.outgoing);
            if m.is_joint() && outgoing < m.outgoing.len() / 2 + 1 {
                continue;
            }
            let every_node = self.all_voters && conf_index == 0;
            let mut found = format!(
                "n{leader} committed index {commit} (term {entry_term}) but n{}, which lacks it, could still win an election: its log (last {}@{}) is at least as up to date as {incoming} of {} {}'",
                x.0,
                x_last.1,
                x_last.0 .0,
                m.voters.len(),
                if every_node { "nodes" } else { "voters" }
            );
            if m.is_joint() {
                found += &format!(" and {outgoing} of {} outgoing voters'", m.outgoing.len());
            }
            if !every_node {
                found += &format!(" of the configuration {}", describe(conf_index, m));
            }
            winner = Some((x, found));
            break;
        }
        let Some((x, found)) = winner else {
            return;
        };
        self.report(
            Violation::new(
                Property::LeaderCompleteness,
                event_index,
                "a committed entry is held by a majority that refuses any candidate lacking it",
                found,
            )
            .with_nodes(&[leader, x.0 as usize])
            .with_index(commit),
        );
    }

    /// Every current leader of a term above `observer_term` holds the committed
    /// prefix up to `commit`.
    pub(super) fn check_leaders_after_commit(
        &mut self,
        event_index: u64,
        observer_term: Term,
        commit: u64,
    ) {
        for node in 0..self.nodes.len() {
            if let Some(lead) = self.nodes[node].leader.filter(|l| l.term > observer_term) {
                self.check_leader_holds(event_index, node, lead.term, commit);
            }
        }
    }

    /// The node's committed prefix is the global committed prefix where they overlap.
    pub(super) fn check_committed_prefix(&mut self, event_index: u64, node: usize) {
        let st = &self.nodes[node];
        let upto = st.commit.min(self.committed.last_index());
        let Some(index) = self.first_divergence(node, upto) else {
            return;
        };
        let global = self.committed.term_at(index).unwrap_or_default().0;
        let found = match st.log.term_at(index) {
            Some(t) => format!(
                "n{node} holds an entry of term {} at committed index {index}, where an entry of term {global} was committed",
                t.0
            ),
            None => format!("n{node} no longer holds committed index {index} (term {global})"),
        };
        self.report(
            Violation::new(
                Property::StateMachineSafety,
                event_index,
                "committed entries never change",
                found,
            )
            .with_nodes(&[node])
            .with_term(global)
            .with_index(index),
        );
    }

    /// Extends the global committed prefix with the node's entries up to its commit.
    pub(super) fn extend_committed(&mut self, node: usize) {
        let log = &self.nodes[node].log;
        let from = self.committed.last_index() + 1;
        let commit = self.nodes[node].commit;
        if from > commit || from <= log.prefix_index() {
            return;
        }
        let count = (commit - from + 1) as usize;
        for slot in log.slots_from(from).iter().take(count) {
            self.committed.push(*slot);
        }
    }

    /// Whether the node's log holds `entry` (same term and payload after the same prefix).
    pub(super) fn log_holds(&self, node: usize, entry: &Entry, data_hash: u64) -> bool {
        let log = &self.nodes[node].log;
        let index = entry.index.0;
        let Some(prev) = log.chain_at(index.saturating_sub(1)) else {
            return false;
        };
        log.term_at(index) == Some(entry.term)
            && log.chain_at(index) == Some(hash::chain(prev, entry.index, entry.term, data_hash))
    }

    /// The chain hash to start a restarted log from: the committed chain at its
    /// compacted prefix, which must be a committed entry.
    pub(super) fn prefix_chain(
        &mut self,
        event_index: u64,
        node: usize,
        prefix: u64,
        term: Term,
    ) -> u64 {
        if prefix == 0 {
            return CHAIN_ROOT;
        }
        if self.committed.term_at(prefix) == Some(term) {
            if let Some(chain) = self.committed.chain_at(prefix) {
                return chain;
            }
        }
        let found = format!(
            "n{node} restarted from a compacted prefix ending at index {prefix} (term {}) that is not a committed entry (committed up to {})",
            term.0,
            self.committed.last_index()
        );
        self.report(
            Violation::new(
                Property::StateMachineSafety,
                event_index,
                "only committed entries are compacted",
                found,
            )
            .with_nodes(&[node])
            .with_term(term.0)
            .with_index(prefix),
        );
        hash::opaque_prefix(LogIndex(prefix), term)
    }
}
