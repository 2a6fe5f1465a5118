//! Reads without the log at a node: handing a client's get to the driver
//! (ReadIndex or a lease at the leader, a follower read elsewhere), and
//! the simulator's own checks on them, which do not take raft-core's
//! bookkeeping on trust: a lease read needs a quorum's recent answers, and
//! a follower read may not wait for its index for ever.

use super::{ClientToken, Ctx, Nodes};
use crate::leadership::quorum_silent_ticks;
use crate::workload::Reply;
use bytes::Bytes;
use checker::{Property, Violation};
use host::Driver;
use raft_core::LogIndex;
use raft_core::Role;

/// A follower read gets its index from the leader, or is refused, within
/// this many of the follower's minimum election timeouts, in its own
/// ticks: raft-core refuses what its leader has not answered within one.
/// (A leader's own reads have no such bound: a new leader serves none
/// before it commits an entry of its term, which waits for followers far
/// behind to catch up; one without check-quorum holds them while a
/// partition lasts. Nor does the wait for the state machine to reach the
/// index: a follower far behind may need a snapshot first.)
pub const FOLLOWER_READ_WAIT_TIMEOUTS: u64 = 2;

impl Nodes {
    /// Serves a client's get without a log entry: by ReadIndex at the
    /// leader, or as a follower read (the leader confirms the index, this
    /// node answers once it has applied it) at a follower.
    pub(super) fn read(&mut self, node: usize, token: ClientToken, query: Bytes, cx: &mut Ctx<'_>) {
        self.check_lease(node, cx);
        // The highest commit index any node knows now: committed, so the
        // read must see it.
        let floor = self
            .nodes
            .iter()
            .map(|n| n.view.commit)
            .max()
            .unwrap_or_default();
        self.read_floors.push((node, token, floor));
        let mut refused = None;
        self.with_driver(node, cx, |d, disk, io| {
            refused = if d.raft().role() == Role::Leader {
                if d.raft().config().read_lease {
                    d.lease_read(query, token, disk, io).err()
                } else {
                    d.read(query, token, disk, io).err()
                }
            } else {
                d.follower_read(query, token, disk, io).err()
            };
        });
        if refused.is_some() {
            self.read_floors
                .retain(|&(n, t, _)| (n, t) != (node, token));
        }
        match refused {
            None => self.finish(node, cx),
            Some(raft_core::ReadError::NotLeader { leader }) => {
                let reply = Reply::Redirect(leader.map(|l| l.0 as usize));
                cx.net
                    .reply(token.client, token.attempt, reply, cx.queue, cx.obs);
            }
        }
    }

    /// A leader that would serve a read on its lease must have heard from a
    /// quorum within its lease's length (the election timeout less the
    /// drift bound, in its ticks): raft-core measures the lease from the
    /// start of the last round a quorum answered, and each of those
    /// answers came after it, so the quorum cannot have been silent
    /// longer. Checked against the simulator's own record of who answered
    /// the leader when, not raft-core's lease clock.
    fn check_lease(&self, node: usize, cx: &mut Ctx<'_>) {
        let n = &self.nodes[node];
        let Some(raft) = n.driver.as_ref().map(Driver::raft) else {
            return;
        };
        if !(raft.role() == Role::Leader && raft.config().read_lease && raft.lease_holds()) {
            return;
        }
        let k = &self.config.raft;
        let lease = u64::from(k.election_timeout_ticks_min)
            .saturating_sub(u64::from(k.clock_drift_bound_ticks));
        let membership = raft.membership();
        let silent = quorum_silent_ticks(&n.view.answered_at_tick, n.view.ticks, node, membership);
        if let Some(silent) = silent.filter(|&s| s >= lease) {
            let expected = format!(
                "a leader reads on its lease only while a quorum answered it within the \
                 lease ({lease} ticks)"
            );
            let found = format!(
                "n{node} would read on its lease in term {} with a quorum silent for {silent} ticks",
                raft.term().0
            );
            let v = Violation::new(Property::LeaderLease, cx.obs.event_index(), expected, found)
                .with_nodes(&[node]);
            cx.run.fail_safety(v, cx.obs);
        }
    }

