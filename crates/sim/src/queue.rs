//! Simulated time and the order of events.
//!
//! Events sit in a queue ordered by (virtual time, insertion sequence), so
//! ties resolve first-in-first-out and a run is a pure function of its seed
//! and configuration. The queue owns the clock: popping an event moves time
//! to it, and time never goes back. It is bounded ([`QUEUED_MAX`]): a run
//! that piles up more pending events than that is a bug in the simulator or
//! a livelock, reported as a violation rather than exhausting memory.
//!
//! This module never reads the wall clock and draws no randomness.

use crate::workload::Reply;
use bytes::Bytes;
use raft_core::Message;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Most events pending at once.
pub const QUEUED_MAX: usize = 2_000_000;

/// What happens at a point of simulated time.
#[derive(Clone, Debug)]
pub enum Event {
    /// A node's clock ticks (ignored if the incarnation is gone).
    Tick {
        /// The node.
        node: usize,
        /// The incarnation that scheduled it.
        incarnation: u64,
    },
    /// A Raft message arrives.
    Deliver {
        /// The message.
        m: Message,
        /// When it was sent.
        sent_us: u64,
    },
    /// A sync started by `incarnation` completes, covering batches up to `upto_seq`.
    SyncDone {
        /// The node.
        node: usize,
        /// The incarnation that started the sync.
        incarnation: u64,
        /// The last batch the sync covers.
        upto_seq: u64,
    },
    /// A client invokes its next operation.
    ClientStart {
        /// The client.
        client: usize,
    },
    /// A client's request arrives at a node, carrying the command it was sent with.
    ClientRequest {
        /// The node.
        node: usize,
        /// The client.
        client: usize,
        /// The client's attempt number.
        attempt: u32,
        /// The encoded command.
        command: Bytes,
    },
    /// A node's answer arrives at a client.
    ClientReply {
        /// The client.
        client: usize,
        /// The attempt answered.
        attempt: u32,
        /// The answer.
        reply: Reply,
    },
    /// A client gives up waiting for an attempt.
    ClientTimeout {
        /// The client.
        client: usize,
        /// The attempt.
        attempt: u32,
    },
    /// The schedule's fault number `i` fires.
    Fault(usize),
    /// A crashed node restarts.
    Restart {
        /// The node.
        node: usize,
    },
    /// A node removed from the committed configuration is shut down for good.
    Shutdown {
        /// The node.
        node: usize,
    },
    /// A node cut off by a triggered fault is connected again (if no other
    /// partition replaced that cut meanwhile).
    EndIsolation {
        /// The isolation this ends.
        isolation: u64,
    },
    /// A paused node resumes (only if `pause` is still its current pause).
    Resume {
        /// The node.
        node: usize,
        /// The pause this resume ends.
        pause: u64,
    },
    /// The load generator sends a burst of proposals.
    Burst,
    /// A burst of proposals reaches a node, as one pipelined request.
    BurstArrives {
        /// The node.
        node: usize,
        /// The encoded commands, in order.
        commands: Vec<Bytes>,
    },
    /// The end of the chaos phase.
    Heal,
    /// The liveness window after the heal ends.
    LivenessDeadline,
    /// The settle phase's time is up.
    SettleDeadline,
    /// The stability window after settling ends: the end-of-run checks.
    StabilityEnd,
    /// Mid-window: one proposal to the idle leader, which must commit fast.
    LatencyProbe,
    /// The latency probe's bound has passed.
    LatencyDeadline,
}

/// A broken queue rule: an event in the past, or too many pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// An event was scheduled before the current time.
    TimeWentBack {
        /// The current time.
        now_us: u64,
        /// The event's time.
        at_us: u64,
    },
    /// More than [`QUEUED_MAX`] events are pending.
    Full,
}

/// Bits of a heap key that hold the slot (enough for [`QUEUED_MAX`]).
const SLOT_BITS: u32 = 22;
const _: () = assert!(QUEUED_MAX < 1 << SLOT_BITS);

