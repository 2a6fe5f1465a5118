//! The driver's contract, tested once: what leaves before a sync and what
//! waits for it, when durability is reported, how proposals are answered,
//! and that every broken rule stops the node with a fault.

use super::*;
use crate::fs::SimFs;
use crate::io::{ApplyError, StorageError, Transport};
use crate::wal_storage::WalStorage;

/// The storage under test: the write-ahead log on the simulated disk.
type Disk = WalStorage<SimFs>;
use kv::{Applied, Command, KvStore, Op};
use raft_core::{
    Config, Entry, EntryKind, HardState, MessageBody, NodeId, RaftNode, Role, Xoshiro256PlusPlus,
};
use rand_xoshiro::rand_core::SeedableRng;

/// Records everything the driver hands out.
#[derive(Default)]
struct Recorder {
    sent: Vec<Message>,
    answers: Vec<(u32, Answer<Applied>)>,
    faults: Vec<HostFault>,
    applied: Vec<LogIndex>,
}

impl Transport for Recorder {
    fn send(&mut self, m: Message) {
        self.sent.push(m);
    }
}

impl Effects<u32, Applied> for Recorder {
    fn answer(&mut self, token: u32, answer: Answer<Applied>) {
        self.answers.push((token, answer));
    }
    fn fault(&mut self, fault: HostFault) {
        self.faults.push(fault);
    }
    fn applied(&mut self, entry: &Entry, _output: &Applied) {
        self.applied.push(entry.index);
    }
}

fn node(id: u64, voters: &[u64]) -> RaftNode {
    let config = Config::new(NodeId(id), voters.iter().copied().map(NodeId).collect());
    RaftNode::new(config, Xoshiro256PlusPlus::seed_from_u64(id)).expect("valid config")
}

fn put(seq: u64) -> Bytes {
    let op = Op::Put {
        key: "k".into(),
        value: format!("v{seq}"),
    };
    Command {
        client_id: 1,
        seq,
        op,
    }
    .encode()
    .into()
}

type KvDriver = Driver<KvStore, u32>;

/// One tick of a lone node, its disk synced, its own messages stepped back.
fn tick_round<S: StateMachine>(d: &mut Driver<S, u32>, disk: &mut Disk, fx: &mut Recorder)
where
    Recorder: Effects<u32, S::Output>,
{
    d.tick(disk, fx);
    disk.sync_all().expect("synced");
    d.on_synced(disk, fx);
    for m in std::mem::take(&mut fx.sent) {
        d.step(m, disk, fx);
    }
}

/// A single-node leader, with its disk synced after every step.
fn single_leader() -> (KvDriver, Disk, Recorder) {
    let mut d = Driver::new(node(0, &[0]), KvStore::new());
    d.set_check_invariants(true);
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    for _ in 0..100 {
        if d.raft().role() == Role::Leader {
            break;
        }
        tick_round(&mut d, &mut disk, &mut fx);
    }
    assert_eq!(d.raft().role(), Role::Leader);
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
    (d, disk, fx)
}

#[test]
fn a_candidates_own_vote_waits_for_the_sync_of_its_term() {
    let mut d: KvDriver = Driver::new(node(0, &[0, 1, 2]), KvStore::new());
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    while d.raft().role() != Role::Candidate && d.raft().role() != Role::PreCandidate {
        d.tick(&mut disk, &mut fx);
    }
    // Pre-vote: requests leave without a write. Answer them to start the real election.
    let pre: Vec<Message> = std::mem::take(&mut fx.sent);
    assert!(!pre.is_empty());
    for m in &pre {
        let grant = Message {
            from: m.to,
            to: m.from,
            term: m.term,
            body: MessageBody::RequestVoteResponse {
                pre_vote: true,
                granted: true,
            },
        };
        d.step(grant, &mut disk, &mut fx);
    }
    assert_eq!(d.raft().role(), Role::Candidate);
    assert!(
        fx.sent.is_empty(),
        "vote requests and the own vote wait for the term to be durable: {:?}",
        fx.sent
    );
    assert!(d.waiting_messages() >= 3);
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert_eq!(
        fx.sent.len(),
        3,
        "two requests and the own vote leave after the sync"
    );
    assert_eq!(disk.hard_state().vote, Some(NodeId(0)));
}

