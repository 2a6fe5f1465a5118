//! The simulator's watch on the protocol's economy: rules whose break
//! wastes messages, round trips or terms but never safety, and which the
//! liveness checks cannot see either (an unbounded pipeline, a backoff one
//! entry at a time or a candidate that waits out a lost election all still
//! recover within the liveness bounds). Each rule restates raft-core's
//! pacing contract independently of raft-core's code and is checked on
//! what a node sends in answer to one input (`crate::node` captures the
//! node's state before the input and hands over its batches after):
//!
//! | rule | what must hold |
//! |------|----------------|
//! | `batch` | an `AppendEntries` carries at most `max_entries_per_message` entries and, unless it carries one, at most `max_bytes_per_message` bytes (an entry counts 24 bytes plus its payload); it ends short of both limits only where the leader's log ended |
//! | `pipeline` | a burst of proposals to a leader leaves at once for every follower in sync: one append per proposal, up to `max_inflight_messages` |
//! | `backoff` | a rejection carries the conflict hint (the last index at or below the probe whose term is at most the probe's term); the leader probes next at the hint (a follower it was streaming to: just after the match point), or, if it compacted that point away, sends the first chunk of its snapshot and no append; a stale rejection (or one while the snapshot is being sent) changes nothing |
//! | `heartbeat-answer` | a heartbeat answer from a follower in sync gets no append; one from a follower with room in its pipeline does not rewind the pipeline |
//! | `concession` | a (pre-)candidate steps down the moment a majority rejected it, and not before |
//! | `vote-answer` | a vote request of its term is answered, one of a newer term once the receiver's leader lease is over (a leadership transfer's at once); a pre-vote request of an older term gets a rejection with the newer term |
//! | `pre-vote` | a pre-vote is granted only where the vote could be: for a newer term, or in a term where the node voted for that candidate, or for no one and knows no leader |
//! | `timeout-range` | election timeouts are drawn from `[min, 2 * min)`, and over all of it |

use crate::profile::SimConfig;
use raft_core::progress::ProgressState;
use raft_core::{
    Entry, LogIndex, Message, MessageBody, NodeId, RaftLog, RaftNode, RejectHint, Role, Term,
};

/// Redraws of the election timeout (across the run's nodes) after which
/// fewer than three distinct values mean a narrowed range. A correct draw
/// over at least three values stays within two with odds below 2^-60.
const TIMEOUT_REDRAWS_MIN: u32 = 64;

/// The configuration the rules read.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    max_entries: usize,
    max_bytes: u64,
    max_inflight: usize,
    timeout_min: u32,
}

impl Limits {
    /// The minimum election timeout, in ticks (how long a transfer lasts).
    #[must_use]
    pub fn timeout_ticks(&self) -> u64 {
        u64::from(self.timeout_min)
    }

    /// The limits of a run.
    #[must_use]
    pub fn of(config: &SimConfig) -> Limits {
        let k = &config.raft;
        Limits {
            max_entries: k.max_entries_per_message as usize,
            max_bytes: k.max_bytes_per_message,
            max_inflight: k.max_inflight_messages as usize,
            timeout_min: k.election_timeout_ticks_min,
        }
    }
}

/// A broken rule: its name and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The rule's name (module docs).
    pub rule: &'static str,
    /// What the node did.
    pub found: String,
}

impl Broken {
    pub(crate) fn new(rule: &'static str, found: String) -> Broken {
        Broken { rule, found }
    }

    /// What the rule requires, for the violation report.
    #[must_use]
    pub fn expected(&self) -> &'static str {
        match self.rule {
            "batch" => {
                "an append carries entries within the message limits and ends short of them \
                 only where the leader's log ends"
            }
            "pipeline" => {
                "a burst of proposals leaves at once for each follower in sync, one append per \
                 proposal up to the in-flight limit"
            }
            "backoff" => {
                "a rejection carries the conflict hint and the leader probes next at it; a \
                 stale rejection changes nothing"
            }
            "heartbeat-answer" => {
                "a heartbeat answer gets no append from an in-sync follower and never rewinds \
                 a pipeline with room"
            }
            "concession" => "a candidate steps down once a majority rejected it, and not before",
            "vote-answer" => {
                "a vote request of the receiver's term is answered, one of a newer term once \
                 the leader lease is over; a stale pre-vote request is told the newer term"
            }
            "pre-vote" => "a pre-vote is granted only where the real vote could be",
            "transfer-refuses" => {
                "a leader handing leadership over refuses proposals until the transfer ends"
            }
            "transfer-hand-over" => {
                "a leader sends TimeoutNow only to the target of its transfer under way, once, \
                 as soon as the target acknowledges its whole log"
            }
            "transfer-obeys" => {
                "a voter told by its leader to campaign, with a log ending where the leader's \
                 did, campaigns at once; any other node so told stays a follower"
            }
            "transfer-target" => {
                "a leader hands leadership only to a voter of its configuration, and to any of them"
            }
            _ => "election timeouts are drawn from [min, 2 * min), over all of it",
        }
    }
}

