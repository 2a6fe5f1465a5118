//! A node's [`Storage`] on a [`FileSystem`]: batches as write-ahead log
//! records in one file (`wal`), snapshots in files of their own
//! (`snap-INDEX`), and the recovery that rebuilds the node's
//! [`DurableState`] from them. The same code runs on a real disk
//! ([`crate::fs::RealFs`]) and under simulation ([`crate::fs::SimFs`]).
//!
//! * A batch appends one record (its entries and hard state); a sync
//!   makes every batch issued before it durable ([`WalStorage::sync_to`]).
//! * A hard state that moves only the commit index is not written on its
//!   own (etcd's `MustSync` rule): it rides with the next record that must
//!   be written (entries, or a new term or vote). Raft does not need the
//!   commit index durable (a restarted node learns it again from its
//!   leader), and followers move it with nearly every heartbeat, so this
//!   saves a record, and on a real disk an fsync, per heartbeat.
//! * A snapshot is written whole to its own file first (atomically and
//!   durably), then marked by a record in the log: it counts once that mark
//!   is durable. Recovery loads the snapshot the last durable mark names; a
//!   file no mark names yet (a crash before the mark's sync) is removed.
//! * Once the log has grown past [`WalStorage::REWRITE_MIN`] bytes and is
//!   more than twice what it holds, a sync rewrites it (atomically) as one
//!   snapshot mark and one batch: the hard state and the entries after the
//!   snapshot.
//!
//! A snapshot file is `KVSNAPF1` magic, the CRC-32C of what follows, the
//! postcard-encoded metadata's length and the metadata, then the state
//! machine's data. Recovery refuses a damaged snapshot as it refuses a
//! damaged log record: with the file's name.

use crate::fs::{FileSystem, FsError, SimFs};
use crate::io::{Storage, StorageError};
use crate::wal::{self, LogState, WalError};
use bytes::Bytes;
use raft_core::{DurableState, Entry, HardState, LogIndex, Snapshot, SnapshotMeta, Term};
use std::collections::VecDeque;

/// The log's file name.
pub const WAL_FILE: &str = "wal";

const SNAP_MAGIC: &[u8; 8] = b"RSNAPF1\0";

/// A snapshot's file name.
#[must_use]
pub fn snapshot_file(index: LogIndex) -> String {
    format!("snap-{:020}", index.0)
}

/// A snapshot as its file holds it.
fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    // Plain data: encoding cannot fail.
    let meta = postcard::to_allocvec(&snapshot.meta).unwrap_or_default();
    let mut body = Vec::with_capacity(4 + meta.len() + snapshot.data.len());
    body.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    body.extend_from_slice(&meta);
    body.extend_from_slice(&snapshot.data);
    let mut out = Vec::with_capacity(SNAP_MAGIC.len() + 4 + body.len());
    out.extend_from_slice(SNAP_MAGIC);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The snapshot a file holds, or why it is not one.
fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, String> {
    let head = SNAP_MAGIC.len() + 4;
    if bytes.len() < head + 4 || &bytes[..SNAP_MAGIC.len()] != SNAP_MAGIC {
        return Err("not a snapshot file".into());
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[SNAP_MAGIC.len()..head]);
    let body = &bytes[head..];
    if crc32c::crc32c(body) != u32::from_le_bytes(crc) {
        return Err("checksum mismatch".into());
    }
    let meta_len = u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize;
    let meta_bytes = body
        .get(4..4 + meta_len)
        .ok_or_else(|| "metadata length past the end".to_string())?;
    let meta: SnapshotMeta = postcard::from_bytes(meta_bytes).map_err(|e| e.to_string())?;
    Ok(Snapshot {
        meta,
        data: Bytes::copy_from_slice(&body[4 + meta_len..]),
    })
}

