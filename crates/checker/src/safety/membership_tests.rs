//! Configurations: quorums of elections and commits, the elections a commit
//! must survive, and the configuration a node uses.

use super::tests::{assert_clean, assert_violation, durable, entries, entry, hs, only};
use super::*;
use raft_core::membership::{Change, ConfChange};
use raft_core::EntryKind;

fn ids(ids: &[u64]) -> Vec<NodeId> {
    ids.iter().copied().map(NodeId).collect()
}

/// A configuration entry carrying `change`.
fn conf(index: u64, term: u64, change: &ConfChange) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::ConfChange,
        data: change.encode().into(),
    }
}

/// A configuration entry whose payload does not decode.
fn garbage_conf(index: u64, term: u64) -> Entry {
    Entry {
        term: Term(term),
        index: LogIndex(index),
        kind: EntryKind::ConfChange,
        data: vec![7, 7, 7].into(),
    }
}

fn add_learner(id: u64) -> ConfChange {
    ConfChange::auto(vec![Change::AddLearner(NodeId(id))])
}

fn promote(id: u64) -> ConfChange {
    ConfChange::auto(vec![Change::AddVoter(NodeId(id))])
}

/// Replace n2 by n3 in {n0, n1, n2}: joint {n0, n1, n3} & {n0, n1, n2}.
fn replace_2_by_3() -> ConfChange {
    ConfChange::auto(vec![Change::AddVoter(NodeId(3)), Change::Remove(NodeId(2))])
}

fn votes(c: &mut SafetyChecker, event_index: u64, term: u64, candidate: u64, voters: &[usize]) {
    for &v in voters {
        c.term_vote(event_index, v, Term(term), Some(NodeId(candidate)));
    }
}

/// Voters n0, n1, n2; n0 leads term 1 (votes of n0 and n1) and adds the
/// learner n3 at index 1, which every node holds and n0 commits.
fn three_voters_and_a_learner() -> SafetyChecker {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    votes(&mut c, 1, 1, 0, &[0, 1]);
    c.became_leader(2, 0, Term(1));
    for n in 0..4 {
        c.entries_written(3, n, &[conf(1, 1, &add_learner(3))]);
    }
    c.committed(4, 0, LogIndex(1));
    c.batch_done(4, 0, LogIndex(1));
    assert_clean(&c);
    c
}

/// Voters n0, n1, n2 and n3 not yet a member; n0 leads term 1 and every
/// node holds [1@1, joint entry replacing n2 by n3 at 2].
fn joint_cluster() -> SafetyChecker {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    votes(&mut c, 1, 1, 0, &[0, 1]);
    c.became_leader(2, 0, Term(1));
    for n in 0..4 {
        c.entries_written(3, n, &[entry(1, 1, "1@1"), conf(2, 1, &replace_2_by_3())]);
    }
    assert_clean(&c);
    c
}

// ----- election quorums ------------------------------------------------------

#[test]
fn a_leader_elected_by_a_majority_of_voters_passes() {
    let mut c = three_voters_and_a_learner();
    c.term_vote(10, 0, Term(2), None);
    votes(&mut c, 11, 2, 1, &[1, 2]);
    c.became_leader(12, 1, Term(2));
    assert_clean(&c);
}

#[test]
fn a_learners_vote_does_not_count() {
    let mut c = three_voters_and_a_learner();
    c.term_vote(10, 0, Term(2), None);
    votes(&mut c, 11, 2, 1, &[1, 3]);
    c.became_leader(12, 1, Term(2));
    let v = only(&c);
    assert_violation(v, Property::ElectionSafety, &[1], Some(2), None);
    assert_eq!(
        v.expected,
        "a leader is a voter of its configuration (or of the one before, while that one is uncommitted), elected by a majority of its voters (of both halves while joint)"
    );
    assert_eq!(
        v.found,
        "n1 became leader of term 2 with votes from {n1,n3} only, not a majority of the voters {n0,n1,n2} of its configuration voters {n0,n1,n2} learners {n3} (entry 1)"
    );
}

#[test]
fn a_non_members_vote_does_not_count() {
    let mut c = SafetyChecker::with_bootstrap(5, &ids(&[0, 1, 2]));
    votes(&mut c, 1, 1, 0, &[0, 3, 4]);
    c.became_leader(2, 0, Term(1));
    assert_violation(only(&c), Property::ElectionSafety, &[0], Some(1), None);
}

