//! The in-memory Raft log: a compacted prefix described by its last index and
//! term, the entries after it, and the four cursors that order everything the
//! host does with them:
//!
//! `applied <= committed`, `applied <= persisted`, `persisted < unstable_from`,
//! `committed <= last_index`, all `>= prefix_index`.
//!
//! * `unstable_from`: the first entry not yet handed to the host for writing;
//! * `persisted`: the last entry the host reported durable;
//! * `committed`: the last entry known committed;
//! * `applied`: the last entry handed out for applying (never beyond `persisted`).
//!
//! The log never does I/O; the node copies new entries into a `Ready` and the
//! host writes them.

use crate::types::{Entry, LogIndex, Term};
use std::fmt;

/// The replicated log of one node.
#[derive(Clone, Debug)]
pub struct RaftLog {
    prefix_index: LogIndex,
    prefix_term: Term,
    entries: Vec<Entry>,
    committed: LogIndex,
    applied: LogIndex,
    persisted: LogIndex,
    unstable_from: LogIndex,
}

/// Durable state that cannot be a log: entries not contiguous after the
/// prefix, or a commit index beyond the last entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRestoreError(pub String);

impl fmt::Display for LogRestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "durable log is inconsistent: {}", self.0)
    }
}

impl std::error::Error for LogRestoreError {}

impl RaftLog {
    /// An empty log with nothing compacted.
    #[must_use]
    pub fn new() -> RaftLog {
        RaftLog {
            prefix_index: LogIndex(0),
            prefix_term: Term(0),
            entries: Vec::new(),
            committed: LogIndex(0),
            applied: LogIndex(0),
            persisted: LogIndex(0),
            unstable_from: LogIndex(1),
        }
    }

    /// Rebuilds a log from durable state: a compacted prefix ending at
    /// (`prefix_index`, `prefix_term`), the entries after it, and the durable
    /// commit index. Everything given is durable; nothing is applied past the
    /// prefix. Entries at or below the prefix (a log not yet trimmed after
    /// its snapshot) are dropped, provided the one at the prefix, if any,
    /// has the prefix's term.
    pub fn restore(
        prefix_index: LogIndex,
        prefix_term: Term,
        mut entries: Vec<Entry>,
        committed: LogIndex,
    ) -> Result<RaftLog, LogRestoreError> {
        let covered = entries.partition_point(|e| e.index <= prefix_index);
        if let Some(at_prefix) = entries[..covered].iter().find(|e| e.index == prefix_index) {
            if at_prefix.term != prefix_term {
                return Err(LogRestoreError(format!(
                    "entry {} has {} but the snapshot there has {}",
                    prefix_index, at_prefix.term, prefix_term
                )));
            }
        }
        entries.drain(..covered);
        let mut expected = prefix_index.next();
        let mut last_term = prefix_term;
        for e in &entries {
            if e.index != expected {
                return Err(LogRestoreError(format!(
                    "entry {} where {} was expected",
                    e.index, expected
                )));
            }
            if e.term < last_term {
                return Err(LogRestoreError(format!("term decreases at {}", e.index)));
            }
            last_term = e.term;
            expected = expected.next();
        }
        let last = expected.prev();
        if committed > last {
            return Err(LogRestoreError(format!(
                "commit {committed} beyond last index {last}"
            )));
        }
        Ok(RaftLog {
            prefix_index,
            prefix_term,
            entries,
            committed: committed.max(prefix_index),
            applied: prefix_index,
            persisted: last,
            unstable_from: last.next(),
        })
    }

    /// The first index held in memory (after the compacted prefix).
    #[must_use]
    #[inline]
    pub fn first_index(&self) -> LogIndex {
        self.prefix_index.next()
    }

    /// The index of the last entry (the prefix index if there are none).
    #[must_use]
    #[inline]
    pub fn last_index(&self) -> LogIndex {
        LogIndex(self.prefix_index.0 + self.entries.len() as u64)
    }