/// A node's storage as a write-ahead log and snapshot files on `F`.
///
/// ```
/// use host::fs::SimFs;
/// use host::wal_storage::WalStorage;
/// use host::Storage;
/// use raft_core::{HardState, Term};
///
/// let (mut disk, durable) = WalStorage::open(SimFs::default()).expect("an empty disk");
/// assert_eq!(durable.hard_state, HardState::default());
/// let hs = HardState { term: Term(2), ..HardState::default() };
/// let seq = disk.write(&[], Some(hs)).expect("issued");
/// disk.sync_to(seq).expect("synced");
/// disk.crash(None);
/// let durable = disk.recover().expect("recovers");
/// assert_eq!(durable.hard_state.term, Term(2));
/// ```
#[derive(Debug)]
pub struct WalStorage<F: FileSystem> {
    fs: F,
    issued_seq: u64,
    synced_seq: u64,
    /// The log file's length.
    wal_len: u64,
    /// Unsynced batches, in issue order.
    unsynced: VecDeque<Pending>,
    /// The entries of the unsynced batches, in issue order (one queue for
    /// all of them rather than a vector per batch).
    pending_entries: VecDeque<Entry>,
    /// Where records are encoded before they are appended (reused).
    buf: Vec<u8>,
    /// What the log holds as of the last sync (to rewrite it compactly and
    /// to know which snapshot is the durable one).
    durable: LogState,
    /// The bytes of records that `durable` is made of were it written anew.
    live_len: u64,
    /// The log is rewritten once longer than this and twice what it holds.
    rewrite_min: u64,
    /// The last hard state appended to the log (synced or not).
    written: HardState,
    /// A newer hard state than `written` that moved only the commit index:
    /// written with the next record.
    unwritten: Option<HardState>,
}

/// One unsynced batch: what it wrote, to apply to the durable state once a
/// sync covers it.
#[derive(Clone, Copy, Debug)]
struct Pending {
    seq: u64,
    /// The log's length after it.
    len: u64,
    /// How many of the pending entries it wrote (replacing the log from
    /// the first one's index on).
    entries: usize,
    hard_state: Option<HardState>,
    /// A snapshot mark: (index, term, install).
    snapshot: Option<(LogIndex, Term, bool)>,
}

impl<F: FileSystem> WalStorage<F> {
    /// A log longer than this (and more than twice what it holds) is
    /// rewritten at the next sync.
    pub const REWRITE_MIN: u64 = 1 << 20;

    /// Recovers the storage on `fs` (see [`WalStorage::recover`]). Returns
    /// the storage and what a restarted node reads back.
    ///
    /// # Errors
    /// As [`WalStorage::recover`].
    pub fn open(fs: F) -> Result<(WalStorage<F>, DurableState), WalError> {
        let mut storage = WalStorage::unrecovered(fs);
        let durable = storage.recover()?;
        Ok((storage, durable))
    }

    /// The storage on `fs` before its files are read back.
    fn unrecovered(fs: F) -> WalStorage<F> {
        WalStorage {
            fs,
            issued_seq: 0,
            synced_seq: 0,
            wal_len: 0,
            unsynced: VecDeque::new(),
            pending_entries: VecDeque::new(),
            buf: Vec::new(),
            durable: LogState::default(),
            live_len: 0,
            rewrite_min: Self::REWRITE_MIN,
            written: HardState::default(),
            unwritten: None,
        }
    }