#[test]
fn a_leader_sends_appends_at_once_but_commits_only_what_is_durable() {
    let mut d: KvDriver = Driver::new(node(0, &[0, 1, 2]), KvStore::new());
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    // Win the election by hand.
    while d.raft().role() != Role::PreCandidate {
        d.tick(&mut disk, &mut fx);
    }
    let grant = |from: u64, term: u64, pre_vote: bool| Message {
        from: NodeId(from),
        to: NodeId(0),
        term: raft_core::Term(term),
        body: MessageBody::RequestVoteResponse {
            pre_vote,
            granted: true,
        },
    };
    d.step(grant(1, 1, true), &mut disk, &mut fx);
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    fx.sent.retain(|m| m.to == NodeId(0));
    for m in std::mem::take(&mut fx.sent) {
        d.step(m, &mut disk, &mut fx);
    }
    d.step(grant(1, 1, false), &mut disk, &mut fx);
    assert_eq!(d.raft().role(), Role::Leader);
    // n1 acknowledges the new leader's empty entry: it leaves probing.
    let noop = d.raft().log().last_index();
    let term = d.raft().term();
    let ack = |index| Message {
        from: NodeId(1),
        to: NodeId(0),
        term,
        body: MessageBody::AppendEntriesResponse {
            index,
            reject: None,
        },
    };
    d.step(ack(noop), &mut disk, &mut fx);
    fx.sent.clear();
    let (index, _) = d
        .propose(put(1), 9, &mut disk, &mut fx)
        .expect("the leader accepts");
    assert!(
        fx.sent
            .iter()
            .any(|m| matches!(m.body, MessageBody::AppendEntries { .. })),
        "appends leave before the leader's own write is durable"
    );
    // n1 acknowledges, but the leader's own copy is not durable yet: a
    // majority does not hold the entry.
    d.step(ack(index), &mut disk, &mut fx);
    assert!(d.raft().log().committed() < index);
    assert!(fx.answers.is_empty());
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert_eq!(
        d.raft().log().committed(),
        index,
        "the leader's sync completes the majority"
    );
    assert!(matches!(fx.answers[..], [(9, Answer::Applied { .. })]));
}

#[test]
fn a_single_node_commits_and_answers_only_after_the_sync() {
    let (mut d, mut disk, mut fx) = single_leader();
    let (index, term) = d
        .propose(put(1), 7, &mut disk, &mut fx)
        .expect("the leader accepts");
    assert!(fx.answers.is_empty());
    assert!(
        d.raft().log().committed() < index,
        "not durable, not committed"
    );
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert_eq!(d.raft().log().committed(), index);
    let output = Applied::Fresh {
        client_id: 1,
        seq: 1,
        result: kv::OpResult::Ok,
    };
    assert_eq!(
        fx.answers,
        vec![(
            7,
            Answer::Applied {
                index,
                term,
                output
            }
        )]
    );
    assert_eq!(d.pending_proposals(), 0);
}

#[test]
fn a_proposal_whose_index_gets_another_terms_entry_is_lost() {
    let (mut d, mut disk, mut fx) = single_leader();
    let (index, term) = d
        .propose(put(1), 3, &mut disk, &mut fx)
        .expect("the leader accepts");
    // Pretend the node proposed at this index in an older term.
    d.pending[0].term = raft_core::Term(term.0 - 1);
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert_eq!(fx.answers, vec![(3, Answer::Lost { index })]);
}

