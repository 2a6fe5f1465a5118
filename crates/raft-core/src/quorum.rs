//! Quorum arithmetic, and nothing else: which index a majority has reached,
//! and whether a set of votes decides an election. Pure functions, tested on
//! their own; the consensus logic calls them and never re-derives them.

use crate::types::LogIndex;

/// The outcome of counting votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority granted.
    Won,
    /// A majority refused: the election cannot be won.
    Lost,
    /// Neither yet.
    Pending,
}

/// The number of voters that make a majority of `voter_count`.
///
/// ```
/// assert_eq!(raft_core::quorum::majority(3), 2);
/// assert_eq!(raft_core::quorum::majority(4), 3);
/// ```
#[must_use]
pub fn majority(voter_count: usize) -> usize {
    voter_count / 2 + 1
}

/// The highest index that at least a majority of voters have, given each
/// voter's match index (reordered in place, to avoid allocating).
/// An empty voter set commits nothing (index 0).
///
/// ```
/// use raft_core::LogIndex;
/// let mut matched = [LogIndex(5), LogIndex(3), LogIndex(9)];
/// assert_eq!(raft_core::quorum::committed_index(&mut matched), LogIndex(5));
/// ```
#[must_use]
pub fn committed_index(match_indexes: &mut [LogIndex]) -> LogIndex {
    if match_indexes.is_empty() {
        return LogIndex(0);
    }
    match_indexes.sort_unstable_by(|a, b| b.cmp(a));
    match_indexes[majority(match_indexes.len()) - 1]
}

/// Counts an election: `granted` and `rejected` votes out of `voter_count`.
#[must_use]
pub fn vote_result(voter_count: usize, granted: usize, rejected: usize) -> VoteResult {
    let needed = majority(voter_count);
    if granted >= needed {
        VoteResult::Won
    } else if rejected > voter_count - needed {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn committed_index_table() {
        let cases: &[(&[u64], u64)] = &[
            (&[1], 1),
            (&[0, 0, 0], 0),
            (&[1, 0, 0], 0),
            (&[1, 1, 0], 1),
            (&[2, 1, 3], 2),
            (&[5, 5, 1, 1], 1),
            (&[5, 5, 5, 1], 5),
            (&[9, 8, 7, 6, 5], 7),
        ];
        for (matched, want) in cases {
            let mut m: Vec<LogIndex> = matched.iter().map(|&i| LogIndex(i)).collect();
            assert_eq!(committed_index(&mut m), LogIndex(*want), "{matched:?}");
        }
    }

    #[test]
    fn vote_table() {
        assert_eq!(vote_result(1, 1, 0), VoteResult::Won);
        assert_eq!(vote_result(3, 1, 0), VoteResult::Pending);
        assert_eq!(vote_result(3, 2, 0), VoteResult::Won);
        assert_eq!(vote_result(3, 1, 1), VoteResult::Pending);
        assert_eq!(vote_result(3, 1, 2), VoteResult::Lost);
        assert_eq!(vote_result(4, 2, 1), VoteResult::Pending);
        assert_eq!(vote_result(4, 2, 2), VoteResult::Lost);
        assert_eq!(vote_result(5, 3, 2), VoteResult::Won);
    }

    proptest! {
        /// The committed index is reached by a majority, and no higher index is.
        #[test]
        fn committed_index_is_the_majority_maximum(matched in prop::collection::vec(0u64..50, 1..9)) {
            let m: Vec<LogIndex> = matched.iter().map(|&i| LogIndex(i)).collect();
            let c = committed_index(&mut m.clone());
            let at_least = m.iter().filter(|&&i| i >= c).count();
            prop_assert!(at_least >= majority(m.len()));
            let above = m.iter().filter(|&&i| i > c).count();
            prop_assert!(above < majority(m.len()));
        }

        /// An election is never both winnable and lost, and a full count decides it.
        #[test]
        fn votes_decide_consistently(n in 1usize..9, granted in 0usize..9) {
            let granted = granted.min(n);
            let rejected = n - granted;
            let r = vote_result(n, granted, rejected);
            prop_assert_ne!(r, VoteResult::Pending);
            prop_assert_eq!(r == VoteResult::Won, granted * 2 > n);
        }
    }
}