    /// Reads the files back as a restarted process does: replays the log
    /// (cutting off a torn last append), loads the snapshot its last mark
    /// names, removes snapshot files no durable mark names. Returns what
    /// the node restarts from. Whatever was issued and not synced is
    /// forgotten (a crash lost it, or kept it in the files).
    ///
    /// # Errors
    /// A damaged log record or snapshot file (the node must not start:
    /// [`WalError::Corrupt`] names the file and offset), or a file system
    /// error.
    pub fn recover(&mut self) -> Result<DurableState, WalError> {
        self.unsynced.clear();
        self.pending_entries.clear();
        self.unwritten = None;
        self.synced_seq = self.issued_seq;
        let fs = &mut self.fs;
        let recovered = wal::recover(fs, WAL_FILE)?;
        let state = recovered.state;
        let snapshot = match state.snapshot {
            None => None,
            Some((index, term)) => {
                let file = snapshot_file(index);
                let corrupt = |reason: String| WalError::Corrupt {
                    file: file.clone(),
                    offset: 0,
                    reason,
                };
                let bytes = fs
                    .read(&file)
                    .map_err(WalError::Fs)?
                    .ok_or_else(|| corrupt("missing".to_string()))?;
                let snap = decode_snapshot(&bytes).map_err(corrupt)?;
                if (snap.meta.index, snap.meta.term) != (index, term) {
                    return Err(corrupt(format!(
                        "holds {}@{}, the log's mark names {index}@{term}",
                        snap.meta.index, snap.meta.term
                    )));
                }
                Some(snap)
            }
        };
        let keep = state.snapshot.map(|(index, _)| snapshot_file(index));
        for name in fs.list().map_err(WalError::Fs)? {
            if name.starts_with("snap-") && Some(&name) != keep.as_ref() {
                fs.remove(&name).map_err(WalError::Fs)?;
            }
        }
        self.wal_len = recovered.len;
        self.live_len = live_len(&state);
        self.written = state.hard_state;
        let durable_state = DurableState {
            hard_state: state.hard_state,
            snapshot,
            entries: state.entries.clone(),
        };
        self.durable = state;
        Ok(durable_state)
    }

    /// Rewrites the log once it is longer than `bytes` (and twice what it
    /// holds) rather than [`WalStorage::REWRITE_MIN`]: a simulator keeps
    /// logs short, so restarts replay little and rewrites happen often.
    pub fn set_rewrite_min(&mut self, bytes: u64) {
        self.rewrite_min = bytes;
    }

