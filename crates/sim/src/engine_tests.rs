//! Engine unit tests: node mechanics seen from inside a run.

use super::*;
use crate::faults::{CrashPoint, Fault, Target};
use crate::node::Inbound;
use crate::profile::profile;
use raft_core::{Message, MessageBody, NodeId, RaftNode, Role, Term};
use rand::Rng;

fn calm_sim(seed: u64, nodes: usize) -> Simulation {
    let p = profile("calm").expect("calm exists");
    Simulation::from_seed_with_nodes(seed, p, Some(nodes))
}

/// Runs `f` on the nodes with a handler context, as a dispatch would.
fn with_nodes(sim: &mut Simulation, f: impl FnOnce(&mut Nodes, &mut Ctx<'_>)) {
    let (nodes, _, _, mut cx) = sim.parts();
    f(nodes, &mut cx);
}

fn heartbeat(from: u64, to: u64) -> Message {
    Message {
        from: NodeId(from),
        to: NodeId(to),
        term: Term(1),
        body: MessageBody::HeartbeatResponse { read_round: 0 },
    }
}

#[test]
fn crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let p = profile("calm").expect("calm exists");
    let mut config = p.draw(3, Some(3));
    config.torn_tail_probability = 0.0;
    let schedule = faults::generate(&config, &mut rng::stream(3, Stream::Faults));
    let mut sim = Simulation::new(3, config, schedule);
    sim.start();
    // Run until some node has synced entries and has unsynced writes.
    let mut victim = None;
    for _ in 0..200_000 {
        let Some(event) = sim.queue.pop() else {
            break;
        };
        sim.dispatch(event);
        let disks = &sim.nodes.nodes;
        if let Some(n) =
            (0..3).find(|&n| disks[n].disk.log().len() > 3 && disks[n].disk.has_unsynced())
        {
            victim = Some(n);
            break;
        }
    }
    let node = victim.expect("a node with both synced and unsynced writes");
    let disk = &sim.nodes.nodes[node].disk;
    let synced_log = disk.log().to_vec();
    let synced_hard_state = disk.hard_state();
    let unsynced = disk.unsynced_bytes();
    with_nodes(&mut sim, |nodes, cx| nodes.crash(node, 1_000, cx));
    assert_eq!(sim.obs.stats().unsynced_bytes_lost, unsynced);
    let crashed = &sim.nodes.nodes[node];
    assert!(!crashed.alive());
    assert_eq!(
        crashed.disk.log(),
        &synced_log[..],
        "synced entries survive exactly"
    );
    assert_eq!(crashed.disk.hard_state(), synced_hard_state);
    with_nodes(&mut sim, |nodes, cx| nodes.restart(node, cx));
    let driver = sim.nodes.nodes[node].driver.as_ref().expect("restarted");
    assert_eq!(
        driver.raft().log().last_index().0,
        synced_log.last().map_or(0, |e| e.index.0)
    );
    assert_eq!(
        driver.raft().term(),
        synced_hard_state.term,
        "rebuilt from its disk alone"
    );
}

#[test]
fn messages_to_a_crashed_node_are_lost() {
    let mut sim = calm_sim(4, 3);
    sim.start();
    with_nodes(&mut sim, |nodes, cx| nodes.crash(1, 1_000_000, cx));
    let before = sim.obs.stats().messages_dropped;
    with_nodes(&mut sim, |nodes, cx| {
        nodes.on_deliver(heartbeat(0, 1), 0, cx)
    });
    assert_eq!(sim.obs.stats().messages_dropped, before + 1);
}

