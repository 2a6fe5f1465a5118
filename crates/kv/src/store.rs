//! The key-value store, its client sessions, and log application.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::{CommandRef, OpRef};
use crate::digest::Fnv1a64;
use crate::{Command, KvError, Op, OpResult};

/// Outcome of applying one log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// First application of (client, seq): the op ran.
    Fresh {
        /// The command's client.
        client_id: u64,
        /// The command's sequence number.
        seq: u64,
        /// What the op returned.
        result: OpResult,
    },
    /// A retry of the client's latest applied seq: NOT re-run; the first result is returned.
    Duplicate {
        /// The command's client.
        client_id: u64,
        /// The command's sequence number (equal to the session's last applied seq).
        seq: u64,
        /// The result recorded when the seq was first applied.
        result: OpResult,
    },
    /// seq older than the client's latest applied seq: ignored (the client already moved on).
    Stale {
        /// The command's client.
        client_id: u64,
        /// The command's (outdated) sequence number.
        seq: u64,
    },
    /// An entry with no command (empty data, e.g. a new leader's no-op): nothing happens.
    Noop,
}

/// One client's session: its latest applied seq and that op's result.
///
/// A client has at most one outstanding op (it sends `seq + 1` only after it has the result
/// of `seq`), so the only result it can still ask for again is the latest one. Keeping one
/// result per client therefore suffices and bounds memory to one entry per client.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    last_seq: u64,
    last_result: OpResult,
}

/// Tags separating the sections and variants of the digest's canonical encoding.
mod tag {
    pub(super) const DATA: u8 = 0x01;
    pub(super) const SESSIONS: u8 = 0x02;
    pub(super) const RESULT_OK: u8 = 0x10;
    pub(super) const RESULT_VALUE: u8 = 0x11;
    pub(super) const RESULT_CAS_OK: u8 = 0x12;
    pub(super) const RESULT_CAS_FAILED: u8 = 0x13;
}

/// The replicated key-value state machine.
///
/// Log entries are applied strictly in index order; the store remembers the last applied
/// index and each client's session so that retried commands run exactly once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<u64, Session>,
    applied_index: u64,
}

impl KvStore {
    /// An empty store that expects index 1 first.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose first applied index will be `index + 1` (e.g. the log was
    /// compacted up to `index`).
    pub fn with_applied_index(index: u64) -> Self {
        KvStore {
            applied_index: index,
            ..Self::default()
        }
    }

    /// The index of the last applied entry (0 if none, for a store from [`KvStore::new`]).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// Applies the log entry at `index` whose payload is `data`.
    ///
    /// Indices must be contiguous: `index == applied_index() + 1`. Empty `data` is a no-op
    /// entry ([`Applied::Noop`]).
    ///
    /// Undecodable `data` returns [`KvError::Decode`] **and still counts `index` as applied**:
    /// the entry was committed, so every replica sees the same garbage and skips it alike;
    /// refusing it would wedge the state machine forever on an entry it can never apply.
    ///
    /// # Errors
    /// [`KvError::OutOfOrder`] (nothing applied) if `index` is not the next index;
    /// [`KvError::Decode`] (index consumed, state unchanged) if `data` is not a command.
    pub fn apply(&mut self, index: u64, data: &[u8]) -> Result<Applied, KvError> {
        self.advance_to(index)?;
        if data.is_empty() {
            return Ok(Applied::Noop);
        }
        // Decoded into strings borrowing `data`: the store copies only what
        // it keeps.
        let CommandRef { client_id, seq, op } = CommandRef::decode(data)?;
        Ok(self.run_in_session(client_id, seq, |store| store.execute_ref(op)))
    }

    /// Applies an already-decoded command at `index`, with the same rules as
    /// [`KvStore::apply`].
    ///
    /// # Errors
    /// [`KvError::OutOfOrder`] (nothing applied) if `index` is not the next index.
    pub fn apply_command(&mut self, index: u64, cmd: &Command) -> Result<Applied, KvError> {
        self.advance_to(index)?;
        let (client_id, seq) = (cmd.client_id, cmd.seq);
        Ok(self.run_in_session(client_id, seq, |store| store.execute(&cmd.op)))
    }

    /// The value stored at `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the store holds no keys (sessions are not counted).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Every `(key, value)` pair, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.data
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Every `(client_id, last applied seq)`, in client-id order.
    pub fn sessions(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.sessions
            .iter()
            .map(|(&client_id, session)| (client_id, session.last_seq))
    }

    /// The last sequence number the store applied for `client_id`, if the
    /// client has a session.
    #[must_use]
    pub fn last_seq(&self, client_id: u64) -> Option<u64> {
        self.sessions.get(&client_id).map(|s| s.last_seq)
    }

