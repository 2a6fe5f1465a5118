//! The follower's side of log replication: `AppendEntries` and heartbeats
//! from the leader of the current term, the consistency check, and the
//! acknowledgement or the rejection with a conflict hint (fast backoff).
//!
//! The log's rules (matching, truncating only at a real conflict, the
//! follower's commit) live in [`crate::log`]; this module calls them and never
//! re-derives them. It must never change the term, the vote or the role (the
//! shared step has done that before it is called), and never acknowledge
//! entries other than through `send`, which holds acknowledgements until the
//! batch is durable.

use super::RaftNode;
use crate::message::{Message, MessageBody, RejectHint};
use crate::types::{Entry, LogIndex, NodeId, Term};

impl RaftNode {
    // ----- follower --------------------------------------------------------

    pub(super) fn handle_from_leader(&mut self, m: Message) {
        match m.body {
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append(
                m.from,
                prev_log_index,
                prev_log_term,
                &entries,
                leader_commit,
            ),
            MessageBody::Heartbeat { commit, read_round } => {
                let commit = commit.min(self.log.last_index());
                self.log.commit_to(commit);
                let body = MessageBody::HeartbeatResponse { read_round };
                self.send(m.from, self.term, body);
            }
            MessageBody::InstallSnapshot { chunk } => self.handle_snapshot_chunk(m.from, *chunk),
            _ => {}
        }
    }

    fn handle_append(
        &mut self,
        from: NodeId,
        mut prev_index: LogIndex,
        mut prev_term: Term,
        mut entries: &[Entry],
        leader_commit: LogIndex,
    ) {
        let committed = self.log.committed();
        if prev_index < committed {
            // Everything up to our commit index matches the leader (leader
            // completeness): skip it rather than re-check it.
            let skip = (committed.0 - prev_index.0) as usize;
            if entries.len() <= skip {
                self.send_append_ack(from, committed);
                return;
            }
            prev_index = committed;
            prev_term = entries[skip - 1].term;
            entries = &entries[skip..];
        }
        match self
            .log
            .maybe_append(prev_index, prev_term, leader_commit, entries)
        {
            Some(last_new) => {
                self.track_confs(prev_index.next(), last_new);
                self.send_append_ack(from, last_new);
            }
            None => {
                let probe = prev_index.min(self.log.last_index());
                let (index, term) = self.log.find_conflict_by_term(probe, prev_term);
                let body = MessageBody::AppendEntriesResponse {
                    index: prev_index,
                    reject: Some(RejectHint { index, term }),
                };
                self.send(from, self.term, body);
            }
        }
    }

    /// Acknowledges that the log matches the leader's up to `index`.
    pub(super) fn send_append_ack(&mut self, to: NodeId, index: LogIndex) {
        let body = MessageBody::AppendEntriesResponse {
            index,
            reject: None,
        };
        self.send(to, self.term, body);
    }
}
