use super::*;
use raft_core::EntryKind;

pub(super) fn entry(index: u64, term: u64, data: &str) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::Normal,
        data: data.as_bytes().to_vec().into(),
    }
}

/// Entries from `from` with the given terms; payload "<index>@<term>".
pub(super) fn entries(from: u64, terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let i = from + k as u64;
            entry(i, t, &format!("{i}@{t}"))
        })
        .collect()
}

pub(super) fn hs(term: u64, vote: Option<u64>, commit: u64) -> HardState {
    HardState {
        term: Term(term),
        vote: vote.map(NodeId),
        commit: LogIndex(commit),
    }
}

pub(super) fn durable(hard_state: HardState, log: Vec<Entry>) -> DurableState {
    DurableState {
        hard_state,
        snapshot: None,
        entries: log,
    }
}

pub(super) fn assert_clean(c: &SafetyChecker) {
    assert!(
        c.violations().is_empty(),
        "unexpected: {:#?}",
        c.violations()
    );
}

/// The single violation found.
pub(super) fn only(c: &SafetyChecker) -> &Violation {
    assert_eq!(c.violations().len(), 1, "violations: {:#?}", c.violations());
    &c.violations()[0]
}

pub(super) fn assert_violation(
    v: &Violation,
    property: Property,
    nodes: &[u64],
    term: Option<u64>,
    index: Option<u64>,
) {
    assert_eq!(v.property, property, "{v}");
    assert_eq!(v.nodes, nodes, "{v}");
    assert_eq!((v.term, v.index), (term, index), "{v}");
}

/// n0 wins term 1 with votes from n1 and n2 and replicates [1..=3] of term 1 to
/// everyone; everything is durable, committed and applied at event 100.
fn term1_replicated() -> SafetyChecker {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 0, Term(1), Some(NodeId(0)));
    c.durable_hard_state(2, 0, hs(1, Some(0), 0));
    for n in 1..3 {
        c.term_vote(3, n, Term(1), Some(NodeId(0)));
        c.durable_hard_state(4, n, hs(1, Some(0), 0));
    }
    c.became_leader(5, 0, Term(1));
    c.entries_written(6, 0, &entries(1, &[1]));
    c.entries_written(7, 0, &entries(2, &[1, 1]));
    for n in 1..3 {
        c.entries_written(8, n, &entries(1, &[1, 1, 1]));
    }
    c.committed(9, 0, LogIndex(3));
    for n in 1..3 {
        c.committed(10, n, LogIndex(3));
    }
    for n in 0..3 {
        c.durable_hard_state(11, n, hs(1, Some(0), 3));
        for e in entries(1, &[1, 1, 1]) {
            c.applied(12, n, &e);
        }
    }
    assert_clean(&c);
    c
}

#[test]
fn a_valid_run_with_leader_changes_and_restarts_passes() {
    let mut c = term1_replicated();
    // n0 appends index 4 (term 1), only n1 gets it, then n0 crashes.
    c.entries_written(20, 0, &entries(4, &[1]));
    c.entries_written(21, 1, &entries(4, &[1]));
    c.crashed(0);
    // n2 wins term 2 (n1 votes), writes its no-op at 4, overwriting n1's uncommitted 4.
    c.term_vote(22, 2, Term(2), Some(NodeId(2)));
    c.term_vote(23, 1, Term(2), Some(NodeId(2)));
    c.durable_hard_state(24, 1, hs(2, Some(2), 3));
    c.durable_hard_state(24, 2, hs(2, Some(2), 3));
    c.became_leader(25, 2, Term(2));
    c.entries_written(26, 2, &entries(4, &[2]));
    c.entries_written(27, 1, &entries(4, &[2]));
    c.committed(28, 2, LogIndex(4));
    c.committed(29, 1, LogIndex(4));
    c.applied(30, 2, &entries(4, &[2])[0]);
    c.applied(31, 1, &entries(4, &[2])[0]);
    // n0 restarts from its disk (term 1, index 4 of term 1 unsynced and lost),
    // re-applies its committed prefix, then catches up.
    c.restarted(32, 0, &durable(hs(1, Some(0), 3), entries(1, &[1, 1, 1])));
    for e in entries(1, &[1, 1, 1]) {
        c.applied(33, 0, &e);
    }
    c.term_vote(34, 0, Term(2), None);
    c.entries_written(35, 0, &entries(4, &[2]));
    c.committed(36, 0, LogIndex(4));
    c.applied(37, 0, &entries(4, &[2])[0]);
    // n2 steps down; n0 leads term 3 and keeps appending.
    c.stepped_down(2);
    c.term_vote(38, 0, Term(3), Some(NodeId(0)));
    c.became_leader(39, 0, Term(3));
    c.entries_written(40, 0, &entries(5, &[3]));
    c.entries_written(41, 0, &entries(6, &[3, 3]));
    assert_clean(&c);
}

