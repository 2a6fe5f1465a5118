//! A deterministic discrete-event simulator for raft-core.
//!
//! One seed is one run: a cluster of raft-core nodes, each with a simulated
//! disk and a kv store, driven through network, disk, process and clock
//! faults and a client workload, then healed and checked for recovery.
//! Everything random comes from per-concern streams of the seed
//! ([`rng`]); nothing reads the wall clock, so a seed replays
//! byte-for-byte on any machine and any thread count.
//!
//! ```
//! let profile = sim::profile::profile("calm").expect("built-in profile");
//! let result = sim::engine::Simulation::from_seed(7, profile).run();
//! assert!(result.verdict.passed(), "{:?}", result.verdict);
//! assert!(result.stats.client_ops_ok > 0);
//! ```

pub mod case;
pub mod clients;
pub mod config;
pub mod corpus;
pub mod efficiency;
pub mod engine;
pub mod faults;
pub mod html;
pub mod inject;
pub mod leadership;
pub mod load;
pub mod net;
pub mod node;
pub mod observe;
pub mod phase;
pub mod profile;
pub mod queue;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod stats;
pub mod sweep;
pub mod timeline;
pub mod workload;
