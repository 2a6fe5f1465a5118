//! The counters of a run ([`RunStats`]), each counted where its event is
//! emitted. End-of-run figures (liveness, durability, linearizability) are
//! added by the engine's final checks, not here.

use super::SimEvent;
use crate::stats::RunStats;
use raft_core::Role;

/// Counts one event.
#[inline(always)]
pub(super) fn count(s: &mut RunStats, e: &SimEvent<'_>) {
    match *e {
        SimEvent::MessageSent => s.messages_sent += 1,
        SimEvent::MessageDropped { .. } => s.messages_dropped += 1,
        SimEvent::ClientMessageLost => s.client_messages_lost += 1,
        SimEvent::MessageDuplicated { .. } => s.messages_duplicated += 1,
        SimEvent::MessageDelayed { delay_us, long } => {
            s.messages_delayed_long += u64::from(long);
            s.max_message_delay_ms = s.max_message_delay_ms.max(delay_us / 1_000);
        }
        SimEvent::Delivered { m, .. } if m.from != m.to => s.messages_delivered += 1,
        SimEvent::RoleChanged { term, .. } => {
            s.max_term = s.max_term.max(term.0);
            s.elections += u64::from(e.took_role(Role::Candidate));
            s.leaders_elected += u64::from(e.took_role(Role::Leader));
        }
        SimEvent::ClientInvoked { .. } => s.client_ops_invoked += 1,
        SimEvent::ClientOk { .. } => s.client_ops_ok += 1,
        SimEvent::ClientRefused { .. } => s.client_ops_failed += 1,
        SimEvent::ClientTimedOut { .. } => s.client_timeouts += 1,
        SimEvent::Crashed { lost, .. } => {
            s.crashes += 1;
            s.unsynced_bytes_lost += lost;
        }
        SimEvent::Restarted { .. } => s.restarts += 1,
        SimEvent::BitFlipped { .. } => s.corruptions_injected += 1,
        SimEvent::CorruptionDetected { .. } => s.corruptions_detected += 1,
        SimEvent::Paused { .. } => s.pauses += 1,
        SimEvent::Triggered { .. } => s.triggered_faults += 1,
        SimEvent::Burst { proposals, .. } => s.burst_proposals += proposals,
        SimEvent::Truncated { entries, .. } => {
            s.longest_truncated_suffix = s.longest_truncated_suffix.max(entries);
        }
        SimEvent::ProbeEnded { rejections, .. } => {
            s.longest_probe_sequence = s.longest_probe_sequence.max(rejections);
        }
        SimEvent::Partitioned { .. } => s.partitions += 1,
        SimEvent::ConfChangeProposed { .. } => s.config_changes_proposed += 1,
        SimEvent::ConfChangeCommitted { old, new, .. } => {
            s.config_changes_committed += 1;
            s.joint_entered += u64::from(!old.is_joint() && new.is_joint());
            s.joint_left += u64::from(old.is_joint() && !new.is_joint());
            let promoted = new.voters.iter().filter(|&&v| old.is_learner(v)).count();
            s.learners_promoted += promoted as u64;
            let outgoing_only = new.outgoing.iter().filter(|&&v| !new.voters.contains(&v));
            let voters = (new.voters.len() + outgoing_only.count()) as u64;
            s.max_voters = s.max_voters.max(voters);
        }
        SimEvent::TransferStarted { .. } => s.leader_transfers += 1,
        SimEvent::Batch { log_len, .. } => s.max_log_len = s.max_log_len.max(log_len as u64),
        SimEvent::SnapshotTaken { .. } => s.snapshots_taken += 1,
        SimEvent::SnapshotChunkSent { offset, .. } => {
            s.snapshot_chunks_sent += 1;
            s.snapshots_sent += u64::from(offset == 0);
        }
        SimEvent::SnapshotInstalled { .. } => s.snapshots_installed += 1,
        SimEvent::ReadServed {
            read_index: None, ..
        } => s.reads_log += 1,
        SimEvent::ReadServed {
            read_index: Some(_),
            lease: true,
            ..
        } => s.reads_lease += 1,
        SimEvent::ReadServed {
            read_index: Some(_),
            follower: false,
            ..
        } => s.reads_read_index += 1,
        SimEvent::ReadServed {
            read_index: Some(_),
            follower: true,
            ..
        } => s.reads_follower += 1,
        _ => {}
    }
}
