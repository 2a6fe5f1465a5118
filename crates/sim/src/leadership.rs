//! The simulator's watch on leadership under check-quorum, as pure rules
//! over what the run saw of a node (`crate::node::NodeView`): a leader cut off from
//! its quorum must step down, and a node must not vote within its leader's
//! lease. Counted in the node's own ticks, so clock skew and pauses do not
//! matter. The node handlers apply them (`crate::node`).

use crate::profile::NODES_MAX;
use raft_core::membership::Membership;
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

/// How many of its ticks a leader has gone without answers from a quorum
/// of its configuration `m` (a majority of the voters, and while joint of
/// the outgoing voters too): its own tick count minus the tick at which
/// the quorum-th most recent voter answer arrived (the leader counts as
/// always answering). None when the leader is the only voter.
pub(crate) fn quorum_silent_ticks(
    answered_at_tick: &[u64; NODES_MAX],
    ticks: u64,
    me: usize,
    m: &Membership,
) -> Option<u64> {
    let alone = m.voters.len() < 2 && m.outgoing.len() < 2;
    if alone {
        return None;
    }
    let half = |voters: &[NodeId]| -> u64 {
        let mut heard = [0u64; NODES_MAX];
        let mut n = 0;
        for v in voters.iter().filter(|v| (v.0 as usize) < NODES_MAX) {
            let id = v.0 as usize;
            heard[n] = if id == me {
                ticks
            } else {
                answered_at_tick[id]
            };
            n += 1;
        }
        if n == 0 {
            return 0;
        }
        let heard = &mut heard[..n];
        heard.sort_unstable_by(|a, b| b.cmp(a));
        ticks - heard[n / 2].min(ticks)
    };
    Some(half(&m.voters).max(half(&m.outgoing)))
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
        let voters: Vec<NodeId> = (0..nodes as u64).map(NodeId).collect();
        quorum_silent_ticks(&view.0, view.1, me, &Membership::bootstrap(&voters))
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

    #[test]
    fn a_joint_leader_needs_answers_from_both_halves_and_learners_do_not_count() {
        let ids = |v: &[u64]| v.iter().copied().map(NodeId).collect::<Vec<_>>();
        // Old voters n0..n2, new voters n0, n1, n3; n4 learns.
        let joint = Membership {
            voters: ids(&[0, 1, 3]),
            outgoing: ids(&[0, 1, 2]),
            learners: ids(&[4]),
            auto_leave: true,
        };
        // n2 answered at 95 (old half has a quorum then), n3 at 10 and n1
        // at 5: the new half has only n0 since tick 10.
        let view = leader_view(100, &[0, 5, 95, 10, 99]);
        assert_eq!(quorum_silent_ticks(&view.0, view.1, 0, &joint), Some(90));
        // n3 answers too: both halves are heard as of n2's and n3's answers.
        let view = leader_view(100, &[0, 5, 95, 97, 99]);
        assert_eq!(quorum_silent_ticks(&view.0, view.1, 0, &joint), Some(5));
        // The learner's recent answer never made a quorum.
        let simple = Membership {
            voters: ids(&[0, 1, 2]),
            learners: ids(&[4]),
            ..Membership::default()
        };
        let view = leader_view(100, &[0, 5, 6, 0, 99]);
        assert_eq!(quorum_silent_ticks(&view.0, view.1, 0, &simple), Some(94));
    }
}