#[test]
fn paused_node_piles_up_ticks_and_messages_then_catches_up() {
    let mut sim = calm_sim(5, 3);
    sim.start();
    sim.nodes.nodes[2].paused = true;
    let incarnation = sim.nodes.nodes[2].incarnation;
    with_nodes(&mut sim, |nodes, cx| {
        nodes.on_tick(2, incarnation, cx);
        nodes.on_tick(2, incarnation, cx);
    });
    // A heartbeat of a leader in a later term arrives while the node is frozen.
    let heartbeat = Message {
        from: NodeId(0),
        to: NodeId(2),
        term: Term(7),
        body: MessageBody::Heartbeat {
            commit: LogIndex(0),
            read_round: 0,
        },
    };
    let delivered = sim.obs.stats().messages_delivered;
    with_nodes(&mut sim, |nodes, cx| nodes.on_deliver(heartbeat, 0, cx));
    let n = &sim.nodes.nodes[2];
    assert_eq!(n.missed_ticks, 2);
    assert_eq!(n.inbox.len(), 1);
    let frozen = n.driver.as_ref().expect("alive").raft();
    assert_eq!(frozen.term(), Term(0), "a paused node handles nothing");
    with_nodes(&mut sim, |nodes, cx| nodes.resume(2, cx));
    let n = &sim.nodes.nodes[2];
    assert_eq!(n.missed_ticks, 0);
    assert!(n.inbox.is_empty());
    assert_eq!(sim.obs.stats().messages_delivered, delivered + 1);
    let raft = n.driver.as_ref().expect("alive").raft();
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
    sim.nodes.nodes[1].paused = true;
    sim.nodes.nodes[1].pause_generation = 2;
    sim.dispatch(Event::Resume { node: 1, pause: 1 });
    assert!(
        sim.nodes.nodes[1].paused,
        "a stale resume from an earlier pause is ignored"
    );
    sim.dispatch(Event::Resume { node: 1, pause: 2 });
    assert!(!sim.nodes.nodes[1].paused);
}

#[test]
fn a_checker_violation_ends_the_run_with_a_safety_verdict() {
    let mut sim = calm_sim(6, 3);
    sim.start();
    // n0 was leader of term 5 (as the checker saw it), voted for by n1.
    for node in [0, 1] {
        sim.obs.emit(SimEvent::TermVote {
            node,
            term: Term(5),
            vote: Some(NodeId(0)),
        });
    }
    sim.obs.emit(SimEvent::RoleChanged {
        node: 0,
        old_role: Role::Follower,
        old_term: Term(4),
        role: Role::Leader,
        term: Term(5),
    });
    // Node 2 really becomes leader of term 5 too (a single-voter view elects itself).
    let mut config = sim.config.raft_config(2);
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
    sim.nodes.nodes[2].driver = Some(host::Driver::new(raft, kv::KvStore::new()));
    let incarnation = sim.nodes.nodes[2].incarnation;
    with_nodes(&mut sim, |nodes, cx| nodes.on_tick(2, incarnation, cx));
    let verdict = &sim.run.verdict;
    assert_eq!(verdict.failed_property(), "election-safety", "{verdict:?}");
    let v = verdict.violation().expect("structured");
    assert_eq!((v.nodes.clone(), v.term), (vec![0, 2], Some(5)));
    assert!(sim.run.done, "the run stops at the first violation");
}

/// Pops and handles events until `done` holds (bounded).
fn run_until(sim: &mut Simulation, done: impl Fn(&Simulation) -> bool) {
    for _ in 0..1_000_000 {
        if done(sim) {
            return;
        }
        let Some(event) = sim.queue.pop() else { break };
        sim.dispatch(event);
    }
    panic!("the condition never held");
}

#[test]
fn a_leader_fault_without_a_leader_draws_its_node_from_a_stream_of_its_own() {
    let p = profile("calm").expect("calm exists");
    let mut told_apart = false;
    for seed in 0..16 {
        let config = p.draw(seed, Some(3));
        let crash = Fault::Crash {
            target: Target::Leader,
            restart_after_us: 10_000_000,
            at: CrashPoint::Now,
        };
        let schedule = vec![TimedFault {
            at_us: 0,
            fault: crash,
        }];
        let mut sim = Simulation::new(seed, config, schedule);
        sim.start();
        run_until(&mut sim, |s| s.obs.stats().crashes == 1);
        let crashed = (0..3).find(|&n| !sim.nodes.nodes[n].alive());
        let own = rng::stream(seed, Stream::FaultTargets).gen_range(0..3);
        let schedules = rng::stream(seed, Stream::Faults).gen_range(0..3);
        assert_eq!(crashed, Some(own), "seed {seed}");
        told_apart |= own != schedules;
    }
    assert!(told_apart, "some seed tells the two streams apart");
}

