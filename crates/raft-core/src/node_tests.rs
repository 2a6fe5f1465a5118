//! Unit tests of the Raft rules: one or a few [`RaftNode`]s driven directly
//! through `step`, `tick`, `propose`, `take_ready` and `on_persisted`, with
//! assertions on the [`Ready`] batches, roles, terms, logs and progress.
//!
//! Peers that a test does not build are simulated by hand-written messages.

use super::*;
use crate::message::RejectHint;
use crate::progress::ProgressState;
use rand_xoshiro::rand_core::SeedableRng;
use std::collections::BTreeSet;

// ----- helpers -------------------------------------------------------------

fn ids(voters: &[u64]) -> Vec<NodeId> {
    voters.iter().map(|&v| NodeId(v)).collect()
}

/// The default configuration (pre-vote and check-quorum on).
fn cfg(id: u64, voters: &[u64]) -> Config {
    Config::new(NodeId(id), ids(voters))
}

/// The default configuration with pre-vote off (elections go straight to
/// candidate, which keeps the term arithmetic of a test simple).
fn cfg_no_pre_vote(id: u64, voters: &[u64]) -> Config {
    let mut c = cfg(id, voters);
    c.pre_vote = false;
    c
}

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A node with empty durable state, seeded with its id.
fn new_node(config: Config) -> RaftNode {
    let seed = config.id.0;
    RaftNode::new(config, rng(seed)).expect("test configurations are valid")
}

fn ent(index: u64, term: u64) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: Bytes::new(),
    }
}

/// Entries with the given terms, the first at index `first`.
fn ents(first: u64, terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| ent(first + i as u64, t))
        .collect()
}

fn durable(term: u64, vote: Option<u64>, log_terms: &[u64], commit: u64) -> DurableState {
    DurableState {
        hard_state: HardState {
            term: Term(term),
            vote: vote.map(NodeId),
            commit: LogIndex(commit),
        },
        snapshot: None,
        entries: ents(1, log_terms),
    }
}

/// A node rebuilt from durable state: hard state (`term`, `vote`, `commit`)
/// and a log whose entry `i + 1` has term `log_terms[i]`.
fn restored(
    config: Config,
    term: u64,
    vote: Option<u64>,
    log_terms: &[u64],
    commit: u64,
) -> RaftNode {
    let seed = config.id.0;
    RaftNode::restore(config, durable(term, vote, log_terms, commit), rng(seed))
        .expect("consistent durable state")
}

/// The terms of the node's log entries, in order.
fn terms_of(node: &RaftNode) -> Vec<u64> {
    node.log().entries().iter().map(|e| e.term.0).collect()
}

fn msg(from: u64, to: u64, term: u64, body: MessageBody) -> Message {
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term: Term(term),
        body,
    }
}

/// An `AppendEntries` following (`prev.0`, `prev.1`) = (index, term).
fn append(
    from: u64,
    to: u64,
    term: u64,
    prev: (u64, u64),
    entries: Vec<Entry>,
    leader_commit: u64,
) -> Message {
    let body = MessageBody::AppendEntries {
        prev_log_index: LogIndex(prev.0),
        prev_log_term: Term(prev.1),
        entries,
        leader_commit: LogIndex(leader_commit),
    };
    msg(from, to, term, body)
}

/// A successful `AppendEntriesResponse` up to `index`.
fn ack(from: u64, to: u64, term: u64, index: u64) -> Message {
    let body = MessageBody::AppendEntriesResponse {
        index: LogIndex(index),
        reject: None,
    };
    msg(from, to, term, body)
}

/// A rejection of the `AppendEntries` probing `rejected`, with the hint (index, term).
fn reject(from: u64, to: u64, term: u64, rejected: u64, hint: (u64, u64)) -> Message {
    let body = MessageBody::AppendEntriesResponse {
        index: LogIndex(rejected),
        reject: Some(RejectHint {
            index: LogIndex(hint.0),
            term: Term(hint.1),
        }),
    };
    msg(from, to, term, body)
}

/// A (pre-)vote request for a candidate whose log ends at (`last.0`, `last.1`).
fn vote_request(from: u64, to: u64, term: u64, pre_vote: bool, last: (u64, u64)) -> Message {
    let body = MessageBody::RequestVote {
        pre_vote,
        last_log_index: LogIndex(last.0),
        last_log_term: Term(last.1),
        transfer: false,
    };
    msg(from, to, term, body)
}

fn vote_response(from: u64, to: u64, term: u64, pre_vote: bool, granted: bool) -> Message {
    msg(
        from,
        to,
        term,
        MessageBody::RequestVoteResponse { pre_vote, granted },
    )
}

fn heartbeat(from: u64, to: u64, term: u64, commit: u64) -> Message {
    let body = MessageBody::Heartbeat {
        commit: LogIndex(commit),
        read_round: 0,
    };
    msg(from, to, term, body)
}

/// "Persists" a Ready: reports its last entry durable.
fn persist(node: &mut RaftNode, ready: &Ready) {
    if let Some(last) = ready.entries.last() {
        node.on_persisted(last.index, last.term);
    }
}

/// Takes the node's Ready and persists it, as a host does.
fn handle(node: &mut RaftNode) -> Ready {
    let ready = node.ready();
    persist(node, &ready);
    ready
}

/// Handles Ready batches until there are none, returning every committed
/// entry handed out for applying.
fn apply_all(node: &mut RaftNode) -> Vec<Entry> {
    let mut applied = Vec::new();
    while node.has_ready() {
        applied.extend(handle(node).committed_entries);
    }
    applied
}

/// Every message of a Ready: the immediate ones, then the persisted ones.
fn outgoing(ready: &Ready) -> Vec<Message> {
    ready
        .messages
        .iter()
        .chain(&ready.persisted_messages)
        .cloned()
        .collect()
}

