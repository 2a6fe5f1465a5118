//! The structured timeline (`replay --html`, scenario assertions): what a
//! picture of the run needs, recorded only when asked for.

use super::text::message_detail;
use super::SimEvent;
use crate::timeline::{ReadPath, Timeline, TimelineEvent};
use raft_core::membership::Membership;
use raft_core::NodeId;

/// Records one event, if the timeline shows it.
#[inline(never)]
pub(super) fn record(timeline: &mut Timeline, t: u64, e: &SimEvent<'_>) {
    let event = match *e {
        SimEvent::RoleChanged {
            node, role, term, ..
        } => TimelineEvent::Role {
            t,
            node,
            role,
            term: term.0,
        },
        SimEvent::Delivered { m, sent_us } => TimelineEvent::Message {
            t,
            sent: sent_us,
            from: m.from.0 as usize,
            to: m.to.0 as usize,
            name: m.body.name().to_string(),
            detail: message_detail(m),
        },
        SimEvent::Batch {
            node,
            commit: Some(index),
            ..
        } => TimelineEvent::Commit {
            t,
            node,
            index: index.0,
        },
        SimEvent::Crashed { node, lost, .. } => TimelineEvent::Crash {
            t,
            node,
            lost_writes: lost,
        },
        SimEvent::Restarted { node, .. } => TimelineEvent::Restart { t, node },
        SimEvent::CorruptionDetected { node, .. } => TimelineEvent::Refused { t, node },
        SimEvent::TermVote {
            node,
            term,
            vote: Some(_),
        } => {
            // The node's term before this vote: from its latest role or vote.
            let held = timeline.events.iter().rev().find_map(|e| match *e {
                TimelineEvent::Role { node: n, term, .. }
                | TimelineEvent::Vote { node: n, term, .. }
                    if n == node =>
                {
                    Some(term)
                }
                _ => None,
            });
            TimelineEvent::Vote {
                t,
                node,
                term: term.0,
                known_term: held == Some(term.0),
            }
        }
        SimEvent::ReadServed {
            node,
            read_index: Some(_),
            follower,
            lease,
        } => TimelineEvent::Read {
            t,
            node,
            path: if follower {
                ReadPath::Follower
            } else if lease {
                ReadPath::Lease
            } else {
                ReadPath::Index
            },
        },
        SimEvent::SnapshotTaken { node, meta, .. } => TimelineEvent::Snapshot {
            t,
            node,
            index: meta.index.0,
            installed: false,
        },
        SimEvent::SnapshotInstalled { node, meta } => TimelineEvent::Snapshot {
            t,
            node,
            index: meta.index.0,
            installed: true,
        },
        SimEvent::Paused { node } => TimelineEvent::Pause { t, node },
        SimEvent::Resumed { node, .. } => TimelineEvent::Resume { t, node },
        SimEvent::Partitioned { partition, blocked } => TimelineEvent::Partition {
            t,
            blocked: blocked
                .iter()
                .map(|mask| (0..32).filter(|b| mask & (1 << b) != 0).collect())
                .collect(),
            description: format!("{partition:?}"),
        },
        SimEvent::PartitionHealed => TimelineEvent::HealPartition { t },
        SimEvent::Proposed {
            node,
            client,
            index,
            term,
        } => TimelineEvent::Client {
            t,
            client,
            node: Some(node),
            text: format!("c{client} proposed at {index}@{term}"),
        },
        SimEvent::ClientOk {
            client,
            result,
            index,
            term,
        } => TimelineEvent::Client {
            t,
            client,
            node: None,
            text: format!("c{client} ok {result:?} ({index}@{term})"),
        },
        SimEvent::Heal => TimelineEvent::Heal { t },
        SimEvent::Applied {
            node,
            duplicate: true,
            ..
        } => TimelineEvent::Deduplicated { t, node },
        SimEvent::ConfChangeCommitted { index, new, .. } => membership_event(t, index.0, new),
        SimEvent::ShutDown { node } => TimelineEvent::ShutDown { t, node },
        SimEvent::Failed { violation, .. } => TimelineEvent::Violation {
            t,
            nodes: violation.nodes.iter().map(|&n| n as usize).collect(),
            text: violation.message(),
        },
        _ => return,
    };
    timeline.events.push(event);
}

/// The timeline's record of configuration `m` (set by entry `index`) at `t`.
#[must_use]
pub fn membership_event(t: u64, index: u64, m: &Membership) -> TimelineEvent {
    let ids = |v: &[NodeId]| v.iter().map(|n| n.0 as usize).collect();
    TimelineEvent::Membership {
        t,
        index,
        voters: ids(&m.voters),
        outgoing: ids(&m.outgoing),
        learners: ids(&m.learners),
    }
}
