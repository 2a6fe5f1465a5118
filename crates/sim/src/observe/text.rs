//! The text trace (`replay --trace`): one readable line per event that
//! matters to a person reading a run, numbered by event and timed.

use super::SimEvent;
use crate::faults::CrashPoint;
use raft_core::membership::Membership;
use raft_core::{HardState, Message, NodeId};

/// The lines recorded so far, and what each node's last line showed.
#[derive(Default)]
pub(super) struct TextTrace {
    lines: Vec<String>,
    /// Per node, the hard state the trace last showed.
    shown: Vec<HardState>,
}

impl TextTrace {
    pub(super) fn lines(&self) -> &[String] {
        &self.lines
    }

    #[inline(never)]
    pub(super) fn observe(&mut self, now_us: u64, event_index: u64, e: &SimEvent<'_>) {
        let Some(line) = self.line(e) else { return };
        let ms = now_us as f64 / 1_000.0;
        self.lines
            .push(format!("{event_index:>6} {ms:>10.3}ms  {line}"));
    }

    /// A line no event describes (the run's end by a panic).
    pub(super) fn note(&mut self, now_us: u64, event_index: u64, line: &str) {
        let ms = now_us as f64 / 1_000.0;
        self.lines
            .push(format!("{event_index:>6} {ms:>10.3}ms  {line}"));
    }

    fn shown(&mut self, node: usize) -> &mut HardState {
        if self.shown.len() <= node {
            self.shown.resize(node + 1, HardState::default());
        }
        &mut self.shown[node]
    }

