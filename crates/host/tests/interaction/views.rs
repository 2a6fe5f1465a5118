//! The read-only views of the scripted cluster: `status`, `log`, `kv`,
//! `digests` and `check`. A child of `env`, so that it reads the cluster's
//! state directly; it must never change it.

use super::Env;
use crate::args::Res;
use crate::format;
use raft_core::{Entry, LogIndex, Term};
use std::collections::BTreeSet;
use std::fmt::Write as _;

impl Env {
    /// `status`: one line per node.
    pub fn status(&mut self, ids: &[u64]) -> Res<()> {
        for &id in ids {
            let i = self.index(id)?;
            let node = &self.nodes[i];
            let disk = &node.disk;
            let line = match node.driver.as_ref() {
                None => {
                    let hs = disk.hard_state();
                    let last = disk
                        .log()
                        .last()
                        .map_or_else(|| "0@0".to_string(), |e| format::at(e.index, e.term));
                    format!(
                        "{id} down: disk term={} vote={} commit={} last={last}",
                        hs.term.0,
                        format::vote(hs.vote),
                        hs.commit.0
                    )
                }
                Some(d) => {
                    let r = d.raft();
                    let log = r.log();
                    let mut line = format!(
                        "{id} {:?} term={} vote={} leader={} last={} commit={} applied={}",
                        r.role(),
                        r.term().0,
                        format::vote(r.vote()),
                        format::vote(r.leader()),
                        format::at(log.last_index(), log.last_term()),
                        log.committed().0,
                        d.state_machine().applied_index(),
                    );
                    let unsynced = disk.unsynced_batches();
                    if unsynced > 0 {
                        let _ = write!(line, " unsynced={unsynced}");
                    }
                    if d.waiting_messages() > 0 {
                        let _ = write!(line, " held-until-sync={}", d.waiting_messages());
                    }
                    if d.is_stopped() {
                        line.push_str(" STOPPED");
                    }
                    line
                }
            };
            self.print(line);
        }
        Ok(())
    }

    /// `log`: the node's log from index `from` to `to`, one entry a line,
    /// entries not yet durable marked; a crashed node's disk.
    pub fn log(&mut self, id: u64, from: u64, to: u64) -> Res<()> {
        let shown = |e: &&Entry| (from..=to).contains(&e.index.0);
        let i = self.index(id)?;
        let node = &self.nodes[i];
        let durable: BTreeSet<(LogIndex, Term)> =
            node.disk.log().iter().map(|e| (e.index, e.term)).collect();
        let mut lines = Vec::new();
        match node.driver.as_ref() {
            None => {
                lines.push(format!("{id} is down; its disk holds:"));
                for e in node.disk.log().iter().filter(shown) {
                    lines.push(format!(
                        "{} {}",
                        format::at(e.index, e.term),
                        format::payload(e)
                    ));
                }
            }
            Some(d) => {
                let log = d.raft().log();
                lines.push(format!(
                    "{id} log: last={} commit={} applied={}",
                    format::at(log.last_index(), log.last_term()),
                    log.committed().0,
                    d.state_machine().applied_index()
                ));
                for e in log.entries().iter().filter(shown) {
                    let mark = if durable.contains(&(e.index, e.term)) {
                        ""
                    } else {
                        " (not durable)"
                    };
                    lines.push(format!(
                        "{} {}{mark}",
                        format::at(e.index, e.term),
                        format::payload(e)
                    ));
                }
            }
        }
        if lines.len() == 1 {
            lines.push("(empty)".to_string());
        }
        for l in lines {
            self.print(l);
        }
        Ok(())
    }

    /// `kv`: the node's store: applied index, digest, and its pairs.
    pub fn kv(&mut self, id: u64) -> Res<()> {
        let store = self.live(id)?.state_machine();
        let mut lines = vec![format!(
            "{id} kv: applied={} digest={:016x} keys={}",
            store.applied_index(),
            store.digest(),
            store.len()
        )];
        const SHOWN: usize = 8;
        lines.extend(store.iter().take(SHOWN).map(|(k, v)| format!("{k}={v}")));
        if store.len() > SHOWN {
            lines.push(format!("... and {} more", store.len() - SHOWN));
        }
        for l in lines {
            self.print(l);
        }
        Ok(())
    }

    /// `digests`: every live node's kv digest, and whether they agree.
    pub fn digests(&mut self) {
        let mut seen = BTreeSet::new();
        let mut lines = Vec::new();
        for node in &self.nodes {
            match node.driver.as_ref() {
                None => lines.push(format!("{} down", node.id)),
                Some(d) => {
                    let s = d.state_machine();
                    seen.insert((s.applied_index(), s.digest()));
                    lines.push(format!(
                        "{} applied={} digest={:016x}",
                        node.id,
                        s.applied_index(),
                        s.digest()
                    ));
                }
            }
        }
        lines.push(match seen.len() {
            0 => "no live node".to_string(),
            1 => "live replicas agree".to_string(),
            _ => "live replicas DIFFER".to_string(),
        });
        for l in lines {
            self.print(l);
        }
    }

    /// `check`: `ok`, or every violation and fault so far.
    pub fn check(&mut self) {
        if self.io.problems.is_empty() {
            self.print("ok: no violation");
        } else {
            let problems = self.io.problems.clone();
            for p in problems {
                self.print(format!("VIOLATION: {p}"));
            }
        }
    }
}