    /// The file system (read-only).
    #[must_use]
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The file system, to damage it under simulation (the storage reads
    /// files back only in [`WalStorage::recover`]).
    pub fn fs_mut(&mut self) -> &mut F {
        &mut self.fs
    }

    /// The file system, to crash or damage it (simulation) before
    /// [`WalStorage::open`]ing it again.
    #[must_use]
    pub fn into_fs(self) -> F {
        self.fs
    }

    /// The last batch sequence number issued.
    #[must_use]
    pub fn issued_seq(&self) -> u64 {
        self.issued_seq
    }

    /// Whether some batch awaits a sync.
    #[must_use]
    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    /// How many issued batches (records) await a sync.
    #[must_use]
    pub fn unsynced_batches(&self) -> usize {
        self.unsynced.len()
    }

    /// Whether a snapshot's mark awaits a sync.
    #[must_use]
    pub fn has_unsynced_snapshot(&self) -> bool {
        self.unsynced.iter().any(|p| p.snapshot.is_some())
    }

    /// The durable snapshot's (index, term), if any.
    #[must_use]
    pub fn snapshot_mark(&self) -> Option<(LogIndex, Term)> {
        self.durable.snapshot
    }

    /// Makes every issued batch durable (a synchronous disk). Returns how
    /// many log entries that covered.
    ///
    /// # Errors
    /// As [`WalStorage::sync_to`].
    pub fn sync_all(&mut self) -> Result<usize, StorageError> {
        self.sync_to(self.issued_seq)
    }

    /// The durable hard state (as of the last sync or recovery).
    #[must_use]
    pub fn hard_state(&self) -> HardState {
        self.durable.hard_state
    }

    /// The durable entries after the durable snapshot (as of the last sync
    /// or recovery).
    #[must_use]
    pub fn log(&self) -> &[Entry] {
        &self.durable.entries
    }

    /// A sync that started when `upto` was the last issued batch completes:
    /// those batches are durable. Returns how many log entries it covered.
    ///
    /// # Errors
    /// The file system failed to sync or to rewrite the log.
    pub fn sync_to(&mut self, upto: u64) -> Result<usize, StorageError> {
        let Some(len) = self
            .unsynced
            .iter()
            .take_while(|p| p.seq <= upto)
            .last()
            .map(|p| p.len)
        else {
            self.synced_seq = self.synced_seq.max(upto.min(self.issued_seq));
            return Ok(0);
        };
        self.fs.sync_to(WAL_FILE, len).map_err(storage_err)?;
        let mut entries = 0;
        let old_snapshot = self.durable.snapshot;
        while let Some(p) = self.unsynced.front().copied().filter(|p| p.seq <= upto) {
            self.unsynced.pop_front();
            if p.entries > 0 {
                entries += p.entries;
                self.durable
                    .write_entries(self.pending_entries.drain(..p.entries));
            }
            if let Some(hs) = p.hard_state {
                self.durable.hard_state = hs;
            }
            if let Some((index, term, install)) = p.snapshot {
                self.durable.mark_snapshot(index, term, install);
            }
        }
        self.synced_seq = self.synced_seq.max(upto);
        if self.durable.snapshot != old_snapshot {
            self.live_len = live_len(&self.durable);
            if let Some((index, _)) = old_snapshot {
                self.fs.remove(&snapshot_file(index)).map_err(storage_err)?;
            }
        }
        if self.unsynced.is_empty()
            && self.wal_len > self.rewrite_min
            && self.wal_len > 2 * self.live_len
        {
            self.rewrite()?;
        }
        Ok(entries)
    }

    /// Rewrites the log as what it holds: its snapshot mark, hard state and
    /// entries (only when every batch is durable).
    fn rewrite(&mut self) -> Result<(), StorageError> {
        self.buf.clear();
        if let Some((index, term)) = self.durable.snapshot {
            wal::encode_snapshot_mark(index, term, true, &mut self.buf);
        }
        wal::encode_batch(
            &self.durable.entries,
            Some(&self.durable.hard_state),
            &mut self.buf,
        );
        self.fs.replace(WAL_FILE, &self.buf).map_err(storage_err)?;
        self.wal_len = self.buf.len() as u64;
        self.live_len = self.wal_len;
        Ok(())
    }

    /// Appends the encoded records in `buf` as batch `p` (its sequence
    /// number and length are filled in here).
    fn append(&mut self, mut p: Pending) -> Result<u64, StorageError> {
        self.fs.append(WAL_FILE, &self.buf).map_err(storage_err)?;
        self.wal_len += self.buf.len() as u64;
        self.issued_seq += 1;
        p.seq = self.issued_seq;
        p.len = self.wal_len;
        self.unsynced.push_back(p);
        Ok(self.issued_seq)
    }
}

impl Default for WalStorage<SimFs> {
    /// The storage of an empty simulated disk (nothing to recover).
    fn default() -> Self {
        WalStorage::unrecovered(SimFs::default())
    }
}

impl WalStorage<SimFs> {
    /// A crash (simulation): the unsynced bytes are lost, except the first
    /// `torn` of them (a write torn part way). Returns how many bytes were
    /// lost. [`WalStorage::recover`] reads back what is left.
    pub fn crash(&mut self, torn: Option<usize>) -> u64 {
        self.unsynced.clear();
        self.pending_entries.clear();
        self.unwritten = None;
        self.synced_seq = self.issued_seq;
        self.fs.crash(torn)
    }

    /// Bytes appended to the log and not yet synced.
    #[must_use]
    pub fn unsynced_bytes(&self) -> u64 {
        self.fs.unsynced_len(WAL_FILE)
    }

    /// A crash that keeps the first `batches` unsynced batches whole (their
    /// bytes reached the disk) and loses the rest. Returns how many
    /// batches were lost.
    pub fn crash_keeping(&mut self, batches: usize) -> usize {
        let total = self.unsynced.len();
        let kept = batches.min(total);
        let durable = self.fs.durable_len(WAL_FILE);
        let torn = kept
            .checked_sub(1)
            .map(|k| usize::try_from(self.unsynced[k].len - durable).unwrap_or(usize::MAX));
        self.crash(torn);
        total - kept
    }

