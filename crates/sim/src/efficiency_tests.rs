//! Each rule fed the answer a correct node gives (it holds) and a broken
//! one (it fires).

use super::*;
use bytes::Bytes;
use raft_core::{Config, DurableState, EntryKind, HardState, Ready};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

const VOTERS: u64 = 3;

fn limits() -> Limits {
    Limits {
        max_entries: 8,
        max_bytes: 200,
        max_inflight: 4,
        timeout_min: 10,
    }
}

fn config(id: u64) -> Config {
    let l = limits();
    Config {
        max_entries_per_message: l.max_entries as u32,
        max_bytes_per_message: l.max_bytes,
        max_inflight_messages: l.max_inflight as u32,
        pre_vote: false,
        ..Config::new(NodeId(id), (0..VOTERS).map(NodeId).collect())
    }
}

/// An entry whose size counts 24 + `payload` bytes.
fn ent(index: u64, term: u64, payload: usize) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: Bytes::from(vec![b'x'; payload]),
    }
}

/// Node `id` restarted in `term` (with `vote`) with a log of these terms
/// (10-byte payloads), `commit` of it committed.
fn restored(id: u64, term: u64, vote: Option<u64>, log_terms: &[u64], commit: u64) -> RaftNode {
    let durable = DurableState {
        hard_state: HardState {
            term: Term(term),
            vote: vote.map(NodeId),
            commit: LogIndex(commit),
        },
        snapshot: None,
        entries: (1..).zip(log_terms).map(|(i, &t)| ent(i, t, 10)).collect(),
    };
    RaftNode::restore(config(id), durable, Xoshiro256PlusPlus::seed_from_u64(id))
        .expect("a valid test node")
}

fn msg(from: u64, to: u64, term: Term, body: MessageBody) -> Message {
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term,
        body,
    }
}

fn vote_answer(from: u64, term: Term, granted: bool) -> Message {
    let body = MessageBody::RequestVoteResponse {
        pre_vote: false,
        granted,
    };
    msg(from, 0, term, body)
}

fn ack(from: u64, term: Term, index: LogIndex) -> Message {
    let body = MessageBody::AppendEntriesResponse {
        index,
        reject: None,
    };
    msg(from, 0, term, body)
}

/// Node 0 campaigning (a candidate, its campaign's batch taken and known to
/// `watch`) with a log of these terms.
fn candidate(log_terms: &[u64], watch: &mut Watch) -> RaftNode {
    let term = log_terms.iter().copied().max().unwrap_or(0);
    let mut n = restored(0, term, None, log_terms, 0);
    while n.role() != Role::Candidate {
        n.tick();
    }
    let _ = n.ready();
    note_campaign(&n, watch);
    assert!(watch.campaign.is_some(), "the campaign is known");
    n
}

/// Node 0 leading a log of these terms plus its no-op, durable; the
/// followers in `in_sync` acknowledged all of it.
fn leader(log_terms: &[u64], in_sync: &[u64]) -> RaftNode {
    let mut n = candidate(log_terms, &mut Watch::default());
    let term = n.term();
    for p in 0..2 {
        n.step(vote_answer(p, term, true));
    }
    assert_eq!(n.role(), Role::Leader);
    let _ = n.ready();
    let last = n.log().last_index();
    n.on_persisted(last, term);
    for &p in in_sync {
        n.step(ack(p, term, last));
    }
    let _ = n.ready();
    n
}

/// The node's answer to `m` against the rules, and the batch it made.
fn answer(n: &mut RaftNode, m: Message, lease_over: bool) -> (Before, Ready) {
    let before = Before::message(n, &m, || lease_over).expect("a message the rules judge");
    n.step(m);
    (before, n.ready())
}

fn judge(
    before: &Before,
    n: &RaftNode,
    sent: &[Message],
    held: &[Message],
) -> Option<&'static str> {
    let mut watch = Watch::default();
    check_answer(before, n, sent, held, &limits(), &mut watch, 0).map(|b| b.rule)
}

fn append(prev: u64, prev_term: Term, entries: Vec<Entry>) -> Message {
    let body = MessageBody::AppendEntries {
        prev_log_index: LogIndex(prev),
        prev_log_term: prev_term,
        entries,
        leader_commit: LogIndex(0),
    };
    msg(0, 1, Term(2), body)
}

