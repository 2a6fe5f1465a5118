//! The snapshot rules ([`Property::Snapshot`]), each fed a history that
//! breaks it (and one that does not): snapshots of applied, committed
//! entries only, with the configuration in force at their index; installs
//! and restarts only from snapshots taken, past the commit index; restored
//! states equal to replaying the committed entries.

use super::tests::{assert_clean, assert_violation, hs, only};
use super::*;
use kv::{Command, Op};
use raft_core::membership::{Change, ConfChange};
use raft_core::{EntryKind, SnapshotMeta};

fn put(index: u64, term: u64, seq: u64, value: &str) -> Entry {
    let cmd = Command {
        client_id: 1,
        seq,
        op: Op::Put {
            key: "k".into(),
            value: value.into(),
        },
    };
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: cmd.encode().into(),
    }
}

fn voters() -> Membership {
    Membership::bootstrap(&[NodeId(0), NodeId(1), NodeId(2)])
}

fn meta(index: u64, term: u64) -> SnapshotMeta {
    SnapshotMeta {
        index: LogIndex(index),
        term: Term(term),
        membership: voters(),
        membership_index: LogIndex(0),
    }
}

/// n0 leads term 1; entries 1..=4 (puts of "v1".."v4") are written on n0
/// and n1, committed and applied up to `applied` on both; n2 has nothing.
fn cluster(applied: u64) -> (SafetyChecker, Vec<Entry>) {
    let mut c = SafetyChecker::new(3);
    for n in 0..3 {
        c.term_vote(1, n, Term(1), Some(NodeId(0)));
    }
    c.became_leader(2, 0, Term(1));
    let log: Vec<Entry> = (1..=4).map(|i| put(i, 1, i, &format!("v{i}"))).collect();
    for n in 0..2 {
        c.entries_written(3, n, &log);
    }
    for n in 0..2 {
        c.committed(4, n, LogIndex(applied));
        for e in &log[..applied as usize] {
            c.applied(5, n, e);
        }
    }
    assert_clean(&c);
    (c, log)
}

/// The digest of a store that applied `entries`.
fn digest_of(entries: &[Entry]) -> u64 {
    let mut store = kv::KvStore::new();
    for e in entries {
        store.apply(e.index.0, &e.data).expect("in order");
    }
    store.digest()
}

#[test]
fn a_snapshot_of_applied_committed_entries_passes() {
    let (mut c, log) = cluster(3);
    c.snapshot_taken(6, 0, &meta(3, 1));
    c.snapshot_installed(7, 2, &meta(3, 1));
    c.state_restored(8, 2, LogIndex(3), digest_of(&log[..3]));
    c.committed(9, 2, LogIndex(3));
    c.entries_written(10, 2, &log[3..]);
    assert_clean(&c);
}

#[test]
fn a_snapshot_past_what_the_node_applied_fires() {
    let (mut c, _) = cluster(2);
    c.snapshot_taken(6, 0, &meta(3, 1));
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[0], Some(1), Some(3));
    assert!(v.found.contains("having applied 2"), "{v}");
}

#[test]
fn a_snapshot_holding_an_uncommitted_entry_fires() {
    let (mut c, _) = cluster(3);
    // n1 claims index 3 of term 2, where term 1 committed.
    c.snapshot_taken(6, 1, &meta(3, 2));
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[1], Some(2), Some(3));
    assert!(
        v.expected.contains("never holds an uncommitted entry"),
        "{v}"
    );
}

#[test]
fn a_snapshot_naming_another_configuration_fires() {
    let (mut c, _) = cluster(3);
    let mut stale = meta(3, 1);
    stale.membership = Membership::bootstrap(&[NodeId(0), NodeId(1)]);
    c.snapshot_taken(6, 0, &stale);
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[0], Some(1), Some(3));
    assert!(v.found.contains("where its log has"), "{v}");
}

#[test]
fn a_snapshot_names_the_configuration_of_its_index_not_a_later_one() {
    let mut c = SafetyChecker::new(3);
    for n in 0..3 {
        c.term_vote(1, n, Term(1), Some(NodeId(0)));
    }
    c.became_leader(2, 0, Term(1));
    let add = ConfChange::auto(vec![Change::AddLearner(NodeId(3))]);
    let conf = Entry {
        term: Term(1),
        index: LogIndex(3),
        kind: EntryKind::ConfChange,
        data: add.encode().into(),
    };
    let log = vec![
        put(1, 1, 1, "a"),
        put(2, 1, 2, "b"),
        conf,
        put(4, 1, 3, "c"),
    ];
    c.entries_written(3, 0, &log);
    c.entries_written(3, 1, &log);
    c.committed(4, 0, LogIndex(4));
    for e in &log {
        c.applied(5, 0, e);
    }
    c.snapshot_taken(6, 0, &meta(2, 1));
    assert_clean(&c);
    let mut at_4 = meta(4, 1);
    at_4.membership = voters().apply(&add).expect("applies");
    at_4.membership_index = LogIndex(3);
    c.snapshot_taken(7, 0, &at_4);
    assert_clean(&c);
    // The bootstrap configuration at index 4 is stale.
    c.snapshot_taken(8, 0, &meta(4, 1));
    assert_violation(only(&c), Property::Snapshot, &[0], Some(1), Some(4));
}

