//! The network and durability operations of the scripted cluster: syncs
//! (which release the messages held until durability), delivery in FIFO
//! order with filters, held messages, network cuts, and `stabilize`. A child
//! of `env`. Every message delivered, released or dropped is printed here.

use super::{Env, Filter};
use crate::args::Res;
use crate::format;
use crate::observer::checker_hard_state;
use raft_core::Message;
use std::collections::BTreeMap;

impl Env {
    // ----- durability ------------------------------------------------------

    /// Makes node `i`'s writes durable and tells its driver. Returns whether
    /// there was anything to sync.
    pub(super) fn sync_node(&mut self, i: usize, explicit: bool) -> bool {
        let node = &mut self.nodes[i];
        let id = node.id;
        let Some(driver) = node.driver.as_mut() else {
            return false;
        };
        let release = driver.waiting_messages();
        if !node.disk.has_unsynced() && release == 0 {
            if explicit {
                self.io.line(true, format!("{id} has nothing to sync"));
            }
            return false;
        }
        self.io.begin(i);
        if let Err(e) = node.disk.sync_all() {
            self.io.problems.push(format!("{id} cannot sync: {e}"));
        }
        let hs = node.disk.hard_state();
        self.io
            .checker
            .durable_hard_state(self.io.events, i, checker_hard_state(hs));
        let snapshot = node.disk.snapshot_mark();
        let last = node
            .disk
            .log()
            .last()
            .map(|e| (e.index, e.term))
            .or(snapshot)
            .map_or_else(|| "0@0".to_string(), |(i, t)| format::at(i, t));
        let released = if release > 0 { ", releases:" } else { "" };
        self.io.line(
            false,
            format!(
                "{id} synced: term={} vote={} commit={} last={last}{released}",
                hs.term.0,
                format::vote(hs.vote),
                hs.commit.0
            ),
        );
        // The released messages and what they cause are indented.
        self.io.releasing = release;
        let prefix = self.io.indent();
        driver.on_synced(&mut node.disk, &mut self.io);
        self.io.prefix = prefix;
        self.io.releasing = 0;
        self.io.end();
        true
    }

    /// `sync`: one node, or every live node.
    pub fn sync(&mut self, ids: &[u64]) -> Res<()> {
        let mut any = false;
        for &id in ids {
            let i = self.index(id)?;
            if ids.len() == 1 {
                self.live(id)?;
            }
            any |= self.sync_node(i, ids.len() == 1);
        }
        if !any && ids.len() > 1 {
            self.print("nothing to sync");
        }
        Ok(())
    }

    // ----- the network -----------------------------------------------------

    fn side(&self, id: u64) -> u32 {
        self.sides.get(&id).copied().unwrap_or(0)
    }

    /// Why a message cannot arrive now, if it cannot.
    fn cut(&self, m: &Message) -> Option<String> {
        let to = m.to.0;
        let down = self
            .index(to)
            .map_or(true, |i| self.nodes[i].driver.is_none());
        if down {
            return Some(format!("{to} is down"));
        }
        if m.from != m.to && self.side(m.from.0) != self.side(to) {
            return Some("partitioned".to_string());
        }
        None
    }

    /// Delivers one message (or drops it and says why).
    fn deliver(&mut self, m: Message, drop: bool) {
        let text = format::message(&m);
        if drop {
            self.io.dropped += 1;
            self.io.line(false, format!("{text} dropped"));
            return;
        }
        if let Some(why) = self.cut(&m) {
            self.io.dropped += 1;
            self.io.line(false, format!("{text} dropped: {why}"));
            return;
        }
        self.io.delivered += 1;
        self.io.line(false, &text);
        let to = m.to.0;
        let i = (to - 1) as usize;
        let node = &mut self.nodes[i];
        let Some(driver) = node.driver.as_mut() else {
            return;
        };
        let waiting = driver.waiting_messages();
        let prefix = self.io.indent();
        self.io.begin(i);
        driver.step(m, &mut node.disk, &mut self.io);
        self.io.end();
        let held = driver.waiting_messages();
        if held > waiting {
            let n = held - waiting;
            let s = if n == 1 { "" } else { "s" };
            self.io
                .line(false, format!("{to} holds {n} message{s} until sync"));
        }
        self.io.prefix = prefix;
    }

    /// Takes the in-flight messages matching `filter` off the network, in order.
    fn take_matching(list: &mut Vec<Message>, filter: &Filter) -> Vec<Message> {
        let (taken, kept): (Vec<Message>, Vec<Message>) = std::mem::take(list)
            .into_iter()
            .partition(|m| filter.matches(m));
        *list = kept;
        taken
    }

