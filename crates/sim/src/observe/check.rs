//! Feeds the incremental safety checker, in the order it needs: term and
//! vote, role changes, log writes, commits, applies, durable hard states,
//! crashes and restarts. Each call costs O(new entries).

use super::SimEvent;
use checker::SafetyChecker;
use raft_core::Role;

/// Hands one event to the checker, if it concerns it.
#[inline(always)]
pub(super) fn feed(c: &mut SafetyChecker, event_index: u64, e: &SimEvent<'_>) {
    match *e {
        SimEvent::TermVote { node, term, vote } => c.term_vote(event_index, node, term, vote),
        SimEvent::RoleChanged { node, term, .. } => {
            if e.left_role(Role::Leader) {
                c.stepped_down(node);
            }
            if e.took_role(Role::Leader) {
                c.became_leader(event_index, node, term);
            }
        }
        SimEvent::Batch {
            node,
            ready,
            commit,
            membership_index,
            ..
        } => {
            if let Some(commit) = commit {
                if !ready.entries.is_empty() {
                    c.entries_written(event_index, node, &ready.entries);
                }
                c.committed(event_index, node, commit);
            } else if !ready.entries.is_empty() {
                c.entries_written(event_index, node, &ready.entries);
            } else {
                // Neither the log nor the commit changed: no configuration
                // rule can break.
                return;
            }
            c.batch_done(event_index, node, membership_index);
        }
        SimEvent::MembershipChanged {
            node,
            index,
            membership,
        } => c.membership(event_index, node, index, membership),
        SimEvent::Applying { node, entry } => c.applied(event_index, node, entry),
        SimEvent::DurableHardState {
            node, hard_state, ..
        } => {
            c.durable_hard_state(event_index, node, hard_state);
        }
        SimEvent::Crashed { node, .. } | SimEvent::ShutDown { node } => c.crashed(node),
        SimEvent::Rebooting { node, durable } => c.restarted(event_index, node, durable),
        SimEvent::SnapshotTaken { node, meta, .. } => c.snapshot_taken(event_index, node, meta),
        SimEvent::SnapshotInstalled { node, meta } => {
            c.snapshot_installed(event_index, node, meta);
        }
        SimEvent::StateRestored {
            node,
            index,
            digest,
        } => c.state_restored(event_index, node, index, digest),
        _ => {}
    }
}