/// The size an entry counts for in the message limits: a 24-byte header
/// and its payload (raft-core's documented rule, restated).
fn entry_bytes(e: &Entry) -> u64 {
    24 + e.data.len() as u64
}

/// The conflict hint for a probe at `index` with term `term` against `log`:
/// the last index at or below it whose term is at most `term`, with that
/// term (term 0 where the log's terms are unknown).
#[must_use]
pub fn conflict_hint(log: &RaftLog, index: LogIndex, term: Term) -> (LogIndex, Term) {
    let mut i = index.min(log.last_index());
    loop {
        match log.term(i) {
            Some(t) if t <= term => return (i, t),
            Some(_) if i.0 > 0 => i = i.prev(),
            _ => return (i, Term(0)),
        }
    }
}

/// A leader's view of one follower before an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerBefore {
    match_index: LogIndex,
    next_index: LogIndex,
    replicate: bool,
    /// Being sent the snapshot (appends wait; rejections are stale).
    snapshot: bool,
    inflight: usize,
}

impl PeerBefore {
    fn of(raft: &RaftNode, peer: NodeId) -> Option<PeerBefore> {
        let pr = raft.progress(peer)?;
        Some(PeerBefore {
            match_index: pr.match_index,
            next_index: pr.next_index,
            replicate: pr.state == ProgressState::Replicate,
            snapshot: pr.state == ProgressState::Snapshot,
            inflight: pr.inflights.len(),
        })
    }
}

/// The input a node is about to handle, as far as the rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// Proposals in one input, with the followers in sync before (by bit).
    Burst { in_sync: u32 },
    /// An append a follower may reject: where it probes, after skipping
    /// what the follower knows committed.
    Append { probe: LogIndex, probe_term: Term },
    /// A rejection reaching the leader of its term.
    Rejected {
        rejected: LogIndex,
        hint: RejectHint,
        peer: PeerBefore,
    },
    /// A heartbeat answer reaching the leader of its term.
    HeartbeatAnswer { peer: PeerBefore },
    /// A vote request.
    VoteRequest {
        pre_vote: bool,
        lease_over: bool,
        transfer: bool,
    },
    /// A vote answer.
    VoteAnswer { pre_vote: bool, granted: bool },
}

/// A node's state before an input, and the input.
#[derive(Clone, Copy, Debug)]
pub struct Before {
    role: Role,
    term: Term,
    vote: Option<NodeId>,
    leader: Option<NodeId>,
    /// The leader's log ended here before the input (a leader only appends).
    pub last_index: LogIndex,
    from: NodeId,
    msg_term: Term,
    input: Input,
}

impl Before {
    fn with(raft: &RaftNode, from: NodeId, msg_term: Term, input: Input) -> Before {
        Before {
            role: raft.role(),
            term: raft.term(),
            vote: raft.vote(),
            leader: raft.leader(),
            last_index: raft.log().last_index(),
            from,
            msg_term,
            input,
        }
    }

    /// Before a burst of proposals.
    #[must_use]
    pub fn burst(raft: &RaftNode) -> Before {
        let last = raft.log().last_index();
        let in_sync = raft
            .members()
            .iter()
            .filter(|&&p| p != raft.id() && p.0 < 32)
            .filter(|&&p| raft.progress(p).is_some_and(|pr| pr.match_index == last))
            .fold(0u32, |mask, &p| mask | bit(p));
        Before::with(raft, raft.id(), Term(0), Input::Burst { in_sync })
    }