#[test]
fn a_learner_cannot_lead() {
    let mut c = three_voters_and_a_learner();
    votes(&mut c, 10, 2, 3, &[0, 1, 2, 3]);
    c.became_leader(11, 3, Term(2));
    let v = only(&c);
    assert_violation(v, Property::ElectionSafety, &[3], Some(2), None);
    assert!(v.found.contains("n3 became leader of term 2 but is not a voter of its configuration voters {n0,n1,n2} learners {n3} (entry 1)"), "{v}");
}

/// n0 leads {n0, n1} and logs its own removal at 2 (not committed), then
/// loses its leadership.
fn removed_leader_deposed() -> SafetyChecker {
    let mut c = SafetyChecker::with_bootstrap(2, &ids(&[0, 1]));
    votes(&mut c, 1, 1, 0, &[0, 1]);
    c.became_leader(2, 0, Term(1));
    c.entries_written(3, 0, &[entry(1, 1, "1@1")]);
    c.entries_written(3, 1, &[entry(1, 1, "1@1")]);
    c.committed(4, 0, LogIndex(1));
    let remove_0 = ConfChange::auto(vec![Change::Remove(NodeId(0))]);
    c.entries_written(5, 0, &[conf(2, 1, &remove_0)]);
    c.term_vote(6, 0, Term(2), None);
    assert_clean(&c);
    c
}

#[test]
fn a_leader_whose_own_removal_is_uncommitted_may_lead_again() {
    let mut c = removed_leader_deposed();
    // Counted in {n1} (its configuration in force): n1's vote wins.
    votes(&mut c, 10, 3, 0, &[0, 1]);
    c.became_leader(11, 0, Term(3));
    assert_clean(&c);
}

#[test]
fn a_leader_removed_by_a_committed_change_cannot_lead() {
    let mut c = removed_leader_deposed();
    c.entries_written(
        7,
        1,
        &[conf(
            2,
            1,
            &ConfChange::auto(vec![Change::Remove(NodeId(0))]),
        )],
    );
    c.committed(8, 0, LogIndex(2));
    votes(&mut c, 10, 3, 0, &[0, 1]);
    c.became_leader(11, 0, Term(3));
    let v = only(&c);
    assert_violation(v, Property::ElectionSafety, &[0], Some(3), None);
    assert!(
        v.found
            .contains("n0 became leader of term 3 but is not a voter"),
        "{v}"
    );
}

#[test]
fn a_joint_election_needs_a_majority_of_both_halves() {
    let mut c = joint_cluster();
    // n3 wins n0's vote: a majority of {n0, n1, n3}, not of {n0, n1, n2}.
    votes(&mut c, 10, 2, 3, &[3, 0]);
    c.became_leader(11, 3, Term(2));
    let v = only(&c);
    assert_violation(v, Property::ElectionSafety, &[3], Some(2), None);
    assert!(
        v.found
            .contains("not a majority of the outgoing voters {n0,n1,n2}"),
        "{v}"
    );

    let mut c = joint_cluster();
    votes(&mut c, 10, 2, 3, &[3, 0, 1]);
    c.became_leader(11, 3, Term(2));
    assert_clean(&c);
}

#[test]
fn election_quorums_are_checked_only_when_asked() {
    let mut c = SafetyChecker::new(3);
    votes(&mut c, 1, 1, 0, &[0]);
    c.became_leader(2, 0, Term(1));
    assert_clean(&c);

    let mut c = SafetyChecker::new(3);
    c.check_election_quorums(true);
    votes(&mut c, 1, 1, 0, &[0]);
    c.became_leader(2, 0, Term(1));
    assert_violation(only(&c), Property::ElectionSafety, &[0], Some(1), None);
    votes(&mut c, 3, 2, 1, &[1, 2]);
    c.became_leader(4, 1, Term(2));
    assert_eq!(c.violations().len(), 1);

    let mut c = SafetyChecker::with_bootstrap(3, &ids(&[0, 1, 2]));
    c.check_election_quorums(false);
    votes(&mut c, 1, 1, 0, &[0]);
    c.became_leader(2, 0, Term(1));
    assert_clean(&c);
}

/// Votes are remembered across a crash: the restarted node's earlier vote
/// still elects its candidate.
#[test]
fn votes_of_any_incarnation_count() {
    let mut c = SafetyChecker::with_bootstrap(3, &ids(&[0, 1, 2]));
    votes(&mut c, 1, 1, 0, &[0]);
    c.crashed(0);
    c.restarted(2, 0, &durable(hs(1, Some(0), 0), Vec::new()));
    votes(&mut c, 3, 1, 0, &[1]);
    c.became_leader(4, 0, Term(1));
    assert_clean(&c);
}

