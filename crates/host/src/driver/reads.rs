//! Linearizable reads through the driver (ReadIndex): a query waits until
//! raft-core confirms it with an index, then until the state machine has
//! applied that index, and is answered from the state machine as it is
//! then ([`Answer::Read`]), without a log entry. A read the node cannot
//! serve (it stopped leading) is answered [`Answer::ReadRefused`].
//!
//! This module owns the waiting reads. It must never answer a read before
//! its index is applied.

use super::Driver;
use crate::io::{Answer, Effects, StateMachine, Storage};
use bytes::Bytes;
use raft_core::{LogIndex, ReadError, ReadState};

/// How a read asks raft-core for its index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    ReadIndex,
    Lease,
    Follower,
}

/// A read waiting for its index, then for the state machine to reach it.
pub(super) struct WaitingRead<T> {
    ctx: u64,
    token: T,
    query: Bytes,
    /// The index raft-core confirmed (`None`: not yet).
    index: Option<LogIndex>,
    /// Served on the leader's lease.
    lease: bool,
    /// The driver's tick count when it was asked.
    asked_at: u64,
}

impl<S: StateMachine, T> Driver<S, T> {
    /// Asks for a linearizable read of `query` (see
    /// [`StateMachine::query`]) without writing to the log; answered
    /// through [`Effects::answer`] with [`Answer::Read`], or
    /// [`Answer::ReadRefused`] if the node stops leading first.
    ///
    /// # Errors
    /// The node does not lead (nothing is asked; the caller answers its
    /// client); a stopped node is no leader.
    pub fn read<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        query: Bytes,
        token: T,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(), ReadError> {
        self.ask_read(query, token, Via::ReadIndex, storage, fx)
    }

    /// Like [`Driver::read`], served at once from the state machine while
    /// the leader's lease holds ([`raft_core::Config::read_lease`]; safe
    /// only while clocks drift less than its bound), else by ReadIndex.
    ///
    /// # Errors
    /// As [`Driver::read`].
    pub fn lease_read<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        query: Bytes,
        token: T,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(), ReadError> {
        self.ask_read(query, token, Via::Lease, storage, fx)
    }

    /// Like [`Driver::read`], served here though this node follows: the
    /// leader confirms the read's index (one heartbeat round), this node
    /// answers once its own state machine has applied it.
    ///
    /// # Errors
    /// This node knows no leader, or leads (it reads with
    /// [`Driver::read`]); a stopped node reads nothing.
    pub fn follower_read<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        query: Bytes,
        token: T,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(), ReadError> {
        self.ask_read(query, token, Via::Follower, storage, fx)
    }

    fn ask_read<St: Storage, E: Effects<T, S::Output>>(
        &mut self,
        query: Bytes,
        token: T,
        via: Via,
        storage: &mut St,
        fx: &mut E,
    ) -> Result<(), ReadError> {
        if self.stopped {
            return Err(ReadError::NotLeader { leader: None });
        }
        self.next_read += 1;
        let ctx = self.next_read;
        let lease = via == Via::Lease && self.raft.lease_holds();
        match via {
            Via::ReadIndex => self.raft.read_index(ctx)?,
            Via::Lease => self.raft.lease_read(ctx)?,
            Via::Follower => self.raft.follower_read(ctx)?,
        }
        self.reads.push(WaitingRead {
            ctx,
            token,
            query,
            index: None,
            lease,
            asked_at: self.ticks,
        });
        self.after_input(storage, fx);
        Ok(())
    }

    /// Reads waiting for an index or for the state machine.
    #[must_use]
    pub fn pending_reads(&self) -> usize {
        self.reads.len()
    }

    /// How long, in this node's ticks, the oldest read still waiting for
    /// raft-core's index (or refusal) has waited; `None` if none waits for
    /// one. Raft-core settles every read within a few election timeouts
    /// (a leader's round, its check-quorum step-down, a follower's timeout
    /// on its leader's answer; a leader without check-quorum only once it
    /// hears of a newer term), so a host can watch this; the wait for the
    /// state machine to reach the index is not counted (a follower far
    /// behind may need a snapshot first).
    #[must_use]
    pub fn oldest_unindexed_read_ticks(&self) -> Option<u64> {
        self.reads
            .iter()
            .filter(|r| r.index.is_none())
            .map(|r| self.ticks - r.asked_at)
            .max()
    }

    /// Takes in the node's verdicts on reads.
    pub(super) fn read_states<E: Effects<T, S::Output>>(
        &mut self,
        states: &[ReadState],
        fx: &mut E,
    ) {
        for s in states {
            let Some(at) = self.reads.iter().position(|r| r.ctx == s.ctx) else {
                continue;
            };
            match s.index {
                Some(index) => self.reads[at].index = Some(index),
                None => {
                    let r = self.reads.remove(at);
                    fx.answer(r.token, Answer::ReadRefused);
                }
            }
        }
    }

    /// Answers every read whose index the state machine has applied.
    pub(super) fn serve_reads<E: Effects<T, S::Output>>(&mut self, fx: &mut E) {
        let applied = self.raft.log().applied();
        let mut i = 0;
        while i < self.reads.len() {
            match self.reads[i].index {
                Some(index) if index <= applied => {
                    let r = self.reads.remove(i);
                    let output = self.state_machine.query(&r.query);
                    let lease = r.lease;
                    fx.answer(
                        r.token,
                        Answer::Read {
                            index,
                            output,
                            lease,
                        },
                    );
                }
                _ => i += 1,
            }
        }
    }
}