    /// What a restart would read back now (recovering a copy of the
    /// files: the storage itself is untouched).
    ///
    /// # Errors
    /// As [`WalStorage::recover`].
    pub fn durable_state(&self) -> Result<DurableState, WalError> {
        let mut copy = self.fs.clone();
        copy.crash(None);
        WalStorage::open(copy).map(|(_, durable)| durable)
    }
}

fn storage_err(e: FsError) -> StorageError {
    StorageError(e.to_string())
}

/// The bytes of the records `state` is made of were they written anew
/// (estimated from the entries' sizes: only the rewrite threshold depends
/// on it).
fn live_len(state: &LogState) -> u64 {
    let entries: u64 = state.entries.iter().map(Entry::size_bytes).sum();
    64 + entries
}

impl<F: FileSystem> Storage for WalStorage<F> {
    fn write(
        &mut self,
        entries: &[Entry],
        hard_state: Option<HardState>,
    ) -> Result<u64, StorageError> {
        let hard_state = match hard_state {
            Some(hs)
                if entries.is_empty()
                    && (hs.term, hs.vote) == (self.written.term, self.written.vote) =>
            {
                // Only the commit index moved: written with the next record.
                self.unwritten = Some(hs);
                return Ok(self.issued_seq);
            }
            Some(hs) => Some(hs),
            None if entries.is_empty() => return Ok(self.issued_seq),
            None => self.unwritten,
        };
        self.unwritten = None;
        if let Some(hs) = hard_state {
            self.written = hs;
        }
        self.buf.clear();
        wal::encode_batch(entries, hard_state.as_ref(), &mut self.buf);
        self.pending_entries.extend(entries.iter().cloned());
        self.append(Pending {
            seq: 0,
            len: 0,
            entries: entries.len(),
            hard_state,
            snapshot: None,
        })
    }

    fn write_snapshot(&mut self, snapshot: Snapshot, install: bool) -> Result<u64, StorageError> {
        let (index, term) = (snapshot.meta.index, snapshot.meta.term);
        self.fs
            .replace(&snapshot_file(index), &encode_snapshot(&snapshot))
            .map_err(storage_err)?;
        self.buf.clear();
        wal::encode_snapshot_mark(index, term, install, &mut self.buf);
        self.append(Pending {
            seq: 0,
            len: 0,
            entries: 0,
            hard_state: None,
            snapshot: Some((index, term, install)),
        })
    }

    fn synced_seq(&self) -> u64 {
        self.synced_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::Record;
    use raft_core::{EntryKind, NodeId};

    fn ent(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::from(vec![index as u8; 40]),
        }
    }

    fn hs(term: u64, commit: u64) -> HardState {
        HardState {
            term: Term(term),
            vote: Some(NodeId(1)),
            commit: LogIndex(commit),
        }
    }

    fn snap(index: u64, term: u64) -> Snapshot {
        Snapshot {
            meta: SnapshotMeta {
                index: LogIndex(index),
                term: Term(term),
                ..SnapshotMeta::default()
            },
            data: Bytes::from(format!("state at {index}")),
        }
    }

    fn reopen(disk: WalStorage<SimFs>, torn: Option<usize>) -> (WalStorage<SimFs>, DurableState) {
        let mut fs = disk.into_fs();
        fs.crash(torn);
        WalStorage::open(fs).expect("recovers")
    }

    #[test]
    fn synced_batches_survive_a_crash_and_unsynced_ones_do_not() {
        let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
        let s1 = disk
            .write(&[ent(1, 1), ent(2, 1)], Some(hs(1, 1)))
            .expect("issued");
        let s2 = disk.write(&[ent(3, 1)], Some(hs(1, 2))).expect("issued");
        disk.sync_to(s1).expect("synced");
        assert_eq!(disk.synced_seq(), s1);
        assert!(disk.has_unsynced(), "the second batch began after the sync");
        let (mut disk, durable) = reopen(disk, None);
        assert_eq!(durable.entries, vec![ent(1, 1), ent(2, 1)]);
        assert_eq!(durable.hard_state, hs(1, 1));
        // A replacement from index 2 on, synced.
        let s = disk.write(&[ent(2, 2)], Some(hs(2, 1))).expect("issued");
        disk.sync_to(s).expect("synced");
        let (_, durable) = reopen(disk, None);
        assert_eq!(durable.entries, vec![ent(1, 1), ent(2, 2)]);
        assert!(s2 > s1);
    }

