//! The simulator's watch on leadership under check-quorum, as pure rules
//! over what the run saw of a node (`crate::node::NodeView`): a leader cut off from
//! its quorum must step down, and a node must not vote within its leader's
//! lease. Counted in the node's own ticks, so clock skew and pauses do not
//! matter. The node handlers apply them (`crate::node`).

use crate::profile::NODES_MAX;
use raft_core::{NodeId, Term};

/// The leader-lease rule for a vote just cast: with a lease of `lease_ticks`
/// (0: check-quorum off), a vote for `voted` at `ticks` breaks it if the
/// node heard another leader (at tick, who, term) less than the lease ago.
/// Returns what broke.
pub(crate) fn lease_broken(
    voted: Option<NodeId>,
    heard: Option<(u64, NodeId, Term)>,
    ticks: u64,
    lease_ticks: u64,
) -> Option<String> {
    let (candidate, (heard_at, leader, leader_term)) = (voted?, heard?);
    let since = ticks.saturating_sub(heard_at);
    (candidate != leader && since < lease_ticks).then(|| {
        format!("{candidate} {since} ticks after hearing {leader}, leader of {leader_term}")
    })
}

/// How many of its ticks a leader has gone without answers from a quorum:
/// its own tick count minus the tick at which the quorum-th most recent
/// peer answer arrived (the leader counts as always answering). None for a
/// single node.
pub(crate) fn quorum_silent_ticks(
    answered_at_tick: &[u64; NODES_MAX],
    ticks: u64,
    me: usize,
    nodes: usize,
) -> Option<u64> {
    if nodes < 2 {
        return None;
    }
    let mut heard = *answered_at_tick;
    let heard = &mut heard[..nodes.min(NODES_MAX)];
    heard[me] = ticks;
    heard.sort_unstable_by(|a, b| b.cmp(a));
    let quorum = nodes / 2 + 1;
    Some(ticks - heard[quorum - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leader at `ticks` with the peers' last answers at `answered`.
    fn leader_view(ticks: u64, answered: &[u64]) -> ([u64; NODES_MAX], u64) {
        let mut answered_at_tick = [0; NODES_MAX];
        answered_at_tick[..answered.len()].copy_from_slice(answered);
        (answered_at_tick, ticks)
    }

    fn silent(view: ([u64; NODES_MAX], u64), me: usize, nodes: usize) -> Option<u64> {
        quorum_silent_ticks(&view.0, view.1, me, nodes)
    }

    #[test]
    fn a_vote_within_the_leader_lease_breaks_it() {
        let heard = Some((100, NodeId(1), Term(3)));
        let (c, lease) = (Some(NodeId(2)), 10);
        assert!(
            lease_broken(c, heard, 105, lease).is_some(),
            "5 ticks after the leader"
        );
        assert!(
            lease_broken(c, heard, 109, lease).is_some(),
            "the last tick of the lease"
        );
        assert_eq!(
            lease_broken(c, heard, 110, lease),
            None,
            "the lease ran out"
        );
        assert_eq!(
            lease_broken(Some(NodeId(1)), heard, 105, lease),
            None,
            "a vote for the leader"
        );
        assert_eq!(lease_broken(c, heard, 105, 0), None, "check-quorum off");
        assert_eq!(lease_broken(c, None, 105, lease), None, "no leader heard");
        assert_eq!(lease_broken(None, heard, 105, lease), None, "no vote");
    }

    #[test]
    fn a_leader_is_silent_since_the_quorum_th_most_recent_answer() {
        // n0 leads five nodes at tick 100: with n3 and n4 answering at 90
        // and 95, n0 and the two form a quorum as of tick 90.
        let view = leader_view(100, &[0, 10, 20, 90, 95]);
        assert_eq!(silent(view, 0, 5), Some(10));
        // Cut off from all but n4 since tick 20: silent for 80 ticks.
        let view = leader_view(100, &[0, 10, 20, 15, 95]);
        assert_eq!(silent(view, 0, 5), Some(80));
        // A leader alone needs no answers.
        assert_eq!(silent(leader_view(100, &[0]), 0, 1), None);
        // Three nodes: one answer makes a quorum.
        assert_eq!(silent(leader_view(50, &[7, 49, 3]), 0, 3), Some(1));
    }
}
