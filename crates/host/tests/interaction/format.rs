//! How the scripts print things: messages (`1->2 Vote term=2 last=5@1`),
//! runs of entries (`[6@2 7..9@3]`), entry payloads (`put k=v`), hard states
//! and proposal answers.
//!
//! Every format here is part of the golden files: change one and every
//! script must be regenerated. The functions are pure and never print.

use host::Answer;
use kv::{Applied, Command, Op, OpResult};
use raft_core::{Entry, LogIndex, Message, MessageBody, NodeId, Term};

/// A position in the log: `index@term`.
pub fn at(index: LogIndex, term: Term) -> String {
    format!("{}@{}", index.0, term.0)
}

/// A vote: the node id, or `none`.
pub fn vote(v: Option<NodeId>) -> String {
    v.map_or_else(|| "none".to_string(), |n| n.0.to_string())
}

/// Entries as runs of one term: `[6@2 7..9@3]`.
pub fn entries(es: &[Entry]) -> String {
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < es.len() {
        let mut j = i;
        while j + 1 < es.len()
            && es[j + 1].term == es[i].term
            && es[j + 1].index.0 == es[j].index.0 + 1
        {
            j += 1;
        }
        runs.push(if i == j {
            at(es[i].index, es[i].term)
        } else {
            format!("{}..{}@{}", es[i].index.0, es[j].index.0, es[i].term.0)
        });
        i = j + 1;
    }
    format!("[{}]", runs.join(" "))
}

/// One message, compact: `1->2 Append term=2 prev=5@1 entries=[6@2] commit=5`.
pub fn message(m: &Message) -> String {
    let head = format!(
        "{}->{} {} term={}",
        m.from.0,
        m.to.0,
        m.body.name(),
        m.term.0
    );
    let tail = match &m.body {
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            ..
        } => format!(" last={}", at(*last_log_index, *last_log_term)),
        MessageBody::RequestVoteResponse { granted, .. } => {
            if *granted { " granted" } else { " rejected" }.to_string()
        }
        MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries: es,
            leader_commit,
        } => format!(
            " prev={} entries={} commit={}",
            at(*prev_log_index, *prev_log_term),
            entries(es),
            leader_commit.0
        ),
        MessageBody::AppendEntriesResponse {
            index,
            reject: None,
        } => format!(" ok index={}", index.0),
        MessageBody::AppendEntriesResponse {
            index,
            reject: Some(hint),
        } => format!(
            " reject index={} hint={}",
            index.0,
            at(hint.index, hint.term)
        ),
        MessageBody::Heartbeat {
            commit,
            read_round: 0,
        } => format!(" commit={}", commit.0),
        MessageBody::Heartbeat { commit, read_round } => {
            format!(" commit={} read-round={read_round}", commit.0)
        }
        MessageBody::HeartbeatResponse { read_round: 0 } => String::new(),
        MessageBody::HeartbeatResponse { read_round } => format!(" read-round={read_round}"),
        MessageBody::TimeoutNow { last_index } => format!("last={last_index}"),
        MessageBody::ReadIndex { ctx } => format!(" ctx={ctx}"),
        MessageBody::ReadIndexResponse { ctx, index } => match index {
            Some(i) => format!(" ctx={ctx} index={}", i.0),
            None => format!(" ctx={ctx} refused"),
        },
        MessageBody::InstallSnapshot { chunk } => format!(
            " snap={} bytes={}..{}/{}",
            at(chunk.meta.index, chunk.meta.term),
            chunk.offset,
            chunk.offset + chunk.data.len() as u64,
            chunk.total_len
        ),
        MessageBody::InstallSnapshotResponse { index, received } => {
            format!(" snap={} received={}", index.0, received)
        }
    };
    head + &tail
}

/// A kv operation as the scripts write it: `put k=v`, `append k+=v`,
/// `cas k a->b` (`_` for an absent value), `get k`.
pub fn op(op: &Op) -> String {
    match op {
        Op::Put { key, value } => format!("put {key}={value}"),
        Op::Append { key, value } => format!("append {key}+={value}"),
        Op::Cas { key, expected, new } => {
            format!("cas {key} {}->{new}", expected.as_deref().unwrap_or("_"))
        }
        Op::Get { key } => format!("get {key}"),
    }
}

/// An entry's payload: `noop` for the new leader's empty entry, the kv
/// operation, or the byte count of anything else.
pub fn payload(e: &Entry) -> String {
    if e.data.is_empty() {
        return "noop".to_string();
    }
    match Command::decode(&e.data) {
        Ok(cmd) => op(&cmd.op),
        Err(_) => format!("{} bytes", e.data.len()),
    }
}

/// What an op returned.
fn result(r: &OpResult) -> String {
    match r {
        OpResult::Ok => "ok".to_string(),
        OpResult::Value(Some(v)) => format!("value {v}"),
        OpResult::Value(None) => "no value".to_string(),
        OpResult::CasOk => "cas ok".to_string(),
        OpResult::CasFailed { current } => {
            format!("cas failed, found {}", current.as_deref().unwrap_or("_"))
        }
    }
}

/// How a proposal ended.
pub fn answer(a: &Answer<Applied>) -> String {
    match a {
        Answer::Applied {
            index,
            term,
            output,
        } => {
            let what = match output {
                Applied::Fresh { result: r, .. } => result(r),
                Applied::Duplicate { result: r, .. } => format!("{} (duplicate)", result(r)),
                Applied::Stale { .. } => "stale, ignored".to_string(),
                Applied::Noop => "noop".to_string(),
            };
            format!("{what} at {}", at(*index, *term))
        }
        Answer::Lost { index } => format!("lost: index {} holds another term's entry", index.0),
        Answer::Read { index, output, .. } => match output {
            Applied::Fresh { result: r, .. } => format!("read {} at {}", result(r), index.0),
            _ => format!("read nothing at {}", index.0),
        },
        Answer::ReadRefused => "read refused: not the leader any more".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use raft_core::EntryKind;

    fn ent(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::new(),
        }
    }

    #[test]
    fn entries_print_as_runs_of_one_term() {
        let es = [ent(6, 2), ent(7, 3), ent(8, 3), ent(9, 3)];
        assert_eq!(entries(&es), "[6@2 7..9@3]");
        assert_eq!(entries(&[]), "[]");
    }
}
