//! The run-wide records the safety checks compare every node against:
//!
//! * [`ChainRegistry`]: (index, term) -> the chain hash first seen there (log matching);
//! * [`CommittedLog`]: the global committed prefix (term and chain per index) and,
//!   per term, how far commits observed in that term reached (leader completeness);
//! * [`AppliedLog`]: index -> the entry first applied there (state machine safety);
//! * [`VoteRegistry`]: (term, candidate) -> the nodes seen voting for it (election quorums).
//!
//! Each lookup and insert is O(1) (amortized O(log terms) for the commit frontier).
//! This module must never scan a whole log and never decide what a mismatch means:
//! it reports what it holds and the caller builds the violation.

use super::log_view::Slot;
use crate::hash::CHAIN_ROOT;
use raft_core::{NodeId, Term};
use std::collections::BTreeMap;

/// What a node wrote at one (index, term).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Written {
    pub(super) term: Term,
    pub(super) chain: u64,
    pub(super) data_hash: u64,
    pub(super) node: usize,
}

#[derive(Clone, Debug, Default)]
struct IndexSlot {
    first: Option<Written>,
    /// Other terms seen at the same index (rare: only after conflicts).
    more: Vec<Written>,
}

/// (index, term) -> the first chain hash written there, by whom.
#[derive(Clone, Debug, Default)]
pub(super) struct ChainRegistry {
    slots: Vec<IndexSlot>,
}

impl ChainRegistry {
    /// Records `w` at `index` unless an entry of the same term is already there;
    /// returns that earlier entry if its chain differs from `w`'s.
    pub(super) fn check_or_insert(&mut self, index: u64, w: Written) -> Option<Written> {
        let at = index.saturating_sub(1) as usize;
        if self.slots.len() <= at {
            self.slots.resize_with(at + 1, IndexSlot::default);
        }
        let slot = &mut self.slots[at];
        let Some(first) = slot.first else {
            slot.first = Some(w);
            return None;
        };
        let same_term = std::iter::once(&first)
            .chain(slot.more.iter())
            .find(|x| x.term == w.term);
        match same_term {
            Some(earlier) if earlier.chain != w.chain => Some(*earlier),
            Some(_) => None,
            None => {
                slot.more.push(w);
                None
            }
        }
    }
}

/// The global committed prefix and the commit frontier per term.
#[derive(Clone, Debug, Default)]
pub(super) struct CommittedLog {
    slots: Vec<Slot>,
    /// term -> the highest commit index any node reported while in that term,
    /// kept as a Pareto frontier: indices strictly increase with the term, so
    /// "how far did commits observed in terms below T reach" is one range lookup.
    frontier: BTreeMap<Term, u64>,
}

impl CommittedLog {
    /// The highest index known committed anywhere.
    pub(super) fn last_index(&self) -> u64 {
        self.slots.len() as u64
    }

    /// The chain hash of the committed entry at `index` (index 0: the root).
    pub(super) fn chain_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(CHAIN_ROOT);
        }
        self.slots.get(index as usize - 1).map(|s| s.chain)
    }

    /// The term of the committed entry at `index` (index 0: term 0).
    pub(super) fn term_at(&self, index: u64) -> Option<Term> {
        if index == 0 {
            return Some(Term(0));
        }
        self.slots.get(index as usize - 1).map(|s| s.term)
    }

    /// Extends the committed prefix by the entry at `last_index() + 1`.
    pub(super) fn push(&mut self, slot: Slot) {
        self.slots.push(slot);
    }

    /// How far a leader of `term` must hold the committed prefix: the highest
    /// commit index observed by any node while in a term below `term`.
    pub(super) fn required_for_leader(&self, term: Term) -> u64 {
        self.frontier
            .range(..term)
            .next_back()
            .map_or(0, |(_, &index)| index)
    }

    /// Records that a node in `term` knew `commit` committed. Returns whether
    /// this raised what some leader terms require.
    pub(super) fn observe(&mut self, term: Term, commit: u64) -> bool {
        let covered = self.frontier.range(..=term).next_back();
        if covered.is_some_and(|(_, &index)| index >= commit) {
            return false;
        }
        while let Some((&t, &index)) = self.frontier.range(term..).next() {
            if index > commit {
                break;
            }
            self.frontier.remove(&t);
        }
        self.frontier.insert(term, commit);
        true
    }
}

/// What a node applied at one index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AppliedEntry {
    pub(super) term: Term,
    pub(super) data_hash: u64,
    pub(super) node: usize,
}

/// index -> the entry first applied there.
#[derive(Clone, Debug, Default)]
pub(super) struct AppliedLog {
    slots: Vec<Option<AppliedEntry>>,
}