// ----- commit quorums ---------------------------------------------------------

#[test]
fn committing_an_entry_held_by_a_minority_of_voters_fires() {
    let mut c = three_voters_and_a_learner();
    // The learner holds it too, which does not count.
    c.entries_written(10, 0, &entries(2, &[1]));
    c.entries_written(11, 3, &entries(2, &[1]));
    c.committed(12, 0, LogIndex(2));
    let v = only(&c);
    assert_violation(v, Property::LeaderCompleteness, &[0], Some(1), Some(2));
    assert_eq!(
        v.expected,
        "a leader commits an entry only once a majority of its configuration's voters hold it (of both halves while joint)"
    );
    assert_eq!(
        v.found,
        "n0, leader of term 1, committed index 2 held by {n0} only of the voters {n0,n1,n2} of its configuration voters {n0,n1,n2} learners {n3} (entry 1)"
    );
}

#[test]
fn committing_an_entry_held_by_a_majority_of_voters_passes() {
    let mut c = three_voters_and_a_learner();
    c.entries_written(10, 0, &entries(2, &[1]));
    c.entries_written(11, 1, &entries(2, &[1]));
    c.committed(12, 0, LogIndex(2));
    assert_clean(&c);
}

#[test]
fn a_joint_commit_needs_a_majority_of_both_halves() {
    let mut c = joint_cluster();
    c.entries_written(10, 0, &entries(3, &[1]));
    c.entries_written(11, 3, &entries(3, &[1]));
    c.committed(12, 0, LogIndex(3));
    let v = only(&c);
    assert_violation(v, Property::LeaderCompleteness, &[0], Some(1), Some(3));
    assert!(
        v.found
            .contains("held by {n0} only of the outgoing voters {n0,n1,n2}"),
        "{v}"
    );

    let mut c = joint_cluster();
    c.entries_written(10, 0, &entries(3, &[1]));
    c.entries_written(11, 3, &entries(3, &[1]));
    c.entries_written(12, 1, &entries(3, &[1]));
    c.committed(13, 0, LogIndex(3));
    assert_clean(&c);
}

// ----- commits surviving elections -------------------------------------------

/// Voters n0, n1, n2 and learners n3, n4, all holding the configuration
/// entry at 1. n0 leads term 2 and commits 2@2 once n1 holds it; n2 and the
/// learners lag. Counting every node, n2 (with the learners) could still
/// win; counting voters only, it cannot.
fn lagging_learners(mut c: SafetyChecker) -> SafetyChecker {
    let learners = ConfChange::auto(vec![
        Change::AddLearner(NodeId(3)),
        Change::AddLearner(NodeId(4)),
    ]);
    for n in 0..5 {
        c.entries_written(1, n, &[conf(1, 1, &learners)]);
    }
    votes(&mut c, 2, 2, 0, &[0, 1]);
    c.became_leader(3, 0, Term(2));
    c.entries_written(4, 0, &entries(2, &[2]));
    c.entries_written(5, 1, &entries(2, &[2]));
    c.committed(6, 0, LogIndex(2));
    c
}

#[test]
fn only_voters_of_the_leaders_configuration_can_win_an_election() {
    let c = lagging_learners(SafetyChecker::with_bootstrap(5, &ids(&[0, 1, 2])));
    assert_clean(&c);
    // With every node a voter, the learners' stale logs would elect n2.
    let c = lagging_learners(SafetyChecker::new(5));
    let v = only(&c);
    assert_violation(v, Property::LeaderCompleteness, &[0, 2], None, Some(2));
    assert!(v.found.ends_with("as up to date as 3 of 5 nodes'"), "{v}");
}

/// Bootstrap voters n0, n2, n4; the entry at 1 replaces n2 and n4 by n1 and
/// n3: joint {n0, n1, n3} & {n0, n2, n4}. n0, n1, n2 hold 2@2, n3 holds
/// 2@3; n0 leads term 4, writes 3@4 and commits 2 (Figure 8). n4 holds
/// 2@3 too, or else n2 and n4 hold n0's 2@2 and 3@4.
fn joint_figure_8(n2_n4_hold_3: bool) -> SafetyChecker {
    let mut c = SafetyChecker::with_bootstrap(5, &ids(&[0, 2, 4]));
    let change = ConfChange::auto(vec![
        Change::AddVoter(NodeId(1)),
        Change::AddVoter(NodeId(3)),
        Change::Remove(NodeId(2)),
        Change::Remove(NodeId(4)),
    ]);
    for n in 0..5 {
        c.entries_written(1, n, &[conf(1, 1, &change)]);
    }
    for n in 0..3 {
        c.entries_written(2, n, &entries(2, &[2]));
    }
    c.entries_written(3, 3, &entries(2, &[3]));
    if n2_n4_hold_3 {
        c.entries_written(4, 4, &entries(2, &[2, 4]));
        c.entries_written(4, 2, &entries(3, &[4]));
    } else {
        c.entries_written(4, 4, &entries(2, &[3]));
    }
    votes(&mut c, 5, 4, 0, &[0, 1, 2]);
    c.became_leader(6, 0, Term(4));
    c.entries_written(7, 0, &entries(3, &[4]));
    c.committed(8, 0, LogIndex(2));
    c
}