#[test]
fn installing_a_snapshot_nobody_took_fires() {
    let (mut c, _) = cluster(3);
    c.snapshot_installed(6, 2, &meta(3, 1));
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[2], Some(1), Some(3));
    assert!(v.found.contains("no node took"), "{v}");
}

#[test]
fn installing_a_snapshot_with_another_configuration_fires() {
    let (mut c, _) = cluster(3);
    c.snapshot_taken(6, 0, &meta(3, 1));
    let mut other = meta(3, 1);
    other.membership = Membership::bootstrap(&[NodeId(2)]);
    c.snapshot_installed(7, 2, &other);
    let v = only(&c);
    assert!(v.found.contains("where the one taken there names"), "{v}");
}

#[test]
fn installing_at_or_below_the_commit_index_fires() {
    let (mut c, _) = cluster(3);
    c.snapshot_taken(6, 0, &meta(2, 1));
    c.snapshot_installed(7, 1, &meta(2, 1));
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[1], Some(1), Some(2));
    assert!(v.found.contains("having committed 3"), "{v}");
}

#[test]
fn a_restored_state_that_differs_from_replaying_the_log_fires() {
    let (mut c, log) = cluster(3);
    c.snapshot_taken(6, 0, &meta(3, 1));
    c.snapshot_installed(7, 2, &meta(3, 1));
    // The state after entry 2, not 3: the snapshot lost a write.
    c.state_restored(8, 2, LogIndex(3), digest_of(&log[..2]));
    let v = only(&c);
    assert_eq!(v.property, Property::Snapshot);
    assert!(v.found.contains("applying 1..=3 gives"), "{v}");
    // A restore at an earlier index replays from the start and compares.
    c.state_restored(9, 1, LogIndex(1), digest_of(&log[..1]));
    assert_eq!(c.violations().len(), 1);
}

#[test]
fn a_restored_state_past_every_applied_entry_fires() {
    let (mut c, log) = cluster(2);
    c.state_restored(6, 2, LogIndex(3), digest_of(&log[..3]));
    let v = only(&c);
    assert!(v.found.contains("past every entry applied"), "{v}");
}

#[test]
fn a_restart_from_a_snapshot_uses_its_configuration() {
    let (mut c, _) = cluster(3);
    c.snapshot_taken(6, 0, &meta(3, 1));
    c.crashed(1);
    let durable = DurableState {
        hard_state: hs(1, Some(0), 3),
        snapshot: Some(raft_core::Snapshot {
            meta: meta(3, 1),
            data: Default::default(),
        }),
        entries: Vec::new(),
    };
    c.restarted(7, 1, &durable);
    assert_clean(&c);
    assert_eq!(c.latest_conf(1), (0, &voters()));
    // A restart whose snapshot names a stale configuration.
    let mut stale = durable.clone();
    if let Some(s) = stale.snapshot.as_mut() {
        s.meta.membership = Membership::bootstrap(&[NodeId(1)]);
    }
    c.crashed(1);
    c.restarted(8, 1, &stale);
    let v = only(&c);
    assert_violation(v, Property::Snapshot, &[1], Some(1), Some(3));
}

/// A node's compacted prefix holds the committed entries: a leader's
/// commit inside another node's prefix is held there (the sweep found the
/// checker calling such a node one that lacks the entry).
#[test]
fn a_compacted_prefix_holds_the_committed_entries() {
    let (mut c, _) = cluster(2);
    c.committed(6, 1, LogIndex(4));
    for e in (3..=4).map(|i| put(i, 1, i, &format!("v{i}"))) {
        c.applied(7, 1, &e);
    }
    c.snapshot_taken(8, 1, &meta(4, 1));
    c.snapshot_installed(9, 2, &meta(4, 1));
    // The leader learns of the commit late: index 3 is inside n2's prefix.
    c.committed(10, 0, LogIndex(3));
    assert_clean(&c);
}