    /// The term of the last entry.
    #[must_use]
    #[inline]
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.prefix_term, |e| e.term)
    }

    /// The committed index.
    #[must_use]
    #[inline]
    pub fn committed(&self) -> LogIndex {
        self.committed
    }

    /// The last index handed out for applying.
    #[must_use]
    #[inline]
    pub fn applied(&self) -> LogIndex {
        self.applied
    }

    /// The last index the host reported durable.
    #[must_use]
    #[inline]
    pub fn persisted(&self) -> LogIndex {
        self.persisted
    }

    /// The first index not yet handed to the host for writing.
    #[must_use]
    #[inline]
    pub(crate) fn unstable_from(&self) -> LogIndex {
        self.unstable_from
    }

    /// The four cursors, writable, for tests that corrupt a log on purpose.
    #[cfg(test)]
    pub(crate) fn cursors_mut(&mut self) -> CursorsMut<'_> {
        CursorsMut {
            committed: &mut self.committed,
            applied: &mut self.applied,
            persisted: &mut self.persisted,
            unstable_from: &mut self.unstable_from,
        }
    }

    /// The term at `index`, or `None` if it is compacted away or beyond the end.
    #[must_use]
    #[inline]
    pub fn term(&self, index: LogIndex) -> Option<Term> {
        if index == self.prefix_index {
            return Some(self.prefix_term);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if held.
    #[must_use]
    #[inline]
    pub fn entry(&self, index: LogIndex) -> Option<&Entry> {
        if index <= self.prefix_index {
            return None;
        }
        self.entries.get((index.0 - self.first_index().0) as usize)
    }

    /// All entries held in memory.
    #[must_use]
    #[inline]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether a log ending at (`last_index`, `last_term`) is at least as
    /// up to date as this one (§5.4.1).
    #[must_use]
    pub fn is_up_to_date(&self, last_index: LogIndex, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// The first entry of `entries` that is not already in the log with the
    /// same term, if any.
    fn find_conflict(&self, entries: &[Entry]) -> Option<usize> {
        entries
            .iter()
            .position(|e| self.term(e.index) != Some(e.term))
    }

    /// The follower side of `AppendEntries`: if the log has
    /// (`prev_index`, `prev_term`), appends `entries`, truncating only at the
    /// first real conflict, and commits up to `min(leader_commit, last new
    /// index)`. Returns the last new index, or `None` if the consistency check
    /// failed. Entries that already match (a duplicated or reordered message)
    /// change nothing.
    ///
    /// # Panics
    /// If the leader's entries conflict with a committed entry: the cluster
    /// has lost safety and continuing would spread the corruption.
    pub fn maybe_append(
        &mut self,
        prev_index: LogIndex,
        prev_term: Term,
        leader_commit: LogIndex,
        entries: &[Entry],
    ) -> Option<LogIndex> {
        if self.term(prev_index) != Some(prev_term) {
            return None;
        }
        let last_new = LogIndex(prev_index.0 + entries.len() as u64);
        if let Some(at) = self.find_conflict(entries) {
            let conflict = entries[at].index;
            assert!(
                conflict > self.committed,
                "entry {conflict} conflicts with committed index {}",
                self.committed
            );
            self.truncate_and_append(&entries[at..]);
        }
        self.commit_to(leader_commit.min(last_new));
        Some(last_new)
    }

    /// Appends entries contiguous with some index in the log, dropping every
    /// existing entry at or after the first new index.
    pub fn truncate_and_append(&mut self, new: &[Entry]) {
        let Some(first) = new.first() else { return };
        let first = first.index;
        debug_assert!(first > self.committed, "truncating committed entries");
        debug_assert!(first > self.prefix_index && first <= self.last_index().next());
        self.entries
            .truncate((first.0 - self.first_index().0) as usize);
        self.entries.extend_from_slice(new);
        self.unstable_from = self.unstable_from.min(first);
        self.persisted = self.persisted.min(first.prev());
    }

    /// Appends one entry at the end (the leader's path).
    pub fn append(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.last_index().next());
        debug_assert!(entry.term >= self.last_term());
        self.entries.push(entry);
    }

    /// Fast backoff: the largest index at or below `index` whose term is at
    /// most `term`, with its term. Returns term 0 for a compacted position
    /// (below the prefix, when even the prefix's term is above `term`: a
    /// leader then knows the follower needs its snapshot).
    #[must_use]
    pub fn find_conflict_by_term(&self, index: LogIndex, term: Term) -> (LogIndex, Term) {
        let mut i = index.min(self.last_index());
        loop {
            match self.term(i) {
                Some(t) if t <= term => return (i, t),
                Some(_) if i.0 > 0 => i = i.prev(),
                _ => return (i, Term(0)),
            }
        }
    }

    /// Up to `max_count` entries (and `max_bytes`, but at least one) from `from`.
    #[must_use]
    pub fn entries_from(&self, from: LogIndex, max_count: usize, max_bytes: u64) -> Vec<Entry> {
        if from <= self.prefix_index || from > self.last_index() {
            return Vec::new();
        }
        let start = (from.0 - self.first_index().0) as usize;
        let end = self.entries.len().min(start + max_count);
        let mut bytes = 0;
        let mut taken = Vec::with_capacity(end - start);
        for e in &self.entries[start..end] {
            bytes += e.size_bytes();
            if !taken.is_empty() && bytes > max_bytes {
                break;
            }
            taken.push(e.clone());
        }
        taken
    }

    /// Raises the commit index. Never lowers it.
    pub fn commit_to(&mut self, index: LogIndex) {
        if index > self.committed {
            assert!(
                index <= self.last_index(),
                "commit {index} beyond last index {}",
                self.last_index()
            );
            self.committed = index;
        }
    }

    /// The leader's commit: raises the commit index to `index` only if that
    /// entry is of `term` (the leader's own term, §5.4.2).
    pub fn maybe_commit(&mut self, index: LogIndex, term: Term) -> bool {
        if index > self.committed && self.term(index) == Some(term) {
            self.commit_to(index);
            return true;
        }
        false
    }

    /// Compacts the log up to `index` (a snapshot holds it now): drops the
    /// entries up to it and keeps (`index`, its term) as the prefix.
    /// Returns false, changing nothing, unless `index` is applied, past the
    /// prefix, and held.
    pub fn compact_to(&mut self, index: LogIndex) -> bool {
        let Some(term) = self.term(index) else {
            return false;
        };
        if index <= self.prefix_index || index > self.applied {
            return false;
        }
        self.entries
            .drain(..(index.0 - self.prefix_index.0) as usize);
        self.prefix_index = index;
        self.prefix_term = term;
        true
    }

    /// Replaces the whole log by a snapshot's (`index`, `term`) (§7: the
    /// log does not hold that entry): nothing after it, everything up to it
    /// committed, applied (the snapshot is the state) and, as far as this
    /// node counts, durable (what depends on it waits for the batch that
    /// writes the snapshot).
    pub fn install_snapshot(&mut self, index: LogIndex, term: Term) {
        debug_assert!(index > self.committed, "installing a committed prefix");
        self.entries.clear();
        self.prefix_index = index;
        self.prefix_term = term;
        self.committed = index;
        self.applied = index;
        self.persisted = index;
        self.unstable_from = index.next();
    }

    /// Entries not yet handed to the host for writing.
    #[must_use]
    pub fn unstable_entries(&self) -> &[Entry] {
        if self.unstable_from > self.last_index() {
            return &[];
        }
        &self.entries[(self.unstable_from.0 - self.first_index().0) as usize..]
    }

    /// Marks every entry as handed to the host.
    pub fn mark_handed_out(&mut self) {
        self.unstable_from = self.last_index().next();
    }

    /// The host made everything up to (`index`, `term`) durable. Ignored if
    /// that entry was replaced meanwhile or was never handed out.
    pub fn persisted_to(&mut self, index: LogIndex, term: Term) {
        if index > self.persisted && index < self.unstable_from && self.term(index) == Some(term) {
            self.persisted = index;
        }
    }

    /// Committed, durable entries not yet handed out for applying.
    #[must_use]
    pub fn entries_to_apply(&self) -> &[Entry] {
        let hi = self.committed.min(self.persisted);
        if hi <= self.applied {
            return &[];
        }
        let first = self.first_index().0;
        &self.entries[(self.applied.0 + 1 - first) as usize..=(hi.0 - first) as usize]
    }

    /// Records that everything up to `index` was handed out for applying.
    pub fn applied_to(&mut self, index: LogIndex) {
        debug_assert!(index <= self.committed && index <= self.persisted);
        self.applied = self.applied.max(index);
    }
}

impl Default for RaftLog {
    fn default() -> Self {
        RaftLog::new()
    }
}

/// The log's cursors, writable (tests only: a corrupted log on purpose).
#[cfg(test)]
pub(crate) struct CursorsMut<'a> {
    /// The committed index.
    pub committed: &'a mut LogIndex,
    /// The last index handed out for applying.
    pub applied: &'a mut LogIndex,
    /// The last index reported durable.
    pub persisted: &'a mut LogIndex,
    /// The first index not yet handed out for writing.
    pub unstable_from: &'a mut LogIndex,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::EntryKind;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn ent(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::new(),
        }
    }

    fn log_of(terms: &[u64]) -> RaftLog {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| ent(i as u64 + 1, t))
            .collect();
        RaftLog::restore(LogIndex(0), Term(0), entries, LogIndex(0)).expect("valid log")
    }

    fn terms(log: &RaftLog) -> Vec<u64> {
        log.entries().iter().map(|e| e.term.0).collect()
    }

    #[test]
    fn restore_rejects_gaps_and_commit_beyond_end() {
        assert!(RaftLog::restore(LogIndex(0), Term(0), vec![ent(2, 1)], LogIndex(0)).is_err());
        assert!(RaftLog::restore(LogIndex(0), Term(0), vec![ent(1, 1)], LogIndex(2)).is_err());
        assert!(RaftLog::restore(
            LogIndex(0),
            Term(0),
            vec![ent(1, 2), ent(2, 1)],
            LogIndex(0)
        )
        .is_err());
        let log = RaftLog::restore(LogIndex(10), Term(3), vec![ent(11, 3)], LogIndex(11))
            .expect("a compacted log starts after its prefix");
        assert_eq!(log.first_index(), LogIndex(11));
        assert_eq!(log.term(LogIndex(10)), Some(Term(3)));
        assert_eq!(log.term(LogIndex(9)), None);
    }

    #[test]
    fn matching_entries_never_truncate() {
        let mut log = log_of(&[1, 1, 2, 2]);
        // A stale message carrying a prefix of what we have.
        assert_eq!(
            log.maybe_append(LogIndex(1), Term(1), LogIndex(0), &[ent(2, 1)]),
            Some(LogIndex(2))
        );
        assert_eq!(
            terms(&log),
            vec![1, 1, 2, 2],
            "matching entries must not truncate"
        );
        // A real conflict truncates from the conflict.
        assert_eq!(
            log.maybe_append(LogIndex(2), Term(1), LogIndex(0), &[ent(3, 3)]),
            Some(LogIndex(3))
        );
        assert_eq!(terms(&log), vec![1, 1, 3]);
        // Mismatched prev entry: rejected, nothing changes.
        assert_eq!(
            log.maybe_append(LogIndex(3), Term(2), LogIndex(0), &[ent(4, 3)]),
            None
        );
        assert_eq!(terms(&log), vec![1, 1, 3]);
    }

    #[test]
    fn follower_commit_is_min_of_leader_commit_and_last_new() {
        let mut log = log_of(&[1, 1, 1, 1, 1]);
        // Leader says commit 5, but this message only vouches for index 2.
        log.maybe_append(LogIndex(1), Term(1), LogIndex(5), &[ent(2, 1)]);
        assert_eq!(log.committed(), LogIndex(2));
        log.maybe_append(LogIndex(2), Term(1), LogIndex(1), &[]);
        assert_eq!(log.committed(), LogIndex(2), "commit never goes back");
    }

    #[test]
    fn find_conflict_by_term_skips_whole_terms() {
        let log = log_of(&[1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
        assert_eq!(
            log.find_conflict_by_term(LogIndex(10), Term(6)),
            (LogIndex(10), Term(6))
        );
        assert_eq!(
            log.find_conflict_by_term(LogIndex(10), Term(5)),
            (LogIndex(7), Term(5))
        );
        assert_eq!(
            log.find_conflict_by_term(LogIndex(10), Term(3)),
            (LogIndex(3), Term(1))
        );
        assert_eq!(
            log.find_conflict_by_term(LogIndex(10), Term(0)),
            (LogIndex(0), Term(0))
        );
        assert_eq!(
            log.find_conflict_by_term(LogIndex(20), Term(9)),
            (LogIndex(10), Term(6))
        );
    }

    #[test]
    fn persisted_and_applied_cursors() {
        let mut log = RaftLog::new();
        log.append(ent(1, 1));
        log.append(ent(2, 1));
        assert_eq!(log.unstable_entries().len(), 2);
        log.persisted_to(LogIndex(2), Term(1));
        assert_eq!(log.persisted(), LogIndex(0), "not handed out yet");
        log.mark_handed_out();
        log.commit_to(LogIndex(2));
        assert!(log.entries_to_apply().is_empty(), "nothing durable yet");
        log.persisted_to(LogIndex(2), Term(2));
        assert_eq!(log.persisted(), LogIndex(0), "wrong term is ignored");
        log.persisted_to(LogIndex(1), Term(1));
        assert_eq!(log.entries_to_apply().len(), 1);
        log.applied_to(LogIndex(1));
        log.persisted_to(LogIndex(2), Term(1));
        assert_eq!(log.entries_to_apply()[0].index, LogIndex(2));
    }

    #[test]
    fn compaction_keeps_the_suffix_and_the_prefix_term() {
        let mut log = log_of(&[1, 1, 2, 2, 3]);
        log.mark_handed_out();
        log.persisted_to(LogIndex(5), Term(3));
        log.commit_to(LogIndex(4));
        log.applied_to(LogIndex(3));
        assert!(!log.compact_to(LogIndex(4)), "not applied yet");
        assert!(log.compact_to(LogIndex(3)));
        assert_eq!(log.first_index(), LogIndex(4));
        assert_eq!(log.term(LogIndex(3)), Some(Term(2)));
        assert_eq!(log.entry(LogIndex(3)), None);
        assert_eq!(terms(&log), vec![2, 3]);
        assert!(!log.compact_to(LogIndex(3)), "already compacted");
        assert!(!log.compact_to(LogIndex(2)), "below the prefix");
        assert!(log.entries_from(LogIndex(3), 10, u64::MAX).is_empty());
        assert_eq!(
            log.find_conflict_by_term(LogIndex(2), Term(9)),
            (LogIndex(2), Term(0))
        );
    }

    #[test]
    fn installing_a_snapshot_replaces_the_log() {
        let mut log = log_of(&[1, 1, 2]);
        log.install_snapshot(LogIndex(7), Term(4));
        assert_eq!(
            (log.first_index(), log.last_index(), log.last_term()),
            (LogIndex(8), LogIndex(7), Term(4))
        );
        assert_eq!(
            (log.committed(), log.applied(), log.persisted()),
            (LogIndex(7), LogIndex(7), LogIndex(7))
        );
        assert!(log.entries_to_apply().is_empty() && log.unstable_entries().is_empty());
        assert_eq!(
            log.maybe_append(LogIndex(7), Term(4), LogIndex(8), &[ent(8, 4)]),
            Some(LogIndex(8))
        );
        assert_eq!(log.committed(), LogIndex(8));
    }

    #[test]
    fn restore_skips_entries_a_snapshot_covers() {
        let entries = vec![ent(4, 1), ent(5, 2), ent(6, 2)];
        let log = RaftLog::restore(LogIndex(5), Term(2), entries.clone(), LogIndex(5))
            .expect("entries up to the snapshot are dropped");
        assert_eq!(terms(&log), vec![2]);
        assert_eq!(log.first_index(), LogIndex(6));
        assert!(
            RaftLog::restore(LogIndex(5), Term(3), entries, LogIndex(5)).is_err(),
            "a log that disagrees with the snapshot at its index"
        );
    }

    #[test]
    fn entries_from_respects_limits() {
        let log = log_of(&[1, 1, 1, 1]);
        assert_eq!(log.entries_from(LogIndex(2), 2, u64::MAX).len(), 2);
        assert_eq!(
            log.entries_from(LogIndex(2), 10, 1).len(),
            1,
            "at least one entry"
        );
        assert_eq!(log.entries_from(LogIndex(2), 10, 48).len(), 2);
        assert!(log.entries_from(LogIndex(5), 10, u64::MAX).is_empty());
    }

    proptest! {
        /// Appending a leader's suffix at any consistent point leaves exactly
        /// the leader's log up to the last new index, and never truncates
        /// when everything matches.
        #[test]
        fn append_makes_prefix_match_leader(
            leader_runs in prop::collection::vec(1u64..4, 1..20),
            follower_cut in 0usize..20,
            follower_extra in prop::collection::vec(0u64..3, 0..6),
            prev in 0usize..20,
            count in 0usize..20,
        ) {
            // Leader log with non-decreasing odd terms.
            let mut t = 0;
            let leader_terms: Vec<u64> = leader_runs.iter().map(|d| { t += d - 1; 2 * t + 1 }).collect();
            let leader = log_of(&leader_terms);
            // Follower: a prefix of the leader plus divergent entries of even
            // terms the leader never had (so Log Matching holds between them).
            let cut = follower_cut.min(leader_terms.len());
            let mut fterms: Vec<u64> = leader_terms[..cut].to_vec();
            let base = fterms.last().copied().unwrap_or(1);
            let mut extra = follower_extra.clone();
            extra.sort_unstable();
            for x in &extra { fterms.push(base + 1 + 2 * x); }
            let mut follower = log_of(&fterms);
            let before = terms(&follower);
            let prev = LogIndex(prev.min(leader_terms.len()) as u64);
            let sent = leader.entries_from(prev.next(), count, u64::MAX);
            let prev_term = leader.term(prev).unwrap_or(Term(0));
            match follower.maybe_append(prev, prev_term, LogIndex(0), &sent) {
                None => prop_assert_eq!(terms(&follower), before),
                Some(last_new) => {
                    for i in 1..=last_new.0 {
                        prop_assert_eq!(follower.term(LogIndex(i)), leader.term(LogIndex(i)));
                    }
                    let all_matched = sent.iter().all(|e| {
                        (e.index.0 as usize) <= before.len() && before[e.index.0 as usize - 1] == e.term.0
                    });
                    if all_matched {
                        prop_assert_eq!(terms(&follower), before);
                    }
                }
            }
        }
    }
}