#[test]
fn a_joint_candidate_lacking_a_commit_winning_both_halves_fires() {
    let c = joint_figure_8(false);
    let v = only(&c);
    assert_violation(v, Property::LeaderCompleteness, &[0, 3], None, Some(2));
    assert_eq!(
        v.found,
        "n0 committed index 2 (term 2) but n3, which lacks it, could still win an election: its log (last 2@3) is at least as up to date as 2 of 3 voters' and 2 of 3 outgoing voters' of the configuration voters {n0,n1,n3} & {n0,n2,n4} (entry 1)"
    );
}

/// n3 still wins the incoming half, but the outgoing one holds newer logs.
#[test]
fn a_joint_candidate_winning_one_half_only_passes() {
    assert_clean(&joint_figure_8(true));
}

/// A checker made by `new` grows its all-voter configuration with the
/// cluster: the Figure 8 case is caught with nodes it was not told about.
#[test]
fn new_counts_every_node_even_when_the_cluster_grows() {
    let mut c = SafetyChecker::new(1);
    c.entries_written(1, 0, &entries(1, &[1, 2]));
    c.entries_written(2, 1, &entries(1, &[1, 2]));
    c.entries_written(3, 2, &[entry(1, 1, "1@1"), entry(2, 3, "2@3")]);
    c.term_vote(4, 0, Term(4), Some(NodeId(0)));
    c.became_leader(5, 0, Term(4));
    c.entries_written(6, 0, &entries(3, &[4]));
    c.committed(7, 0, LogIndex(2));
    let v = only(&c);
    assert_violation(v, Property::LeaderCompleteness, &[0, 2], None, Some(2));
    assert!(v.found.ends_with("as up to date as 2 of 3 nodes'"), "{v}");
}

// ----- the configuration a node uses -------------------------------------------

#[test]
fn a_node_must_use_its_latest_configuration_entry() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    c.batch_done(1, 1, LogIndex(0));
    c.entries_written(2, 1, &[entry(1, 1, "1@1"), conf(2, 1, &add_learner(3))]);
    c.batch_done(2, 1, LogIndex(2));
    assert_clean(&c);
    c.batch_done(3, 1, LogIndex(0));
    let v = only(&c);
    assert_violation(v, Property::Membership, &[1], None, Some(0));
    assert_eq!(
        v.message(),
        "membership: n1 uses the bootstrap configuration but the latest configuration entry in its log is at index 2; expected a node uses the latest configuration entry in its log (event 3)"
    );
}

#[test]
fn a_truncated_configuration_entry_falls_back_to_the_one_before() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    c.entries_written(
        1,
        1,
        &[conf(1, 1, &add_learner(3)), conf(2, 1, &promote(3))],
    );
    c.batch_done(1, 1, LogIndex(2));
    c.entries_written(2, 1, &entries(2, &[2]));
    c.batch_done(2, 1, LogIndex(1));
    let learner = Membership::bootstrap(&ids(&[0, 1, 2])).apply(&add_learner(3));
    c.membership(2, 1, LogIndex(1), &learner.expect("applies"));
    assert_clean(&c);
    c.batch_done(3, 1, LogIndex(2));
    let v = only(&c);
    assert_violation(v, Property::Membership, &[1], None, Some(2));
    assert!(
        v.found
            .ends_with("the latest configuration entry in its log is at index 1"),
        "{v}"
    );
}

#[test]
fn configuration_entries_that_do_not_decode_or_apply_are_skipped() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    let log = [
        garbage_conf(1, 1),
        conf(2, 1, &ConfChange::leave_joint()), // not joint: does not apply
        conf(3, 1, &promote(1)),                // a voter already
    ];
    c.entries_written(1, 1, &log);
    c.batch_done(1, 1, LogIndex(0));
    let bootstrap = Membership::bootstrap(&ids(&[0, 1, 2]));
    c.membership(1, 1, LogIndex(0), &bootstrap);
    assert_clean(&c);
    c.entries_written(2, 1, &[conf(4, 1, &add_learner(3))]);
    c.batch_done(2, 1, LogIndex(4));
    assert_clean(&c);
}