    fn line(&mut self, e: &SimEvent<'_>) -> Option<String> {
        Some(match *e {
            SimEvent::Delivered { m, .. } => {
                let receiver_term = self.shown(m.to.0 as usize).term;
                if answers_a_stale_message(m, receiver_term) {
                    format!(
                        "{} recv {} from {} {}: refuses {}'s stale-term message ({} is at {})",
                        m.to,
                        m.body.name(),
                        m.from,
                        m.term,
                        m.to,
                        m.from,
                        m.term
                    )
                } else {
                    describe_message("recv", m)
                }
            }
            SimEvent::MessageDropped { m, why } => {
                format!(
                    "net drop {} {} -> {} {} ({why})",
                    m.body.name(),
                    m.from,
                    m.to,
                    m.term
                )
            }
            SimEvent::MessageDuplicated { m } => {
                format!(
                    "net duplicate {} {} -> {} {}",
                    m.body.name(),
                    m.from,
                    m.to,
                    m.term
                )
            }
            SimEvent::ClientInvoked { client, op } => format!("c{client} invoke {op:?}"),
            SimEvent::ClientRefused { client, why } => format!("c{client} refused ({why}): retry"),
            SimEvent::ClientTimedOut { client, attempt } => {
                format!("c{client} attempt {attempt} timed out: retry on another node")
            }
            SimEvent::Booted { node, hard_state } => {
                *self.shown(node) = hard_state;
                return None;
            }
            SimEvent::Batch { node, ready, .. } => {
                let mut parts = Vec::new();
                if let (Some(first), Some(last)) = (ready.entries.first(), ready.entries.last()) {
                    parts.push(format!(
                        "log +[{}..{}] terms {}..{}",
                        first.index, last.index, first.term, last.term
                    ));
                }
                if let Some(hs) = ready.hard_state {
                    let old = std::mem::replace(self.shown(node), hs);
                    if hs.term != old.term {
                        parts.push(format!("term {}->{}", old.term, hs.term));
                    }
                    if hs.vote != old.vote {
                        let show =
                            |v: Option<NodeId>| v.map_or("none".to_string(), |n| n.to_string());
                        parts.push(format!("vote {}->{}", show(old.vote), show(hs.vote)));
                    }
                    if hs.commit != old.commit {
                        parts.push(format!("commit {}->{}", old.commit, hs.commit));
                    }
                }
                let applies = (
                    ready.committed_entries.first(),
                    ready.committed_entries.last(),
                );
                if let (Some(first), Some(last)) = applies {
                    parts.push(format!("apply [{}..{}]", first.index, last.index));
                }
                if parts.is_empty() {
                    return None;
                }
                format!("{} {}", NodeId(node as u64), parts.join(", "))
            }
            SimEvent::RoleChanged {
                node,
                old_role,
                old_term,
                role,
                term,
            } => format!("n{node} {old_role:?}@{old_term} -> {role:?}@{term}"),
            SimEvent::MembershipChanged {
                node,
                index,
                membership,
            } => format!(
                "n{node} uses configuration @{index}: {}",
                describe_membership(membership)
            ),
            SimEvent::ConfChangeProposed { node, index } => {
                format!("n{node} proposes a membership change at {index}")
            }
            SimEvent::ConfChangeCommitted { index, new, .. } => {
                format!(
                    "cluster committed configuration @{index}: {}",
                    describe_membership(new)
                )
            }
            SimEvent::OperatorRefused { index, why, retry } => format!(
                "operator request #{index} refused ({why}){}",
                if retry { ": asking again later" } else { "" }
            ),
            SimEvent::TransferStarted { node, target } => {
                format!("n{node} hands leadership to n{target}")
            }
            SimEvent::Joined { node } => {
                format!("n{node} joins the cluster: boots from an empty disk")
            }
            SimEvent::ShutDown { node } => format!("n{node} removed: shut down for good"),
            SimEvent::SnapshotTaken { node, meta, bytes } => format!(
                "n{node} snapshot at {}@{} ({bytes} bytes): log compacted",
                meta.index, meta.term
            ),
            SimEvent::SnapshotChunkSent {
                node,
                to,
                index,
                offset,
            } => format!("n{node} sends n{to} snapshot {index} from byte {offset}"),
            SimEvent::SnapshotInstalled { node, meta } => format!(
                "n{node} installs snapshot {}@{} ({})",
                meta.index,
                meta.term,
                describe_membership(&meta.membership)
            ),
            SimEvent::StateRestored {
                node,
                index,
                digest,
            } => format!("n{node} state restored at {index}: digest {digest:#018x}"),
            SimEvent::Proposed {
                node,
                client,
                index,
                term,
            } => format!("n{node} propose c{client} -> {index}@{term}"),
            SimEvent::ClientOk {
                client,
                result,
                index,
                term,
            } => format!("c{client} ok {result:?} ({index}@{term})"),
            SimEvent::ReadServed {
                node,
                read_index: Some(index),
                follower,
                lease,
            } => {
                let how = match (follower, lease) {
                    (_, true) => "on its lease",
                    (true, false) => "as a follower read",
                    (false, false) => "by ReadIndex",
                };
                format!("n{node} answers a read {how} at {index}")
            }
            SimEvent::CrashPointReached { node, point } => match point {
                CrashPoint::BeforeSync => format!("n{node} power lost with writes in flight"),
                _ => format!("n{node} crash after sync, before send"),
            },
            SimEvent::BitFlipped {
                node,
                file,
                offset,
                bit,
            } => format!("n{node} DISK DAMAGED (bit {bit} of byte {offset} of {file} flipped)"),
            SimEvent::CorruptionDetected { node, error } => {
                format!("n{node} REFUSES TO START: {error}")
            }
            SimEvent::Crashed { node, lost, kept } => {
                format!("n{node} CRASH (lost {lost} unsynced bytes, kept {kept})")
            }
            SimEvent::Restarted { node, term } => format!("n{node} RESTART from disk at {term}"),
            SimEvent::Paused { node } => format!("n{node} pause"),
            SimEvent::Burst { node, proposals } => {
                format!("burst of {proposals} proposals to n{node}")
            }
            SimEvent::Truncated { node, entries } => {
                format!("n{node} replaces {entries} entries of its log")
            }
            SimEvent::Triggered {
                node,
                point,
                action,
            } => format!("n{node} on {}: {action:?}", point.name()),
            SimEvent::Resumed { node, ticks } => format!("n{node} resume ({ticks} missed ticks)"),
            SimEvent::Partitioned { partition, blocked } => {
                format!("net partition {}  ({partition:?})", describe_cut(blocked))
            }
            SimEvent::PartitionHealed => "net heal partition".into(),
            SimEvent::Heal => "HEAL: partitions repaired, loss off, crashed nodes restarted".into(),
            SimEvent::Recovered => {
                "RECOVERED: a leader, and every client completed its ops after the heal".into()
            }
            SimEvent::StabilityWindow { from_us, until_us } => {
                format!("SETTLED: idle; no election may start from {from_us} us to {until_us} us")
            }
            SimEvent::Failed {
                violation,
                liveness: false,
            } => format!("VIOLATION {}", violation.message()),
            SimEvent::Failed {
                violation,
                liveness: true,
            } => format!("LIVENESS FAILURE {}", violation.message()),
            _ => return None,
        })
    }
}