// ----- election safety -------------------------------------------------------

#[test]
fn two_leaders_in_one_term_fire() {
    let mut c = term1_replicated();
    c.term_vote(40, 2, Term(2), Some(NodeId(2)));
    c.became_leader(41, 2, Term(2));
    c.became_leader(42, 2, Term(2)); // the same node again is not a second leader
    c.term_vote(43, 1, Term(2), Some(NodeId(1)));
    assert_clean(&c);
    c.became_leader(44, 1, Term(2));
    let v = only(&c);
    assert_violation(v, Property::ElectionSafety, &[2, 1], Some(2), None);
    assert_eq!(v.event_index, 44);
    assert_eq!(
        v.message(),
        "election-safety: n2 and n1 both leaders of term 2; expected at most one leader per term (event 44)"
    );
}

#[test]
fn two_leaders_in_one_term_across_a_crash_fire() {
    let mut c = term1_replicated();
    c.crashed(0);
    c.restarted(20, 0, &durable(hs(1, Some(0), 3), entries(1, &[1, 1, 1])));
    c.became_leader(21, 1, Term(1));
    assert_violation(only(&c), Property::ElectionSafety, &[0, 1], Some(1), None);
}

#[test]
fn leaders_of_different_terms_pass() {
    let mut c = term1_replicated();
    c.crashed(0);
    c.term_vote(20, 1, Term(2), Some(NodeId(1)));
    c.became_leader(21, 1, Term(2));
    c.stepped_down(1);
    c.term_vote(22, 2, Term(3), Some(NodeId(2)));
    c.became_leader(23, 2, Term(3));
    assert_clean(&c);
}

// ----- votes -----------------------------------------------------------------

#[test]
fn two_votes_in_one_term_fire() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 1, Term(2), Some(NodeId(0)));
    c.term_vote(2, 1, Term(2), Some(NodeId(0))); // repeating the same vote is fine
    assert_clean(&c);
    c.term_vote(3, 1, Term(2), Some(NodeId(2)));
    let v = only(&c);
    assert_violation(v, Property::VoteOncePerTerm, &[1], Some(2), None);
    assert!(
        v.found.contains("voted for n2") && v.found.contains("for n0"),
        "{v}"
    );
}

#[test]
fn a_durable_vote_binds_across_a_restart() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 1, Term(2), Some(NodeId(0)));
    c.durable_hard_state(2, 1, hs(2, Some(0), 0));
    c.crashed(1);
    c.restarted(3, 1, &durable(hs(2, Some(0), 0), Vec::new()));
    c.term_vote(4, 1, Term(2), Some(NodeId(2)));
    assert_violation(only(&c), Property::VoteOncePerTerm, &[1], Some(2), None);
}

#[test]
fn a_durable_vote_binds_even_if_the_disk_forgot_it() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 1, Term(2), Some(NodeId(0)));
    c.durable_hard_state(2, 1, hs(2, Some(0), 0));
    c.crashed(1);
    c.restarted(3, 1, &durable(hs(2, None, 0), Vec::new()));
    c.term_vote(4, 1, Term(2), Some(NodeId(2)));
    assert_violation(only(&c), Property::VoteOncePerTerm, &[1], Some(2), None);
}

#[test]
fn a_vote_lost_before_it_was_durable_may_be_cast_again() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 1, Term(2), Some(NodeId(0)));
    c.crashed(1);
    c.restarted(2, 1, &durable(hs(1, None, 0), Vec::new()));
    c.term_vote(3, 1, Term(2), Some(NodeId(2)));
    c.durable_hard_state(4, 1, hs(2, Some(2), 0));
    assert_clean(&c);
}

