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
//! A search is resumable ([`KeySearch::run`] takes a step budget and picks up
//! where it stopped), so the caller can share a budget across keys in rounds.
//! The cache holds one entry per state the search moved to: the linearized set
//! (a bitset) and the register value, keyed by an incrementally maintained
//! hash (each op has a random 64-bit key, XORed in and out as the op is
//! linearized and undone) and stored in one arena, so a step allocates
//! nothing beyond the arena's growth. Memory is bounded by the steps taken:
//! at most one entry per step, `8 * ceil(ops / 64) + 8` bytes in the arena
//! plus about 16 in the index.
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

/// The set of linearized ops and its hash, kept together.
struct Linearized {
    words: Vec<u64>,
    /// Per op: its random key in the hash.
    keys: Vec<u64>,
    /// The XOR of the linearized ops' keys.
    hash: u64,
}

impl Linearized {
    fn new(ops: usize) -> Linearized {
        Linearized {
            words: vec![0; ops.div_ceil(64)],
            keys: (0..ops as u64)
                .map(|i| avalanche(i ^ 0x6c69_6e65_6172))
                .collect(),
            hash: 0,
        }
    }

    #[inline]
    fn flip(&mut self, i: usize) {
        self.words[i / 64] ^= 1 << (i % 64);
        self.hash ^= self.keys[i];
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
    /// Per entry: its linearized set's words.
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

    /// Records (`set`, `value`); false if it was there already.
    fn insert(&mut self, set: &Linearized, value: u32) -> bool {
        let n = set.words.len();
        let hash = set.hash ^ avalanche(u64::from(value) ^ 0x0076_616c_7565);
        let id = self.entries.len() as u32;
        // One probe of the index: the chain's head, replaced by the new
        // entry if the state is new.
        let head = self.heads.entry(hash).or_insert(NO_ENTRY);
        let mut at = *head;
        while at != NO_ENTRY {
            let (next, v) = self.entries[at as usize];
            let start = at as usize * n;
            if v == value && self.words[start..start + n] == set.words[..] {
                return false;
            }
            at = next;
        }
        self.entries.push((*head, value));
        *head = id;
        self.words.extend_from_slice(&set.words);
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
    /// Per op: its outcome is unknown (it never returned).
    open_ended: Vec<bool>,
    /// Ops with a known outcome not yet linearized: none left is success.
    remaining: usize,
    model: Model<'a>,
    list: EventList,
    value: u32,
    linearized: Linearized,
    cache: Cache,
    stack: Vec<(usize, u32)>,
    longest: Longest,
    entry: usize,
    steps: u64,
}

impl<'a> KeySearch<'a> {
    pub(super) fn new(ops: &[KeyOp<'a>]) -> KeySearch<'a> {
        let mut model = Model::new(ops.len());
        let steps_of = ops
            .iter()
            .map(|o| model.compile(o.op, o.result, o.cas_unknown))
            .collect();
        let list = EventList::new(ops);
        let entry = list.first();
        let open_ended: Vec<bool> = ops.iter().map(|o| o.ret == u64::MAX).collect();
        let remaining = open_ended.iter().filter(|&&o| !o).count();
        KeySearch {
            steps_of,
            open_ended,
            remaining,
            model,
            list,
            value: ABSENT,
            linearized: Linearized::new(ops.len()),
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
        let list = &mut self.list;
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
            let is_call = entry != NONE && list.is_call(entry);
            if is_call {
                let o = list.op(entry);
                match self.model.step(self.value, self.steps_of[o]) {
                    // An op of unknown outcome that would change nothing
                    // here is not tried here: taking effect later, or
                    // never, leaves every option this one has.
                    Some(after) if after == self.value && self.open_ended[o] => {}
                    Some(after) => {
                        self.linearized.flip(o);
                        if self.cache.insert(&self.linearized, after) {
                            self.stack.push((entry, self.value));
                            self.value = after;
                            self.remaining -= usize::from(!self.open_ended[o]);
                            list.lift(entry);
                            entry = list.first();
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
                    }
                    None => {}
                }
                entry = list.next(entry);
                continue;
            }
            // A return (or the end): the op should have been linearized by now.
            let returned = if entry == NONE { 0 } else { list.op(entry) };
            if self.stack.len() == self.longest.depth {
                self.longest.blocked.get_or_insert(returned);
            }
            let Some((call, before)) = self.stack.pop() else {
                break Some(Decided::Failed(Failure {
                    blocked: self.longest.blocked.unwrap_or(returned),
                    longest: self.longest.depth,
                    value_at_longest: self.model.values.get(self.longest.value).map(str::to_owned),
                }));
            };
            let undone = list.op(call);
            self.linearized.flip(undone);
            self.remaining += usize::from(!self.open_ended[undone]);
            self.value = before;
            list.unlift(call);
            entry = list.next(call);
        };
        self.entry = entry;
        decided
    }
}