/// The `AppendEntries` to `to` among `msgs`, as (prev index, prev term, entry indexes).
fn appends_to(msgs: &[Message], to: u64) -> Vec<(u64, u64, Vec<u64>)> {
    msgs.iter()
        .filter(|m| m.to == NodeId(to))
        .filter_map(|m| match &m.body {
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                ..
            } => Some((
                prev_log_index.0,
                prev_log_term.0,
                entries.iter().map(|e| e.index.0).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// Steps the messages of `ready` that the node addressed to itself (a
/// candidate's own vote), as the host contract says.
fn deliver_to_self(node: &mut RaftNode, ready: &Ready) {
    let id = node.id();
    for m in ready.persisted_messages.iter().filter(|m| m.to == id) {
        node.step(m.clone());
    }
}

/// Ticks a follower until it starts a (pre-)campaign; returns the ticks taken.
fn tick_until_campaign(node: &mut RaftNode) -> u32 {
    let limit = 2 * node.config().election_timeout_ticks_min;
    for ticks in 1..=limit {
        node.tick();
        if node.role() != Role::Follower {
            return ticks;
        }
    }
    panic!("node {} did not campaign within {limit} ticks", node.id());
}

/// A cluster of `voters` (pre-vote off) led by the first, everything
/// replicated and committed; the nodes in the order given.
fn cluster(voters: &[u64]) -> Vec<RaftNode> {
    let mut nodes: Vec<RaftNode> = voters
        .iter()
        .map(|&v| new_node(cfg_no_pre_vote(v, voters)))
        .collect();
    elect(&mut nodes[0]);
    let mut refs: Vec<&mut RaftNode> = nodes.iter_mut().collect();
    run(&mut refs);
    nodes
}

/// Makes `node` the leader of the next term: it times out and every other
/// voter grants its (pre-)votes. The Ready batches of the campaign are
/// discarded (the peers' answers are simulated), so the next Ready is the new
/// leader's: its no-op entry and first `AppendEntries`.
fn elect(node: &mut RaftNode) {
    tick_until_campaign(node);
    let id = node.id().0;
    let peers: Vec<u64> = node
        .members()
        .iter()
        .map(|p| p.0)
        .filter(|&p| p != id)
        .collect();
    for _round in 0..2 {
        let role = node.role();
        let (pre_vote, term) = match role {
            Role::PreCandidate => (true, node.term().next()),
            Role::Candidate => (false, node.term()),
            _ => break,
        };
        // The host delivers the candidate's own vote back to it (after
        // persisting), as it would any vote reply.
        let requests = node.ready();
        deliver_to_self(node, &requests);
        for &p in &peers {
            if node.role() != role {
                break;
            }
            node.step(vote_response(p, id, term.0, pre_vote, true));
        }
    }
    assert_eq!(node.role(), Role::Leader, "node {id} should have won");
}

/// A network of the given nodes: every Ready is handled (persisted first, as
/// the host contract says) and its messages delivered, until no message is
/// left. Messages to nodes not in `nodes` are dropped. Returns every
/// delivered message, in delivery order.
fn run(nodes: &mut [&mut RaftNode]) -> Vec<Message> {
    let mut delivered = Vec::new();
    for _round in 0..1_000 {
        let mut queue = Vec::new();
        for node in nodes.iter_mut() {
            while node.has_ready() {
                let ready = handle(node);
                queue.extend(outgoing(&ready));
            }
        }
        if queue.is_empty() {
            return delivered;
        }
        for m in queue {
            if let Some(node) = nodes.iter_mut().find(|n| n.id() == m.to) {
                node.step(m.clone());
                delivered.push(m);
            }
        }
    }
    panic!("the network did not become quiescent");
}

// ----- roles and elections --------------------------------------------------

/// Rule: each election timeout is drawn uniformly from
/// `[election_timeout_ticks_min, 2 * election_timeout_ticks_min)`, from the
/// seeded generator, so different seeds give different timeouts.
#[test]
fn election_timeout_is_randomized_within_min_and_twice_min() {
    for min in [2u32, 10, 17] {
        let mut seen = BTreeSet::new();
        for seed in 0..300 {
            let mut c = cfg(1, &[1, 2, 3]);
            c.election_timeout_ticks_min = min;
            let node = RaftNode::new(c, rng(seed)).expect("valid config");
            let t = node.election_timeout_ticks();
            assert!(
                (min..2 * min).contains(&t),
                "timeout {t} outside [{min}, {})",
                2 * min
            );
            seen.insert(t);
        }
        let all: BTreeSet<u32> = (min..2 * min).collect();
        assert_eq!(
            seen,
            all,
            "300 seeds draw every timeout of [{min}, {})",
            2 * min
        );
    }
    // The same seed always gives the same timeout (determinism).
    let a = RaftNode::new(cfg(1, &[1, 2, 3]), rng(42)).expect("valid config");
    let b = RaftNode::new(cfg(1, &[1, 2, 3]), rng(42)).expect("valid config");
    assert_eq!(a.election_timeout_ticks(), b.election_timeout_ticks());
}

/// Rule: a follower campaigns exactly when its randomized election timeout
/// has elapsed, not a tick earlier.
#[test]
fn follower_campaigns_exactly_at_its_election_timeout() {
    for seed in 0..20 {
        let mut node = RaftNode::new(cfg(1, &[1, 2, 3]), rng(seed)).expect("valid config");
        let timeout = node.election_timeout_ticks();
        for _ in 1..timeout {
            node.tick();
        }
        assert_eq!(node.role(), Role::Follower, "seed {seed}: one tick early");
        node.tick();
        assert_eq!(node.role(), Role::PreCandidate, "seed {seed}: on time");
    }
}

/// Rule (thesis §9.6): with pre-vote on, a follower that times out becomes a
/// pre-candidate and asks for pre-votes for term + 1 without changing its
/// own term or vote (nothing to persist).
#[test]
fn timeout_with_pre_vote_sends_pre_votes_without_raising_term() {
    let mut node = restored(cfg(1, &[1, 2, 3]), 3, Some(2), &[1, 3], 0);
    tick_until_campaign(&mut node);
    assert_eq!(node.role(), Role::PreCandidate);
    assert_eq!(node.term(), Term(3), "a pre-candidate keeps its term");
    assert_eq!(
        node.vote(),
        Some(NodeId(2)),
        "a pre-candidate keeps its vote"
    );
    let ready = node.ready();
    assert_eq!(ready.hard_state, None, "nothing durable changed");
    assert!(ready.messages.is_empty());
    assert_eq!(
        ready.persisted_messages,
        vec![
            vote_request(1, 2, 4, true, (2, 3)),
            vote_request(1, 3, 4, true, (2, 3)),
        ]
    );
}

/// Rule (§5.2): with pre-vote off, a follower that times out becomes a
/// candidate of term + 1 and votes for itself; its RequestVote waits for the
/// new term and vote to be durable (it is a persisted message, and the Ready
/// carries the new hard state).
#[test]
fn timeout_without_pre_vote_starts_election_in_next_term() {
    let mut node = restored(cfg_no_pre_vote(1, &[1, 2, 3]), 3, Some(2), &[1, 3], 1);
    tick_until_campaign(&mut node);
    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.term(), Term(4));
    assert_eq!(node.vote(), Some(NodeId(1)));
    let ready = node.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: Term(4),
            vote: Some(NodeId(1)),
            commit: LogIndex(1),
        })
    );
    assert!(
        ready.messages.is_empty(),
        "vote requests must not leave before the term is durable"
    );
    assert_eq!(
        ready.persisted_messages,
        vec![
            vote_response(1, 1, 4, false, true),
            vote_request(1, 2, 4, false, (2, 3)),
            vote_request(1, 3, 4, false, (2, 3)),
        ],
        "its own vote, to itself, and the requests all wait for the durable term"
    );
}

/// Rule (thesis §9.6): a pre-candidate granted pre-votes by a majority runs a
/// real election: term + 1, vote for itself, RequestVote after persisting.
#[test]
fn pre_candidate_with_majority_of_pre_votes_becomes_candidate() {
    let mut node = restored(cfg(1, &[1, 2, 3]), 3, None, &[1, 3], 0);
    tick_until_campaign(&mut node);
    let _pre_votes = node.ready();
    node.step(vote_response(2, 1, 4, true, true));
    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.term(), Term(4));
    assert_eq!(node.vote(), Some(NodeId(1)));
    let ready = node.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: Term(4),
            vote: Some(NodeId(1)),
            commit: LogIndex(0),
        })
    );
    assert_eq!(
        ready.persisted_messages,
        vec![
            vote_response(1, 1, 4, false, true),
            vote_request(1, 2, 4, false, (2, 3)),
            vote_request(1, 3, 4, false, (2, 3)),
        ],
        "its own vote, to itself, and the requests all wait for the durable term"
    );
}