#[test]
fn a_restarted_node_reapplies_its_committed_log_from_storage() {
    let (mut d, mut disk, mut fx) = single_leader();
    for seq in 1..=5 {
        d.propose(put(seq), 0, &mut disk, &mut fx)
            .expect("the leader accepts");
        disk.sync_all().expect("synced");
        d.on_synced(&mut disk, &mut fx);
    }
    let digest = d.state_machine().digest();
    drop(d);
    let config = Config::new(NodeId(0), vec![NodeId(0)]);
    let durable = disk.recover().expect("recovers");
    // The commit index is written only with the next record: the last
    // moves of it may not be durable, but everything applied is.
    assert_eq!(durable.entries.len(), 6, "the no-op and five puts");
    let raft = RaftNode::restore(config, durable, Xoshiro256PlusPlus::seed_from_u64(2))
        .expect("the disk is consistent");
    let mut d: KvDriver = Driver::new(raft, KvStore::new());
    let mut fx = Recorder::default();
    // What the durable commit index covers is applied at once; the rest
    // once the node leads again and commits an entry of its term.
    d.tick(&mut disk, &mut fx);
    for _ in 0..100 {
        if d.state_machine().digest() == digest {
            break;
        }
        tick_round(&mut d, &mut disk, &mut fx);
    }
    assert_eq!(d.state_machine().digest(), digest);
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
}

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        term: raft_core::Term(term),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: Bytes::new(),
    }
}

fn boundary_rule(d: &mut KvDriver, ready: &Ready) -> Option<&'static str> {
    match d.check_boundary(ready) {
        Ok(()) => None,
        Err(HostFault::Boundary { rule, .. }) => Some(rule),
        Err(other) => panic!("not a boundary fault: {other}"),
    }
}

#[test]
fn the_disk_boundary_refuses_gaps_rewrites_of_committed_entries_and_term_regressions() {
    let (mut d, mut disk, mut fx) = single_leader();
    d.propose(put(1), 0, &mut disk, &mut fx)
        .expect("the leader accepts");
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    let last = d.raft().log().last_index().0;
    let commit = d.raft().log().committed().0;
    assert!(commit >= 1, "something is committed");
    let term = d.raft().term().0;
    let batch = |entries: Vec<Entry>, hs: Option<HardState>| Ready {
        entries,
        hard_state: hs,
        ..Ready::default()
    };
    let gap = batch(vec![entry(last + 2, term)], None);
    assert_eq!(boundary_rule(&mut d, &gap), Some("contiguous-writes"));
    let holes = batch(vec![entry(last + 1, term), entry(last + 3, term)], None);
    assert_eq!(boundary_rule(&mut d, &holes), Some("contiguous-writes"));
    let repeats = batch(
        vec![
            entry(last + 1, term),
            entry(last + 1, term),
            entry(last + 3, term),
        ],
        None,
    );
    assert_eq!(boundary_rule(&mut d, &repeats), Some("contiguous-writes"));
    let rewrite = batch(vec![entry(commit, term)], None);
    assert_eq!(
        boundary_rule(&mut d, &rewrite),
        Some("committed-never-rewritten")
    );
    let vote = d.raft().vote();
    let hs = |term: u64, commit: u64| HardState {
        term: raft_core::Term(term),
        vote,
        commit: LogIndex(commit),
    };
    let back = batch(Vec::new(), Some(hs(term - 1, commit)));
    assert_eq!(boundary_rule(&mut d, &back), Some("term-never-decreases"));
    let past = batch(Vec::new(), Some(hs(term, last + 1)));
    assert_eq!(boundary_rule(&mut d, &past), Some("commit-within-log"));
    let lower = batch(Vec::new(), Some(hs(term, commit - 1)));
    assert_eq!(
        boundary_rule(&mut d, &lower),
        Some("commit-never-decreases")
    );
    let revote = Ready {
        hard_state: Some(HardState {
            vote: Some(NodeId(9)),
            ..hs(term, commit)
        }),
        ..Ready::default()
    };
    assert_eq!(boundary_rule(&mut d, &revote), Some("one-vote-per-term"));
    let fine = batch(vec![entry(last + 1, term)], Some(hs(term, last + 1)));
    assert_eq!(boundary_rule(&mut d, &fine), None);
}

struct FailingDisk;

impl Storage for FailingDisk {
    fn write(&mut self, _: &[Entry], _: Option<HardState>) -> Result<u64, StorageError> {
        Err(StorageError("no space left".into()))
    }
    fn write_snapshot(&mut self, _: raft_core::Snapshot, _: bool) -> Result<u64, StorageError> {
        Err(StorageError("no space left".into()))
    }
    fn synced_seq(&self) -> u64 {
        0
    }
}