#[test]
fn a_request_proposes_the_command_it_was_sent_with() {
    let mut sim = calm_sim(8, 3);
    sim.start();
    run_until(&mut sim, |s| s.nodes.leader().is_some());
    let leader = sim.nodes.leader().expect("a leader");
    // An old attempt, sent before the client moved on to another operation.
    let sent = kv::Command {
        client_id: 1,
        seq: 77,
        op: kv::Op::Put {
            key: "k".into(),
            value: "sent".into(),
        },
    };
    let command = bytes::Bytes::from(sent.encode());
    let request = Event::ClientRequest {
        node: leader,
        client: 0,
        attempt: 99,
        command: command.clone(),
    };
    sim.dispatch(request);
    let driver = sim.nodes.nodes[leader].driver.as_ref().expect("alive");
    let last = driver.raft().log().entries().last().expect("an entry");
    assert_eq!(
        last.data, command,
        "the proposal is what the request carried"
    );
}

#[test]
fn every_message_sent_is_delivered_dropped_or_still_in_flight() {
    let p = profile("chaos").expect("chaos exists");
    for seed in 0..40 {
        let mut sim = Simulation::from_seed(seed, p);
        let r = sim.run();
        let raft_message = |m: &Message| m.from != m.to;
        let queued = sim
            .queue
            .pending()
            .filter(|e| matches!(e, Event::Deliver { m, .. } if raft_message(m)));
        let inboxes = sim.nodes.nodes.iter().flat_map(|n| n.inbox.iter());
        let held = inboxes.filter(|i| matches!(i, Inbound::Raft(m, _) if raft_message(m)));
        let in_flight = (queued.count() + held.count()) as u64;
        let s = &r.stats;
        assert_eq!(
            s.messages_sent + s.messages_duplicated,
            s.messages_delivered + s.messages_dropped + in_flight,
            "seed {seed}: {s:?}"
        );
    }
}

#[test]
fn an_event_scheduled_in_the_past_ends_the_run_with_an_engine_violation() {
    let mut sim = calm_sim(9, 3);
    sim.start();
    run_until(&mut sim, |s| s.queue.now_us() > 1_000);
    sim.queue.push_at(0, Event::Heal);
    sim.check_queue();
    assert_eq!(sim.run.verdict.failed_property(), "engine-invariant");
    assert!(sim.run.done);
}

#[test]
fn a_violation_found_by_the_last_input_is_not_lost_to_the_final_checks() {
    let mut sim = calm_sim(10, 3);
    sim.start();
    // Two leaders of term 7 reach the checker; the run ends before the
    // engine looked at it.
    for node in [0, 1] {
        sim.obs.emit(SimEvent::TermVote {
            node,
            term: Term(7),
            vote: Some(NodeId(node as u64)),
        });
        sim.obs.emit(SimEvent::RoleChanged {
            node,
            old_role: Role::Candidate,
            old_term: Term(7),
            role: Role::Leader,
            term: Term(7),
        });
    }
    sim.final_checks();
    assert_eq!(sim.run.verdict.failed_property(), "election-safety");
}

#[test]
fn a_triggered_fault_fires_at_its_protocol_point_and_shows_in_the_trace() {
    let text = "seed 3\nprofile calm\nnodes 3\nchaos 2s\n\
                t=0ms on vote-granted any crash restart=30ms\n\
                t=0ms on campaigned any drop-votes\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    let mut sim = Simulation::from_case(&case);
    sim.enable_trace();
    let r = sim.run();
    assert!(r.verdict.passed(), "{:?}", r.verdict);
    assert_eq!(r.stats.triggered_faults, 2);
    assert!(r.stats.crashes >= 1);
    let lines = sim.trace_lines();
    assert!(
        lines.iter().any(|l| l.contains("on vote-granted: Crash")),
        "no trigger in the trace"
    );
    assert!(lines.iter().any(|l| l.contains("on campaigned: DropVotes")));
    // The first election's votes were lost: it took another election.
    assert!(r.stats.elections >= 2, "{:?}", r.stats);
}

