//! The replicated key-value state machine that committed Raft log entries are applied to.
//!
//! This crate owns:
//! - the client operations ([`Op`]) and their results ([`OpResult`]);
//! - the replicated command format ([`Command`], encoded with serde as compact postcard bytes in a log entry);
//! - the state machine itself ([`KvStore`]): string keys and values, per-client sessions
//!   that make retried commands run exactly once, strict in-order application by log index,
//!   and a platform-stable [`digest`](KvStore::digest) for comparing replicas.
//!
//! It does not depend on `raft-core`: log indices are plain `u64`.
//!
//! Every replica must reach the same state from the same entries, so this crate must
//! **never** do I/O, read a clock, use randomness, or iterate in a non-deterministic order
//! (no `HashMap`/`HashSet`, no `std` `DefaultHasher`; maps are `BTreeMap`).
//!
//! # Example
//! ```
//! use kv::{Applied, Command, KvStore, Op, OpResult};
//!
//! let command = Command {
//!     client_id: 1,
//!     seq: 1,
//!     op: Op::Put { key: "name".into(), value: "raft".into() },
//! };
//! let entry_bytes = command.encode();
//!
//! let mut store = KvStore::new();
//! let applied = store.apply(1, &entry_bytes)?;
//! assert_eq!(applied, Applied::Fresh { client_id: 1, seq: 1, result: OpResult::Ok });
//! assert_eq!(store.get("name"), Some("raft"));
//! # Ok::<(), kv::KvError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod command;
mod digest;
mod error;
mod store;

pub use command::{Command, Op, OpResult};
pub use error::KvError;
pub use store::{Applied, KvStore, SnapshotError};