/// Rule (§5.2, §8): a candidate granted votes by a majority becomes leader and
/// appends an empty entry of its own term; a minority is not enough.
#[test]
fn candidate_with_majority_becomes_leader_and_appends_noop() {
    let mut node = restored(cfg_no_pre_vote(1, &[1, 2, 3, 4, 5]), 1, None, &[1, 1], 0);
    tick_until_campaign(&mut node);
    assert_eq!(node.term(), Term(2));
    let campaign = node.ready();
    deliver_to_self(&mut node, &campaign);
    node.step(vote_response(2, 1, 2, false, true));
    assert_eq!(node.role(), Role::Candidate, "2 of 5 votes is no majority");
    node.step(vote_response(2, 1, 2, false, true));
    assert_eq!(node.role(), Role::Candidate, "a repeated vote counts once");
    node.step(vote_response(3, 1, 2, false, true));
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.leader(), Some(NodeId(1)));
    assert_eq!(terms_of(&node), vec![1, 1, 2]);
    let noop = node
        .log()
        .entry(LogIndex(3))
        .expect("the no-op is appended");
    assert_eq!(noop, &ent(3, 2), "an empty Normal entry of the new term");
    let ready = node.ready();
    assert_eq!(ready.entries.last(), Some(&ent(3, 2)));
    for peer in 2..=5 {
        assert_eq!(
            appends_to(&ready.messages, peer),
            vec![(2, 1, vec![3])],
            "the no-op goes to peer {peer}"
        );
    }
}

/// Rule (§5.2): a candidate refused by a majority cannot win and returns to
/// follower, keeping its term and its vote for itself.
#[test]
fn lost_election_returns_to_follower() {
    let mut node = restored(cfg_no_pre_vote(1, &[1, 2, 3, 4, 5]), 1, None, &[], 0);
    tick_until_campaign(&mut node);
    node.step(vote_response(2, 1, 2, false, false));
    node.step(vote_response(3, 1, 2, false, false));
    assert_eq!(
        node.role(),
        Role::Candidate,
        "2 refusals of 5 decide nothing"
    );
    node.step(vote_response(4, 1, 2, false, false));
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), Term(2));
    assert_eq!(node.vote(), Some(NodeId(1)));
    assert_eq!(node.leader(), None);

    // A lost pre-vote returns to follower in the unchanged term.
    let mut node = restored(cfg(1, &[1, 2, 3]), 5, None, &[], 0);
    tick_until_campaign(&mut node);
    assert_eq!(node.role(), Role::PreCandidate);
    node.step(vote_response(2, 1, 5, true, false));
    node.step(vote_response(3, 1, 5, true, false));
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), Term(5));
}

// ----- §5.4.1 election restriction -----------------------------------------

/// The vote a fresh voter with log terms `[1, 1, 2]` in term 2 gives a
/// candidate of term 3 whose log ends at `last`.
fn vote_of_voter_with_log_1_1_2(last: (u64, u64)) -> (Option<NodeId>, Vec<Message>) {
    let mut voter = restored(cfg(1, &[1, 2, 3]), 2, None, &[1, 1, 2], 0);
    voter.step(vote_request(2, 1, 3, false, last));
    let ready = voter.ready();
    (voter.vote(), ready.persisted_messages)
}

/// Rule (§5.4.1): a vote is refused to a candidate whose log is less up to
/// date: a lower last term (however long the log), or the same last term
/// with a shorter log.
#[test]
fn vote_refused_to_less_up_to_date_log() {
    for (why, last) in [
        ("lower last term, longer log", (5, 1)),
        ("lower last term, same length", (3, 1)),
        ("same last term, shorter log", (2, 2)),
    ] {
        let (vote, sent) = vote_of_voter_with_log_1_1_2(last);
        assert_eq!(vote, None, "{why}");
        assert_eq!(
            sent,
            vec![vote_response(1, 2, 3, false, false)],
            "{why}: refused, in the voter's (new) term"
        );
    }
}

/// Rule (§5.4.1): a vote is granted to a candidate whose log is at least as
/// up to date: a higher last term (even if shorter), or the same last term
/// with a log at least as long.
#[test]
fn vote_granted_to_at_least_as_up_to_date_log() {
    for (why, last) in [
        ("same last term, same length", (3, 2)),
        ("same last term, longer log", (4, 2)),
        ("higher last term, shorter log", (1, 3)),
    ] {
        let (vote, sent) = vote_of_voter_with_log_1_1_2(last);
        assert_eq!(vote, Some(NodeId(2)), "{why}");
        assert_eq!(sent, vec![vote_response(1, 2, 3, false, true)], "{why}");
    }
}

/// Rule (§5.2): at most one vote per term: a second candidate of the same
/// term is refused; the candidate already voted for is granted again (its
/// request may have been duplicated or the answer lost).
#[test]
fn at_most_one_vote_per_term() {
    let mut voter = restored(cfg(1, &[1, 2, 3]), 1, None, &[], 0);
    voter.step(vote_request(2, 1, 2, false, (0, 0)));
    assert_eq!(
        voter.ready().persisted_messages,
        vec![vote_response(1, 2, 2, false, true)]
    );
    voter.step(vote_request(3, 1, 2, false, (0, 0)));
    assert_eq!(
        voter.ready().persisted_messages,
        vec![vote_response(1, 3, 2, false, false)],
        "a second candidate in the same term is refused"
    );
    assert_eq!(voter.vote(), Some(NodeId(2)));
    voter.step(vote_request(2, 1, 2, false, (0, 0)));
    assert_eq!(
        voter.ready().persisted_messages,
        vec![vote_response(1, 2, 2, false, true)],
        "the same candidate asking again is granted again"
    );
    assert_eq!(voter.vote(), Some(NodeId(2)));
    assert_eq!(voter.term(), Term(2));
}

// ----- durability before dependent messages --------------------------------

/// Rule (persistence contract): a granted vote is durable before the answer
/// leaves: the Ready carries the hard state with the vote, and the response
/// is a persisted message, not an immediate one.
#[test]
fn granted_vote_is_durable_before_the_response_leaves() {
    let mut voter = restored(cfg(1, &[1, 2, 3]), 1, None, &[1], 1);
    voter.step(vote_request(3, 1, 2, false, (1, 1)));
    let ready = voter.ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: Term(2),
            vote: Some(NodeId(3)),
            commit: LogIndex(1),
        })
    );
    assert!(
        ready.messages.is_empty(),
        "the vote must not leave before it is durable"
    );
    assert_eq!(
        ready.persisted_messages,
        vec![vote_response(1, 3, 2, false, true)]
    );
}

/// Rule (persistence contract): the leader's `AppendEntries` and `Heartbeat`s
/// depend on nothing the batch persists and may leave at once (`messages`).
#[test]
fn leader_appends_and_heartbeats_leave_immediately() {
    let mut leader = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut leader);
    let term = leader.term().0;
    let ready = leader.ready();
    assert_eq!(ready.entries, vec![ent(1, term)]);
    assert!(ready.persisted_messages.is_empty());
    assert_eq!(
        ready.messages,
        vec![
            append(1, 2, term, (0, 0), vec![ent(1, term)], 0),
            append(1, 3, term, (0, 0), vec![ent(1, term)], 0),
        ]
    );
    leader.tick();
    let ready = leader.ready();
    assert!(ready.persisted_messages.is_empty());
    assert_eq!(
        ready.messages,
        vec![heartbeat(1, 2, term, 0), heartbeat(1, 3, term, 0)]
    );
}

