//! The observer every driver reports to: [`Io`] is the host side of the
//! [`host::Effects`] interface for the whole scripted cluster. It holds the
//! network (messages in flight), prints what the nodes do (hard state and
//! role changes, truncations, commits, answers, violations), and feeds every
//! change to a [`SafetyChecker`] in the order the checker requires.
//!
//! The checker numbers nodes from 0 (node index = id - 1), votes included;
//! the output numbers them by id. This module must never decide anything
//! about the cluster: it only records, prints and checks.

use crate::format;
use checker::SafetyChecker;
use host::{Answer, Effects, HostFault, Transport};
use kv::Applied;
use raft_core::membership::Membership;
use raft_core::{
    DurableState, Entry, HardState, LogIndex, Message, NodeId, RaftNode, Ready, Role, Snapshot,
    SnapshotMeta, Term,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A vote as the checker numbers nodes (index = id - 1).
pub fn checker_vote(v: Option<NodeId>) -> Option<NodeId> {
    v.map(|n| NodeId(n.0.saturating_sub(1)))
}

/// A hard state with its vote numbered as the checker numbers nodes.
pub fn checker_hard_state(hs: HardState) -> HardState {
    HardState {
        vote: checker_vote(hs.vote),
        ..hs
    }
}

/// A snapshot's metadata with its configuration numbered as the checker
/// numbers nodes.
pub fn checker_meta(meta: &SnapshotMeta) -> SnapshotMeta {
    let ids = |v: &[NodeId]| v.iter().map(|&n| NodeId(n.0.saturating_sub(1))).collect();
    let m = &meta.membership;
    SnapshotMeta {
        membership: Membership {
            voters: ids(&m.voters),
            outgoing: ids(&m.outgoing),
            learners: ids(&m.learners),
            auto_leave: m.auto_leave,
        },
        ..meta.clone()
    }
}

/// Durable state as the checker numbers nodes (vote and snapshot).
pub fn checker_durable(durable: &DurableState) -> DurableState {
    DurableState {
        hard_state: checker_hard_state(durable.hard_state),
        snapshot: durable.snapshot.as_ref().map(|s| Snapshot {
            meta: checker_meta(&s.meta),
            data: s.data.clone(),
        }),
        entries: durable.entries.clone(),
    }
}

/// What the observer last saw of a node (to print and report only changes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    /// The role after the node's last input.
    pub(crate) role: Role,
    /// The term, in memory.
    pub(crate) term: Term,
    /// The vote in `term`, in memory.
    pub(crate) vote: Option<NodeId>,
    /// The commit index last handed out in a batch's hard state.
    pub(crate) commit: LogIndex,
    /// The last index written to its disk (volatile or not).
    pub(crate) last: LogIndex,
}

impl Seen {
    pub(crate) fn restored(durable: &DurableState) -> Seen {
        let prefix = durable
            .snapshot
            .as_ref()
            .map_or(LogIndex(0), |s| s.meta.index);
        Seen {
            role: Role::Follower,
            term: durable.hard_state.term,
            vote: durable.hard_state.vote,
            commit: durable.hard_state.commit.max(prefix),
            last: durable
                .entries
                .last()
                .map_or(prefix, |e| e.index.max(prefix)),
        }
    }
}

/// The host side every driver talks to: the network, the output, the
/// observer state and the safety checker.
pub struct Io {
    /// Messages in flight, oldest first.
    pub(crate) network: Vec<Message>,
    pub(crate) checker: SafetyChecker,
    /// The checker's event counter: one per input.
    pub(crate) events: u64,
    /// The current directive's output.
    pub(crate) out: String,
    /// Print only important lines (role changes, answers, violations).
    pub(crate) quiet: bool,
    /// Put before every line (indentation, a tick number).
    pub(crate) prefix: String,
    /// The next this many sends are messages released by a sync: print them.
    pub(crate) releasing: usize,
    /// The node (index) whose input is being handled.
    pub(crate) current: usize,
    pub(crate) seen: Vec<Seen>,
    /// Checker violations already printed.
    pub(crate) reported: usize,
    /// Every violation and fault printed, for the end-of-file verdict.
    pub(crate) problems: Vec<String>,
    /// Proposals whose answers are printed: token -> what was proposed.
    pub(crate) loud: BTreeMap<u64, String>,
    /// Answers to other proposals (from `propose-many`): applied, lost.
    pub(crate) quiet_answers: (u64, u64),
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
}

impl Io {
    pub(crate) fn new(nodes: usize) -> Io {
        let fresh = Seen::restored(&DurableState::default());
        Io {
            network: Vec::new(),
            checker: SafetyChecker::new(nodes),
            events: 0,
            out: String::new(),
            quiet: false,
            prefix: String::new(),
            releasing: 0,
            current: 0,
            seen: vec![fresh; nodes],
            reported: 0,
            problems: Vec::new(),
            loud: BTreeMap::new(),
            quiet_answers: (0, 0),
            delivered: 0,
            dropped: 0,
        }
    }

    /// Prints a line; unimportant lines are left out in quiet mode.
    pub(crate) fn line(&mut self, important: bool, text: impl AsRef<str>) {
        if important || !self.quiet {
            let _ = writeln!(self.out, "{}{}", self.prefix, text.as_ref());
        }
    }