#[test]
fn two_durable_votes_in_one_term_fire() {
    let mut c = SafetyChecker::new(3);
    c.durable_hard_state(1, 1, hs(2, Some(0), 0));
    c.durable_hard_state(2, 1, hs(2, Some(2), 0));
    assert_violation(only(&c), Property::VoteOncePerTerm, &[1], Some(2), None);
}

// ----- terms -----------------------------------------------------------------

#[test]
fn term_decreasing_fires() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 2, Term(3), None);
    c.term_vote(2, 2, Term(4), None);
    assert_clean(&c);
    c.term_vote(3, 2, Term(2), None);
    let v = only(&c);
    assert_violation(v, Property::TermMonotonic, &[2], Some(2), None);
    assert_eq!(v.event_index, 3);
}

#[test]
fn durable_term_decreasing_across_a_restart_fires() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 0, Term(3), None);
    c.durable_hard_state(2, 0, hs(3, None, 0));
    c.crashed(0);
    c.restarted(3, 0, &durable(hs(3, None, 0), Vec::new()));
    assert_clean(&c);
    c.crashed(0);
    c.restarted(4, 0, &durable(hs(2, None, 0), Vec::new()));
    let v = only(&c);
    assert_violation(v, Property::TermMonotonic, &[0], Some(2), None);
    assert!(v.found.contains("across a restart"), "{v}");
}

#[test]
fn durable_term_decreasing_fires() {
    let mut c = SafetyChecker::new(3);
    c.durable_hard_state(1, 0, hs(3, None, 0));
    c.durable_hard_state(2, 0, hs(2, None, 0));
    assert_violation(only(&c), Property::TermMonotonic, &[0], Some(2), None);
}

#[test]
fn in_memory_term_may_restart_lower_than_before_the_crash() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 0, Term(3), None);
    c.durable_hard_state(2, 0, hs(3, None, 0));
    c.term_vote(3, 0, Term(5), None); // never durable
    c.crashed(0);
    c.restarted(4, 0, &durable(hs(3, None, 0), Vec::new()));
    c.term_vote(5, 0, Term(4), None);
    assert_clean(&c);
}

// ----- commit ----------------------------------------------------------------

#[test]
fn commit_decreasing_fires() {
    let mut c = term1_replicated();
    c.committed(20, 1, LogIndex(3)); // unchanged: fine
    assert_clean(&c);
    c.committed(21, 1, LogIndex(2));
    assert_violation(only(&c), Property::CommitMonotonic, &[1], None, Some(2));
}

#[test]
fn commit_beyond_the_last_index_fires() {
    let mut c = term1_replicated();
    c.committed(20, 2, LogIndex(4));
    assert_violation(only(&c), Property::CommitMonotonic, &[2], None, Some(4));
}

#[test]
fn durable_commit_decreasing_across_a_restart_fires() {
    let mut c = term1_replicated();
    c.crashed(2);
    c.restarted(20, 2, &durable(hs(1, Some(0), 2), entries(1, &[1, 1, 1])));
    assert_violation(only(&c), Property::CommitMonotonic, &[2], None, Some(2));
}

// ----- leader append-only ----------------------------------------------------

#[test]
fn a_leader_overwriting_its_own_entry_fires() {
    let mut c = term1_replicated();
    c.entries_written(20, 0, &entries(4, &[1, 1]));
    c.entries_written(21, 0, &[entry(5, 1, "other")]);
    // The rewritten (5, term 1) also breaks log matching; append-only fires first.
    let found = c.violations();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_violation(
        &found[0],
        Property::LeaderAppendOnly,
        &[0],
        Some(1),
        Some(5),
    );
    assert_violation(&found[1], Property::LogMatching, &[0], Some(1), Some(5));
}

#[test]
fn a_leader_truncating_what_it_held_when_elected_fires() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 1, &entries(1, &[1, 1, 1]));
    c.term_vote(2, 1, Term(2), Some(NodeId(1)));
    c.became_leader(3, 1, Term(2));
    c.entries_written(4, 1, &entries(3, &[2]));
    assert_violation(only(&c), Property::LeaderAppendOnly, &[1], Some(2), Some(3));
}