/// Rule (persistence contract): a follower acknowledges entries only once
/// they are durable: the ack is a persisted message of the Ready that
/// carries the entries.
#[test]
fn follower_ack_waits_for_entries_to_be_durable() {
    let mut follower = new_node(cfg(2, &[1, 2, 3]));
    follower.step(append(1, 2, 1, (0, 0), ents(1, &[1, 1]), 0));
    let ready = follower.ready();
    assert_eq!(ready.entries, ents(1, &[1, 1]));
    assert!(ready.messages.is_empty());
    assert_eq!(ready.persisted_messages, vec![ack(2, 1, 1, 2)]);
}

// ----- stale terms ---------------------------------------------------------

/// Rule (§5.1): an `AppendEntries` (or heartbeat) of an older term is
/// answered with the receiver's newer term and changes nothing: log, term,
/// vote, leader and commit stay as they were.
#[test]
fn stale_append_is_answered_with_newer_term_and_changes_nothing() {
    let mut node = restored(cfg(2, &[1, 2, 3]), 5, Some(3), &[1, 1, 5], 1);
    let _restart = node.ready();
    node.step(append(1, 2, 4, (1, 1), ents(2, &[4, 4]), 3));
    let ready = node.ready();
    assert_eq!(
        ready.persisted_messages,
        vec![ack(2, 1, 5, 0)],
        "answered with the newer term"
    );
    assert_eq!(ready.hard_state, None);
    assert!(ready.entries.is_empty());
    assert!(ready.committed_entries.is_empty());
    assert_eq!(terms_of(&node), vec![1, 1, 5]);
    assert_eq!(node.term(), Term(5));
    assert_eq!(node.vote(), Some(NodeId(3)));
    assert_eq!(node.leader(), None);
    assert_eq!(node.log().committed(), LogIndex(1));
    assert_eq!(node.role(), Role::Follower);

    node.step(heartbeat(1, 2, 4, 3));
    assert_eq!(node.ready().persisted_messages, vec![ack(2, 1, 5, 0)]);
    assert_eq!(node.log().committed(), LogIndex(1));
    assert_eq!(node.leader(), None);
}

/// Rule (§5.1): a stale leader learns the newer term from the answer to its
/// `AppendEntries` and steps down to follower of that term.
#[test]
fn stale_leader_steps_down_on_higher_term_response() {
    let mut old = new_node(cfg_no_pre_vote(1, &[1, 2, 3]));
    elect(&mut old);
    assert_eq!(old.term(), Term(1));
    let to_newer = old
        .ready()
        .messages
        .into_iter()
        .find(|m| m.to == NodeId(2))
        .expect("the new leader sends its no-op to 2");
    let mut newer = restored(cfg(2, &[1, 2, 3]), 3, Some(3), &[], 0);
    newer.step(to_newer);
    assert!(
        newer.log().entries().is_empty(),
        "a stale append adds nothing"
    );
    let answer = newer.ready().persisted_messages;
    assert_eq!(answer, vec![ack(2, 1, 3, 0)]);
    for m in answer {
        old.step(m);
    }
    assert_eq!(old.role(), Role::Follower);
    assert_eq!(old.term(), Term(3));
    assert_eq!(old.vote(), None);
    assert_eq!(old.leader(), None);
    assert_eq!(old.progress(NodeId(2)).map(|p| p.match_index), None);
    assert_eq!(
        old.propose(Bytes::from_static(b"x")),
        Err(ProposeError::NotLeader { leader: None })
    );
}

// ----- pre-vote and check-quorum -------------------------------------------

/// Rule (thesis §9.6): a pre-vote request changes neither the receiver's term
/// nor its vote, whether granted or refused.
#[test]
fn pre_vote_request_changes_neither_term_nor_vote() {
    let mut voter = restored(cfg(1, &[1, 2, 3]), 2, Some(3), &[1, 2], 0);
    voter.step(vote_request(2, 1, 3, true, (2, 2)));
    let ready = voter.ready();
    assert_eq!(
        ready.persisted_messages,
        vec![vote_response(1, 2, 3, true, true)],
        "granted, in the term asked for"
    );
    assert_eq!(ready.hard_state, None);
    assert_eq!(voter.term(), Term(2));
    assert_eq!(voter.vote(), Some(NodeId(3)));

    voter.step(vote_request(2, 1, 3, true, (5, 1)));
    let ready = voter.ready();
    assert_eq!(
        ready.persisted_messages,
        vec![vote_response(1, 2, 2, true, false)],
        "refused (stale log), in the voter's own term"
    );
    assert_eq!(ready.hard_state, None);
    assert_eq!(voter.term(), Term(2));
    assert_eq!(voter.vote(), Some(NodeId(3)));
    assert_eq!(voter.role(), Role::Follower);
}

/// Rule (check-quorum lease, thesis §9.6): a follower that heard from its
/// leader within `election_timeout_ticks_min` ignores (pre-)vote requests of a
/// higher term: no answer, no term change. Once the lease has run out it
/// answers them.
#[test]
fn follower_in_leader_lease_ignores_vote_requests() {
    let mut node = new_node(cfg(1, &[1, 2, 3]));
    node.step(heartbeat(2, 1, 1, 0));
    assert_eq!(node.leader(), Some(NodeId(2)));
    let _heartbeat_response = node.ready();
    let min = node.config().election_timeout_ticks_min;
    for _ in 1..min {
        node.tick();
    }
    for pre_vote in [true, false] {
        node.step(vote_request(3, 1, 2, pre_vote, (0, 0)));
        let ready = node.ready();
        assert!(
            ready.persisted_messages.is_empty() && ready.messages.is_empty(),
            "pre_vote={pre_vote}: ignored within the lease"
        );
        assert_eq!(ready.hard_state, None);
        assert_eq!(node.term(), Term(1));
        assert_eq!(node.leader(), Some(NodeId(2)));
    }
    node.tick(); // the lease (election_timeout_ticks_min) has run out
    let _maybe_own_campaign = node.ready();
    node.step(vote_request(3, 1, 2, true, (0, 0)));
    assert_eq!(
        node.ready().persisted_messages,
        vec![vote_response(1, 3, 2, true, true)]
    );
    assert_eq!(node.term(), Term(1), "a pre-vote changes no term");
    node.step(vote_request(3, 1, 2, false, (0, 0)));
    assert_eq!(
        node.ready().persisted_messages,
        vec![vote_response(1, 3, 2, false, true)]
    );
    assert_eq!(node.term(), Term(2));
    assert_eq!(node.vote(), Some(NodeId(3)));
}

/// Rule: without check-quorum there is no lease: a follower that just heard
/// from its leader still answers a higher-term vote request.
#[test]
fn without_check_quorum_vote_requests_are_answered_at_once() {
    let mut c = cfg(1, &[1, 2, 3]);
    c.check_quorum = false;
    let mut node = new_node(c);
    node.step(heartbeat(2, 1, 1, 0));
    let _heartbeat_response = node.ready();
    node.step(vote_request(3, 1, 2, false, (0, 0)));
    assert_eq!(
        node.ready().persisted_messages,
        vec![vote_response(1, 3, 2, false, true)]
    );
    assert_eq!(node.term(), Term(2));
}