    /// Before a message; `lease_over`: whether the run knows the
    /// receiver's leader lease to be over (or check-quorum off), asked
    /// only for a vote request. None for a message no rule looks at
    /// (heartbeats, acknowledgements).
    #[must_use]
    pub fn message(
        raft: &RaftNode,
        m: &Message,
        lease_over: impl FnOnce() -> bool,
    ) -> Option<Before> {
        let leads_term = raft.role() == Role::Leader && m.term == raft.term();
        let input = match &m.body {
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                ..
            } => {
                let committed = raft.log().committed();
                if *prev_log_index >= committed {
                    Input::Append {
                        probe: *prev_log_index,
                        probe_term: *prev_log_term,
                    }
                } else {
                    let skip = (committed.0 - prev_log_index.0) as usize;
                    match entries.get(skip - 1) {
                        Some(e) if entries.len() > skip => Input::Append {
                            probe: committed,
                            probe_term: e.term,
                        },
                        _ => return None,
                    }
                }
            }
            MessageBody::AppendEntriesResponse {
                index,
                reject: Some(hint),
            } if leads_term => match PeerBefore::of(raft, m.from) {
                Some(peer) => Input::Rejected {
                    rejected: *index,
                    hint: *hint,
                    peer,
                },
                None => return None,
            },
            MessageBody::HeartbeatResponse { .. } if leads_term => {
                match PeerBefore::of(raft, m.from) {
                    Some(peer) => Input::HeartbeatAnswer { peer },
                    None => return None,
                }
            }
            MessageBody::RequestVote {
                pre_vote, transfer, ..
            } => Input::VoteRequest {
                pre_vote: *pre_vote,
                lease_over: lease_over(),
                transfer: *transfer,
            },
            MessageBody::RequestVoteResponse { pre_vote, granted } => Input::VoteAnswer {
                pre_vote: *pre_vote,
                granted: *granted,
            },
            _ => return None,
        };
        Some(Before::with(raft, m.from, m.term, input))
    }
}

impl Before {
    /// Whether the input is a vote request of a leadership transfer.
    #[must_use]
    pub fn is_transfer_vote(&self) -> bool {
        matches!(self.input, Input::VoteRequest { transfer: true, .. })
    }
}

/// The election a node runs, as the run counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Campaign {
    term: Term,
    pre_vote: bool,
    granted: u32,
    rejected: u32,
}

/// What the rules remember of one node between inputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Watch {
    campaign: Option<Campaign>,
    /// The node's campaign count when `campaign` started.
    campaigns: u64,
    timeout: u32,
    /// The node's tick when its leader lease last started (hearing its
    /// leader, or granting a vote): never later than the node's own.
    pub lease_from_tick: Option<u64>,
}

impl Watch {
    /// The node was rebuilt from its disk: its campaign count starts again.
    pub fn restarted(&mut self) {
        self.campaign = None;
        self.campaigns = 0;
    }
}

/// The election timeouts the run's nodes drew.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeoutDraws {
    redraws: u32,
    seen: u64,
}

fn bit(node: NodeId) -> u32 {
    1u32 << node.0.min(31)
}

/// Every `AppendEntries` in `sent` against the limits; `last_before` is
/// where the sender's log ended before the input.
#[must_use]
pub fn check_batches(
    sent: &[Message],
    log: &RaftLog,
    last_before: LogIndex,
    limits: &Limits,
) -> Option<Broken> {
    for m in sent {
        let MessageBody::AppendEntries {
            prev_log_index,
            entries,
            ..
        } = &m.body
        else {
            continue;
        };
        let count = entries.len();
        let bytes: u64 = entries.iter().map(entry_bytes).sum();
        let to = m.to;
        if count > limits.max_entries || (count > 1 && bytes > limits.max_bytes) {
            let found = format!(
                "an append to {to} carries {count} entries of {bytes} bytes (limits {} entries, \
                 {} bytes)",
                limits.max_entries, limits.max_bytes
            );
            return Some(Broken::new("batch", found));
        }
        let next = LogIndex(prev_log_index.0 + count as u64 + 1);
        if count >= limits.max_entries || next > last_before {
            continue;
        }
        let Some(e) = log.entry(next) else {
            continue;
        };
        if count == 0 || bytes + entry_bytes(e) <= limits.max_bytes {
            let found = format!(
                "an append to {to} after {prev_log_index} carries {count} entries of {bytes} bytes \
                 and leaves out {next} ({} bytes), within the limits",
                entry_bytes(e)
            );
            return Some(Broken::new("batch", found));
        }
    }
    None
}