#[test]
fn a_deposed_leader_may_truncate() {
    let mut c = term1_replicated();
    c.entries_written(20, 0, &entries(4, &[1, 1]));
    // Learns of term 2 (stepped_down reported late), then takes the new leader's entries.
    c.term_vote(21, 0, Term(2), None);
    c.entries_written(22, 0, &entries(4, &[2]));
    c.stepped_down(0);
    c.term_vote(23, 2, Term(3), Some(NodeId(2)));
    c.became_leader(24, 2, Term(3));
    c.stepped_down(2);
    c.entries_written(25, 2, &entries(4, &[3]));
    assert_clean(&c);
}

// ----- log matching ----------------------------------------------------------

#[test]
fn same_index_and_term_with_different_data_fires() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &[entry(1, 1, "a"), entry(2, 1, "b")]);
    c.entries_written(2, 2, &[entry(1, 1, "a")]);
    c.entries_written(3, 2, &[entry(2, 1, "B")]);
    let v = only(&c);
    assert_violation(v, Property::LogMatching, &[0, 2], Some(1), Some(2));
    assert!(v.found.contains("different entries"), "{v}");
}

#[test]
fn same_index_and_term_after_different_prefixes_fires() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &[entry(1, 1, "a"), entry(2, 3, "b")]);
    c.entries_written(2, 1, &[entry(1, 2, "x"), entry(2, 3, "b")]);
    let v = only(&c);
    assert_violation(v, Property::LogMatching, &[0, 1], Some(3), Some(2));
    assert!(v.found.contains("different prefixes"), "{v}");
}

#[test]
fn different_terms_at_an_index_and_gaps() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &[entry(1, 1, "a")]);
    c.entries_written(2, 1, &[entry(1, 2, "b")]);
    assert_clean(&c);
    c.entries_written(3, 1, &[entry(3, 2, "c")]);
    assert_violation(only(&c), Property::LogMatching, &[1], None, Some(3));
}

// ----- leader completeness ---------------------------------------------------

#[test]
fn a_new_leader_missing_a_committed_entry_fires() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 0, Term(1), Some(NodeId(0)));
    c.became_leader(2, 0, Term(1));
    c.entries_written(3, 0, &entries(1, &[1, 1, 1]));
    c.term_vote(4, 1, Term(1), Some(NodeId(0)));
    c.entries_written(5, 1, &entries(1, &[1, 1, 1]));
    c.term_vote(6, 2, Term(1), Some(NodeId(0)));
    c.entries_written(7, 2, &entries(1, &[1]));
    c.committed(8, 0, LogIndex(3));
    c.crashed(0);
    c.term_vote(9, 2, Term(2), Some(NodeId(2)));
    c.became_leader(10, 2, Term(2));
    assert_violation(
        only(&c),
        Property::LeaderCompleteness,
        &[2],
        Some(2),
        Some(2),
    );
}

#[test]
fn a_new_leader_holding_a_different_committed_entry_fires() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 0, Term(1), Some(NodeId(0)));
    c.became_leader(2, 0, Term(1));
    c.entries_written(3, 0, &entries(1, &[1, 1]));
    c.entries_written(4, 1, &entries(1, &[1, 1]));
    c.committed(5, 0, LogIndex(2));
    c.entries_written(6, 2, &[entry(1, 1, "1@1"), entry(2, 2, "x")]);
    c.term_vote(7, 2, Term(3), Some(NodeId(2)));
    c.became_leader(8, 2, Term(3));
    assert_violation(
        only(&c),
        Property::LeaderCompleteness,
        &[2],
        Some(3),
        Some(2),
    );
}

#[test]
fn a_stale_leader_need_not_hold_entries_committed_in_later_terms() {
    let mut c = SafetyChecker::new(3);
    // Term 7's leader n0 commits index 1 (its own entry); n2 is still in term 5.
    c.term_vote(1, 0, Term(7), Some(NodeId(0)));
    c.became_leader(2, 0, Term(7));
    c.entries_written(3, 0, &entries(1, &[7]));
    c.term_vote(4, 1, Term(7), Some(NodeId(0)));
    c.entries_written(5, 1, &entries(1, &[7]));
    c.committed(6, 0, LogIndex(1));
    // n2 wins term 5 with delayed votes cast before term 7 began.
    c.term_vote(7, 2, Term(5), Some(NodeId(2)));
    c.became_leader(8, 2, Term(5));
    assert_clean(&c);
    // A leader of term 8 must hold it.
    c.stepped_down(0);
    c.term_vote(9, 1, Term(8), Some(NodeId(1)));
    c.became_leader(10, 1, Term(8));
    assert_clean(&c);
}