/// Rule (check-quorum): a leader that hears from no quorum during an election
/// timeout steps down (same term, no leader known).
#[test]
fn check_quorum_leader_without_quorum_contact_steps_down() {
    let mut leader = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut leader);
    let term = leader.term();
    let min = leader.config().election_timeout_ticks_min;
    for _ in 1..min {
        leader.tick();
    }
    assert_eq!(leader.role(), Role::Leader, "one tick early");
    leader.tick();
    assert_eq!(leader.role(), Role::Follower);
    assert_eq!(leader.term(), term);
    assert_eq!(leader.leader(), None);
}

/// Rule (check-quorum): a leader that hears from a quorum (here one follower
/// of three) in every election timeout stays leader.
#[test]
fn check_quorum_leader_with_quorum_contact_stays() {
    let mut leader = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut leader);
    let term = leader.term().0;
    let min = leader.config().election_timeout_ticks_min;
    for _ in 0..5 * min {
        leader.tick();
        leader.step(msg(
            2,
            1,
            term,
            MessageBody::HeartbeatResponse { read_round: 0 },
        ));
    }
    assert_eq!(leader.role(), Role::Leader);
}

/// Rule: with check-quorum off, an isolated leader stays leader.
#[test]
fn without_check_quorum_isolated_leader_stays() {
    let mut c = cfg(1, &[1, 2, 3]);
    c.check_quorum = false;
    let mut leader = new_node(c);
    elect(&mut leader);
    let min = leader.config().election_timeout_ticks_min;
    for _ in 0..10 * min {
        leader.tick();
    }
    assert_eq!(leader.role(), Role::Leader);
}

// ----- replication ---------------------------------------------------------

/// Rule (§5.3): the consistency check: an `AppendEntries` whose
/// (prev index, prev term) the follower does not hold is rejected with a
/// hint, and the log is unchanged; a matching one is accepted.
#[test]
fn append_with_mismatched_prev_entry_is_rejected() {
    let mut node = restored(cfg(2, &[1, 2, 3]), 3, None, &[1, 1, 2], 0);
    node.step(append(1, 2, 3, (3, 3), ents(4, &[3]), 0));
    assert_eq!(
        node.ready().persisted_messages,
        vec![reject(2, 1, 3, 3, (3, 2))],
        "wrong prev term: last index with a term <= 3 is (3, 2)"
    );
    assert_eq!(terms_of(&node), vec![1, 1, 2]);

    node.step(append(1, 2, 3, (5, 3), ents(6, &[3]), 0));
    assert_eq!(
        node.ready().persisted_messages,
        vec![reject(2, 1, 3, 5, (3, 2))],
        "prev beyond the end: the hint points at the follower's last entry"
    );
    assert_eq!(terms_of(&node), vec![1, 1, 2]);

    node.step(append(1, 2, 3, (3, 2), ents(4, &[3]), 0));
    assert_eq!(node.ready().persisted_messages, vec![ack(2, 1, 3, 4)]);
    assert_eq!(terms_of(&node), vec![1, 1, 2, 3]);
}

/// Rule (§5.3): an `AppendEntries` whose entries all match the log (a
/// duplicated or reordered, older and shorter message) never truncates it:
/// entries after the message stay, and nothing is handed out to rewrite.
#[test]
fn duplicated_or_reordered_append_never_truncates() {
    let mut node = new_node(cfg(2, &[1, 2, 3]));
    let newest = append(1, 2, 1, (0, 0), ents(1, &[1, 1, 1, 1, 1]), 0);
    node.step(newest.clone());
    handle(&mut node);

    for (why, m, acked) in [
        (
            "an older, shorter message",
            append(1, 2, 1, (0, 0), ents(1, &[1, 1]), 0),
            2,
        ),
        (
            "a reordered middle message",
            append(1, 2, 1, (2, 1), ents(3, &[1, 1]), 0),
            4,
        ),
        ("an empty probe", append(1, 2, 1, (1, 1), vec![], 0), 1),
        ("a duplicate", newest.clone(), 5),
    ] {
        node.step(m);
        let ready = handle(&mut node);
        assert_eq!(terms_of(&node), vec![1; 5], "{why}: log truncated");
        assert!(ready.entries.is_empty(), "{why}: nothing to rewrite");
        assert_eq!(ready.persisted_messages, vec![ack(2, 1, 1, acked)], "{why}");
    }

    // The same once the entries are committed (the follower skips what it
    // knows to be committed).
    node.step(heartbeat(1, 2, 1, 5));
    handle(&mut node);
    assert_eq!(node.log().committed(), LogIndex(5));
    node.step(append(1, 2, 1, (0, 0), ents(1, &[1, 1]), 2));
    let ready = handle(&mut node);
    assert_eq!(terms_of(&node), vec![1; 5]);
    assert!(ready.entries.is_empty());
    assert_eq!(ready.persisted_messages, vec![ack(2, 1, 1, 5)]);
    assert_eq!(node.log().committed(), LogIndex(5));
}

/// Rule (Figure 2, AppendEntries step 5): a follower commits
/// `min(leader_commit, index of last new entry)`: entries it holds beyond
/// what the message vouches for (here from an older term) are not committed.
#[test]
fn follower_commit_is_min_of_leader_commit_and_last_new_entry() {
    let mut node = restored(cfg(2, &[1, 2, 3]), 2, None, &[1, 1, 1, 1, 1, 2, 2, 2], 0);
    node.step(append(1, 2, 3, (0, 0), ents(1, &[1, 1, 1, 1, 1]), 10));
    assert_eq!(node.log().committed(), LogIndex(5));
    assert_eq!(
        terms_of(&node),
        vec![1, 1, 1, 1, 1, 2, 2, 2],
        "the old tail is kept (no conflict) but not committed"
    );
    let ready = node.ready();
    assert_eq!(ready.hard_state.map(|h| h.commit), Some(LogIndex(5)));
    assert_eq!(ready.persisted_messages, vec![ack(2, 1, 3, 5)]);
    let applied: Vec<u64> = ready.committed_entries.iter().map(|e| e.index.0).collect();
    assert_eq!(applied, vec![1, 2, 3, 4, 5]);

    // A heartbeat's commit is capped the same way by what the follower holds.
    let mut node = restored(cfg(2, &[1, 2, 3]), 1, None, &[1, 1], 0);
    node.step(heartbeat(1, 2, 1, 7));
    assert_eq!(node.log().committed(), LogIndex(2));
}

/// Rule (batching): no `AppendEntries` carries more than
/// `max_entries_per_message` entries; a follower 5 entries behind is caught
/// up with messages of at most 2.
#[test]
fn batching_caps_entries_per_message() {
    let mut c = cfg_no_pre_vote(1, &[1, 2, 3]);
    c.max_entries_per_message = 2;
    let mut leader = restored(c, 1, None, &[1, 1, 1, 1], 0);
    elect(&mut leader);
    let mut follower = new_node(cfg(2, &[1, 2, 3]));
    let delivered = run(&mut [&mut leader, &mut follower]);
    let carrying: Vec<Vec<u64>> = appends_to(&delivered, 2)
        .into_iter()
        .map(|a| a.2)
        .filter(|indexes| !indexes.is_empty())
        .collect();
    assert!(
        carrying.iter().all(|indexes| indexes.len() <= 2),
        "{carrying:?}"
    );
    assert_eq!(
        carrying,
        vec![vec![5], vec![1, 2], vec![3, 4], vec![5]],
        "the rejected no-op probe, then the 5 entries in messages of 2"
    );
    assert_eq!(terms_of(&follower), vec![1, 1, 1, 1, 2]);
    assert_eq!(follower.log().committed(), LogIndex(5));
}