#[test]
fn a_storage_error_stops_the_node() {
    let mut d: KvDriver = Driver::new(node(0, &[0]), KvStore::new());
    let mut fx = Recorder::default();
    for _ in 0..100 {
        d.tick(&mut FailingDisk, &mut fx);
    }
    assert!(d.is_stopped());
    assert!(
        matches!(fx.faults[..], [HostFault::Storage(_)]),
        "{:?}",
        fx.faults
    );
    assert!(
        fx.sent.is_empty(),
        "nothing leaves a node whose write failed"
    );
}

/// A state machine that refuses its first entry.
struct Refuses;

impl StateMachine for Refuses {
    type Output = ();
    fn apply(&mut self, _: &Entry) -> Result<(), ApplyError> {
        Err(ApplyError("corrupt".into()))
    }
    fn snapshot(&self, _: LogIndex) -> bytes::Bytes {
        bytes::Bytes::new()
    }
    fn restore(&mut self, _: LogIndex, _: &[u8]) -> Result<(), ApplyError> {
        Err(ApplyError("corrupt".into()))
    }
    fn query(&self, _: &[u8]) {}
}

impl Effects<u32, ()> for Recorder {
    fn answer(&mut self, _: u32, _: Answer<()>) {}
    fn fault(&mut self, fault: HostFault) {
        self.faults.push(fault);
    }
}

#[test]
fn an_entry_the_state_machine_refuses_stops_the_node() {
    let mut d: Driver<Refuses, u32> = Driver::new(node(0, &[0]), Refuses);
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    for _ in 0..100 {
        tick_round(&mut d, &mut disk, &mut fx);
    }
    assert!(d.is_stopped());
    assert!(
        matches!(fx.faults[..], [HostFault::Apply { .. }]),
        "{:?}",
        fx.faults
    );
}

#[test]
fn a_batch_already_durable_does_not_overtake_older_parked_messages() {
    let mut d: KvDriver = Driver::new(node(0, &[0, 1, 2]), KvStore::new());
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    while d.raft().role() != Role::PreCandidate {
        d.tick(&mut disk, &mut fx);
    }
    let grant = Message {
        from: NodeId(1),
        to: NodeId(0),
        term: raft_core::Term(1),
        body: MessageBody::RequestVoteResponse {
            pre_vote: true,
            granted: true,
        },
    };
    d.step(grant, &mut disk, &mut fx);
    fx.sent.clear();
    assert_eq!(
        d.waiting_messages(),
        3,
        "the vote requests and the own vote are parked"
    );
    // The disk syncs, but the host has not told the driver yet; a vote
    // request of another candidate arrives and is refused (nothing to write).
    disk.sync_all().expect("synced");
    let rival = Message {
        from: NodeId(2),
        to: NodeId(0),
        term: raft_core::Term(1),
        body: MessageBody::RequestVote {
            pre_vote: false,
            last_log_index: LogIndex(0),
            last_log_term: raft_core::Term(0),
            transfer: false,
        },
    };
    d.step(rival, &mut disk, &mut fx);
    let kinds: Vec<(u64, &str)> = fx.sent.iter().map(|m| (m.to.0, m.body.name())).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert_eq!(
        kinds[3],
        (2, "VoteResp"),
        "the refusal leaves after the older parked messages: {kinds:?}"
    );
}

/// Effects that ask the driver to stop after the first apply.
#[derive(Default)]
struct StopsAfterApply(Recorder);

impl Transport for StopsAfterApply {
    fn send(&mut self, m: Message) {
        self.0.send(m);
    }
}

impl Effects<u32, Applied> for StopsAfterApply {
    fn answer(&mut self, token: u32, answer: Answer<Applied>) {
        self.0.answer(token, answer);
    }
    fn fault(&mut self, fault: HostFault) {
        self.0.faults.push(fault);
    }
    fn stopped(&mut self) -> bool {
        !self.0.applied.is_empty()
    }
    fn applied(&mut self, entry: &Entry, _output: &Applied) {
        self.0.applied.push(entry.index);
    }
}

