//! Clients and their history.
//!
//! Each client has one outstanding operation on a small, contended key
//! space. It sends to the node it believes leads, follows leader hints,
//! and on timeout retries the same (client, seq) elsewhere, so the kv
//! sessions must apply a retried command once. The history of invocations
//! and completions is what a linearizability checker reads.

use bytes::Bytes;
use kv::{Command, Op, OpResult};
use raft_core::{LogIndex, Term};
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The client index the load generator's proposals carry: no client of
/// the run, so nobody waits for their answers.
pub const LOAD_CLIENT: usize = usize::MAX;

/// What a node answered a client attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Applied at (index, term); the op's result.
    Ok {
        /// What the op returned.
        result: OpResult,
        /// Where it was committed.
        index: LogIndex,
        /// The term of that entry.
        term: Term,
    },
    /// Not the leader; maybe a hint.
    Redirect(Option<usize>),
    /// The proposal's index was taken by another term's entry.
    Lost,
    /// The leader refused new proposals for now.
    Busy,
}

/// A client's state.
#[derive(Clone, Debug)]
pub struct Client {
    id: u64,
    seq: u64,
    encoded: Bytes,
    history_index: Option<usize>,
    attempt: u32,
    leader_guess: usize,
    outstanding_at_heal: bool,
    completed_after_heal: bool,
    healed: bool,
    script_done: bool,
}

impl Client {
    /// A client with the given id that first tries node `first_guess`.
    #[must_use]
    pub fn new(id: u64, first_guess: usize) -> Client {
        Client {
            id,
            seq: 0,
            encoded: Bytes::new(),
            history_index: None,
            attempt: 0,
            leader_guess: first_guess,
            outstanding_at_heal: false,
            completed_after_heal: false,
            healed: false,
            script_done: false,
        }
    }

    /// Draws the next operation and encodes it as this client's command.
    pub fn next_op(&mut self, rng: &mut Xoshiro256PlusPlus, keys: usize) -> Op {
        let op = self.draw_op(rng, keys);
        self.script_op(op)
    }

    /// Takes `op` as the next operation and encodes it as this client's command.
    pub fn script_op(&mut self, op: Op) -> Op {
        self.seq += 1;
        let command = Command {
            client_id: self.id,
            seq: self.seq,
            op,
        };
        self.encoded = Bytes::from(command.encode());
        command.op
    }

    /// A scripted client has no more operations: it counts as recovered
    /// once nothing it invoked is outstanding.
    pub fn finish_script(&mut self) {
        self.script_done = true;
    }

    /// The client id and the sequence number of its current operation.
    #[must_use]
    pub fn session(&self) -> (u64, u64) {
        (self.id, self.seq)
    }

    /// The node the client sends to next.
    #[must_use]
    pub fn leader_guess(&self) -> usize {
        self.leader_guess
    }

    fn draw_op(&self, rng: &mut Xoshiro256PlusPlus, keys: usize) -> Op {
        let seq = self.seq + 1;
        let key = key_name(rng.gen_range(0..keys.max(1)));
        let value = dotted(self.id, seq);
        match rng.gen_range(0..10) {
            0..=2 => Op::Put { key, value },
            3..=4 => Op::Get { key },
            5..=7 => Op::Append {
                key,
                value: value + ";",
            },
            _ => {
                let expected = if rng.gen_bool(0.3) {
                    None
                } else {
                    let (client, seq) = (rng.gen_range(1..=3), rng.gen_range(1..=seq));
                    Some(dotted(client, seq))
                };
                Op::Cas {
                    key,
                    expected,
                    new: value,
                }
            }
        }
    }

    /// Starts tracking the op at `history_index`.
    pub fn begin(&mut self, history_index: usize) {
        self.history_index = Some(history_index);
    }

    /// A new attempt of the current op: (node to send to, attempt number).
    pub fn new_attempt(&mut self) -> (usize, u32) {
        self.attempt += 1;
        (self.leader_guess, self.attempt)
    }

    /// Whether `attempt` is the latest attempt of an outstanding op.
    #[must_use]
    pub fn is_current(&self, attempt: u32) -> bool {
        self.history_index.is_some() && attempt == self.attempt
    }

    /// The current op's encoded command (cheap to clone).
    #[must_use]
    pub fn encoded(&self) -> Bytes {
        self.encoded.clone()
    }

    /// Ends the outstanding op; returns its history index.
    pub fn complete(&mut self) -> Option<usize> {
        self.history_index.take()
    }

    /// Whether an op is outstanding.
    #[must_use]
    pub fn outstanding(&self) -> bool {
        self.history_index.is_some()
    }

    /// Follows a leader hint.
    pub fn set_leader_guess(&mut self, node: usize) {
        self.leader_guess = node;
    }

    /// Tries the next node.
    pub fn rotate_guess(&mut self, nodes: usize) {
        self.leader_guess = (self.leader_guess + 1) % nodes.max(1);
    }

    /// The heal happened: the op outstanding now must complete.
    pub fn mark_heal(&mut self) {
        self.healed = true;
        self.outstanding_at_heal = self.outstanding();
    }

    /// An op completed after the heal; `invoked_after_heal` tells which kind.
    pub fn note_completion(&mut self, invoked_after_heal: bool) {
        if invoked_after_heal {
            self.completed_after_heal = true;
        } else {
            self.outstanding_at_heal = false;
        }
    }

    /// After the heal: the op outstanding at the heal completed, and one op
    /// invoked after it completed too.
    #[must_use]
    pub fn recovered(&self) -> bool {
        let progressed = self.completed_after_heal || (self.script_done && !self.outstanding());
        self.healed && !self.outstanding_at_heal && progressed
    }
}

/// `k{n}`: a key's name (without `format!`: the workload draws a few
/// hundred per seed).
fn key_name(n: usize) -> String {
    let mut s = String::with_capacity(4);
    s.push('k');
    push_decimal(&mut s, n as u64);
    s
}

/// `{a}.{b}`: a value, as `format!("{a}.{b}")` writes it.
fn dotted(a: u64, b: u64) -> String {
    let mut s = String::with_capacity(12);
    push_decimal(&mut s, a);
    s.push('.');
    push_decimal(&mut s, b);
    s
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::{dotted, key_name};

    #[test]
    fn names_and_values_read_as_format_writes_them() {
        for n in [0u64, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(key_name(n as usize), format!("k{n}"));
            assert_eq!(dotted(n, 7), format!("{n}.7"));
            assert_eq!(dotted(3, n), format!("3.{n}"));
        }
    }
}