#[test]
fn a_commit_in_an_earlier_term_binds_current_leaders() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &entries(1, &[1, 1]));
    c.term_vote(2, 0, Term(1), Some(NodeId(0)));
    c.entries_written(3, 1, &entries(1, &[1]));
    c.term_vote(4, 1, Term(3), Some(NodeId(1)));
    c.became_leader(5, 1, Term(3));
    assert_clean(&c);
    // A node in term 1 learns index 2 committed: term 3's leader lacks it.
    c.committed(6, 0, LogIndex(2));
    assert_violation(
        only(&c),
        Property::LeaderCompleteness,
        &[1],
        Some(3),
        Some(2),
    );
}

// ----- state machine safety --------------------------------------------------

#[test]
fn a_node_applying_a_different_entry_at_an_index_fires() {
    let mut c = SafetyChecker::new(2);
    c.term_vote(1, 0, Term(1), None);
    c.entries_written(2, 0, &[entry(1, 1, "a")]);
    c.committed(3, 0, LogIndex(1));
    c.applied(4, 0, &entry(1, 1, "a"));
    c.term_vote(5, 1, Term(2), None);
    c.entries_written(6, 1, &[entry(1, 2, "b")]);
    c.committed(7, 1, LogIndex(1));
    c.applied(8, 1, &entry(1, 2, "b"));
    let found = c.violations();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_violation(
        &found[0],
        Property::StateMachineSafety,
        &[1],
        Some(1),
        Some(1),
    );
    assert_eq!(found[0].event_index, 7, "the divergent commit fires first");
    assert_violation(
        &found[1],
        Property::StateMachineSafety,
        &[0, 1],
        Some(2),
        Some(1),
    );
    assert_eq!(found[1].event_index, 8);
}

#[test]
fn applying_an_entry_not_in_the_log_fires() {
    let mut c = SafetyChecker::new(1);
    c.entries_written(1, 0, &[entry(1, 1, "a")]);
    c.committed(2, 0, LogIndex(1));
    c.applied(3, 0, &entry(1, 1, "not a"));
    assert_violation(
        only(&c),
        Property::StateMachineSafety,
        &[0],
        Some(1),
        Some(1),
    );
}

#[test]
fn applying_out_of_order_fires() {
    let mut c = term1_replicated();
    c.crashed(1);
    c.restarted(20, 1, &durable(hs(1, Some(0), 3), entries(1, &[1, 1, 1])));
    c.applied(21, 1, &entries(1, &[1])[0]);
    c.applied(22, 1, &entries(3, &[1])[0]);
    assert_violation(
        only(&c),
        Property::StateMachineSafety,
        &[1],
        Some(1),
        Some(3),
    );
}

#[test]
fn applying_twice_fires() {
    let mut c = term1_replicated();
    c.applied(20, 2, &entries(3, &[1])[0]);
    let v = only(&c);
    assert_violation(v, Property::StateMachineSafety, &[2], Some(1), Some(3));
    assert!(v.found.contains("again"), "{v}");
}

#[test]
fn applying_beyond_commit_fires() {
    let mut c = term1_replicated();
    c.entries_written(20, 1, &entries(4, &[1]));
    c.applied(21, 1, &entries(4, &[1])[0]);
    let v = only(&c);
    assert_violation(v, Property::StateMachineSafety, &[1], Some(1), Some(4));
    assert!(v.found.contains("beyond its commit"), "{v}");
}

#[test]
fn overwriting_a_committed_entry_fires() {
    let mut c = term1_replicated();
    c.entries_written(20, 2, &entries(3, &[2]));
    assert_violation(
        only(&c),
        Property::StateMachineSafety,
        &[2],
        Some(1),
        Some(3),
    );
}

