//! The Wing-Gong-Lowe search for one key, with Porcupine's memoization.
//!
//! Calls and returns are a doubly linked list in time order (calls before returns
//! at equal times, so touching intervals count as concurrent). The search walks
//! the list: at a call it tries to linearize that op next (model step, then the
//! (linearized set, value) pair must be new to the cache), lifting the op's call
//! and return out of the list; at a return it backtracks, because that op should
//! have been linearized already. Success is an empty list; failure is a return
//! reached with nothing left to undo.
//!
//! Two reductions keep the search small. A read-only op with a known outcome
//! that can take effect where the search stands is the only choice tried
//! there (see [`KeySearch::run`]), and a state is skipped when one seen
//! before has the same value and known-outcome ops and a subset of the
//! unknown-outcome ones (see [`Cache::insert`]).
//!
//! A search is resumable ([`KeySearch::run`] takes a step budget and picks up
//! where it stopped), so the caller can share a budget across keys in rounds.
//! The cache holds one entry per state the search moved to: the linearized set
//! (a bitset) and the register value, keyed by an incrementally maintained
//! hash (each op has a random 64-bit key, XORed in and out as the op is
//! linearized and undone) and stored in one arena, so a step allocates
//! nothing beyond the arena's growth. Memory is bounded by the steps taken:
//! at most one entry per step, `8 * ceil(ops / 64) + 8` bytes in the arena
//! (one or two words more when the set is split) plus about 16 in the index.
//!
//! This module owns the search alone. It must never recurse (histories can be
//! long: the stack is explicit), never exceed its step budget, and never treat
//! running out of budget as success.

use super::model::{Model, Step, ABSENT};
use crate::hash::avalanche;
use kv::{Op, OpResult};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// "No node": the end of the event list.
const NONE: usize = usize::MAX;
/// The list head sentinel.
const HEAD: usize = 0;
/// "No entry": the end of a cache chain.
const NO_ENTRY: u32 = u32::MAX;

/// One op of a key's history, ready for the search.
#[derive(Clone, Copy, Debug)]
pub(super) struct KeyOp<'a> {
    /// Invocation time.
    pub(super) invoke: u64,
    /// Completion time; `u64::MAX` for an indeterminate op.
    pub(super) ret: u64,
    /// The operation.
    pub(super) op: &'a Op,
    /// Its result; `None` for an indeterminate op (any result is accepted).
    pub(super) result: Option<&'a OpResult>,
    /// A failed compare-and-set whose current value is unknown.
    pub(super) cas_unknown: bool,
}

/// Why no linearization exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    /// The op (index into the key's ops) whose completion the longest explored
    /// linearization could not reach.
    pub(super) blocked: usize,
    /// The most ops any explored linearization held.
    pub(super) longest: usize,
    /// The register value after that longest linearization.
    pub(super) value_at_longest: Option<String>,
}

/// A decided search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decided {
    /// A linearization exists.
    Linearizable,
    /// No linearization exists.
    Failed(Failure),
}

/// The time-ordered call/return list with O(1) lift and unlift (dancing
/// links), one array per field (the walk reads `next` and `ret_of` most).
struct EventList {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per node: the op it belongs to.
    op: Vec<usize>,
    /// Per node: the op's return node if this is a call, `NONE` if it is a return.
    ret_of: Vec<usize>,
}

impl EventList {
    fn new(ops: &[KeyOp<'_>]) -> EventList {
        // (time, return?, op): calls sort before returns at equal times.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            events.push((o.invoke, false, i));
            events.push((o.ret.max(o.invoke), true, i));
        }
        events.sort_unstable();
        let len = events.len() + 1;
        let mut list = EventList {
            next: (1..=len).map(|n| if n == len { NONE } else { n }).collect(),
            prev: (0..len).map(|n| n.wrapping_sub(1)).collect(),
            op: vec![NONE; len],
            ret_of: vec![NONE; len],
        };
        // A call sorts before its return: pair them as they come.
        let mut call_node = vec![NONE; ops.len()];
        for (k, &(_, is_return, op)) in events.iter().enumerate() {
            let node = k + 1;
            list.op[node] = op;
            if is_return {
                list.ret_of[call_node[op]] = node;
            } else {
                call_node[op] = node;
            }
        }
        list
    }

    fn first(&self) -> usize {
        self.next[HEAD]
    }

    fn next(&self, node: usize) -> usize {
        self.next[node]
    }

    fn op(&self, node: usize) -> usize {
        self.op[node]
    }

    fn is_call(&self, node: usize) -> bool {
        self.ret_of[node] != NONE
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NONE {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NONE {
            self.prev[n] = node;
        }
    }

    /// Removes a call and its return.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.ret_of[call]);
    }

    /// Undoes [`EventList::lift`] (the most recent one not yet undone).
    fn unlift(&mut self, call: usize) {
        self.relink(self.ret_of[call]);
        self.relink(call);
    }
}