    #[test]
    fn a_commit_only_hard_state_rides_with_the_next_record() {
        let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
        let s = disk
            .write(&[ent(1, 1), ent(2, 1)], Some(hs(1, 0)))
            .expect("issued");
        disk.sync_to(s).expect("synced");
        let len = disk.fs().read(WAL_FILE).expect("reads").map(|b| b.len());
        // The commit index moves: nothing to write, nothing to sync.
        assert_eq!(disk.write(&[], Some(hs(1, 1))), Ok(s));
        assert_eq!(disk.write(&[], Some(hs(1, 2))), Ok(s));
        assert!(!disk.has_unsynced());
        assert_eq!(
            disk.fs().read(WAL_FILE).expect("reads").map(|b| b.len()),
            len
        );
        let (mut disk, durable) = reopen(disk, None);
        assert_eq!(
            durable.hard_state,
            hs(1, 0),
            "the commit index was not written"
        );
        assert_eq!(durable.entries.len(), 2);
        // Moved again, it rides with the next entries.
        let issued = disk.issued_seq();
        assert_eq!(disk.write(&[], Some(hs(1, 2))), Ok(issued));
        let s = disk.write(&[ent(3, 1)], None).expect("issued");
        disk.sync_to(s).expect("synced");
        let (mut disk, durable) = reopen(disk, None);
        assert_eq!(durable.hard_state, hs(1, 2));
        // A new term or vote is written at once, commit and all.
        let s = disk.write(&[], Some(hs(2, 3))).expect("issued");
        assert!(disk.has_unsynced());
        disk.sync_to(s).expect("synced");
        let voted = HardState {
            vote: Some(NodeId(3)),
            ..HardState {
                vote: None,
                ..hs(3, 3)
            }
        };
        let (mut disk, _) = reopen(disk, None);
        let s = disk
            .write(
                &[],
                Some(HardState {
                    vote: None,
                    ..voted
                }),
            )
            .expect("issued");
        disk.sync_to(s).expect("synced");
        let s = disk.write(&[], Some(voted)).expect("issued");
        assert!(disk.has_unsynced(), "a vote is a write");
        disk.sync_to(s).expect("synced");
        let (_, durable) = reopen(disk, None);
        assert_eq!(durable.hard_state, voted);
    }

    #[test]
    fn a_torn_batch_is_cut_off_at_a_record_boundary() {
        // One synced batch, then one whose bytes a crash tears.
        let build = || {
            let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
            let s = disk.write(&[ent(1, 1)], Some(hs(1, 0))).expect("issued");
            disk.sync_to(s).expect("synced");
            disk.write(&[ent(2, 1), ent(3, 1)], Some(hs(1, 1)))
                .expect("issued");
            disk
        };
        let batch = Record::Batch {
            entries: vec![ent(2, 1), ent(3, 1)],
            hard_state: Some(hs(1, 1)),
        }
        .encode()
        .len();
        // Whole, the batch is back; torn anywhere inside, none of it is.
        let (_, durable) = reopen(build(), Some(batch));
        assert_eq!(durable.entries.len(), 3);
        assert_eq!(durable.hard_state, hs(1, 1));
        for keep in [1, batch / 2, batch - 1] {
            let (_, durable) = reopen(build(), Some(keep));
            assert_eq!(durable.entries, vec![ent(1, 1)]);
            assert_eq!(durable.hard_state, hs(1, 0));
        }
    }