#[test]
fn a_restart_rebuilds_the_configurations_from_the_durable_log() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    c.entries_written(
        1,
        1,
        &[conf(1, 1, &add_learner(3)), conf(2, 1, &promote(3))],
    );
    c.crashed(1);
    c.restarted(
        2,
        1,
        &durable(hs(1, None, 0), vec![conf(1, 1, &add_learner(3))]),
    );
    c.batch_done(2, 1, LogIndex(1));
    assert_clean(&c);
    c.restarted(3, 1, &durable(hs(1, None, 0), Vec::new()));
    c.batch_done(3, 1, LogIndex(1));
    assert_violation(only(&c), Property::Membership, &[1], None, Some(1));
}

#[test]
fn a_reported_configuration_must_be_the_one_of_the_log() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    let bootstrap = Membership::bootstrap(&ids(&[0, 1, 2]));
    let learner = bootstrap.apply(&add_learner(3)).expect("applies");
    c.membership(1, 2, LogIndex(0), &bootstrap);
    c.entries_written(2, 1, &[conf(1, 1, &add_learner(3))]);
    c.membership(2, 1, LogIndex(1), &learner);
    assert_clean(&c);

    c.membership(3, 1, LogIndex(1), &bootstrap);
    let v = only(&c);
    assert_violation(v, Property::Membership, &[1], None, Some(1));
    assert_eq!(
        v.expected,
        "a node's configuration is the one its log's configuration entries give"
    );
    assert_eq!(
        v.found,
        "n1 uses voters {n0,n1,n2} from the configuration entry at index 1, but its log gives voters {n0,n1,n2} learners {n3} (entry 1)"
    );

    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    c.entries_written(1, 1, &[conf(1, 1, &add_learner(3))]);
    c.membership(2, 1, LogIndex(0), &bootstrap);
    let v = only(&c);
    assert_violation(v, Property::Membership, &[1], None, Some(0));
    assert_eq!(
        v.expected,
        "a node uses the latest configuration entry in its log"
    );
}

// ----- one change at a time --------------------------------------------------------

#[test]
fn a_leader_with_two_uncommitted_configuration_entries_fires() {
    let mut c = SafetyChecker::with_bootstrap(4, &ids(&[0, 1, 2]));
    votes(&mut c, 1, 1, 0, &[0, 1]);
    c.became_leader(2, 0, Term(1));
    for n in 0..3 {
        c.entries_written(3, n, &entries(1, &[1]));
    }
    c.committed(4, 0, LogIndex(1));
    c.batch_done(4, 0, LogIndex(0));
    c.entries_written(5, 0, &[conf(2, 1, &add_learner(3))]);
    c.batch_done(5, 0, LogIndex(2));
    assert_clean(&c);
    c.entries_written(6, 0, &[conf(3, 1, &promote(3))]);
    c.batch_done(6, 0, LogIndex(3));
    let v = only(&c);
    assert_violation(v, Property::Membership, &[0], Some(1), Some(3));
    assert_eq!(
        v.message(),
        "membership: n0, leader of term 1, holds configuration entries at indices 2 (term 1), 3 (term 1) above the committed index 1; expected at most one uncommitted configuration entry in a leader's log (event 6)"
    );
}

/// The leader commits the joint entry and, in the same input, appends the
/// entry leaving it: one uncommitted configuration entry once the commit
/// is counted. A follower may hold two (it does not propose).
#[test]
fn leaving_a_joint_configuration_as_it_commits_passes() {
    let mut c = joint_cluster();
    let leave = conf(3, 1, &ConfChange::leave_joint());
    c.entries_written(11, 0, std::slice::from_ref(&leave));
    c.committed(11, 0, LogIndex(2));
    c.batch_done(11, 0, LogIndex(3));
    c.entries_written(13, 1, std::slice::from_ref(&leave));
    c.batch_done(13, 1, LogIndex(3));
    assert_clean(&c);

    // Not yet counted committed: two pending.
    let mut c = joint_cluster();
    c.entries_written(11, 0, &[leave]);
    c.batch_done(11, 0, LogIndex(3));
    assert_violation(only(&c), Property::Membership, &[0], Some(1), Some(3));
}
