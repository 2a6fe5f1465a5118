//! Engine unit tests: fault mechanics seen from inside a run.

use super::*;
use crate::profile::profile;
use raft_core::MessageBody;

fn calm_sim(seed: u64, nodes: usize) -> Simulation {
    let p = profile("calm").expect("calm exists");
    Simulation::from_seed_with_nodes(seed, p, Some(nodes))
}

fn heartbeat(from: u64, to: u64) -> Message {
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term: Term(1),
        body: MessageBody::HeartbeatResponse,
    }
}

#[test]
fn one_way_partition_blocks_one_direction_only() {
    let mut sim = calm_sim(1, 3);
    sim.partition(Partition::OneWay { from: 1 << 0 });
    sim.send(heartbeat(0, 1));
    sim.send(heartbeat(0, 2));
    assert_eq!(
        sim.stats.messages_dropped, 2,
        "node 0's outgoing messages are cut"
    );
    sim.send(heartbeat(1, 0));
    sim.send(heartbeat(2, 0));
    sim.send(heartbeat(1, 2));
    assert_eq!(
        sim.stats.messages_dropped, 2,
        "messages to node 0 and between others still flow"
    );
}

#[test]
fn split_and_bridge_partitions_cut_both_ways() {
    let mut sim = calm_sim(1, 5);
    sim.partition(Partition::Split { side: 0b00011 });
    for (a, b) in [(0, 2), (2, 0), (1, 4), (4, 1)] {
        assert_ne!(sim.blocked[a] & (1 << b), 0, "{a}->{b} must be cut");
    }
    assert_eq!(sim.blocked[0] & (1 << 1), 0, "same side stays connected");
    sim.partition(Partition::Bridge {
        bridge: 2,
        side: 0b00011,
    });
    assert_ne!(sim.blocked[0] & (1 << 3), 0, "the sides are cut");
    assert_ne!(sim.blocked[3] & (1 << 0), 0, "the sides are cut both ways");
    for x in [0, 1, 3, 4] {
        assert_eq!(sim.blocked[x] & (1 << 2), 0, "n{x} reaches the bridge");
        assert_eq!(sim.blocked[2] & (1 << x), 0, "the bridge reaches n{x}");
    }
}

#[test]
fn crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let mut sim = calm_sim(3, 3);
    sim.config.torn_tail_probability = 0.0;
    sim.start();
    // Run until some node has synced entries and has unsynced writes.
    let mut victim = None;
    for _ in 0..200_000 {
        let Some((at, event)) = sim.queue.pop() else {
            break;
        };
        sim.now_us = at;
        sim.dispatch(event);
        if let Some(n) =
            (0..3).find(|&n| sim.hosts[n].disk.log().len() > 3 && sim.hosts[n].disk.has_unsynced())
        {
            victim = Some(n);
            break;
        }
    }
    let node = victim.expect("a node with both synced and unsynced writes");
    let synced_log = sim.hosts[node].disk.log().to_vec();
    let synced_hard_state = sim.hosts[node].disk.hard_state();
    let unsynced = sim.hosts[node].disk.unsynced_writes() as u64;
    sim.crash(node, 1_000);
    assert_eq!(sim.stats.unsynced_writes_lost, unsynced);
    assert!(sim.hosts[node].raft.is_none());
    assert_eq!(
        sim.hosts[node].disk.log(),
        &synced_log[..],
        "synced entries survive exactly"
    );
    assert_eq!(sim.hosts[node].disk.hard_state(), synced_hard_state);
    sim.restart(node);
    let raft = sim.hosts[node].raft.as_ref().expect("restarted");
    assert_eq!(
        raft.log().last_index().0,
        synced_log.last().map_or(0, |e| e.index.0)
    );
    assert_eq!(
        raft.term(),
        synced_hard_state.term,
        "rebuilt from its disk alone"
    );
}