    /// Indents what follows under the line just printed (not in quiet
    /// mode, where that line is not printed); returns the prefix to restore.
    pub(crate) fn indent(&mut self) -> String {
        let prefix = self.prefix.clone();
        if !self.quiet {
            self.prefix.push_str("  ");
        }
        prefix
    }

    /// An input to node `index` begins.
    pub(crate) fn begin(&mut self, index: usize) {
        self.events += 1;
        self.current = index;
    }

    /// An input ended: prints the checker's new violations.
    pub(crate) fn end(&mut self) {
        let new: Vec<String> = self.checker.violations()[self.reported..]
            .iter()
            .map(|v| format!("{} [checker nodes are 0-based: n0 is node 1]", v.message()))
            .collect();
        self.reported += new.len();
        for v in new {
            self.line(true, format!("VIOLATION: {v}"));
            self.problems.push(v);
        }
    }

    /// Notes role, term and vote changes (the `node_state` hook).
    fn observe(&mut self, raft: &RaftNode, hard_state: Option<HardState>) {
        let id = raft.id().0;
        let i = (id - 1) as usize;
        let old = self.seen[i];
        let (role, term, vote) = (raft.role(), raft.term(), raft.vote());
        if hard_state.is_some_and(|hs| (hs.term, hs.vote) != (old.term, old.vote)) {
            self.line(
                false,
                format!("{id} term={} vote={}", term.0, format::vote(vote)),
            );
            self.checker
                .term_vote(self.events, i, term, checker_vote(vote));
        }
        let seen = &mut self.seen[i];
        seen.term = term;
        seen.vote = vote;
        seen.role = role;
        let new_campaign = role != Role::Follower && term != old.term;
        if role != old.role || new_campaign {
            self.line(true, format!("{id} became {role:?} at term {}", term.0));
        }
        if old.role == Role::Leader && (role != Role::Leader || term != old.term) {
            self.checker.stepped_down(i);
        }
        if role == Role::Leader && (old.role != Role::Leader || term != old.term) {
            self.checker.became_leader(self.events, i, term);
        }
    }

    /// Notes a batch's log writes and commit (the `ready` hook).
    fn observe_ready(&mut self, raft: &RaftNode, ready: &Ready) {
        let id = raft.id().0;
        let i = (id - 1) as usize;
        if let Some(snap) = &ready.snapshot {
            let m = &snap.meta;
            self.line(
                true,
                format!(
                    "{id} installs snapshot {} ({} bytes), replacing its log (it held up to {})",
                    format::at(m.index, m.term),
                    snap.data.len(),
                    self.seen[i].last.0
                ),
            );
            self.checker
                .snapshot_installed(self.events, i, &checker_meta(m));
            self.seen[i].last = m.index;
            self.seen[i].commit = m.index;
        }
        if let (Some(first), Some(last)) = (ready.entries.first(), ready.entries.last()) {
            let had = self.seen[i].last;
            if first.index <= had {
                self.line(
                    true,
                    format!(
                        "{id} replaces its log from index {} (it held up to {}) with {}",
                        first.index.0,
                        had.0,
                        format::entries(&ready.entries)
                    ),
                );
            }
            self.checker.entries_written(self.events, i, &ready.entries);
            self.seen[i].last = last.index;
        }
        if let Some(hs) = ready.hard_state {
            let old = self.seen[i].commit;
            if hs.commit != old {
                self.line(false, format!("{id} commit {}->{}", old.0, hs.commit.0));
                self.seen[i].commit = hs.commit;
                self.checker.committed(self.events, i, hs.commit);
            }
        }
    }
}

impl Transport for Io {
    fn send(&mut self, m: Message) {
        if self.releasing > 0 {
            self.releasing -= 1;
            self.line(false, format::message(&m));
        }
        self.network.push(m);
    }
}

impl Effects<u64, Applied> for Io {
    fn answer(&mut self, token: u64, answer: Answer<Applied>) {
        let node = self.current + 1;
        match self.loud.remove(&token) {
            Some(what) => self.line(
                true,
                format!(
                    "{node} answers #{token} ({what}): {}",
                    format::answer(&answer)
                ),
            ),
            None => match answer {
                Answer::Applied { .. } | Answer::Read { .. } => self.quiet_answers.0 += 1,
                Answer::Lost { .. } | Answer::ReadRefused => self.quiet_answers.1 += 1,
            },
        }
    }

    fn fault(&mut self, fault: HostFault) {
        let text = format!("node {} stopped: {fault}", self.current + 1);
        self.line(true, format!("VIOLATION: {text}"));
        self.problems.push(text);
    }

    fn node_state(&mut self, raft: &RaftNode, hard_state: Option<HardState>) {
        self.observe(raft, hard_state);
    }

    fn ready(&mut self, raft: &RaftNode, ready: &Ready) {
        self.observe_ready(raft, ready);
    }

    fn applying(&mut self, entry: &Entry) {
        self.checker.applied(self.events, self.current, entry);
    }

    fn snapshot_taken(&mut self, raft: &RaftNode, snapshot: &Snapshot) {
        let m = &snapshot.meta;
        self.line(
            false,
            format!(
                "{} compacts its log behind snapshot {} ({} bytes)",
                raft.id().0,
                format::at(m.index, m.term),
                snapshot.data.len()
            ),
        );
        self.checker
            .snapshot_taken(self.events, self.current, &checker_meta(m));
    }
}
