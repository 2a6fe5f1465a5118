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
//! This module owns the search alone. It must never recurse (histories can be
//! long: the stack is explicit), never exceed its step budget, and never treat
//! running out of budget as success.

use super::model::{self, Next};
use crate::hash::FixedState;
use kv::{Op, OpResult};
use std::collections::{HashMap, HashSet};

/// "No node": the end of the event list.
const NONE: usize = usize::MAX;
/// The list head sentinel.
const HEAD: usize = 0;

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

/// The search's answer for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SearchOutcome {
    /// A linearization exists.
    Linearizable,
    /// The budget ran out after `steps` steps.
    Unknown {
        /// Steps taken.
        steps: u64,
    },
    /// No linearization exists.
    Failed(Failure),
}

/// The time-ordered call/return list with O(1) lift and unlift (dancing links).
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

/// Register values, interned so the cache and the stack hold small ids.
#[derive(Default)]
struct Values {
    values: Vec<Option<String>>,
    ids: HashMap<Option<String>, u32, FixedState>,
}

impl Values {
    fn intern(&mut self, value: Option<String>) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    fn get(&self, id: u32) -> Option<&str> {
        self.values[id as usize].as_deref()
    }
}

/// The set of linearized ops, as the cache keys it.
trait OpSet: Clone + Eq + std::hash::Hash {
    fn with_len(len: usize) -> Self;
    fn set(&mut self, i: usize);
    fn clear(&mut self, i: usize);
}

/// The set of linearized ops of a key with at most 128 of them (most keys
/// of a simulated run): one integer, no allocation per cached state.
impl OpSet for u128 {
    fn with_len(_: usize) -> u128 {
        0
    }

    fn set(&mut self, i: usize) {
        *self |= 1 << i;
    }

    fn clear(&mut self, i: usize) {
        *self &= !(1 << i);
    }
}

/// The set of linearized ops of any length.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl OpSet for Bitset {
    fn with_len(len: usize) -> Bitset {
        Bitset(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// The deepest point the search reached: how many ops were linearized, the
/// value then, and the first op whose return stopped it there.
struct Longest {
    depth: usize,
    value: u32,
    blocked: Option<usize>,
}

/// Searches for a linearization of `ops` (all on one key, initially absent)
/// taking at most `budget` steps.
pub(super) fn search(ops: &[KeyOp<'_>], budget: u64) -> SearchOutcome {
    if ops.len() <= 128 {
        search_with::<u128>(ops, budget)
    } else {
        search_with::<Bitset>(ops, budget)
    }
}

fn search_with<S: OpSet>(ops: &[KeyOp<'_>], budget: u64) -> SearchOutcome {
    let mut list = EventList::new(ops);
    let mut values = Values::default();
    let mut value = values.intern(None);
    let mut linearized = S::with_len(ops.len());
    let mut cache: HashSet<(S, u32), FixedState> =
        HashSet::with_capacity_and_hasher(4 * ops.len(), FixedState::default());
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut longest = Longest {
        depth: 0,
        value,
        blocked: None,
    };
    let mut entry = list.first();
    let mut steps = 0u64;
    while list.first() != NONE {
        if steps == budget {
            return SearchOutcome::Unknown { steps };
        }
        steps += 1;
        let is_call = entry != NONE && list.ret_of[entry] != NONE;
        if is_call {
            let o = list.op[entry];
            let next = model::step(values.get(value), ops[o].op, ops[o].result);
            if let Some(next) = next {
                let after = match next {
                    Next::Same => value,
                    Next::Set(s) => values.intern(Some(s)),
                };
                linearized.set(o);
                if cache.insert((linearized.clone(), after)) {
                    stack.push((entry, value));
                    value = after;
                    list.lift(entry);
                    entry = list.first();
                    if stack.len() > longest.depth {
                        longest = Longest {
                            depth: stack.len(),
                            value,
                            blocked: None,
                        };
                    }
                    continue;
                }
                linearized.clear(o);
            }
            entry = list.next[entry];
            continue;
        }
        // A return (or the end): the op should have been linearized by now.
        let returned = if entry == NONE { 0 } else { list.op[entry] };
        if stack.len() == longest.depth {
            longest.blocked.get_or_insert(returned);
        }
        let Some((call, before)) = stack.pop() else {
            return SearchOutcome::Failed(Failure {
                blocked: longest.blocked.unwrap_or(returned),
                longest: longest.depth,
                value_at_longest: values.get(longest.value).map(str::to_owned),
            });
        };
        linearized.clear(list.op[call]);
        value = before;
        list.unlift(call);
        entry = list.next[call];
    }
    SearchOutcome::Linearizable
}
