//! Snapshots on a simulated node: the state machine restored from one (at
//! a boot from a disk that holds one, or when a follower installs its
//! leader's), announced with the digest of the state it then holds, so
//! the checker can compare it with the state reached by applying the
//! entries the snapshot covers.

use super::{Ctx, SimEvent};
use crate::observe::Observers;
use checker::{Property, Violation};
use host::Driver;
use kv::KvStore;
use raft_core::{LogIndex, RaftNode};

/// The driver of a node rebuilt from its disk, its kv store restored from
/// the disk's snapshot if it holds one. `None` (a durability violation) if
/// the store refuses the snapshot.
pub(super) fn restore_driver<T>(
    node: usize,
    raft: RaftNode,
    cx: &mut Ctx<'_>,
) -> Option<Driver<KvStore, T>> {
    let snapshot_index = raft.snapshot().map(|s| s.meta.index);
    match Driver::restore(raft, KvStore::new()) {
        Ok(driver) => {
            if let Some(index) = snapshot_index {
                restored(node, index, driver.state_machine(), cx.obs);
            }
            Some(driver)
        }
        Err(e) => {
            let v = Violation::new(
                Property::Durability,
                cx.obs.event_index(),
                "a snapshot a node restarts from restores",
                format!("n{node} cannot restart from its disk: {e}"),
            )
            .with_nodes(&[node]);
            cx.run.fail_safety(v, cx.obs);
            None
        }
    }
}

/// Announces that `node`'s store was restored from the snapshot at `index`.
pub(super) fn restored(node: usize, index: LogIndex, store: &KvStore, obs: &mut Observers) {
    obs.emit(SimEvent::StateRestored {
        node,
        index,
        digest: store.digest(),
    });
}