/// A calm three-node run of `seed` that ends with a stability window.
fn sim_with_stability_window(seed: u64) -> Simulation {
    let p = profile("calm").expect("calm exists");
    let mut config = p.draw(seed, Some(3));
    config.stability_window_us = 600_000;
    let schedule = faults::generate(&config, &mut rng::stream(seed, Stream::Faults));
    Simulation::new(seed, config, schedule)
}

#[test]
fn an_idle_cluster_keeps_its_leader_through_the_stability_window() {
    let result = sim_with_stability_window(5).run();
    assert!(result.verdict.passed(), "{:?}", result.verdict);
    assert_eq!(result.stats.stability_windows_passed, 1);
    assert_eq!(result.stats.latency_probes_passed, 1);
}

#[test]
fn a_probe_that_commits_later_than_its_bound_is_a_liveness_failure() {
    let mut sim = sim_with_stability_window(5);
    sim.start();
    // The bound comes from the configuration; the network and the disks
    // keep their own (real) delays, so a bound of zero delays is missed.
    sim.config.delay_us_max = 0;
    sim.config.sync_us_max = 0;
    while sim.step() {}
    let Verdict::Liveness { violation } = &sim.run.verdict else {
        panic!("expected a liveness failure, got {:?}", sim.run.verdict);
    };
    assert!(violation.expected.contains("calm network"), "{violation:?}");
}

#[test]
fn an_election_in_the_stability_window_is_a_liveness_failure() {
    let mut sim = sim_with_stability_window(5);
    sim.start();
    let mut opened = false;
    for _ in 0..1_000_000 {
        let now = sim.queue.now_us();
        if sim.run.in_stability_window(now).is_some() {
            opened = true;
            break;
        }
        assert!(sim.step(), "the run ended before its stability window");
    }
    assert!(opened, "the window never opened");
    // A follower whose clock runs on without a word from the leader (as if
    // heartbeats stopped) times out and asks for votes: an election.
    let follower = (0..3)
        .find(|&n| {
            let driver = sim.nodes.nodes[n].driver.as_ref();
            driver.is_some_and(|d| d.raft().role() == Role::Follower)
        })
        .expect("a follower");
    let incarnation = sim.nodes.nodes[follower].incarnation;
    for _ in 0..1_000 {
        if sim.run.done {
            break;
        }
        with_nodes(&mut sim, |nodes, cx| {
            nodes.on_tick(follower, incarnation, cx)
        });
    }
    let Verdict::Liveness { violation } = &sim.run.verdict else {
        panic!("expected a liveness failure, got {:?}", sim.run.verdict);
    };
    assert!(violation.expected.contains("idle window"), "{violation:?}");
    assert_eq!(violation.nodes, vec![follower as u64]);
}

#[test]
fn a_panic_is_the_verdict_and_the_trace_and_timeline_end_with_it() {
    let mut sim = calm_sim(3, 3);
    sim.enable_trace();
    sim.enable_timeline("panic");
    sim.start();
    for _ in 0..500 {
        assert!(sim.step(), "the run is still going");
    }
    let result = sim.panicked("index out of bounds (at quorum.rs:44)".into());
    assert!(matches!(&result.verdict, Verdict::Panic { message } if message.contains("quorum.rs")));
    assert_eq!(result.events, 500, "the counters are kept");
    assert!(result.stats.messages_sent > 0);
    let last = sim.trace_lines().last().expect("a trace");
    assert!(last.contains("PANIC index out of bounds"), "{last}");
    let timeline = sim.timeline().expect("a timeline");
    let shown = matches!(
        timeline.events.last(),
        Some(crate::timeline::TimelineEvent::Violation { text, .. }) if text.starts_with("PANIC")
    );
    assert!(shown, "the page shows the panic");
}