/// The set of linearized ops, in two bitsets: ops with a known outcome
/// (hashed: the cache looks states up by them) and ops of unknown outcome
/// (compared by inclusion, see [`Cache::insert`]).
struct Linearized {
    known: Vec<u64>,
    unknown: Vec<u64>,
    /// Per op: its bit in `known` or in `unknown`, and its random key in
    /// the hash (0 for an op of unknown outcome).
    slot: Vec<(usize, u64)>,
    /// Per op: its outcome is unknown.
    open_ended: Vec<bool>,
    /// The XOR of the linearized known-outcome ops' keys.
    hash: u64,
}

impl Linearized {
    fn new(open_ended: &[bool]) -> Linearized {
        let (mut known, mut unknown) = (0, 0);
        let slot = open_ended
            .iter()
            .enumerate()
            .map(|(i, &open)| {
                let counter = if open { &mut unknown } else { &mut known };
                *counter += 1;
                let key = if open {
                    0
                } else {
                    avalanche(i as u64 ^ 0x6c69_6e65_6172)
                };
                (*counter - 1, key)
            })
            .collect();
        Linearized {
            known: vec![0; usize::div_ceil(known, 64)],
            unknown: vec![0; usize::div_ceil(unknown, 64)],
            slot,
            open_ended: open_ended.to_vec(),
            hash: 0,
        }
    }

    #[inline]
    fn flip(&mut self, i: usize) {
        let (bit, key) = self.slot[i];
        let words = if self.open_ended[i] {
            &mut self.unknown
        } else {
            &mut self.known
        };
        words[bit / 64] ^= 1 << (bit % 64);
        self.hash ^= key;
    }
}

/// A hasher for keys that are hashes already (mixed well): it passes
/// them through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The states already visited: (linearized set, value), in one arena.
struct Cache {
    /// Per distinct hash: the newest entry with it.
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    /// Per entry: the next entry with the same hash, and its value.
    entries: Vec<(u32, u32)>,
    /// Per entry: its linearized set's words, known-outcome ops then
    /// unknown-outcome ops.
    words: Vec<u64>,
}

impl Cache {
    fn new(ops: usize) -> Cache {
        Cache {
            heads: HashMap::with_capacity_and_hasher(2 * ops, BuildHasherDefault::default()),
            entries: Vec::with_capacity(2 * ops),
            words: Vec::new(),
        }
    }

    /// Records (`set`, `value`); false if it is subsumed by a state seen
    /// already: the same value, the same known-outcome ops linearized, and
    /// of the unknown-outcome ops a subset. Such a state can do anything
    /// this one can (an op of unknown outcome may also never take effect),
    /// so nothing is lost by not searching from this one.
    fn insert(&mut self, set: &Linearized, value: u32) -> bool {
        let (k, n) = (set.known.len(), set.known.len() + set.unknown.len());
        let hash = set.hash ^ avalanche(u64::from(value) ^ 0x0076_616c_7565);
        let id = self.entries.len() as u32;
        // One probe of the index: the chain's head, replaced by the new
        // entry if the state is new.
        let head = self.heads.entry(hash).or_insert(NO_ENTRY);
        let mut at = *head;
        while at != NO_ENTRY {
            let (next, v) = self.entries[at as usize];
            let seen = &self.words[at as usize * n..][..n];
            if v == value
                && seen[..k] == set.known[..]
                && seen[k..].iter().zip(&set.unknown).all(|(s, u)| s & !u == 0)
            {
                return false;
            }
            at = next;
        }
        self.entries.push((*head, value));
        *head = id;
        self.words.extend_from_slice(&set.known);
        self.words.extend_from_slice(&set.unknown);
        true
    }
}

/// The deepest point the search reached: how many ops were linearized, the
/// value then, and the first op whose return stopped it there.
struct Longest {
    depth: usize,
    value: u32,
    blocked: Option<usize>,
}

/// A resumable search for a linearization of one key's ops (the key
/// initially absent).
pub(super) struct KeySearch<'a> {
    steps_of: Vec<Step>,
    /// Per op: it has a known outcome and never changes the value.
    read_only: Vec<bool>,
    /// Per op: its outcome is unknown (it never returned).
    open_ended: Vec<bool>,
    /// Ops with a known outcome not yet linearized: none left is success.
    remaining: usize,
    model: Model<'a>,
    list: EventList,
    value: u32,
    linearized: Linearized,
    cache: Cache,
    /// Per linearized op: its call node, the value before it, and whether
    /// it was the only choice tried at its state (see [`KeySearch::run`]).
    stack: Vec<(usize, u32, bool)>,
    longest: Longest,
    entry: usize,
    steps: u64,
}