#[test]
fn a_host_that_stops_the_driver_stops_it_for_good() {
    let (mut d, mut disk, _) = single_leader();
    let mut fx = StopsAfterApply::default();
    d.propose(put(1), 1, &mut disk, &mut fx)
        .expect("the leader accepts");
    d.propose(put(2), 2, &mut disk, &mut fx)
        .expect("the leader accepts");
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert!(d.is_stopped());
    let applied = fx.0.applied.len();
    for _ in 0..50 {
        d.tick(&mut disk, &mut fx);
    }
    assert_eq!(
        fx.0.applied.len(),
        applied,
        "a stopped driver takes no input"
    );
    assert!(d.propose(put(3), 3, &mut disk, &mut fx).is_err());
}

#[test]
fn many_proposals_make_one_batch_and_are_each_answered() {
    let (mut d, mut disk, mut fx) = single_leader();
    let before = d.raft().log().last_index();
    let batches = disk.unsynced_batches();
    let proposals = (1..=20).map(|seq| (put(seq), seq as u32));
    assert_eq!(d.propose_many(proposals, &mut disk, &mut fx), 20);
    assert_eq!(
        disk.unsynced_batches(),
        batches + 1,
        "one batch: the entries (and any hard state) in one record"
    );
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert_eq!(d.raft().log().last_index().0, before.0 + 20);
    let tokens: Vec<u32> = fx.answers.iter().map(|(t, _)| *t).collect();
    assert_eq!(tokens, (1..=20).collect::<Vec<u32>>());
}

#[test]
fn the_durable_cursor_may_name_only_the_reported_entry() {
    let (t1, t2) = (raft_core::Term(1), raft_core::Term(2));
    let broken = |persisted: u64, there: Option<raft_core::Term>| {
        durable_cursor_broken(LogIndex(5), t1, LogIndex(persisted), there)
    };
    assert_eq!(broken(4, Some(t1)), None, "below the report");
    assert_eq!(broken(5, Some(t1)), None, "the reported entry");
    assert!(broken(5, Some(t2)).is_some(), "a replaced entry");
    assert!(broken(5, None).is_some(), "a truncated entry");
    assert!(broken(6, Some(t1)).is_some(), "past the report");
}

/// A follower's write is overtaken by a truncation before its sync ends: the
/// report for the old batch names entries the log no longer holds, so the
/// node must not count anything as durable until the new batch is synced.
#[test]
fn a_report_for_entries_replaced_meanwhile_counts_nothing() {
    let mut d: KvDriver = Driver::new(node(2, &[1, 2, 3]), KvStore::new());
    d.set_check_invariants(true);
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    let append = |from: u64, term: u64, entries: Vec<Entry>| Message {
        from: NodeId(from),
        to: NodeId(2),
        term: raft_core::Term(term),
        body: MessageBody::AppendEntries {
            prev_log_index: LogIndex(0),
            prev_log_term: raft_core::Term(0),
            entries,
            leader_commit: LogIndex(0),
        },
    };
    d.step(
        append(1, 1, vec![entry(1, 1), entry(2, 1), entry(3, 1)]),
        &mut disk,
        &mut fx,
    );
    let old_batch = disk.issued_seq();
    d.step(
        append(3, 2, vec![entry(1, 2), entry(2, 2)]),
        &mut disk,
        &mut fx,
    );
    assert!(disk.issued_seq() > old_batch, "the truncation was written");
    disk.sync_to(old_batch).expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
    assert_eq!(
        d.raft().log().persisted(),
        LogIndex(0),
        "entry 3 of term 1 is gone"
    );
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
    assert_eq!(d.raft().log().persisted(), LogIndex(2));
}