    /// A follower read gets its index or a refusal in time (see
    /// [`FOLLOWER_READ_WAIT_TIMEOUTS`]); checked at each of the node's ticks.
    pub(super) fn check_follower_read_wait(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let n = &self.nodes[node];
        let waiting = n
            .driver
            .as_ref()
            .and_then(Driver::oldest_unindexed_read_ticks);
        if let Some(waited) = waiting.filter(|_| n.view.role != Role::Leader) {
            let timeout = u64::from(self.config.raft.election_timeout_ticks_min);
            let bound = FOLLOWER_READ_WAIT_TIMEOUTS * timeout;
            let stats = cx.obs.stats_mut();
            stats.read_wait_ticks_max = stats.read_wait_ticks_max.max(waited);
            if waited > bound {
                let expected = format!(
                    "a follower read gets its index from the leader or is refused within \
                     {bound} of the follower's ticks"
                );
                let found = format!("n{node} has kept a read without an index for {waited} ticks");
                let v = Violation::new(Property::Liveness, cx.obs.event_index(), expected, found)
                    .with_nodes(&[node]);
                cx.run.fail_liveness(v, cx.obs);
            }
        }
    }
}

/// Takes the read of `token` at `node` answered at `index` (`None`:
/// refused) out of `floors`: the floor it broke, if it was served below
/// every floor the token waits with.
///
/// A client's request may arrive twice (a late copy), so one token may
/// wait more than once, with different floors, and its answers need not
/// come in arrival order: each answer is taken for the most demanding copy
/// it satisfies (the highest floor at or below its index; a refusal for
/// the highest), which leaves the lower floors for the answers still to
/// come.
pub(super) fn take_floor(
    floors: &mut Vec<(usize, ClientToken, LogIndex)>,
    node: usize,
    token: ClientToken,
    index: Option<LogIndex>,
) -> Option<LogIndex> {
    let copies = floors
        .iter()
        .enumerate()
        .filter(|(_, &(n, t, _))| n == node && t == token);
    let reach = index.unwrap_or(LogIndex(u64::MAX));
    let satisfied = copies
        .clone()
        .filter(|(_, &(_, _, floor))| floor <= reach)
        .max_by_key(|(_, &(_, _, floor))| floor)
        .map(|(i, _)| i);
    if let Some(i) = satisfied {
        floors.remove(i);
        return None;
    }
    let (i, &(_, _, floor)) = copies.min_by_key(|(_, &(_, _, floor))| floor)?;
    floors.remove(i);
    Some(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ClientToken = ClientToken {
        client: 2,
        attempt: 5,
    };

    #[test]
    fn a_read_below_its_floor_is_caught_and_copies_match_the_most_demanding() {
        let i = LogIndex;
        // Served at its floor or above: fine; below: the floor it broke.
        let mut floors = vec![(1, C, i(7))];
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(7))), None);
        assert!(floors.is_empty());
        floors.push((1, C, i(7)));
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(6))), Some(i(7)));
        assert!(floors.is_empty());
        // Another node's or another token's read is not this one.
        floors.push((0, C, i(9)));
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(1))), None);
        assert_eq!(floors.len(), 1);
        // Two copies of one request (floors 21 and 22), answered out of
        // order at 22 then 21: both fine.
        let mut floors = vec![(1, C, i(21)), (1, C, i(22))];
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(22))), None);
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(21))), None);
        assert!(floors.is_empty());
        // A refusal satisfies the most demanding copy; the other must
        // still be served at its floor.
        let mut floors = vec![(1, C, i(21)), (1, C, i(22))];
        assert_eq!(take_floor(&mut floors, 1, C, None), None);
        assert_eq!(take_floor(&mut floors, 1, C, Some(i(20))), Some(i(21)));
    }
}
