//! Raft consensus as a pure, deterministic state machine.
//!
//! `raft-core` does no I/O, reads no clock, starts no thread and draws
//! randomness only from the seeded generator it is given. Its inputs are
//! messages ([`RaftNode::step`]), logical time ([`RaftNode::tick`]),
//! proposals ([`RaftNode::propose`]) and durability reports
//! ([`RaftNode::on_persisted`]); its output is a [`Ready`] batch of state to
//! persist, messages to send and entries to apply. The same inputs always
//! give the same outputs, which is what lets a simulator explore millions of
//! schedules and replay any of them.
//!
//! It implements the Raft paper's Figure 2 plus what production libraries
//! add: pre-vote (thesis §9.6), check-quorum with leader leases against
//! disruptive candidates, fast log backoff with conflict hints, batched and
//! pipelined replication with bounded in-flight messages, and the §5.4.2
//! commit rule (a leader commits only entries of its own term by counting).
//!
//! Logs are compacted behind snapshots of the state machine that the host
//! takes ([`RaftNode::compact`]); a leader sends its snapshot in chunks to
//! a follower that needs entries it no longer holds (§7). Membership
//! changes go through the log (joint consensus, learners, leadership
//! transfer).
//!
//! # The host loop
//!
//! A host drives each node like this (the persistence contract is spelled
//! out in [`ready`]):
//!
//! ```
//! use raft_core::{Config, NodeId, RaftNode, Ready};
//! use rand_xoshiro::rand_core::SeedableRng;
//! use rand_xoshiro::Xoshiro256PlusPlus;
//!
//! // A single-node cluster elects itself and commits a proposal.
//! let config = Config::new(NodeId(1), vec![NodeId(1)]);
//! let mut node = RaftNode::new(config, Xoshiro256PlusPlus::seed_from_u64(7)).expect("valid config");
//! let mut disk_log = Vec::new();
//! let mut applied = Vec::new();
//! let mut ready = Ready::default();
//! for tick in 0..100 {
//!     node.tick(); // or node.step(message) for each message received
//!     if tick == 50 {
//!         node.propose(b"hello".to_vec().into()).expect("leader accepts proposals");
//!     }
//!     while node.has_ready() {
//!         node.take_ready(&mut ready);
//!         // 1. write entries, then the hard state (a real host syncs here)
//!         if let Some(first) = ready.entries.first() {
//!             disk_log.retain(|e: &raft_core::Entry| e.index < first.index);
//!         }
//!         disk_log.extend(ready.entries.iter().cloned());
//!         // 2. send ready.messages (any time)
//!         // 3. send ready.persisted_messages (after the sync); a message to
//!         //    ourselves (a candidate's own vote) is stepped back in directly
//!         // 4. report durability
//!         if let Some(last) = ready.entries.last() {
//!             node.on_persisted(last.index, last.term);
//!         }
//!         let to_self: Vec<_> = ready.persisted_messages.iter().filter(|m| m.to == node.id()).cloned().collect();
//!         for m in to_self {
//!             node.step(m);
//!         }
//!         // 5. apply committed entries
//!         applied.extend(ready.committed_entries.iter().map(|e| e.data.clone()));
//!         ready.clear();
//!     }
//! }
//! assert_eq!(node.role(), raft_core::Role::Leader);
//! assert!(applied.iter().any(|d| &d[..] == b"hello"));
//! ```

pub mod config;
pub mod log;
pub mod membership;
pub mod message;
pub mod node;
pub mod progress;
pub mod quorum;
pub mod ready;
pub mod snapshot;
pub mod types;

pub use config::{Config, ConfigError};
pub use log::RaftLog;
pub use message::{Message, MessageBody, RejectHint};
pub use node::invariants::InvariantViolation;
pub use node::{
    CompactError, DurableState, ProposeError, RaftNode, ReadError, RestoreError, Role,
    TransferError,
};
pub use ready::{ReadState, Ready};
pub use snapshot::{Snapshot, SnapshotChunk, SnapshotMeta};
pub use types::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};

/// Re-exported so hosts seed nodes with the same generator type.
pub use rand_xoshiro::Xoshiro256PlusPlus;