/// Rule: with a snapshot policy the driver compacts every `n` applied
/// entries, writing the state machine's state; a node restored from that
/// disk gets the state back from the snapshot and the rest from the log.
#[test]
fn the_policy_compacts_and_a_restart_restores_the_snapshot() {
    let (mut d, mut disk, mut fx) = single_leader();
    d.set_snapshot_every(3);
    for seq in 1..=8 {
        d.propose(put(seq), seq as u32, &mut disk, &mut fx)
            .expect("the leader accepts");
        disk.sync_all().expect("synced");
        d.on_synced(&mut disk, &mut fx);
    }
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
    assert!(disk.has_unsynced_snapshot(), "written after the last apply");
    disk.sync_all().expect("synced");
    let prefix = d.raft().log().first_index().prev();
    assert!(prefix.0 >= 6, "compacted to {prefix}");
    let snap = disk
        .durable_state()
        .expect("recovers")
        .snapshot
        .expect("a durable snapshot");
    assert_eq!(snap.meta.index, prefix);
    assert!(
        disk.log().iter().all(|e| e.index > prefix),
        "the disk is compacted"
    );
    let config = d.raft().config().clone();
    let raft = RaftNode::restore(
        config,
        disk.durable_state().expect("recovers"),
        Xoshiro256PlusPlus::seed_from_u64(9),
    )
    .expect("consistent");
    let mut back: KvDriver = Driver::restore(raft, KvStore::new()).expect("a valid snapshot");
    let mut fx2 = Recorder::default();
    for _ in 0..40 {
        tick_round(&mut back, &mut disk, &mut fx2);
    }
    assert_eq!(back.state_machine().digest(), d.state_machine().digest());
    assert_eq!(back.state_machine().get("k"), Some("v8"));
}

/// Rule: a snapshot the state machine refuses stops a restore with a fault.
#[test]
fn a_damaged_snapshot_is_refused_on_restore() {
    let (mut d, mut disk, mut fx) = single_leader();
    d.set_snapshot_every(1);
    d.propose(put(1), 1, &mut disk, &mut fx)
        .expect("the leader");
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    disk.sync_all().expect("synced");
    let mut durable = disk.durable_state().expect("recovers");
    let snap = durable.snapshot.as_mut().expect("a snapshot");
    let mut data = snap.data.to_vec();
    data[3] ^= 1;
    snap.data = data.into();
    let raft = RaftNode::restore(
        d.raft().config().clone(),
        durable,
        Xoshiro256PlusPlus::seed_from_u64(9),
    )
    .expect("the log itself is consistent");
    let refused = Driver::<KvStore, u32>::restore(raft, KvStore::new());
    assert!(matches!(refused, Err(HostFault::Restore { .. })));
}

/// The driver on the write-ahead log over the simulated file system:
/// compaction, then a crash that tears the last append, recovered from
/// the files alone.
#[test]
fn the_driver_runs_on_the_write_ahead_log_and_recovers_from_it() {
    let (mut disk, durable) = WalStorage::open(SimFs::default()).expect("an empty disk");
    let config = Config::new(NodeId(0), vec![NodeId(0)]);
    let raft = RaftNode::restore(
        config.clone(),
        durable,
        Xoshiro256PlusPlus::seed_from_u64(1),
    )
    .expect("ok");
    let mut d: KvDriver = Driver::restore(raft, KvStore::new()).expect("nothing to restore");
    d.set_check_invariants(true);
    d.set_snapshot_every(3);
    let mut fx = Recorder::default();
    let sync = |d: &mut KvDriver, disk: &mut Disk, fx: &mut Recorder| {
        let upto = disk.issued_seq();
        disk.sync_to(upto).expect("synced");
        d.on_synced(disk, fx);
    };
    for _ in 0..100 {
        if d.raft().role() == Role::Leader {
            break;
        }
        d.tick(&mut disk, &mut fx);
        sync(&mut d, &mut disk, &mut fx);
        for m in std::mem::take(&mut fx.sent) {
            d.step(m, &mut disk, &mut fx);
        }
    }
    for seq in 1..=8 {
        d.propose(put(seq), seq as u32, &mut disk, &mut fx)
            .expect("the leader accepts");
        sync(&mut d, &mut disk, &mut fx);
    }
    sync(&mut d, &mut disk, &mut fx);
    // One more proposal, written but never synced: a crash tears it.
    d.propose(put(9), 9, &mut disk, &mut fx)
        .expect("the leader accepts");
    assert!(fx.faults.is_empty(), "{:?}", fx.faults);
    let digest = d.state_machine().digest();
    let mut fs = disk.into_fs();
    fs.crash(Some(7));
    let (mut disk, durable) = WalStorage::open(fs).expect("recovers");
    assert!(durable.snapshot.is_some(), "compacted behind a snapshot");
    let raft =
        RaftNode::restore(config, durable, Xoshiro256PlusPlus::seed_from_u64(2)).expect("ok");
    let mut back: KvDriver = Driver::restore(raft, KvStore::new()).expect("a valid snapshot");
    let mut fx = Recorder::default();
    for _ in 0..40 {
        back.tick(&mut disk, &mut fx);
        sync(&mut back, &mut disk, &mut fx);
        for m in std::mem::take(&mut fx.sent) {
            back.step(m, &mut disk, &mut fx);
        }
    }
    assert_eq!(
        back.state_machine().digest(),
        digest,
        "nothing acknowledged is lost"
    );
    assert_eq!(back.state_machine().get("k"), Some("v8"));
}

