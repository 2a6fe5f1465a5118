use super::*;
use proptest::prelude::*;

fn ids(v: &[u64]) -> Vec<NodeId> {
    v.iter().copied().map(NodeId).collect()
}

fn three() -> Membership {
    Membership::bootstrap(&ids(&[0, 1, 2]))
}

#[test]
fn one_voter_changes_directly_more_through_a_joint_configuration() {
    let add = three()
        .apply(&ConfChange::auto(vec![Change::AddVoter(NodeId(3))]))
        .expect("a valid change");
    assert!(!add.is_joint());
    assert_eq!(add.voters, ids(&[0, 1, 2, 3]));
    let learners = three()
        .apply(&ConfChange::auto(vec![
            Change::AddLearner(NodeId(3)),
            Change::AddLearner(NodeId(4)),
        ]))
        .expect("a valid change");
    assert!(!learners.is_joint(), "learners change no quorum");
    assert_eq!(learners.learners, ids(&[3, 4]));
    let two = ConfChange::auto(vec![
        Change::AddVoter(NodeId(3)),
        Change::AddVoter(NodeId(4)),
    ]);
    let joint = three().apply(&two).expect("a valid change");
    assert!(joint.is_joint() && joint.auto_leave);
    assert_eq!(joint.outgoing, ids(&[0, 1, 2]));
    assert_eq!(joint.voters, ids(&[0, 1, 2, 3, 4]));
    let explicit = ConfChange {
        changes: vec![Change::AddVoter(NodeId(3))],
        transition: Transition::JointExplicit,
    };
    let joint = three().apply(&explicit).expect("a valid change");
    assert!(joint.is_joint() && !joint.auto_leave);
}

#[test]
fn a_learner_is_promoted_by_adding_it_as_a_voter() {
    let m = three()
        .apply(&ConfChange::auto(vec![Change::AddLearner(NodeId(3))]))
        .expect("a valid change");
    assert!(m.is_learner(NodeId(3)) && !m.is_voter(NodeId(3)));
    let m = m
        .apply(&ConfChange::auto(vec![Change::AddVoter(NodeId(3))]))
        .expect("a valid change");
    assert!(m.is_voter(NodeId(3)) && !m.is_learner(NodeId(3)));
    assert!(m.learners.is_empty());
}

#[test]
fn invalid_changes_are_refused() {
    let refused = |m: &Membership, c: ConfChange| m.apply(&c).is_err();
    let m = three();
    assert!(refused(&m, ConfChange::leave_joint()), "not joint");
    assert!(refused(
        &m,
        ConfChange::auto(vec![Change::AddVoter(NodeId(1))])
    ));
    assert!(
        refused(&m, ConfChange::auto(vec![Change::AddLearner(NodeId(1))])),
        "demotion"
    );
    assert!(refused(
        &m,
        ConfChange::auto(vec![Change::Remove(NodeId(7))])
    ));
    assert!(refused(
        &m,
        ConfChange::auto(vec![Change::AddVoter(NodeId(3)), Change::Remove(NodeId(3))])
    ));
    let all = ids(&[0, 1, 2]).into_iter().map(Change::Remove).collect();
    assert!(refused(&m, ConfChange::auto(all)), "no voter left");
    let joint = m
        .apply(&ConfChange::auto(vec![
            Change::AddVoter(NodeId(3)),
            Change::AddVoter(NodeId(4)),
        ]))
        .expect("a valid change");
    assert!(refused(
        &joint,
        ConfChange::auto(vec![Change::AddVoter(NodeId(5))])
    ));
}

#[test]
fn joint_quorums_need_both_majorities() {
    // Old {0,1,2}, new {2,3,4}.
    let joint = Membership {
        voters: ids(&[2, 3, 4]),
        outgoing: ids(&[0, 1, 2]),
        learners: Vec::new(),
        auto_leave: true,
    };
    let mut scratch = Vec::new();
    // 0,1 at 9 (old majority), 3,4 at 5, 2 at 7: the new half holds only 5+.
    let matched = |id: NodeId| LogIndex([9, 9, 7, 5, 5][id.0 as usize]);
    assert_eq!(joint.committed_index(matched, &mut scratch), LogIndex(5));
    let votes = |granted: &[u64], rejected: &[u64]| {
        let mut v: Vec<(NodeId, bool)> = granted.iter().map(|&g| (NodeId(g), true)).collect();
        v.extend(rejected.iter().map(|&r| (NodeId(r), false)));
        joint.vote_result(&v)
    };
    assert_eq!(
        votes(&[0, 1], &[]),
        VoteResult::Pending,
        "old majority only"
    );
    assert_eq!(votes(&[0, 1, 3, 4], &[]), VoteResult::Won);
    assert_eq!(
        votes(&[0, 1], &[3, 4]),
        VoteResult::Lost,
        "the new half lost"
    );
    assert_eq!(
        votes(&[0, 1, 2, 9], &[]),
        VoteResult::Pending,
        "9 is no voter"
    );
    assert!(!joint.has_quorum(|id| id.0 < 2));
    assert!(joint.has_quorum(|id| id.0 != 2));
}

#[test]
fn the_payload_round_trips_and_bad_bytes_are_errors() {
    let c = ConfChange {
        changes: vec![
            Change::AddVoter(NodeId(3)),
            Change::AddLearner(NodeId(u64::MAX)),
            Change::Remove(NodeId(0)),
        ],
        transition: Transition::JointExplicit,
    };
    assert_eq!(ConfChange::decode(&c.encode()), Ok(c));
    assert_eq!(
        ConfChange::decode(&ConfChange::leave_joint().encode()),
        Ok(ConfChange::leave_joint())
    );
    for bad in [
        &[][..],
        &[1],
        &[2, 0],
        &[1, 3],
        &[1, 0, 0, 1],
        &[1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        assert!(ConfChange::decode(bad).is_err(), "{bad:?}");
    }
}

proptest! {
    /// Any bytes decode to a change or an error, never a panic; a decoded
    /// change encodes back to the same bytes.
    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(c) = ConfChange::decode(&bytes) {
            prop_assert_eq!(c.encode(), bytes);
        }
    }

    /// Applying valid changes keeps the sets sorted, disjoint and non-empty.
    #[test]
    fn applied_configurations_stay_well_formed(
        ops in proptest::collection::vec((0u8..3, 0u64..6), 1..4),
    ) {
        let changes = ops
            .iter()
            .map(|&(k, id)| match k {
                0 => Change::AddVoter(NodeId(id)),
                1 => Change::AddLearner(NodeId(id)),
                _ => Change::Remove(NodeId(id)),
            })
            .collect();
        if let Ok(m) = three().apply(&ConfChange::auto(changes)) {
            prop_assert!(!m.voters.is_empty());
            prop_assert!(m.voters.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(m.learners.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(m.learners.iter().all(|l| !m.is_voter(*l)));
            let left = if m.is_joint() { m.apply(&ConfChange::leave_joint()) } else { Ok(m) };
            prop_assert!(left.is_ok());
        }
    }
}