impl AppliedLog {
    /// Records `a` at `index` if nothing was applied there yet; returns the
    /// earlier entry if it differs (term or payload) from `a`.
    pub(super) fn check_or_insert(&mut self, index: u64, a: AppliedEntry) -> Option<AppliedEntry> {
        let at = index.saturating_sub(1) as usize;
        if self.slots.len() <= at {
            self.slots.resize(at + 1, None);
        }
        match self.slots[at] {
            None => {
                self.slots[at] = Some(a);
                None
            }
            Some(earlier) if earlier.term != a.term || earlier.data_hash != a.data_hash => {
                Some(earlier)
            }
            Some(_) => None,
        }
    }
}

/// The votes one candidate got in one term: bit `i` for node `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tally {
    term: Term,
    candidate: NodeId,
    voters: u64,
}

/// (term, candidate) -> the nodes (below 64) seen voting for it, any
/// incarnation. Kept sorted; votes arrive for the latest terms, so an insert
/// shifts only the last few tallies.
#[derive(Clone, Debug, Default)]
pub(super) struct VoteRegistry {
    tallies: Vec<Tally>,
}

impl VoteRegistry {
    /// Nodes that can be recorded (one bit each).
    pub(super) const MAX_NODES: usize = 64;

    /// Records that `voter` voted for `candidate` in `term` (ignored for a
    /// voter at or above [`VoteRegistry::MAX_NODES`]).
    pub(super) fn record(&mut self, term: Term, candidate: NodeId, voter: usize) {
        if voter >= Self::MAX_NODES {
            return;
        }
        let bit = 1u64 << voter;
        let key = (term, candidate);
        match self
            .tallies
            .binary_search_by(|t| (t.term, t.candidate).cmp(&key))
        {
            Ok(at) => self.tallies[at].voters |= bit,
            Err(at) => self.tallies.insert(
                at,
                Tally {
                    term,
                    candidate,
                    voters: bit,
                },
            ),
        }
    }

    /// The nodes seen voting for `candidate` in `term`, as a bit mask.
    pub(super) fn voters(&self, term: Term, candidate: NodeId) -> u64 {
        let key = (term, candidate);
        self.tallies
            .binary_search_by(|t| (t.term, t.candidate).cmp(&key))
            .map_or(0, |at| self.tallies[at].voters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_answers_prefix_maxima_over_terms() {
        let mut c = CommittedLog::default();
        assert_eq!(c.required_for_leader(Term(9)), 0);
        assert!(c.observe(Term(5), 10));
        assert!(!c.observe(Term(6), 8), "dominated by (5, 10)");
        assert!(c.observe(Term(7), 20));
        assert_eq!(c.required_for_leader(Term(5)), 0);
        assert_eq!(c.required_for_leader(Term(6)), 10);
        assert_eq!(c.required_for_leader(Term(7)), 10);
        assert_eq!(c.required_for_leader(Term(8)), 20);
        // A lower term reaching further dominates the later entries it covers.
        assert!(c.observe(Term(4), 25));
        assert_eq!(c.required_for_leader(Term(5)), 25);
        assert_eq!(c.required_for_leader(Term(8)), 25);
        assert_eq!(c.required_for_leader(Term(4)), 0);
        assert_eq!(c.frontier.len(), 1);
    }

    #[test]
    fn registry_reports_only_same_term_mismatches() {
        let mut r = ChainRegistry::default();
        let w = |term, chain, node| Written {
            term: Term(term),
            chain,
            data_hash: chain,
            node,
        };
        assert_eq!(r.check_or_insert(3, w(1, 11, 0)), None);
        assert_eq!(r.check_or_insert(3, w(1, 11, 1)), None);
        assert_eq!(
            r.check_or_insert(3, w(2, 22, 1)),
            None,
            "another term is fine"
        );
        assert_eq!(r.check_or_insert(3, w(2, 23, 2)), Some(w(2, 22, 1)));
        assert_eq!(r.check_or_insert(3, w(1, 12, 2)), Some(w(1, 11, 0)));
    }

    #[test]
    fn votes_are_tallied_per_term_and_candidate() {
        let mut v = VoteRegistry::default();
        v.record(Term(3), NodeId(1), 1);
        v.record(Term(2), NodeId(0), 2);
        v.record(Term(3), NodeId(1), 4);
        v.record(Term(3), NodeId(1), 4);
        v.record(Term(3), NodeId(2), 0);
        v.record(Term(3), NodeId(2), 64); // beyond the mask: not recorded
        assert_eq!(v.voters(Term(3), NodeId(1)), 0b10010);
        assert_eq!(v.voters(Term(3), NodeId(2)), 0b1);
        assert_eq!(v.voters(Term(2), NodeId(0)), 0b100);
        assert_eq!(v.voters(Term(2), NodeId(1)), 0);
        assert_eq!(v.voters(Term(4), NodeId(1)), 0);
    }
}