    #[test]
    fn a_snapshot_counts_once_its_mark_is_durable() {
        let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
        let s = disk
            .write(&[ent(1, 1), ent(2, 1), ent(3, 1)], Some(hs(1, 3)))
            .expect("issued");
        disk.sync_to(s).expect("synced");
        disk.write_snapshot(snap(2, 1), false).expect("issued");
        // Crash before the mark's sync: the snapshot file is an orphan.
        let (mut disk, durable) = reopen(disk, None);
        assert_eq!(durable.snapshot, None);
        assert_eq!(durable.entries.len(), 3);
        assert_eq!(disk.fs().list().expect("list"), vec![WAL_FILE.to_string()]);
        let s = disk.write_snapshot(snap(2, 1), false).expect("issued");
        disk.sync_to(s).expect("synced");
        let (mut disk, durable) = reopen(disk, None);
        assert_eq!(durable.snapshot, Some(snap(2, 1)));
        assert_eq!(durable.entries, vec![ent(3, 1)], "compacted behind it");
        // A newer snapshot replaces the older file once its mark is durable.
        let s = disk.write_snapshot(snap(3, 1), false).expect("issued");
        disk.sync_to(s).expect("synced");
        assert_eq!(
            disk.fs().list().expect("list"),
            vec![snapshot_file(LogIndex(3)), WAL_FILE.to_string()]
        );
        // An installed snapshot replaces the whole log.
        let s = disk.write_snapshot(snap(9, 4), true).expect("issued");
        disk.sync_to(s).expect("synced");
        let (_, durable) = reopen(disk, None);
        assert_eq!(durable.snapshot, Some(snap(9, 4)));
        assert!(durable.entries.is_empty());
    }

    #[test]
    fn damaged_snapshots_and_records_refuse_to_start() {
        let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
        let s = disk
            .write(&[ent(1, 1), ent(2, 1)], Some(hs(1, 2)))
            .expect("issued");
        disk.sync_to(s).expect("synced");
        let s = disk.write_snapshot(snap(2, 1), false).expect("issued");
        disk.sync_to(s).expect("synced");
        let s = disk.write(&[ent(3, 1)], Some(hs(1, 3))).expect("issued");
        disk.sync_to(s).expect("synced");
        let fs = disk.into_fs();
        let file = snapshot_file(LogIndex(2));
        let mut damaged = fs.clone();
        assert!(damaged.flip_bit(&file, 20, 3));
        match WalStorage::open(damaged) {
            Err(WalError::Corrupt { file: f, .. }) => assert_eq!(f, file),
            other => panic!("{other:?}"),
        }
        let mut damaged = fs.clone();
        assert!(damaged.flip_bit(WAL_FILE, 30, 1));
        assert!(matches!(
            WalStorage::open(damaged),
            Err(WalError::Corrupt { offset: 0, .. })
        ));
        let mut missing = fs;
        missing.remove(&file).expect("in memory");
        assert!(matches!(
            WalStorage::open(missing),
            Err(WalError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_long_log_is_rewritten_as_what_it_holds() {
        let (mut disk, _) = WalStorage::open(SimFs::default()).expect("empty");
        // Rewrite the same entry over and over: the log grows, what it
        // holds does not, until a sync rewrites it.
        let mut index = 0;
        let mut longest = 0;
        loop {
            index += 1;
            let s = disk
                .write(&[ent(1, index)], Some(hs(index, 0)))
                .expect("issued");
            disk.sync_to(s).expect("synced");
            let len = disk.fs().durable_len(WAL_FILE);
            if len < longest {
                break;
            }
            longest = len;
            assert!(index < 100_000, "never rewritten");
        }
        assert!(
            longest + 200 > WalStorage::<SimFs>::REWRITE_MIN,
            "rewritten once past the threshold"
        );
        assert!(disk.fs().durable_len(WAL_FILE) < 1_000, "rewritten");
        let (_, durable) = reopen(disk, None);
        assert_eq!(durable.entries, vec![ent(1, index)]);
        assert_eq!(durable.hard_state, hs(index, 0));
    }
}