/// Whether `m` is a node refusing a message of an older term than its own:
/// an append or heartbeat answer, or a refused vote, from a term the
/// receiver has not reached (a granted pre-vote carries the term asked for,
/// and is not one).
fn answers_a_stale_message(m: &Message, receiver_term: raft_core::Term) -> bool {
    use raft_core::MessageBody as B;
    let answer = match m.body {
        B::AppendEntriesResponse { .. } | B::HeartbeatResponse { .. } => true,
        B::RequestVoteResponse { granted, .. } => !granted,
        _ => false,
    };
    answer && m.term > receiver_term
}

/// The cut links as node sets: `{n0,n1} | {n2,n3,n4}` when the cut is
/// symmetric (the groups that still talk), else the one-way cuts.
fn describe_cut(blocked: &[u32]) -> String {
    let nodes = blocked.len();
    let reach = |i: usize| (0..nodes).filter(move |&j| blocked[i] & (1 << j) == 0);
    let symmetric = (0..nodes)
        .all(|i| (0..nodes).all(|j| (blocked[i] & (1 << j) == 0) == (blocked[j] & (1 << i) == 0)));
    let set = |members: &mut dyn Iterator<Item = usize>| {
        let names: Vec<String> = members.map(|n| format!("n{n}")).collect();
        format!("{{{}}}", names.join(","))
    };
    if symmetric {
        let mut groups: Vec<String> = Vec::new();
        for i in 0..nodes {
            let group = set(&mut reach(i));
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        return groups.join(" | ");
    }
    let cuts: Vec<String> = (0..nodes)
        .flat_map(|i| {
            (0..nodes)
                .filter(move |&j| blocked[i] & (1 << j) != 0)
                .map(move |j| format!("n{i}->n{j}"))
        })
        .collect();
    format!("one-way cuts {}", cuts.join(" "))
}

/// A kv command, one line (for dumps).
#[must_use]
pub fn describe_command(data: &[u8]) -> String {
    if data.is_empty() {
        return "(no-op)".into();
    }
    match kv::Command::decode(data) {
        Ok(c) => format!("c{}#{} {:?}", c.client_id, c.seq, c.op),
        Err(_) => format!("({} bytes)", data.len()),
    }
}

/// A message's key fields, for traces.
#[must_use]
pub fn describe_message(verb: &str, m: &Message) -> String {
    format!(
        "{} {verb} {} from {} {}: {}",
        m.to,
        m.body.name(),
        m.from,
        m.term,
        message_detail(m)
    )
}

/// The key fields of a message's body, one line.
pub(super) fn message_detail(m: &Message) -> String {
    use raft_core::MessageBody as B;
    match &m.body {
        B::RequestVote {
            last_log_index,
            last_log_term,
            transfer,
            ..
        } => {
            let transfer = if *transfer { " transfer" } else { "" };
            format!("last={last_log_index}@{last_log_term}{transfer}")
        }
        B::RequestVoteResponse { granted, .. } => format!("granted={granted}"),
        B::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } => {
            format!(
                "prev={prev_log_index}@{prev_log_term} n={} commit={leader_commit}",
                entries.len()
            )
        }
        B::AppendEntriesResponse { index, reject } => match reject {
            None => format!("ok index={index}"),
            Some(h) => format!("reject index={index} hint={}@{}", h.index, h.term),
        },
        B::Heartbeat {
            commit,
            read_round: 0,
        } => format!("commit={commit}"),
        B::Heartbeat { commit, read_round } => format!("commit={commit} read-round={read_round}"),
        B::HeartbeatResponse { read_round: 0 } => String::new(),
        B::HeartbeatResponse { read_round } => format!("read-round={read_round}"),
        B::TimeoutNow { last_index } => format!("last={last_index}"),
        B::ReadIndex { ctx } => format!("ctx={ctx}"),
        B::ReadIndexResponse {
            ctx,
            index: Some(index),
        } => format!("ctx={ctx} index={index}"),
        B::ReadIndexResponse { ctx, index: None } => format!("ctx={ctx} refused"),
        B::InstallSnapshot { chunk } => format!(
            "snap={}@{} bytes={}..{} of {}",
            chunk.meta.index,
            chunk.meta.term,
            chunk.offset,
            chunk.offset + chunk.data.len() as u64,
            chunk.total_len
        ),
        B::InstallSnapshotResponse { index, received } => {
            format!("snap={index} received={received}")
        }
    }
}