    /// A 64-bit digest of the whole replicated state: every key/value and every session's
    /// last seq and result.
    ///
    /// It is FNV-1a 64 over a canonical, length-prefixed encoding, so it is identical across
    /// platforms, Rust versions and runs. Two stores that applied the same entries have equal
    /// digests. The applied index is deliberately **not** part of the digest, so a node that
    /// started from a snapshot point (see [`KvStore::with_applied_index`]) and replayed the
    /// same commands compares equal to one that applied the whole log.
    pub fn digest(&self) -> u64 {
        let mut hasher = Fnv1a64::new();
        self.hash_data(&mut hasher);
        self.hash_sessions(&mut hasher);
        hasher.finish()
    }

    /// Checks that `index` is the next index and records it as applied.
    fn advance_to(&mut self, index: u64) -> Result<(), KvError> {
        match self.applied_index.checked_add(1) {
            Some(expected) if expected == index => {
                self.applied_index = index;
                Ok(())
            }
            expected => Err(KvError::OutOfOrder {
                expected: expected.unwrap_or(u64::MAX),
                got: index,
            }),
        }
    }

    /// Runs `cmd` unless its session has already seen its seq.
    fn run_in_session(
        &mut self,
        client_id: u64,
        seq: u64,
        execute: impl FnOnce(&mut Self) -> OpResult,
    ) -> Applied {
        match self.sessions.get(&client_id) {
            Some(session) if seq == session.last_seq => Applied::Duplicate {
                client_id,
                seq,
                result: session.last_result.clone(),
            },
            Some(session) if seq < session.last_seq => Applied::Stale { client_id, seq },
            _ => {
                let result = execute(self);
                let session = Session {
                    last_seq: seq,
                    last_result: result.clone(),
                };
                self.sessions.insert(client_id, session);
                Applied::Fresh {
                    client_id,
                    seq,
                    result,
                }
            }
        }
    }

    /// Runs one op against the data.
    fn execute(&mut self, op: &Op) -> OpResult {
        self.execute_ref(match op {
            Op::Put { key, value } => OpRef::Put { key, value },
            Op::Get { key } => OpRef::Get { key },
            Op::Append { key, value } => OpRef::Append { key, value },
            Op::Cas { key, expected, new } => OpRef::Cas {
                key,
                expected: expected.as_deref(),
                new,
            },
        })
    }

    /// Runs one op against the data, allocating only for what it keeps: a
    /// new key, or a value longer than the one it replaces.
    fn execute_ref(&mut self, op: OpRef<'_>) -> OpResult {
        match op {
            OpRef::Put { key, value } => {
                self.set(key, value);
                OpResult::Ok
            }
            OpRef::Get { key } => OpResult::Value(self.data.get(key).cloned()),
            OpRef::Append { key, value } => {
                match self.data.get_mut(key) {
                    Some(current) => current.push_str(value),
                    None => {
                        self.data.insert(key.to_owned(), value.to_owned());
                    }
                }
                OpResult::Ok
            }
            OpRef::Cas { key, expected, new } => {
                let current = self.data.get(key).map(String::as_str);
                if current != expected {
                    return OpResult::CasFailed {
                        current: current.map(str::to_owned),
                    };
                }
                self.set(key, new);
                OpResult::CasOk
            }
        }
    }

    /// Sets `key` to `value`, reusing the stored key and value buffer when
    /// there are.
    fn set(&mut self, key: &str, value: &str) {
        match self.data.get_mut(key) {
            Some(current) => {
                current.clear();
                current.push_str(value);
            }
            None => {
                self.data.insert(key.to_owned(), value.to_owned());
            }
        }
    }

    fn hash_data(&self, hasher: &mut Fnv1a64) {
        hasher.write_u8(tag::DATA);
        hasher.write_len(self.data.len());
        for (key, value) in &self.data {
            hasher.write_str(key);
            hasher.write_str(value);
        }
    }

    fn hash_sessions(&self, hasher: &mut Fnv1a64) {
        hasher.write_u8(tag::SESSIONS);
        hasher.write_len(self.sessions.len());
        for (&client_id, session) in &self.sessions {
            hasher.write_u64(client_id);
            hasher.write_u64(session.last_seq);
            hash_result(hasher, &session.last_result);
        }
    }
}

fn hash_result(hasher: &mut Fnv1a64, result: &OpResult) {
    match result {
        OpResult::Ok => hasher.write_u8(tag::RESULT_OK),
        OpResult::Value(value) => {
            hasher.write_u8(tag::RESULT_VALUE);
            hasher.write_opt_str(value.as_deref());
        }
        OpResult::CasOk => hasher.write_u8(tag::RESULT_CAS_OK),
        OpResult::CasFailed { current } => {
            hasher.write_u8(tag::RESULT_CAS_FAILED);
            hasher.write_opt_str(current.as_deref());
        }
    }
}

mod snapshot;

pub use snapshot::SnapshotError;

#[cfg(test)]
mod tests;
