//! One Raft node's host driver, shared by the simulator and the real node.
//!
//! raft-core decides; a host does the I/O. This crate holds the part of the
//! host that is the same everywhere, so that the code a simulation tortures
//! is the code a real node runs: the [`Driver`] applies raft-core's
//! persistence contract (write, send at once, hold votes and acks until the
//! covering sync, report durability, apply, answer proposals) behind small
//! interfaces ([`Storage`], [`Transport`], [`StateMachine`], [`Effects`]).
//! Only the clock, the network and the disk differ between a simulated node
//! and a real one.
//!
//! * [`driver`]: the host loop and its checks (disk boundary, raft-core's own
//!   invariants, a bound on batches per input);
//! * [`io`]: the interfaces a host plugs in;
//! * [`fs`]: the file system storage writes through, on disk ([`fs::RealFs`])
//!   or in memory with crash and corruption semantics ([`fs::SimFs`]);
//! * [`wal`]: the write-ahead log's checksummed records and their recovery
//!   (torn tails cut off, corruption refused with file and offset);
//! * [`wal_storage`]: the [`Storage`] a node runs on any [`fs::FileSystem`]:
//!   batches as log records, snapshots in files of their own;
//! * [`cluster`]: a whole cluster in one process (direct calls for
//!   messages, in-memory files), the quickest way to use the library;
//! * the kv store as the [`StateMachine`] (`impl StateMachine for kv::KvStore`).

pub mod cluster;
pub mod driver;
pub mod fs;
pub mod io;
pub mod wal;
pub mod wal_storage;

pub use driver::{Driver, READY_ROUNDS_MAX};
pub use io::{
    Answer, ApplyError, Effects, HostFault, StateMachine, Storage, StorageError, Transport,
};

use bytes::Bytes;
use raft_core::{Entry, EntryKind, LogIndex};

/// The replicated kv store. An entry that is not a kv command (the leader's
/// empty entry of a new term, or bytes from another client library) is
/// applied as a no-op on every replica alike.
impl StateMachine for kv::KvStore {
    type Output = kv::Applied;

    fn apply(&mut self, entry: &Entry) -> Result<kv::Applied, ApplyError> {
        // A membership change is raft-core's business: a no-op here (its
        // payload must never be read as a command).
        let data: &[u8] = match entry.kind {
            EntryKind::Normal => &entry.data,
            EntryKind::ConfChange => &[],
        };
        match kv::KvStore::apply(self, entry.index.0, data) {
            Ok(applied) => Ok(applied),
            Err(kv::KvError::Decode(_)) => Ok(kv::Applied::Noop),
            Err(e) => Err(ApplyError(e.to_string())),
        }
    }

    /// A query is an encoded get (`kv::Command` with `Op::Get`): the answer
    /// is the value as `Applied::Fresh` under the query's client and seq,
    /// without touching the client's session (a read changes nothing).
    /// Anything else answers `Applied::Noop`.
    fn query(&self, query: &[u8]) -> kv::Applied {
        match kv::Command::decode(query) {
            Ok(kv::Command {
                client_id,
                seq,
                op: kv::Op::Get { key },
            }) => kv::Applied::Fresh {
                client_id,
                seq,
                result: kv::OpResult::Value(self.get(&key).map(str::to_owned)),
            },
            _ => kv::Applied::Noop,
        }
    }

    fn snapshot(&self, index: LogIndex) -> Bytes {
        debug_assert_eq!(self.applied_index(), index.0);
        Bytes::from(kv::KvStore::snapshot(self))
    }

    fn restore(&mut self, index: LogIndex, data: &[u8]) -> Result<(), ApplyError> {
        let store = kv::KvStore::restore(data).map_err(|e| ApplyError(e.to_string()))?;
        if store.applied_index() != index.0 {
            return Err(ApplyError(format!(
                "the snapshot holds the state at index {}, not at {index}",
                store.applied_index()
            )));
        }
        *self = store;
        Ok(())
    }
}