impl<'a> KeySearch<'a> {
    pub(super) fn new(ops: &[KeyOp<'a>]) -> KeySearch<'a> {
        let mut model = Model::new(ops.len());
        let steps_of: Vec<Step> = ops
            .iter()
            .map(|o| model.compile(o.op, o.result, o.cas_unknown))
            .collect();
        let list = EventList::new(ops);
        let entry = list.first();
        let open_ended: Vec<bool> = ops.iter().map(|o| o.ret == u64::MAX).collect();
        let remaining = open_ended.iter().filter(|&&o| !o).count();
        let read_only = steps_of
            .iter()
            .zip(&open_ended)
            .map(|(s, &open): (&Step, _)| !open && s.read_only())
            .collect();
        let linearized = Linearized::new(&open_ended);
        KeySearch {
            steps_of,
            read_only,
            open_ended,
            remaining,
            model,
            list,
            value: ABSENT,
            linearized,
            cache: Cache::new(ops.len()),
            stack: Vec::new(),
            longest: Longest {
                depth: 0,
                value: ABSENT,
                blocked: None,
            },
            entry,
            steps: 0,
        }
    }

    /// The steps taken so far.
    pub(super) fn steps(&self) -> u64 {
        self.steps
    }

    /// Searches on for at most `budget` more steps: the verdict, or `None`
    /// if the budget ran out first.
    pub(super) fn run(&mut self, budget: u64) -> Option<Decided> {
        let stop = self.steps.saturating_add(budget);
        let mut entry = self.entry;
        let decided = loop {
            if self.remaining == 0 {
                // Ops of unknown outcome still pending take effect after
                // everything else, or never: they constrain nothing.
                break Some(Decided::Linearizable);
            }
            if self.steps == stop {
                break None;
            }
            self.steps += 1;
            let is_call = entry != NONE && self.list.is_call(entry);
            if is_call {
                let o = self.list.op(entry);
                match self.model.step(self.value, self.steps_of[o]) {
                    // An op of unknown outcome that would change nothing
                    // here is not tried here: taking effect later, or
                    // never, leaves every option this one has.
                    Some(after) if after == self.value && self.open_ended[o] => {}
                    Some(after) => {
                        self.linearized.flip(o);
                        // A read-only op with a known outcome that can take
                        // effect here can go first in any linearization from
                        // here: nothing pending returned before it was
                        // called, it returns the same from here, and taking
                        // it out of its place changes no other op's result
                        // (it never changes the value). So it is the only
                        // choice tried here.
                        let only = self.read_only[o];
                        if self.cache.insert(&self.linearized, after) {
                            self.stack.push((entry, self.value, only));
                            self.value = after;
                            self.remaining -= usize::from(!self.open_ended[o]);
                            self.list.lift(entry);
                            entry = self.list.first();
                            if self.stack.len() > self.longest.depth {
                                self.longest = Longest {
                                    depth: self.stack.len(),
                                    value: self.value,
                                    blocked: None,
                                };
                            }
                            continue;
                        }
                        self.linearized.flip(o);
                        if only {
                            // Its state was searched already: so was
                            // every way on from this one.
                            self.note_blocked(entry);
                            match self.backtrack() {
                                Ok(next) => entry = next,
                                Err(failure) => break Some(Decided::Failed(failure)),
                            }
                            continue;
                        }
                    }
                    None => {}
                }
                entry = self.list.next(entry);
                continue;
            }
            // A return (or the end): the op should have been linearized by now.
            self.note_blocked(entry);
            match self.backtrack() {
                Ok(next) => entry = next,
                Err(failure) => break Some(Decided::Failed(failure)),
            }
        };
        self.entry = entry;
        decided
    }

    /// At the deepest point yet, records the first op whose return, at or
    /// after `entry`, the search could not get past.
    fn note_blocked(&mut self, mut entry: usize) {
        if self.stack.len() != self.longest.depth || self.longest.blocked.is_some() {
            return;
        }
        while entry != NONE && self.list.is_call(entry) {
            entry = self.list.next(entry);
        }
        self.longest.blocked = Some(if entry == NONE {
            0
        } else {
            self.list.op(entry)
        });
    }

    /// Undoes the last choice (and any only-choice before it): the list
    /// node to go on from, or the failure if there is nothing left to undo.
    fn backtrack(&mut self) -> Result<usize, Failure> {
        let list = &mut self.list;
        loop {
            let Some((call, before, only)) = self.stack.pop() else {
                return Err(Failure {
                    blocked: self.longest.blocked.unwrap_or_default(),
                    longest: self.longest.depth,
                    value_at_longest: self.model.values.get(self.longest.value).map(str::to_owned),
                });
            };
            let undone = list.op(call);
            self.linearized.flip(undone);
            self.remaining += usize::from(!self.open_ended[undone]);
            self.value = before;
            list.unlift(call);
            if !only {
                return Ok(list.next(call));
            }
        }
    }
}