/// A configuration, one line: `voters n0,n1,n2` (with `, joint with old
/// voters ...` and `, learners ...` when there are).
#[must_use]
pub fn describe_membership(m: &Membership) -> String {
    let ids = |v: &[NodeId]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut s = format!("voters {}", ids(&m.voters));
    if m.is_joint() {
        s += &format!(", joint with old voters {}", ids(&m.outgoing));
    }
    if !m.learners.is_empty() {
        s += &format!(", learners {}", ids(&m.learners));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{LogIndex, MessageBody, Term};

    #[test]
    fn a_partition_shows_as_the_node_sets_that_still_talk() {
        // {n0,n1} | {n2,n3,n4}: each side cut from the other.
        let (a, b) = (0b00011u32, 0b11100u32);
        let blocked: Vec<u32> = (0..5)
            .map(|n| if a & (1 << n) != 0 { b } else { a })
            .collect();
        assert_eq!(describe_cut(&blocked), "{n0,n1} | {n2,n3,n4}");
        assert_eq!(describe_cut(&[0, 0, 0]), "{n0,n1,n2}");
        // n1 cannot send to n0 and n2, but hears them.
        assert_eq!(describe_cut(&[0, 0b101, 0]), "one-way cuts n1->n0 n1->n2");
    }

    #[test]
    fn an_answer_from_a_newer_term_reads_as_a_refusal() {
        let answer = |body, term| Message {
            from: NodeId(1),
            to: NodeId(0),
            term: Term(term),
            body,
        };
        let ack = MessageBody::AppendEntriesResponse {
            index: LogIndex(0),
            reject: None,
        };
        assert!(answers_a_stale_message(&answer(ack.clone(), 5), Term(3)));
        assert!(
            !answers_a_stale_message(&answer(ack, 3), Term(3)),
            "an ack of its term"
        );
        let granted = MessageBody::RequestVoteResponse {
            pre_vote: true,
            granted: true,
        };
        assert!(
            !answers_a_stale_message(&answer(granted, 4), Term(3)),
            "a granted pre-vote"
        );
        let mut trace = TextTrace::default();
        let m = answer(
            MessageBody::AppendEntriesResponse {
                index: LogIndex(0),
                reject: None,
            },
            5,
        );
        trace.observe(0, 1, &SimEvent::Delivered { m: &m, sent_us: 0 });
        assert!(
            trace.lines()[0].contains("refuses n0's stale-term message (n1 is at t5)"),
            "{:?}",
            trace.lines()
        );
    }
}