#[test]
fn the_batch_rule_holds_for_a_leader_and_fires_on_oversized_or_short_batches() {
    let mut n = leader(&[1; 3], &[]);
    let last = n.log().last_index();
    for _ in 0..6 {
        n.propose(Bytes::from_static(b"0123456789"))
            .expect("a leader");
    }
    let r = n.ready();
    let l = limits();
    assert_eq!(check_batches(&r.messages, n.log(), last, &l), None);
    let log: Vec<Entry> = n.log().entries().to_vec();
    let t = Term(1);
    // 5 entries of 34 bytes fill 170 of 200 bytes: the sixth would not fit.
    let full = append(0, t, log[..5].to_vec());
    assert_eq!(check_batches(&[full], n.log(), last, &l), None);
    let short = append(0, t, log[..2].to_vec());
    assert!(check_batches(&[short], n.log(), last, &l).is_some());
    let empty = append(1, t, Vec::new());
    assert!(check_batches(&[empty], n.log(), last, &l).is_some());
    // Entries the log did not hold before the input need not be there.
    let at_end = append(0, t, log[..2].to_vec());
    assert_eq!(check_batches(&[at_end], n.log(), LogIndex(2), &l), None);
    let too_many = append(0, t, (1..=9).map(|i| ent(i, 1, 0)).collect());
    assert!(check_batches(&[too_many], n.log(), last, &l).is_some());
    let too_big = append(0, t, vec![ent(1, 1, 100), ent(2, 1, 100)]);
    assert!(check_batches(&[too_big], n.log(), last, &l).is_some());
    let one_big = append(0, t, vec![ent(1, 1, 1000)]);
    assert_eq!(check_batches(&[one_big], n.log(), LogIndex(1), &l), None);
}

#[test]
fn the_pipeline_rule_wants_one_append_per_proposal_up_to_the_inflight_limit() {
    let mut n = leader(&[1; 2], &[1, 2]);
    let before = Before::burst(&n);
    for _ in 0..6 {
        n.propose(Bytes::from_static(b"p")).expect("a leader");
    }
    let r = n.ready();
    assert_eq!(judge(&before, &n, &r.messages, &[]), None);
    // Serialized (one append, as in probing) or unbounded (all six).
    let one: Vec<Message> = r
        .messages
        .iter()
        .filter(|m| m.to == NodeId(1))
        .take(1)
        .cloned()
        .collect();
    assert_eq!(judge(&before, &n, &one, &[]), Some("pipeline"));
    let mut six = r.messages.clone();
    six.extend(
        r.messages
            .iter()
            .filter(|m| m.to == NodeId(2))
            .take(2)
            .cloned(),
    );
    assert_eq!(judge(&before, &n, &six, &[]), Some("pipeline"));
}

#[test]
fn the_backoff_rule_checks_the_followers_hint() {
    // The follower holds terms 1 1 2 2 2; the leader of 3 probes at 5 with term 3.
    let mut f = restored(1, 3, None, &[1, 1, 2, 2, 2], 0);
    let probe = msg(0, 1, Term(3), append(5, Term(3), Vec::new()).body);
    let (before, r) = answer(&mut f, probe, true);
    assert_eq!(judge(&before, &f, &r.messages, &r.persisted_messages), None);
    let mut held = r.persisted_messages.clone();
    let MessageBody::AppendEntriesResponse {
        reject: Some(hint), ..
    } = &mut held[0].body
    else {
        panic!("a rejection: {held:?}");
    };
    assert_eq!(
        hint.index,
        LogIndex(5),
        "the last index with a term at most 3"
    );
    // Backing off one entry at a time instead.
    hint.index = LogIndex(4);
    assert_eq!(judge(&before, &f, &r.messages, &held), Some("backoff"));
}

#[test]
fn the_backoff_rule_checks_where_the_leader_probes_next() {
    // The leader holds terms 1 1 3 3 (and its no-op of term 4 at 5).
    let mut n = leader(&[1, 1, 3, 3], &[]);
    let term = n.term();
    let hint = RejectHint {
        index: LogIndex(4),
        term: Term(2),
    };
    let reject = |index: u64| {
        let body = MessageBody::AppendEntriesResponse {
            index: LogIndex(index),
            reject: Some(hint),
        };
        msg(1, 0, term, body)
    };
    // A stale rejection (the probe out is after 5) changes nothing.
    let (before, r) = answer(&mut n, reject(3), true);
    assert_eq!(judge(&before, &n, &r.messages, &[]), None);
    assert!(r.messages.is_empty());
    let stray = vec![append(1, Term(1), Vec::new())];
    assert_eq!(judge(&before, &n, &stray, &[]), Some("backoff"));
    // The follower's term 2 ends at 4; the leader's last entry of a term
    // at most 2 is 2: it probes after 2.
    let (before, r) = answer(&mut n, reject(5), true);
    assert_eq!(judge(&before, &n, &r.messages, &[]), None);
    let one_back = vec![msg(0, 1, term, append(4, Term(3), Vec::new()).body)];
    assert_eq!(judge(&before, &n, &one_back, &[]), Some("backoff"));
}