/// A heap key: time in the high 64 bits, then the insertion sequence, then
/// the slot. One integer comparison orders by (time, sequence).
fn key(at_us: u64, seq: u64, slot: u32) -> u128 {
    (u128::from(at_us) << 64) | u128::from(seq << SLOT_BITS) | u128::from(slot)
}

/// The event queue: a heap of small keys (time, sequence, slot packed in
/// 16 bytes) over a slab of events, so sifting moves keys rather than whole
/// messages and compares one integer. Clock ticks, a third or more of all
/// events and at most a few per node, wait apart in a short list (scanned
/// for the earliest, at a tick's turn only: the earliest is remembered)
/// instead of in the heap; the order is the same, since every event's key
/// carries its place in one global sequence.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<u128>>,
    /// Pending ticks: (key, node, incarnation).
    ticks: Vec<(u128, usize, u64)>,
    /// The earliest pending tick: (its key, its place in `ticks`), kept
    /// as ticks come and go, so other events' turns scan nothing.
    first_tick: Option<(u128, usize)>,
    slots: Vec<Option<Event>>,
    free: Vec<u32>,
    next_seq: u64,
    now_us: u64,
    /// The first broken rule, kept for the engine to report.
    error: Option<QueueError>,
}

impl EventQueue {
    /// The current simulated time.
    #[must_use]
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Schedules `event` at `at_us`.
    pub fn push_at(&mut self, at_us: u64, event: Event) {
        if at_us < self.now_us {
            let now_us = self.now_us;
            self.error
                .get_or_insert(QueueError::TimeWentBack { now_us, at_us });
            return;
        }
        if self.len() >= QUEUED_MAX {
            self.error.get_or_insert(QueueError::Full);
            return;
        }
        let event = match event {
            Event::Tick { node, incarnation } => {
                self.next_seq += 1;
                let k = key(at_us, self.next_seq, 0);
                if self.first_tick.map_or(true, |(first, _)| k < first) {
                    self.first_tick = Some((k, self.ticks.len()));
                }
                self.ticks.push((k, node, incarnation));
                return;
            }
            event => event,
        };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(event);
                i
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.next_seq += 1;
        debug_assert!(self.next_seq < 1 << (64 - SLOT_BITS), "sequence overflow");
        self.heap.push(Reverse(key(at_us, self.next_seq, slot)));
    }

    /// Schedules `event` `delay_us` from now.
    pub fn push_in(&mut self, delay_us: u64, event: Event) {
        self.push_at(self.now_us.saturating_add(delay_us), event);
    }