/// A get as a read query.
fn get_query(seq: u64) -> Bytes {
    Command {
        client_id: 2,
        seq,
        op: Op::Get { key: "k".into() },
    }
    .encode()
    .into()
}

/// Rule: a read is answered from the state machine without a log entry,
/// once it has applied the index the read was confirmed at; a follower
/// refuses it.
#[test]
fn a_read_is_answered_from_the_state_machine_without_a_log_entry() {
    let (mut d, mut disk, mut fx) = single_leader();
    d.propose(put(1), 1, &mut disk, &mut fx)
        .expect("the leader accepts");
    disk.sync_all().expect("synced");
    d.on_synced(&mut disk, &mut fx);
    let last = d.raft().log().last_index();
    d.read(get_query(1), 7, &mut disk, &mut fx)
        .expect("the leader reads");
    assert_eq!(d.raft().log().last_index(), last, "no log entry");
    assert_eq!(d.pending_reads(), 0);
    let read = fx.answers.iter().find(|(t, _)| *t == 7).map(|(_, a)| a);
    let Some(Answer::Read {
        output: Applied::Fresh { result, .. },
        ..
    }) = read
    else {
        panic!("no read answer: {:?}", fx.answers);
    };
    assert_eq!(*result, kv::OpResult::Value(Some("v1".into())));
    // A put accepted but not yet committed is not seen.
    d.propose(put(2), 2, &mut disk, &mut fx)
        .expect("the leader accepts");
    d.read(get_query(2), 8, &mut disk, &mut fx)
        .expect("the leader reads");
    let read = fx.answers.iter().find(|(t, _)| *t == 8).map(|(_, a)| a);
    assert!(
        matches!(read, Some(Answer::Read { output: Applied::Fresh { result: kv::OpResult::Value(Some(v)), .. }, .. }) if v == "v1"),
        "{read:?}"
    );
    // A follower refuses.
    let mut f: KvDriver = Driver::new(node(1, &[0, 1, 2]), KvStore::new());
    assert!(f.read(get_query(3), 9, &mut disk, &mut fx).is_err());
}

/// Rule: the driver tells how long its oldest read has waited for
/// raft-core's index, in ticks; a follower's read its leader never
/// answers is refused after a minimum election timeout.
#[test]
fn a_followers_unanswered_read_waits_a_bounded_number_of_ticks() {
    let mut f: KvDriver = Driver::new(node(1, &[0, 1, 2]), KvStore::new());
    let (mut disk, mut fx) = (Disk::default(), Recorder::default());
    let heartbeat = Message {
        from: NodeId(0),
        to: NodeId(1),
        term: Term(1),
        body: MessageBody::Heartbeat {
            commit: LogIndex(0),
            read_round: 0,
        },
    };
    f.step(heartbeat, &mut disk, &mut fx);
    assert_eq!(f.raft().leader(), Some(NodeId(0)));
    assert_eq!(f.oldest_unindexed_read_ticks(), None);
    f.follower_read(get_query(1), 11, &mut disk, &mut fx)
        .expect("n1 follows n0");
    assert_eq!(f.oldest_unindexed_read_ticks(), Some(0));
    f.tick(&mut disk, &mut fx);
    f.tick(&mut disk, &mut fx);
    assert_eq!(f.oldest_unindexed_read_ticks(), Some(2));
    let timeout = f.raft().config().election_timeout_ticks_min;
    for _ in 2..timeout {
        f.tick(&mut disk, &mut fx);
    }
    assert_eq!(f.oldest_unindexed_read_ticks(), None);
    assert!(
        fx.answers
            .iter()
            .any(|(t, a)| *t == 11 && matches!(a, Answer::ReadRefused)),
        "{:?}",
        fx.answers
    );
}