#[test]
fn the_heartbeat_answer_rule_wants_no_append_to_a_follower_in_sync() {
    let mut n = leader(&[1; 2], &[1]);
    let term = n.term();
    let (before, r) = answer(
        &mut n,
        msg(1, 0, term, MessageBody::HeartbeatResponse { read_round: 0 }),
        true,
    );
    assert_eq!(judge(&before, &n, &r.messages, &[]), None);
    let extra = vec![msg(0, 1, term, append(3, term, Vec::new()).body)];
    assert_eq!(judge(&before, &n, &extra, &[]), Some("heartbeat-answer"));
}

/// The concession rule on the vote answer `m`, handed to `n` if `step`
/// (else `n` ignores it); the rule broken, if any.
fn vote_judged(
    n: &mut RaftNode,
    m: Message,
    step: bool,
    watch: &mut Watch,
) -> Option<&'static str> {
    let before = Before::message(n, &m, || true).expect("judged");
    if step {
        n.step(m);
    }
    let r = n.ready();
    let (sent, held) = (&r.messages, &r.persisted_messages);
    check_answer(&before, n, sent, held, &limits(), watch, 0).map(|b| b.rule)
}

#[test]
fn the_concession_rule_wants_a_lost_election_conceded_at_once() {
    let mut watch = Watch::default();
    let mut n = candidate(&[1], &mut watch);
    let term = n.term();
    let l = limits();
    assert_eq!(
        vote_judged(&mut n, vote_answer(0, term, true), true, &mut watch),
        None
    );
    assert_eq!(
        vote_judged(&mut n, vote_answer(1, term, false), true, &mut watch),
        None
    );
    // The second rejection loses the election: a candidate that waits on
    // breaks the rule...
    let mut waits = watch;
    assert_eq!(
        vote_judged(&mut n, vote_answer(2, term, false), false, &mut waits),
        Some("concession")
    );
    // ...one that concedes keeps it.
    assert_eq!(
        vote_judged(&mut n, vote_answer(2, term, false), true, &mut watch),
        None
    );
    assert_eq!(n.role(), Role::Follower);
    // Conceding after one rejection of three is too early.
    let mut watch = Watch::default();
    let n = candidate(&[1], &mut watch);
    let term = n.term();
    let m = vote_answer(1, term, false);
    let before = Before::message(&n, &m, || true).expect("judged");
    let follower = restored(0, term.0, Some(0), &[1], 0);
    let found = check_answer(&before, &follower, &[], &[], &l, &mut watch, 0);
    assert_eq!(found.map(|b| b.rule), Some("concession"));
}

#[test]
fn the_vote_answer_rule_wants_requests_answered() {
    let request = |from: u64, term: u64, pre_vote: bool| {
        let body = MessageBody::RequestVote {
            pre_vote,
            last_log_index: LogIndex(1),
            last_log_term: Term(1),
            transfer: false,
        };
        msg(from, 1, Term(term), body)
    };
    // A newer term once the lease is over.
    let mut f = restored(1, 2, None, &[1], 0);
    let (before, r) = answer(&mut f, request(2, 3, false), true);
    assert_eq!(judge(&before, &f, &r.messages, &r.persisted_messages), None);
    assert_eq!(judge(&before, &f, &[], &[]), Some("vote-answer"));
    // Within the lease, silence is right.
    let mut f = restored(1, 2, None, &[1], 0);
    let (before, _) = answer(&mut f, request(2, 3, false), false);
    assert_eq!(judge(&before, &f, &[], &[]), None);
    // A stale pre-vote is told the newer term.
    let mut f = restored(1, 5, None, &[1], 0);
    let (before, r) = answer(&mut f, request(2, 3, true), true);
    assert_eq!(judge(&before, &f, &r.messages, &r.persisted_messages), None);
    assert_eq!(judge(&before, &f, &[], &[]), Some("vote-answer"));
}