#[test]
fn messages_to_a_crashed_node_are_lost() {
    let mut sim = calm_sim(4, 3);
    sim.start();
    sim.crash(1, 1_000_000);
    let before = sim.stats.messages_dropped;
    sim.on_deliver(heartbeat(0, 1), 0);
    assert_eq!(sim.stats.messages_dropped, before + 1);
}

#[test]
fn paused_node_piles_up_ticks_and_messages_then_catches_up() {
    let mut sim = calm_sim(5, 3);
    sim.start();
    sim.hosts[2].paused = true;
    let incarnation = sim.hosts[2].incarnation;
    sim.on_tick(2, incarnation);
    sim.on_tick(2, incarnation);
    // A heartbeat of a leader in a later term arrives while the node is frozen.
    let heartbeat = Message {
        from: NodeId(0),
        to: NodeId(2),
        term: Term(7),
        body: MessageBody::Heartbeat {
            commit: LogIndex(0),
        },
    };
    let delivered = sim.stats.messages_delivered;
    sim.on_deliver(heartbeat, 0);
    assert_eq!(sim.hosts[2].missed_ticks, 2);
    assert_eq!(sim.hosts[2].inbox.len(), 1);
    let frozen = sim.hosts[2].raft.as_ref().expect("alive");
    assert_eq!(frozen.term(), Term(0), "a paused node handles nothing");
    sim.resume(2);
    assert_eq!(sim.hosts[2].missed_ticks, 0);
    assert!(sim.hosts[2].inbox.is_empty());
    assert_eq!(sim.stats.messages_delivered, delivered + 1);
    let raft = sim.hosts[2].raft.as_ref().expect("alive");
    assert_eq!(
        (raft.term(), raft.leader()),
        (Term(7), Some(NodeId(0))),
        "the piled-up message was handled"
    );
}

#[test]
fn a_resume_ends_only_the_pause_that_scheduled_it() {
    let mut sim = calm_sim(5, 3);
    sim.start();
    sim.hosts[1].paused = true;
    sim.hosts[1].pause_generation = 2;
    sim.dispatch(Event::Resume { node: 1, pause: 1 });
    assert!(
        sim.hosts[1].paused,
        "a stale resume from an earlier pause is ignored"
    );
    sim.dispatch(Event::Resume { node: 1, pause: 2 });
    assert!(!sim.hosts[1].paused);
}

#[test]
fn a_checker_violation_ends_the_run_with_a_safety_verdict() {
    let mut sim = calm_sim(6, 3);
    let checker = sim.checker.as_mut().expect("checker on by default");
    checker.term_vote(1, 0, Term(5), Some(NodeId(0)));
    checker.became_leader(2, 0, Term(5));
    // Node 2 really becomes leader of term 5 too (a single-voter view elects itself).
    let mut config = sim.raft_config(2);
    config.voters = vec![NodeId(2)];
    let durable = raft_core::DurableState {
        hard_state: raft_core::HardState {
            term: Term(4),
            vote: None,
            commit: LogIndex(0),
        },
        ..raft_core::DurableState::default()
    };
    let mut raft = RaftNode::restore(config, durable, rng::node_stream(6, 2, 9)).expect("valid");
    for _ in 0..100 {
        raft.tick();
        // Its own vote comes back once the term is durable.
        let ready = raft.ready();
        for m in ready
            .persisted_messages
            .into_iter()
            .filter(|m| m.to == m.from)
        {
            raft.step(m);
        }
        if raft.role() == Role::Leader {
            break;
        }
    }
    assert_eq!((raft.role(), raft.term()), (Role::Leader, Term(5)));
    sim.hosts[2].raft = Some(raft);
    sim.pump(2);
    assert_eq!(
        sim.verdict.invariant(),
        "election-safety",
        "{:?}",
        sim.verdict
    );
    let v = sim.verdict.violation().expect("structured");
    assert_eq!((v.nodes.clone(), v.term), (vec![0, 2], Some(5)));
    assert!(sim.done, "the run stops at the first violation");
}
