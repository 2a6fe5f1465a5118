//! One node's log as the checker sees it: per index, the entry's term and chain
//! hash, after a (possibly compacted) prefix.
//!
//! This module owns index arithmetic over that view. It must never hold entry
//! payloads (only hashes) nor decide whether anything is a violation.

use crate::hash::CHAIN_ROOT;
use raft_core::Term;

/// One entry of a node's log: its term and its chain hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) term: Term,
    pub(super) chain: u64,
}

/// A node's log: a prefix ending at `prefix_index` (whose chain is
/// `prefix_chain`), then one [`Slot`] per index.
#[derive(Clone, Debug)]
pub(super) struct LogView {
    prefix_index: u64,
    prefix_term: Term,
    prefix_chain: u64,
    slots: Vec<Slot>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            prefix_index: 0,
            prefix_term: Term(0),
            prefix_chain: CHAIN_ROOT,
            slots: Vec::new(),
        }
    }
}

impl LogView {
    /// Empties the view and starts it after a prefix.
    pub(super) fn reset(&mut self, prefix_index: u64, prefix_term: Term, prefix_chain: u64) {
        self.prefix_index = prefix_index;
        self.prefix_term = prefix_term;
        self.prefix_chain = prefix_chain;
        self.slots.clear();
    }

    /// The last index of the compacted prefix (0 if none).
    pub(super) fn prefix_index(&self) -> u64 {
        self.prefix_index
    }

    /// The index of the last entry (the prefix index if there are none).
    pub(super) fn last_index(&self) -> u64 {
        self.prefix_index + self.slots.len() as u64
    }

    /// The chain hash at `index`: known for the prefix's last index and every
    /// entry held, `None` inside the prefix or past the end.
    pub(super) fn chain_at(&self, index: u64) -> Option<u64> {
        if index == self.prefix_index {
            return Some(self.prefix_chain);
        }
        self.slot(index).map(|s| s.chain)
    }

    /// The term at `index` (as for [`LogView::chain_at`]).
    pub(super) fn term_at(&self, index: u64) -> Option<Term> {
        if index == self.prefix_index {
            return Some(self.prefix_term);
        }
        self.slot(index).map(|s| s.term)
    }

    /// The entries at `from..=last_index()` (empty if `from` is past the end).
    pub(super) fn slots_from(&self, from: u64) -> &[Slot] {
        let start = from.saturating_sub(self.prefix_index + 1) as usize;
        self.slots.get(start..).unwrap_or(&[])
    }

    /// Drops every entry at or after `index` (`index > prefix_index`).
    pub(super) fn truncate_from(&mut self, index: u64) {
        let keep = index.saturating_sub(self.prefix_index + 1) as usize;
        self.slots.truncate(keep);
    }

    /// Appends the entry at `last_index() + 1`.
    pub(super) fn push(&mut self, term: Term, chain: u64) {
        self.slots.push(Slot { term, chain });
    }

    fn slot(&self, index: u64) -> Option<&Slot> {
        if index <= self.prefix_index {
            return None;
        }
        self.slots.get((index - self.prefix_index - 1) as usize)
    }
}