/// A spare boots when a leader accepts the change adding it, is a member
/// once it commits, and must catch up; a removed member is shut down for
/// good; a replacement goes through a joint configuration, left by itself.
#[test]
fn spares_join_removed_members_shut_down_and_replacements_go_joint() {
    let text = "seed 4\nprofile calm\nnodes 3\nspares 2\nchaos 3s\n\
                t=500ms add-learner n3\n\
                t=900ms promote n3\n\
                t=1300ms replace n0 n4\n\
                t=2000ms transfer-leader n3\n\
                assert configuration {0,1,2,3} 0.5s..1.3s\n\
                assert configuration {1,2,3,4} joint 1.3s..2s\n\
                assert configuration {1,2,3,4} 1.3s..2s\n\
                expect pass\n";
    let case = Case::parse(text).expect("valid");
    let mut sim = Simulation::from_case(&case);
    sim.enable_trace();
    sim.enable_timeline("membership");
    let r = sim.run();
    assert!(r.verdict.passed(), "{:?}", r.verdict);
    let timeline = sim.timeline().expect("recorded");
    for a in &case.asserts {
        crate::scenario::check(a, &timeline).expect("the scenario is reached");
    }
    let s = &r.stats;
    assert_eq!(s.config_changes_committed, 4, "{s:?}");
    assert!(s.config_changes_proposed >= 4, "{s:?}");
    assert_eq!((s.joint_entered, s.joint_left), (1, 1), "{s:?}");
    assert_eq!(s.learners_promoted, 1, "{s:?}");
    assert_eq!(s.leader_transfers, 1, "{s:?}");
    let standing: Vec<Standing> = sim.nodes.nodes.iter().map(|n| n.standing).collect();
    let m = Standing::Member;
    assert_eq!(standing, vec![Standing::Removed, m, m, m, m]);
    assert!(!sim.nodes.nodes[0].alive(), "n0 is shut down");
    let target = sim.clients.acked_index_max();
    for n in 1..5 {
        assert!(
            sim.nodes.nodes[n].applied_index() >= target,
            "n{n} caught up"
        );
    }
    let lines = sim.trace_lines();
    for needle in [
        "n3 joins the cluster",
        "n4 joins the cluster",
        "n0 removed: shut down",
        "hands leadership to n3",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no '{needle}' in the trace"
        );
    }
}

/// A run's client history written as a history file reads back the same,
/// and judges the same (`sim replay --history`, `sim check-history`).
#[test]
fn a_runs_history_file_reads_back_and_judges_the_same() {
    let p = profile("lossy").expect("built-in profile");
    let mut sim = Simulation::from_seed(11, p);
    let result = sim.run();
    assert!(result.verdict.passed(), "{:?}", result.verdict);
    let history = sim.history();
    assert!(history.len() > 10, "a real workload");
    let text = checker::write_history(history);
    let back = checker::parse_history(&text).expect("its own format");
    assert_eq!(back, history);
    assert_eq!(
        checker::check_linearizability(&back, crate::engine::LINEARIZABILITY_STEPS_MAX),
        checker::LinearizabilityOutcome::Linearizable
    );
}

#[test]
fn a_flipped_bit_makes_its_node_refuse_to_start_and_the_rest_carry_on() {
    // Crash seeds with every crash flipping a bit (once per run): the
    // damaged node must refuse to start and stay down, and the run, with
    // its other nodes, must still pass (durability, liveness, every check).
    let p = profile("crashes").expect("crashes exists");
    let mut refused = 0;
    for seed in 0..40 {
        let mut config = p.draw(seed, Some(3));
        config.bit_flip_probability = 1.0;
        let schedule = faults::generate(&config, &mut rng::stream(seed, Stream::Faults));
        let mut sim = Simulation::new(seed, config, schedule);
        let result = sim.run();
        assert!(result.verdict.passed(), "seed {seed}: {:?}", result.verdict);
        assert!(
            result.stats.corruptions_injected <= 1,
            "one damaged node a run"
        );
        let failed: Vec<usize> = (0..3)
            .filter(|&n| sim.nodes.nodes[n].standing == Standing::Failed)
            .collect();
        assert_eq!(failed.len() as u64, result.stats.corruptions_detected);
        for &n in &failed {
            assert!(!sim.nodes.nodes[n].alive(), "a refused node stays down");
        }
        refused += failed.len();
    }
    assert!(refused > 10, "only {refused} of 40 runs saw a refusal");
}