/// Rule (flow control): a new leader probes each follower with one message
/// and sends nothing more until it is answered; after a rejection the
/// progress is Probe and exactly one message is in flight until answered.
#[test]
fn probe_sends_one_message_until_answered() {
    let mut leader = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut leader);
    let t = leader.term().0;
    let first = handle(&mut leader);
    assert_eq!(appends_to(&first.messages, 2), vec![(0, 0, vec![1])]);
    let progress = |l: &RaftNode| l.progress(NodeId(2)).expect("tracked").clone();
    assert_eq!(progress(&leader).state, ProgressState::Probe);
    leader
        .propose(Bytes::from_static(b"a"))
        .expect("leader accepts");
    assert!(
        appends_to(&leader.ready().messages, 2).is_empty(),
        "a probe is in flight: nothing more until it is answered"
    );

    // The answer switches to Replicate and streams what is pending.
    leader.step(ack(2, 1, t, 1));
    assert_eq!(progress(&leader).state, ProgressState::Replicate);
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(1, t, vec![2])]
    );
    leader
        .propose(Bytes::from_static(b"b"))
        .expect("leader accepts");
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(2, t, vec![3])]
    );

    // The message with entry 2 was lost: the follower rejects the next one.
    leader.step(reject(2, 1, t, 2, (1, t)));
    let p = progress(&leader);
    assert_eq!(p.state, ProgressState::Probe);
    assert_eq!(p.match_index, LogIndex(1));
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(1, t, vec![2, 3])],
        "one probe from the match point"
    );
    leader
        .propose(Bytes::from_static(b"c"))
        .expect("leader accepts");
    leader.step(reject(2, 1, t, 2, (1, t)));
    assert!(
        appends_to(&leader.ready().messages, 2).is_empty(),
        "neither a proposal nor a stale rejection sends a second probe"
    );

    leader.step(ack(2, 1, t, 3));
    assert_eq!(progress(&leader).state, ProgressState::Replicate);
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(3, t, vec![4])]
    );
}

/// Rule (flow control): in Replicate state at most `max_inflight_messages`
/// `AppendEntries` are outstanding to a follower; an ack frees room.
#[test]
fn replicate_bounds_messages_in_flight() {
    let mut c = cfg(1, &[1, 2, 3]);
    c.max_inflight_messages = 2;
    let mut leader = new_node(c);
    elect(&mut leader);
    let t = leader.term().0;
    handle(&mut leader);
    leader.step(ack(2, 1, t, 1));
    let _ = leader.ready();
    for i in 2..=6u64 {
        let (index, _) = leader
            .propose(Bytes::from(vec![i as u8]))
            .expect("leader accepts");
        assert_eq!(index, LogIndex(i));
    }
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(1, t, vec![2]), (2, t, vec![3])],
        "two messages in flight, the other proposals wait"
    );
    let p = leader.progress(NodeId(2)).expect("tracked");
    assert_eq!(p.state, ProgressState::Replicate);
    assert_eq!(p.inflights.len(), 2);
    assert!(p.is_paused());

    leader.step(ack(2, 1, t, 2));
    assert_eq!(
        appends_to(&leader.ready().messages, 2),
        vec![(3, t, vec![4, 5, 6])],
        "one slot freed: one message with everything pending"
    );
    leader.step(ack(2, 1, t, 3));
    assert!(appends_to(&leader.ready().messages, 2).is_empty());
}

/// Rule (fast backoff): a rejection carries a hint, and a follower with 50
/// conflicting entries is brought in line in a handful of round trips, not
/// one per entry.
#[test]
fn fast_backoff_skips_conflicting_terms() {
    let mut leader_log = vec![1];
    leader_log.extend([3; 50]);
    let mut follower_log = vec![1];
    follower_log.extend([2; 50]);
    let mut leader = restored(cfg_no_pre_vote(1, &[1, 2, 3]), 3, None, &leader_log, 0);
    elect(&mut leader);
    assert_eq!(leader.term(), Term(4));
    let mut follower = restored(cfg(2, &[1, 2, 3]), 3, None, &follower_log, 0);
    let delivered = run(&mut [&mut leader, &mut follower]);
    let hints: Vec<RejectHint> = delivered
        .iter()
        .filter(|m| m.from == NodeId(2))
        .filter_map(|m| match m.body {
            MessageBody::AppendEntriesResponse {
                reject: Some(hint), ..
            } => Some(hint),
            _ => None,
        })
        .collect();
    assert!(!hints.is_empty(), "the follower must reject at least once");
    assert!(hints.len() <= 4, "{} rejections: {hints:?}", hints.len());
    assert_eq!(
        hints[0],
        RejectHint {
            index: LogIndex(51),
            term: Term(2),
        },
        "the hint names the follower's last entry of a term <= the probed one"
    );
    let mut expected = leader_log.clone();
    expected.push(4);
    assert_eq!(terms_of(&leader), expected);
    assert_eq!(terms_of(&follower), expected);
}