    /// Takes the next event and moves time to it.
    pub fn pop(&mut self) -> Option<Event> {
        let heap_top = self.heap.peek().map(|Reverse(k)| *k);
        if let Some((k, i)) = self.first_tick {
            if heap_top.map_or(true, |h| k < h) {
                let (_, node, incarnation) = self.ticks.swap_remove(i);
                self.first_tick = self
                    .ticks
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, t)| t.0)
                    .map(|(i, t)| (t.0, i));
                let at_us = (k >> 64) as u64;
                debug_assert!(at_us >= self.now_us, "ticks are in the future");
                self.now_us = at_us;
                return Some(Event::Tick { node, incarnation });
            }
        }
        let Reverse(k) = self.heap.pop()?;
        let (at_us, slot) = ((k >> 64) as u64, (k as u32) & ((1 << SLOT_BITS) - 1));
        self.free.push(slot);
        debug_assert!(at_us >= self.now_us, "the heap orders by time");
        self.now_us = at_us;
        self.slots[slot as usize].take()
    }

    /// The first broken rule, if any (taken: reported once).
    pub fn take_error(&mut self) -> Option<QueueError> {
        self.error.take()
    }

    /// The pending events other than clock ticks, in no particular order.
    pub fn pending(&self) -> impl Iterator<Item = &Event> + '_ {
        self.heap.iter().filter_map(|Reverse(k)| {
            let slot = (*k as u32) & ((1 << SLOT_BITS) - 1);
            self.slots[slot as usize].as_ref()
        })
    }

    /// Events pending.
    #[must_use]
    pub fn len(&self) -> usize {
        self.heap.len() + self.ticks.len()
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.ticks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_pop_first_in_first_out_and_time_only_moves_forward() {
        let mut q = EventQueue::default();
        q.push_at(10, Event::ClientStart { client: 1 });
        q.push_at(5, Event::ClientStart { client: 0 });
        q.push_at(10, Event::ClientStart { client: 2 });
        let order: Vec<usize> = std::iter::from_fn(|| match q.pop()? {
            Event::ClientStart { client } => Some(client),
            _ => None,
        })
        .collect();
        assert_eq!(order, vec![0, 1, 2]);
        assert_eq!(q.now_us(), 10);
        assert!(q.take_error().is_none());
    }

    #[test]
    fn ticks_and_other_events_keep_one_order() {
        let mut q = EventQueue::default();
        q.push_at(
            10,
            Event::Tick {
                node: 0,
                incarnation: 1,
            },
        );
        q.push_at(10, Event::ClientStart { client: 0 });
        q.push_at(
            5,
            Event::Tick {
                node: 1,
                incarnation: 1,
            },
        );
        q.push_at(
            10,
            Event::Tick {
                node: 2,
                incarnation: 1,
            },
        );
        q.push_at(7, Event::Heal);
        let order: Vec<String> = std::iter::from_fn(|| q.pop())
            .map(|e| match e {
                Event::Tick { node, .. } => format!("tick{node}"),
                Event::ClientStart { .. } => "client".into(),
                _ => "heal".into(),
            })
            .collect();
        assert_eq!(order, ["tick1", "heal", "tick0", "client", "tick2"]);
        assert!(q.is_empty());
    }

    proptest::proptest! {
        /// Pushes (ticks or not, at now plus a small delay, so ties are
        /// common) and pops interleaved: the queue pops exactly what a
        /// plain list ordered by (time, push order) does.
        #[test]
        fn the_queue_pops_in_time_then_push_order(
            steps in proptest::collection::vec((0..3u8, 0..4u64, proptest::bool::ANY), 0..200)
        ) {
            let mut q = EventQueue::default();
            let mut model: Vec<(u64, usize, bool)> = Vec::new();
            for (n, &(what, delay, tick)) in steps.iter().enumerate() {
                if what < 2 {
                    let at = q.now_us() + delay;
                    let event = if tick {
                        Event::Tick { node: n, incarnation: 0 }
                    } else {
                        Event::ClientStart { client: n }
                    };
                    q.push_at(at, event);
                    model.push((at, n, tick));
                    continue;
                }
                let expected = model
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, &(at, n, _))| (at, n))
                    .map(|(i, _)| i)
                    .map(|i| model.remove(i));
                let got = q.pop().map(|e| match e {
                    Event::Tick { node, .. } => (q.now_us(), node, true),
                    Event::ClientStart { client } => (q.now_us(), client, false),
                    _ => unreachable!("only ticks and client starts are pushed"),
                });
                proptest::prop_assert_eq!(got, expected);
            }
            proptest::prop_assert_eq!(q.len(), model.len());
        }
    }

    #[test]
    fn an_event_in_the_past_is_refused_and_reported() {
        let mut q = EventQueue::default();
        q.push_at(10, Event::Heal);
        q.pop();
        q.push_at(9, Event::Heal);
        assert!(q.is_empty(), "the past event was not queued");
        assert_eq!(
            q.take_error(),
            Some(QueueError::TimeWentBack {
                now_us: 10,
                at_us: 9
            })
        );
    }
}