/// The appends in `out` to `to`, as (previous index, entry count).
fn appends_to(out: Out<'_>, to: NodeId) -> impl Iterator<Item = (LogIndex, usize)> + '_ {
    out.all()
        .filter(move |m| m.to == to)
        .filter_map(|m| match &m.body {
            MessageBody::AppendEntries {
                prev_log_index,
                entries,
                ..
            } => Some((*prev_log_index, entries.len())),
            _ => None,
        })
}

/// What a node sent in answer to one input: the messages that leave at
/// once and those held until durable. The rules look at both: where a
/// message waits is the persistence contract's business, checked elsewhere.
#[derive(Clone, Copy)]
struct Out<'a> {
    sent: &'a [Message],
    held: &'a [Message],
}

impl<'a> Out<'a> {
    fn all(self) -> impl Iterator<Item = &'a Message> {
        self.sent.iter().chain(self.held)
    }
}

/// The node's answer to its input: `sent` leaves at once, `held` once
/// durable (both empty if the input made no batch). `ticks`: the node's
/// clock now.
#[must_use]
pub fn check_answer(
    before: &Before,
    raft: &RaftNode,
    sent: &[Message],
    held: &[Message],
    limits: &Limits,
    watch: &mut Watch,
    ticks: u64,
) -> Option<Broken> {
    let out = Out { sent, held };
    let broken = answer_broken(before, raft, out, limits, watch);
    // What the next inputs are judged against.
    let voted = matches!(before.input, Input::VoteRequest { .. });
    let granted_vote = voted
        && out.all().any(|m| {
            matches!(
                m.body,
                MessageBody::RequestVoteResponse {
                    pre_vote: false,
                    granted: true
                }
            )
        });
    if granted_vote {
        watch.lease_from_tick = Some(ticks);
    }
    broken
}

/// After any input that made a batch: a (pre-)candidate that started a
/// new campaign (raft-core counts them; vote requests re-sent within one
/// do not count) has its answers counted from scratch by the concession
/// rule.
pub fn note_campaign(raft: &RaftNode, watch: &mut Watch) {
    let campaigning = matches!(raft.role(), Role::PreCandidate | Role::Candidate);
    if campaigning && raft.campaigns() != watch.campaigns {
        watch.campaigns = raft.campaigns();
        let pre_vote = raft.role() == Role::PreCandidate;
        watch.campaign = Some(Campaign {
            term: raft.term(),
            pre_vote,
            // A pre-candidate counts itself at once; a candidate's own vote
            // arrives like any other, once durable.
            granted: if pre_vote { bit(raft.id()) } else { 0 },
            rejected: 0,
        });
    }
}

/// The leader's next probe for `to` would follow `prev`, which it
/// compacted away: it must send the first chunk of its snapshot instead,
/// and no append.
fn snapshot_instead(out: Out<'_>, to: NodeId, prev: LogIndex) -> Option<Broken> {
    let chunk = out.all().any(|m| {
        m.to == to && matches!(&m.body, MessageBody::InstallSnapshot { chunk } if chunk.offset == 0)
    });
    let appends = appends_to(out, to).count();
    (!chunk || appends > 0).then(|| {
        let found = format!(
            "the next probe of {to} follows compacted {prev}: the leader sent {appends} appends \
             and {} the snapshot's first chunk",
            if chunk { "" } else { "not" }
        );
        Broken::new("backoff", found)
    })
}