/// Rule (§5.3, Raft paper Figure 7): a term-8 leader with log
/// `1 1 1 4 4 5 5 6 6 6` brings each of the paper's follower logs (a)-(f),
/// missing entries, extra uncommitted entries or both, to exactly its own log
/// (plus its term-8 no-op).
#[test]
fn figure_7_leader_brings_every_follower_log_in_line() {
    let leader_log = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    let followers: [(&str, &[u64]); 6] = [
        ("a", &[1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", &[1, 1, 1, 4]),
        ("c", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", &[1, 1, 1, 4, 4, 4, 4]),
        ("f", &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ];
    let mut expected = leader_log.to_vec();
    expected.push(8);
    for (name, follower_log) in followers {
        let mut leader = restored(cfg_no_pre_vote(1, &[1, 2, 3]), 7, None, &leader_log, 0);
        elect(&mut leader);
        assert_eq!(leader.term(), Term(8));
        let mut follower = restored(cfg(2, &[1, 2, 3]), 7, None, follower_log, 0);
        run(&mut [&mut leader, &mut follower]);
        assert_eq!(terms_of(&leader), expected, "({name}) leader log");
        assert_eq!(terms_of(&follower), expected, "({name}) follower log");
        assert_eq!(follower.term(), Term(8), "({name})");
        assert_eq!(
            leader.log().committed(),
            LogIndex(11),
            "({name}) leader + follower are a quorum"
        );
        assert_eq!(follower.log().committed(), LogIndex(11), "({name})");
        let p = leader.progress(NodeId(2)).expect("tracked");
        assert_eq!(p.match_index, LogIndex(11), "({name})");
        assert_eq!(p.state, ProgressState::Replicate, "({name})");
    }
}

/// Rule (§5.4.2, Raft paper Figure 8): a leader never commits an entry of an
/// earlier term by counting replicas; acks from a majority for indexes 1-2
/// (terms 1 and 2) commit nothing, and an ack of its own term-3 entry by a
/// quorum commits everything up to it.
#[test]
fn figure_8_leader_commits_earlier_terms_only_through_its_own() {
    let mut leader = restored(cfg_no_pre_vote(1, &[1, 2, 3]), 2, None, &[1, 2], 0);
    elect(&mut leader);
    assert_eq!(leader.term(), Term(3));
    assert_eq!(
        terms_of(&leader),
        vec![1, 2, 3],
        "the no-op lands at index 3"
    );
    let ready = handle(&mut leader);
    assert_eq!(ready.entries, vec![ent(3, 3)]);
    assert_eq!(leader.log().persisted(), LogIndex(3));
    leader.step(ack(2, 1, 3, 2));
    leader.step(ack(3, 1, 3, 2));
    assert_eq!(
        leader.log().committed(),
        LogIndex(0),
        "every voter holds index 2, but it is of term 2"
    );
    assert!(handle(&mut leader).committed_entries.is_empty());
    leader.step(ack(2, 1, 3, 3));
    assert_eq!(leader.log().committed(), LogIndex(3));
    let applied: Vec<u64> = apply_all(&mut leader).iter().map(|e| e.term.0).collect();
    assert_eq!(applied, vec![1, 2, 3]);
}

// ----- proposals -----------------------------------------------------------

/// Rule: only the leader accepts proposals; others answer `NotLeader` with
/// the leader they know of (none before hearing from one).
#[test]
fn propose_on_follower_names_the_known_leader() {
    let mut node = new_node(cfg(1, &[1, 2, 3]));
    let data = Bytes::from_static(b"x");
    assert_eq!(
        node.propose(data.clone()),
        Err(ProposeError::NotLeader { leader: None })
    );
    node.step(heartbeat(2, 1, 1, 0));
    assert_eq!(
        node.propose(data.clone()),
        Err(ProposeError::NotLeader {
            leader: Some(NodeId(2))
        })
    );
    node.step(append(3, 1, 2, (0, 0), vec![], 0));
    assert_eq!(
        node.propose(data),
        Err(ProposeError::NotLeader {
            leader: Some(NodeId(3))
        }),
        "a new term's leader replaces the old one"
    );
    assert!(node.log().entries().is_empty());
}

/// Rule: a leader's `propose` returns the (index, term) of the entry it
/// appended.
#[test]
fn propose_on_leader_returns_index_and_term_of_appended_entry() {
    let mut leader = restored(cfg(1, &[1, 2, 3]), 4, None, &[1, 4], 0);
    elect(&mut leader);
    assert_eq!(leader.term(), Term(5));
    for (i, data) in [b"first", b"other"].iter().enumerate() {
        let data = Bytes::from_static(*data);
        let (index, term) = leader.propose(data.clone()).expect("leader accepts");
        assert_eq!(index, LogIndex(4 + i as u64));
        assert_eq!(term, Term(5));
        let entry = leader.log().entry(index).expect("appended");
        assert_eq!(entry.term, term);
        assert_eq!(entry.data, data);
        assert_eq!(entry.kind, EntryKind::Normal);
        assert_eq!(leader.log().last_index(), index);
    }
}

/// Rule: the leader refuses proposals with `TooManyUncommitted` once it holds
/// `max_uncommitted_entries` uncommitted entries, and accepts again after a
/// commit.
#[test]
fn propose_refused_when_too_many_uncommitted() {
    let mut c = cfg(1, &[1]);
    c.max_uncommitted_entries = 3;
    let mut leader = new_node(c);
    elect(&mut leader);
    let t = leader.term();
    // The no-op is uncommitted until persisted: 1 of 3.
    let x = Bytes::from_static(b"x");
    assert_eq!(leader.propose(x.clone()), Ok((LogIndex(2), t)));
    assert_eq!(leader.propose(x.clone()), Ok((LogIndex(3), t)));
    assert_eq!(
        leader.propose(x.clone()),
        Err(ProposeError::TooManyUncommitted)
    );
    assert_eq!(leader.log().last_index(), LogIndex(3), "nothing appended");
    handle(&mut leader);
    assert_eq!(leader.log().committed(), LogIndex(3));
    assert_eq!(leader.propose(x), Ok((LogIndex(4), t)));
}

/// Rule: a proposal lost to a leader change is detectable: the index it
/// returned later holds (and applies) an entry of a different term.
#[test]
fn proposal_lost_to_leader_change_is_detectable() {
    let mut node = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut node);
    assert_eq!(node.term(), Term(1));
    handle(&mut node);
    node.step(ack(2, 1, 1, 1));
    apply_all(&mut node);
    assert_eq!(node.log().committed(), LogIndex(1));
    let (index, term) = node
        .propose(Bytes::from_static(b"doomed"))
        .expect("leader accepts");
    assert_eq!((index, term), (LogIndex(2), Term(1)));
    handle(&mut node);

    // Node 3 won term 2 without the entry and replaces it.
    let replacement = Entry {
        data: Bytes::from_static(b"other"),
        ..ent(2, 2)
    };
    node.step(append(3, 1, 2, (1, 1), vec![replacement.clone()], 2));
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.leader(), Some(NodeId(3)));
    let applied = apply_all(&mut node);
    assert_eq!(applied, vec![replacement]);
    let at_index = node.log().term(index).expect("index 2 is held");
    assert_ne!(
        at_index, term,
        "the proposal's index now holds another term"
    );
}

// ----- persistence ---------------------------------------------------------

/// Rule (persistence contract): a leader counts its own entries toward a
/// commit only once `on_persisted` reports them durable.
#[test]
fn leader_counts_own_entry_only_once_persisted() {
    let mut leader = new_node(cfg(1, &[1, 2, 3]));
    elect(&mut leader);
    let t = leader.term().0;
    let ready = leader.ready();
    assert_eq!(ready.entries, vec![ent(1, t)]);
    leader.step(ack(2, 1, t, 1));
    assert_eq!(
        leader.log().committed(),
        LogIndex(0),
        "one follower + an unpersisted leader is no quorum"
    );
    persist(&mut leader, &ready);
    assert_eq!(leader.log().committed(), LogIndex(1));
    let ready = leader.ready();
    assert_eq!(
        ready.messages,
        vec![append(1, 2, t, (1, t), vec![], 1)],
        "the new commit index is sent out"
    );
    assert_eq!(ready.committed_entries, vec![ent(1, t)]);
}

/// Rule (persistence contract): committed entries are handed out for
/// applying only once they are durable locally.
#[test]
fn committed_entries_are_applied_only_once_persisted() {
    let mut follower = new_node(cfg(2, &[1, 2, 3]));
    follower.step(append(1, 2, 1, (0, 0), ents(1, &[1, 1]), 2));
    assert_eq!(follower.log().committed(), LogIndex(2));
    let ready = follower.ready();
    assert_eq!(ready.entries, ents(1, &[1, 1]));
    assert_eq!(ready.hard_state.map(|h| h.commit), Some(LogIndex(2)));
    assert!(
        ready.committed_entries.is_empty(),
        "committed but not yet durable here"
    );
    assert!(!follower.has_ready());
    follower.on_persisted(LogIndex(1), Term(1));
    assert_eq!(follower.ready().committed_entries, ents(1, &[1]));
    follower.on_persisted(LogIndex(2), Term(1));
    assert_eq!(follower.ready().committed_entries, ents(2, &[1]));
    assert!(!follower.has_ready());
}

/// Rule (restart): a node restored from `DurableState` keeps its term and
/// vote (it refuses another candidate of that term) and hands out its
/// committed entries again from the start of its log.
#[test]
fn restored_node_keeps_term_and_vote_and_reapplies_committed() {
    let mut node = restored(cfg(1, &[1, 2, 3]), 5, Some(2), &[1, 1, 3, 5], 3);
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), Term(5));
    assert_eq!(node.vote(), Some(NodeId(2)));
    assert_eq!(node.log().committed(), LogIndex(3));
    let ready = node.ready();
    assert_eq!(
        ready.hard_state, None,
        "the durable hard state is unchanged"
    );
    assert!(ready.entries.is_empty(), "everything restored is durable");
    assert_eq!(ready.committed_entries, ents(1, &[1, 1, 3]));
    assert!(!node.has_ready());

    node.step(vote_request(3, 1, 5, false, (4, 5)));
    assert_eq!(
        node.ready().persisted_messages,
        vec![vote_response(1, 3, 5, false, false)],
        "already voted for 2 in term 5"
    );
    node.step(vote_request(2, 1, 5, false, (4, 5)));
    assert_eq!(
        node.ready().persisted_messages,
        vec![vote_response(1, 2, 5, false, true)]
    );
    assert_eq!(node.vote(), Some(NodeId(2)));
}