    /// `deliver-msgs`: delivers (or drops) the matching in-flight messages;
    /// what they cause stays in flight.
    pub fn deliver_msgs(&mut self, filter: &Filter, drop: bool) {
        let batch = Env::take_matching(&mut self.io.network, filter);
        if batch.is_empty() {
            self.print("no messages");
        }
        for m in batch {
            self.deliver(m, drop);
        }
    }

    /// `hold`: moves (or, with `copy`, copies) matching in-flight messages
    /// aside, out of reach of `deliver-msgs` and `stabilize`.
    pub fn hold(&mut self, filter: &Filter, copy: bool) {
        let taken = if copy {
            self.io
                .network
                .iter()
                .filter(|m| filter.matches(m))
                .cloned()
                .collect()
        } else {
            Env::take_matching(&mut self.io.network, filter)
        };
        if taken.is_empty() {
            self.print("no messages");
        }
        let verb = if copy { "holds a copy of" } else { "holds" };
        for m in taken {
            self.print(format!("{verb} {}", format::message(&m)));
            self.held.push(m);
        }
    }

    /// `deliver-held`: delivers (or drops) the matching held messages.
    pub fn deliver_held(&mut self, filter: &Filter, drop: bool) {
        let batch = Env::take_matching(&mut self.held, filter);
        if batch.is_empty() {
            self.print("no held messages");
        }
        for m in batch {
            self.deliver(m, drop);
        }
    }

    /// `partition`: each group is a side of the network; unnamed nodes
    /// form one more side.
    pub fn partition(&mut self, groups: &[Vec<u64>]) -> Res<()> {
        let mut sides = BTreeMap::new();
        for (g, ids) in groups.iter().enumerate() {
            for &id in ids {
                self.index(id)?;
                if sides.insert(id, g as u32 + 1).is_some() {
                    return Err(format!("partition: node {id} is in two groups"));
                }
            }
        }
        self.next_side = groups.len() as u32 + 1;
        self.sides = sides;
        self.print_sides();
        Ok(())
    }

    /// `isolate`: a side of its own.
    pub fn isolate(&mut self, id: u64) -> Res<()> {
        self.index(id)?;
        self.sides.insert(id, self.next_side);
        self.next_side += 1;
        self.print_sides();
        Ok(())
    }

    /// `heal`: one network again.
    pub fn heal(&mut self) {
        self.sides.clear();
        self.next_side = 1;
        self.print_sides();
    }

    fn print_sides(&mut self) {
        let mut by_side: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for id in self.ids() {
            by_side
                .entry(self.side(id))
                .or_default()
                .push(id.to_string());
        }
        let sides: Vec<String> = by_side
            .values()
            .map(|ids| format!("{{{}}}", ids.join(",")))
            .collect();
        self.print(format!("network: {}", sides.join(" ")));
    }

    // ----- stabilize -------------------------------------------------------

    /// Rounds of: sync every live node, then deliver everything in flight;
    /// until a round does nothing, or `max` rounds. Returns the rounds used
    /// (`None` if still busy).
    pub(super) fn stabilize_rounds(&mut self, max: u32, quiet: bool) -> Option<u32> {
        let was_quiet = std::mem::replace(&mut self.io.quiet, quiet);
        let mut result = None;
        for round in 1..=max {
            let mut busy = false;
            for i in 0..self.nodes.len() {
                busy |= self.sync_node(i, false);
            }
            let batch = std::mem::take(&mut self.io.network);
            busy |= !batch.is_empty();
            for m in batch {
                self.deliver(m, false);
            }
            if !busy {
                result = Some(round - 1);
                break;
            }
        }
        self.io.quiet = was_quiet;
        if result.is_none() {
            self.print(format!("not stable after {max} rounds"));
        }
        result
    }

    /// `stabilize`: prints everything, or (quiet) only important lines and a summary.
    pub fn stabilize(&mut self, max: u32, quiet: bool) {
        let (delivered, dropped) = (self.io.delivered, self.io.dropped);
        let (applied, lost) = self.io.quiet_answers;
        let rounds = self.stabilize_rounds(max, quiet);
        if quiet {
            if let Some(r) = rounds {
                self.print(format!(
                    "stable after {r} rounds: {} messages delivered, {} dropped",
                    self.io.delivered - delivered,
                    self.io.dropped - dropped
                ));
            }
            let (a, l) = self.io.quiet_answers;
            if (a, l) != (applied, lost) {
                self.print(format!(
                    "answers: {} applied, {} lost",
                    a - applied,
                    l - lost
                ));
            }
        } else if rounds == Some(0) {
            self.print("nothing to do");
        }
    }
}