fn answer_broken(
    b: &Before,
    raft: &RaftNode,
    out: Out<'_>,
    limits: &Limits,
    watch: &mut Watch,
) -> Option<Broken> {
    let from = b.from;
    match b.input {
        Input::Burst { in_sync } => {
            let proposed = raft.log().last_index().0.saturating_sub(b.last_index.0) as usize;
            let expected = proposed.min(limits.max_inflight);
            (0..32u64)
                .filter(|&p| in_sync & (1 << p) != 0)
                .map(NodeId)
                .find_map(|p| {
                    let sent_to = appends_to(out, p).filter(|&(_, n)| n > 0).count();
                    (sent_to != expected).then(|| {
                        let found = format!(
                            "{proposed} proposals sent {sent_to} appends to {p}, in sync \
                             (in-flight limit {})",
                            limits.max_inflight
                        );
                        Broken::new("pipeline", found)
                    })
                })
        }
        Input::Append { probe, probe_term } => out.all().find_map(|m| match m.body {
            MessageBody::AppendEntriesResponse {
                index,
                reject: Some(hint),
            } if m.to == from => {
                let (hi, ht) = conflict_hint(raft.log(), probe, probe_term);
                let expected = RejectHint {
                    index: hi,
                    term: ht,
                };
                (index != probe || hint != expected).then(|| {
                    let found = format!(
                        "the probe at {probe} (term {probe_term}) was rejected at {index} with \
                         hint {} (term {}), not {hi} (term {ht})",
                        hint.index, hint.term
                    );
                    Broken::new("backoff", found)
                })
            }
            _ => None,
        }),
        Input::Rejected {
            rejected,
            hint,
            peer,
        } => {
            let next = if peer.snapshot {
                None
            } else if peer.replicate {
                (rejected > peer.match_index).then(|| peer.match_index.next())
            } else if peer.next_index.prev() == rejected {
                let probe = if hint.term > Term(0) {
                    conflict_hint(raft.log(), hint.index, hint.term).0
                } else {
                    hint.index
                };
                let hinted = LogIndex(rejected.0.min(probe.0 + 1));
                Some(hinted.max(peer.match_index.next()).max(LogIndex(1)))
            } else {
                None
            };
            if let Some(n) = next.filter(|n| raft.log().term(n.prev()).is_none()) {
                return snapshot_instead(out, from, n.prev());
            }
            let probes: Vec<LogIndex> = appends_to(out, from).map(|(prev, _)| prev).collect();
            let expected: Vec<LogIndex> = next.map(LogIndex::prev).into_iter().collect();
            (probes != expected).then(|| {
                let list = |v: &[LogIndex]| match v {
                    [] => "nothing".to_string(),
                    _ => v
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let found = format!(
                    "after {from} rejected {rejected} (hint {} term {}, match {}, next {}), the \
                     leader probed after {}, not {}",
                    hint.index,
                    hint.term,
                    peer.match_index,
                    peer.next_index,
                    list(&probes),
                    list(&expected)
                );
                Broken::new("backoff", found)
            })
        }
        Input::HeartbeatAnswer { peer } => {
            let mut appends = appends_to(out, from);
            let in_sync = peer.match_index == b.last_index;
            let room = peer.replicate && peer.inflight < limits.max_inflight;
            let bad = if in_sync {
                appends.next()
            } else if room {
                appends.find(|&(prev, _)| prev != peer.next_index.prev())
            } else {
                None
            };
            bad.map(|(prev, n)| {
                let found = format!(
                    "a heartbeat answer from {from} (match {}, next {}) got an append after \
                     {prev} with {n} entries (last index {})",
                    peer.match_index, peer.next_index, b.last_index
                );
                Broken::new("heartbeat-answer", found)
            })
        }
        Input::VoteRequest {
            pre_vote,
            lease_over,
            transfer,
        } => {
            let answer = out.all().find_map(|m| match m.body {
                MessageBody::RequestVoteResponse { granted, .. } if m.to == from => {
                    Some((m.term, granted))
                }
                _ => None,
            });
            let (t, term) = (b.msg_term, b.term);
            let must_answer = t == term
                || (t > term && transfer)
                || (t > term && lease_over && b.role != Role::Leader)
                || (t < term && pre_vote);
            match answer {
                None if must_answer => {
                    let found = format!(
                        "{} in {term} left the {} request of {from} for {t} unanswered",
                        raft.id(),
                        if pre_vote { "pre-vote" } else { "vote" }
                    );
                    Some(Broken::new("vote-answer", found))
                }
                Some((reply_term, granted)) if t < term && (granted || reply_term != term) => {
                    let found = format!(
                        "{} in {term} answered the stale pre-vote of {from} for {t} with \
                         granted={granted} in {reply_term}",
                        raft.id()
                    );
                    Some(Broken::new("vote-answer", found))
                }
                Some((_, true)) if pre_vote => {
                    let could = t > term
                        || b.vote == Some(from)
                        || (b.vote.is_none() && b.leader.is_none());
                    (!could).then(|| {
                        let found = format!(
                            "{} in {term} (vote {:?}, leader {:?}) granted a pre-vote to {from} \
                             for {t}",
                            raft.id(),
                            b.vote,
                            b.leader
                        );
                        Broken::new("pre-vote", found)
                    })
                }
                _ => None,
            }
        }
        Input::VoteAnswer { pre_vote, granted } => concession(b, raft, pre_vote, granted, watch),
    }
}

/// A vote answer counted by a (pre-)candidate: won, lost or still open,
/// the node must be where the count says.
fn concession(
    b: &Before,
    raft: &RaftNode,
    pre_vote: bool,
    granted: bool,
    watch: &mut Watch,
) -> Option<Broken> {
    let campaigning = matches!(b.role, Role::PreCandidate | Role::Candidate);
    let counted = campaigning
        && pre_vote == (b.role == Role::PreCandidate)
        && (b.msg_term == b.term || (b.msg_term > b.term && pre_vote && granted));
    if !counted {
        return None;
    }
    let c = watch
        .campaign
        .as_mut()
        .filter(|c| c.term == b.term && c.pre_vote == pre_vote)?;
    let voter = bit(b.from);
    if (c.granted | c.rejected) & voter == 0 {
        if granted {
            c.granted |= voter;
        } else {
            c.rejected |= voter;
        }
    }
    // Counted per half of the candidate's configuration (both while joint),
    // answers of non-voters not at all.
    let m = raft.membership();
    let halves: &[&[NodeId]] = if m.outgoing.is_empty() {
        &[&m.voters]
    } else {
        &[&m.voters, &m.outgoing]
    };
    let tally =
        |half: &[NodeId], answers: u32| half.iter().filter(|&&v| answers & bit(v) != 0).count();
    let won = halves.iter().all(|h| tally(h, c.granted) > h.len() / 2);
    let lost = halves
        .iter()
        .any(|h| tally(h, c.rejected) >= h.len() - h.len() / 2);
    let voters = m.voters.len();
    let (yes, no) = (tally(&m.voters, c.granted), tally(&m.voters, c.rejected));
    let (role, term) = (raft.role(), raft.term());
    let (ok, outcome) = if won {
        (role != b.role, "won")
    } else if lost {
        (role == Role::Follower && term == b.term, "lost")
    } else {
        (role == b.role && term == b.term, "open")
    };
    (!ok).then(|| {
        let found = format!(
            "{} ({:?} in {}) with {yes} of {voters} granted and {no} rejected (the election is \
             {outcome}) is {role:?} in {term}",
            raft.id(),
            b.role,
            b.term
        );
        Broken::new("concession", found)
    })
}

/// The node's election timeout after an input: in range, and the run's
/// redraws spread over the range.
#[must_use]
pub fn check_timeout(
    raft: &RaftNode,
    watch: &mut Watch,
    draws: &mut TimeoutDraws,
    limits: &Limits,
) -> Option<Broken> {
    let timeout = raft.election_timeout_ticks();
    observe_timeout(raft.id(), timeout, limits.timeout_min, watch, draws)
}

fn observe_timeout(
    node: NodeId,
    timeout: u32,
    min: u32,
    watch: &mut Watch,
    draws: &mut TimeoutDraws,
) -> Option<Broken> {
    if timeout < min || timeout >= 2 * min {
        let found = format!("{node} has a timeout of {timeout} ticks (min {min})");
        return Some(Broken::new("timeout-range", found));
    }
    if timeout == watch.timeout {
        return None;
    }
    watch.timeout = timeout;
    draws.redraws += 1;
    draws.seen |= 1u64 << (timeout - min).min(63);
    let distinct = draws.seen.count_ones();
    (min >= 3 && draws.redraws >= TIMEOUT_REDRAWS_MIN && distinct < 3).then(|| {
        let found = format!(
            "{} redraws of the election timeout took {distinct} distinct values of {min}",
            draws.redraws
        );
        Broken::new("timeout-range", found)
    })
}

#[cfg(test)]
#[path = "efficiency_tests.rs"]
mod tests;