#[test]
fn restarting_from_a_compacted_prefix_checks_it_is_committed() {
    let mut c = term1_replicated();
    let meta = |index, term| raft_core::SnapshotMeta {
        index: LogIndex(index),
        term: Term(term),
        membership: Membership::bootstrap(&[NodeId(0), NodeId(1), NodeId(2)]),
        membership_index: LogIndex(0),
    };
    let snapshot = |prefix_index, prefix_term, log| DurableState {
        hard_state: hs(1, Some(0), 3),
        snapshot: Some(raft_core::Snapshot {
            meta: meta(prefix_index, prefix_term),
            data: Default::default(),
        }),
        entries: log,
    };
    c.snapshot_taken(19, 1, &meta(2, 1));
    c.crashed(1);
    c.restarted(20, 1, &snapshot(2, 1, entries(3, &[1])));
    c.applied(21, 1, &entries(3, &[1])[0]);
    c.entries_written(22, 1, &entries(4, &[1]));
    assert_clean(&c);
    c.crashed(1);
    c.restarted(23, 1, &snapshot(4, 1, Vec::new()));
    let v = &c.violations()[0];
    assert_violation(v, Property::StateMachineSafety, &[1], Some(1), Some(4));
    let v = &c.violations()[1];
    assert_violation(v, Property::Snapshot, &[1], Some(1), Some(4));
    assert!(v.found.contains("that no node took"), "{v}");
}

#[test]
fn restarting_with_another_durable_vote_fires() {
    let mut c = SafetyChecker::new(3);
    c.durable_hard_state(1, 1, hs(2, Some(0), 0));
    c.crashed(1);
    c.restarted(2, 1, &durable(hs(2, Some(2), 0), Vec::new()));
    let v = only(&c);
    assert_violation(v, Property::VoteOncePerTerm, &[1], Some(2), None);
    assert!(
        v.found.contains("restarted with a durable vote for n2"),
        "{v}"
    );
}

#[test]
fn a_node_may_repeat_its_durable_vote_after_a_restart() {
    let mut c = SafetyChecker::new(3);
    c.term_vote(1, 1, Term(2), Some(NodeId(0)));
    c.durable_hard_state(2, 1, hs(2, Some(0), 0));
    c.crashed(1);
    c.restarted(3, 1, &durable(hs(2, None, 0), Vec::new()));
    c.term_vote(4, 1, Term(2), Some(NodeId(0)));
    assert_clean(&c);
}

/// Figure 8: leader n0 of term 4 counts replicas of its term-2 entry at index
/// 2 (held by n0 and n1) and commits it. n2 holds a term-3 entry there: its
/// log is more up to date than n1's, so n2 and n1 make a majority that could
/// elect n2 and erase the "committed" entry. Caught at the commit itself.
#[test]
fn committing_an_entry_a_future_leader_could_lack_fires() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &entries(1, &[1, 2]));
    c.entries_written(2, 1, &entries(1, &[1, 2]));
    c.entries_written(3, 2, &[entry(1, 1, "1@1"), entry(2, 3, "2@3")]);
    c.term_vote(4, 0, Term(4), Some(NodeId(0)));
    c.became_leader(5, 0, Term(4));
    c.entries_written(6, 0, &entries(3, &[4]));
    c.committed(7, 0, LogIndex(2));
    assert_violation(
        only(&c),
        Property::LeaderCompleteness,
        &[0, 2],
        None,
        Some(2),
    );
    assert!(
        only(&c).found.contains("could still win an election"),
        "{}",
        only(&c)
    );
}

/// The same cluster, but the leader commits its own term-4 entry once n1
/// holds it: n2 (last entry of term 3) can no longer collect a majority.
#[test]
fn committing_an_own_term_entry_held_by_a_majority_passes() {
    let mut c = SafetyChecker::new(3);
    c.entries_written(1, 0, &entries(1, &[1, 2]));
    c.entries_written(2, 1, &entries(1, &[1, 2]));
    c.entries_written(3, 2, &[entry(1, 1, "1@1"), entry(2, 3, "2@3")]);
    c.term_vote(4, 0, Term(4), Some(NodeId(0)));
    c.became_leader(5, 0, Term(4));
    c.entries_written(6, 0, &entries(3, &[4]));
    c.term_vote(7, 1, Term(4), Some(NodeId(0)));
    c.entries_written(8, 1, &entries(3, &[4]));
    c.committed(9, 0, LogIndex(3));
    assert_clean(&c);
}