#[test]
fn the_pre_vote_rule_refuses_what_the_vote_would() {
    let mut f = restored(1, 3, Some(0), &[1], 0);
    let body = MessageBody::RequestVote {
        pre_vote: true,
        last_log_index: LogIndex(1),
        last_log_term: Term(1),
        transfer: false,
    };
    let (before, r) = answer(&mut f, msg(2, 1, Term(3), body), true);
    assert_eq!(judge(&before, &f, &r.messages, &r.persisted_messages), None);
    let granted = MessageBody::RequestVoteResponse {
        pre_vote: true,
        granted: true,
    };
    let held = vec![msg(1, 2, Term(3), granted)];
    assert_eq!(judge(&before, &f, &[], &held), Some("pre-vote"));
}

#[test]
fn the_timeout_rule_wants_the_whole_range() {
    let node = NodeId(0);
    let (mut watch, mut draws) = (Watch::default(), TimeoutDraws::default());
    assert!(observe_timeout(node, 0, 10, &mut watch, &mut draws).is_some());
    assert!(observe_timeout(node, 20, 10, &mut watch, &mut draws).is_some());
    assert!(observe_timeout(node, 9, 10, &mut watch, &mut draws).is_some());
    // Two values only, redrawn again and again: a narrowed range.
    let (mut watch, mut draws) = (Watch::default(), TimeoutDraws::default());
    let mut found = None;
    for i in 0..TIMEOUT_REDRAWS_MIN {
        found = found.or(observe_timeout(
            node,
            10 + i % 2,
            10,
            &mut watch,
            &mut draws,
        ));
    }
    assert_eq!(found.map(|b| b.rule), Some("timeout-range"));
    // Three values are enough.
    let (mut watch, mut draws) = (Watch::default(), TimeoutDraws::default());
    for i in 0..2 * TIMEOUT_REDRAWS_MIN {
        assert_eq!(
            observe_timeout(node, 10 + i % 3, 10, &mut watch, &mut draws),
            None
        );
    }
}

#[test]
fn the_concession_rule_counts_both_halves_of_a_joint_configuration() {
    use raft_core::membership::{Change, ConfChange};
    // Node 0's log holds a change from {0,1,2} to {0,1,2,3,4}: two voters
    // added, so joint.
    let join = ConfChange::auto(vec![
        Change::AddVoter(NodeId(3)),
        Change::AddVoter(NodeId(4)),
    ]);
    let durable = DurableState {
        hard_state: HardState {
            term: Term(1),
            vote: None,
            commit: LogIndex(0),
        },
        snapshot: None,
        entries: vec![Entry {
            term: Term(1),
            index: LogIndex(1),
            kind: EntryKind::ConfChange,
            data: Bytes::from(join.encode()),
        }],
    };
    let mut n = RaftNode::restore(config(0), durable, Xoshiro256PlusPlus::seed_from_u64(0))
        .expect("a valid test node");
    assert!(n.membership().is_joint());
    while n.role() != Role::Candidate {
        n.tick();
    }
    let mut watch = Watch::default();
    let _ = n.ready();
    note_campaign(&n, &mut watch);
    let term = n.term();
    // 0, 3 and 4 grant: three of the new five, but one of the old three.
    for voter in [0, 3, 4] {
        let m = vote_answer(voter, term, true);
        assert_eq!(
            vote_judged(&mut n, m, true, &mut watch),
            None,
            "after {voter}"
        );
    }
    assert_eq!(n.role(), Role::Candidate, "the old half has not granted");
    // 1 grants: both halves. A candidate that stays one breaks the rule.
    let mut waits = watch;
    let m = vote_answer(1, term, true);
    assert_eq!(
        vote_judged(&mut n, m.clone(), false, &mut waits),
        Some("concession")
    );
    assert_eq!(vote_judged(&mut n, m, true, &mut watch), None);
    assert_eq!(n.role(), Role::Leader);
}

#[test]
fn a_transfer_vote_request_is_known_as_one() {
    let f = restored(1, 2, None, &[1], 0);
    let request = |transfer| {
        let body = MessageBody::RequestVote {
            pre_vote: false,
            last_log_index: LogIndex(1),
            last_log_term: Term(1),
            transfer,
        };
        msg(2, 1, Term(3), body)
    };
    let judged = |m: &Message| Before::message(&f, m, || false).expect("judged");
    assert!(judged(&request(true)).is_transfer_vote());
    assert!(!judged(&request(false)).is_transfer_vote());
}