// ----- configuration and durable state -------------------------------------

/// Rule: configurations that cannot work are errors from `RaftNode::new`,
/// never panics.
#[test]
fn invalid_configs_are_errors() {
    let mut cases: Vec<(&str, Config)> = Vec::new();
    let mut add = |why, change: fn(&mut Config)| {
        let mut c = cfg(1, &[1, 2, 3]);
        change(&mut c);
        cases.push((why, c));
    };
    add("empty voters", |c| c.voters.clear());
    add("repeated voter", |c| c.voters = ids(&[1, 2, 2]));
    add("heartbeat == election timeout", |c| {
        c.heartbeat_interval_ticks = c.election_timeout_ticks_min;
    });
    add("heartbeat > election timeout", |c| {
        c.heartbeat_interval_ticks = c.election_timeout_ticks_min + 1;
    });
    add("zero heartbeat", |c| c.heartbeat_interval_ticks = 0);
    add("zero election timeout", |c| {
        c.election_timeout_ticks_min = 0
    });
    add("election timeout range overflows", |c| {
        c.election_timeout_ticks_min = u32::MAX;
    });
    add("zero entries per message", |c| {
        c.max_entries_per_message = 0
    });
    add("zero bytes per message", |c| c.max_bytes_per_message = 0);
    add("zero in-flight messages", |c| c.max_inflight_messages = 0);
    add("zero uncommitted entries", |c| {
        c.max_uncommitted_entries = 0
    });
    for (why, c) in cases {
        match RaftNode::new(c, rng(1)) {
            Err(RestoreError::Config(_)) => {}
            Err(other) => panic!("{why}: expected a config error, got {other}"),
            Ok(_) => panic!("{why}: accepted an invalid config"),
        }
    }
    assert!(RaftNode::new(cfg(1, &[1, 2, 3]), rng(1)).is_ok());
}

/// Rule: `RaftNode::restore` rejects durable state that cannot be a log (a
/// gap, or a commit index beyond the last entry) with an error.
#[test]
fn restore_rejects_inconsistent_durable_state() {
    let config = || cfg(1, &[1, 2, 3]);
    let mut gap = durable(2, None, &[1, 1, 2], 0);
    gap.entries.remove(1);
    let mut not_after_prefix = durable(2, None, &[], 0);
    not_after_prefix.entries = vec![ent(2, 1)];
    let mut compacted_gap = durable(2, None, &[], 5);
    compacted_gap.snapshot = Some(crate::Snapshot {
        meta: crate::SnapshotMeta {
            index: LogIndex(5),
            term: Term(1),
            ..crate::SnapshotMeta::default()
        },
        data: Bytes::new(),
    });
    compacted_gap.entries = vec![ent(7, 2)];
    for (why, state) in [
        ("gap in the log", gap),
        ("first entry not after the prefix", not_after_prefix),
        ("gap after a compacted prefix", compacted_gap),
        ("commit beyond the end", durable(2, None, &[1, 2], 3)),
        ("commit on an empty log", durable(2, None, &[], 1)),
    ] {
        match RaftNode::restore(config(), state, rng(1)) {
            Err(RestoreError::Log(_)) => {}
            Err(other) => panic!("{why}: expected a log error, got {other}"),
            Ok(_) => panic!("{why}: accepted inconsistent durable state"),
        }
    }
    assert!(RaftNode::restore(config(), durable(2, Some(1), &[1, 2], 2), rng(1)).is_ok());
}

/// Figure 2: only hearing from the leader, granting a vote or campaigning
/// restarts the election timer. A refused higher-term vote request must not:
/// a candidate whose log is behind would otherwise keep the nodes that could
/// win from ever timing out.
#[test]
fn refused_vote_request_does_not_restart_the_election_timer() {
    let config = cfg_no_pre_vote(1, &[1, 2, 3]);
    let mut node = restored(config, 2, None, &[1, 2, 2], 0);
    let timeout = node.election_timeout_ticks();
    for _ in 0..timeout - 1 {
        node.tick();
    }
    assert_eq!(node.role(), Role::Follower);
    // A candidate with a shorter log asks for a vote in a higher term.
    node.step(vote_request(2, 1, 5, false, (1, 1)));
    assert_eq!(
        (node.term(), node.vote()),
        (Term(5), None),
        "term adopted, vote refused"
    );
    node.tick();
    assert_eq!(
        node.role(),
        Role::Candidate,
        "the original deadline still holds"
    );
    assert_eq!(node.term(), Term(6));

    // Granting a vote does restart it.
    let config = cfg_no_pre_vote(1, &[1, 2, 3]);
    let mut node = restored(config, 2, None, &[1, 2, 2], 0);
    let timeout = node.election_timeout_ticks();
    for _ in 0..timeout - 1 {
        node.tick();
    }
    node.step(vote_request(2, 1, 5, false, (3, 2)));
    assert_eq!(node.vote(), Some(NodeId(2)));
    node.tick();
    assert_eq!(
        node.role(),
        Role::Follower,
        "a granted vote restarts the timer"
    );
}

/// A candidate's own vote counts only once its term and vote are durable: a
/// single-voter cluster becomes leader when the host delivers the vote back
/// after persisting, not before. Otherwise it could lead a term it never
/// made durable and, after a crash, lead that term again with other entries.
#[test]
fn a_candidate_counts_its_own_vote_only_once_durable() {
    let mut node = new_node(cfg_no_pre_vote(1, &[1]));
    tick_until_campaign(&mut node);
    assert_eq!(
        node.role(),
        Role::Candidate,
        "not leader before the term is durable"
    );
    let ready = node.ready();
    assert_eq!(ready.hard_state.map(|hs| hs.term), Some(Term(1)));
    assert!(ready.messages.is_empty());
    assert_eq!(
        ready.persisted_messages,
        vec![vote_response(1, 1, 1, false, true)]
    );
    // A crash here loses the term; the restarted node campaigns for term 1 again,
    // having never led it. Delivered after persisting, the vote elects it.
    deliver_to_self(&mut node, &ready);
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.term(), Term(1));
}

#[path = "node/reconfig_tests.rs"]
mod reconfig_tests;

#[path = "node/snapshot_tests.rs"]
mod snapshot_tests;

#[path = "node/read_tests.rs"]
mod read_tests;
