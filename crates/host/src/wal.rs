//! The write-ahead log: a node's entries, hard states and snapshot marks as
//! checksummed records appended to one file, and the recovery that reads
//! them back.
//!
//! A record is `[len: u32 LE | !len: u32 LE | crc: u32 LE | kind: u8 |
//! payload]`, where `len` counts the kind byte and the payload, `!len` is
//! its bitwise complement (a damaged length is detected, never taken for a
//! record that runs past the end), and `crc` is the CRC-32C of kind and
//! payload. Kinds: entries (postcard `Vec<Entry>`: the log from the first
//! one's index on is replaced by them), a hard state (postcard
//! `HardState`), a snapshot mark (postcard `(index, term, install)`: the log
//! is compacted up to the index, or, for an installed snapshot, replaced).
//!
//! Recovery replays the records in order. An append torn by a crash leaves
//! a prefix of its bytes: a last record cut short (its header or its body
//! incomplete), or one whose whole body is zeros (the file grew but the
//! data never landed), is torn: it is cut off and recovery goes on with
//! what came before. Anything else that is wrong (the two length copies
//! disagree, a length out of range, a checksum mismatch, a payload that
//! does not decode), wherever it is, is corruption of written data:
//! recovery refuses, naming the file and the offset, and applies nothing
//! at or past it.

use crate::fs::{FileSystem, FsError};
use raft_core::{Entry, HardState, LogIndex, Term};
use std::fmt;

/// Record kinds.
const KIND_ENTRIES: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;

/// Bytes before a record's kind: the length, its complement, the checksum.
const HEADER: usize = 12;

/// The largest record accepted (a length above it is corruption or a torn
/// header, never a record this module wrote).
pub const RECORD_MAX: usize = 64 << 20;

/// What a WAL holds after recovery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogState {
    /// The last hard state written.
    pub hard_state: HardState,
    /// The last snapshot mark: the log is compacted up to (index, term).
    pub snapshot: Option<(LogIndex, Term)>,
    /// The entries after the snapshot mark, contiguous.
    pub entries: Vec<Entry>,
}

impl LogState {
    /// Applies one record's effect.
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::Entries(new) => {
                if let Some(first) = new.first() {
                    let keep = self.entries.partition_point(|e| e.index < first.index);
                    self.entries.truncate(keep);
                    self.entries.extend(new);
                }
            }
            Record::HardState(hs) => self.hard_state = hs,
            Record::Snapshot {
                index,
                term,
                install,
            } => {
                if install {
                    self.entries.clear();
                } else {
                    let covered = self.entries.partition_point(|e| e.index <= index);
                    self.entries.drain(..covered);
                }
                self.snapshot = Some((index, term));
            }
        }
    }
}

/// One record's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// Entries replacing the log from the first one's index on.
    Entries(Vec<Entry>),
    /// A hard state.
    HardState(HardState),
    /// A snapshot became durable: the log is compacted up to `index`
    /// (`install`: replaced by the snapshot).
    Snapshot {
        /// The snapshot's index.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// A leader's snapshot replacing the whole log.
        install: bool,
    },
}

impl Record {
    /// The record as bytes, framed and checksummed.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let (kind, payload) = match self {
            Record::Entries(entries) => (KIND_ENTRIES, postcard::to_allocvec(entries)),
            Record::HardState(hs) => (KIND_HARD_STATE, postcard::to_allocvec(hs)),
            Record::Snapshot {
                index,
                term,
                install,
            } => (
                KIND_SNAPSHOT,
                postcard::to_allocvec(&(index, term, install)),
            ),
        };
        // Plain data: encoding cannot fail.
        let payload = payload.unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER + 1 + payload.len());
        let len = (payload.len() + 1) as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[kind]), &payload);
        out.extend_from_slice(&crc.to_le_bytes());
        out.push(kind);
        out.extend_from_slice(&payload);
        out
    }

    fn decode(kind: u8, payload: &[u8]) -> Result<Record, String> {
        let err = |e: postcard::Error| e.to_string();
        match kind {
            KIND_ENTRIES => postcard::from_bytes(payload)
                .map(Record::Entries)
                .map_err(err),
            KIND_HARD_STATE => postcard::from_bytes(payload)
                .map(Record::HardState)
                .map_err(err),
            KIND_SNAPSHOT => postcard::from_bytes(payload)
                .map(|(index, term, install)| Record::Snapshot {
                    index,
                    term,
                    install,
                })
                .map_err(err),
            other => Err(format!("unknown record kind {other}")),
        }
    }
}

/// A WAL that cannot be recovered.
#[derive(Debug)]
pub enum WalError {
    /// The file could not be read or cut.
    Fs(FsError),
    /// Synced data is damaged: a record before the last one fails its
    /// checksum or does not decode. Nothing at or after `offset` is used.
    Corrupt {
        /// The file.
        file: String,
        /// The damaged record's offset in it.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Fs(e) => write!(f, "write-ahead log: {e}"),
            WalError::Corrupt {
                file,
                offset,
                reason,
            } => write!(
                f,
                "write-ahead log {file} is corrupt at offset {offset}: {reason}; refusing to start"
            ),
        }
    }
}

impl std::error::Error for WalError {}

/// What recovery found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The state the records give.
    pub state: LogState,
    /// Records replayed.
    pub records: u64,
    /// Bytes of a torn last record cut off (0 if none).
    pub torn_bytes: u64,
}

/// Replays `file` (an absent file is an empty log), cutting off a torn last
/// record. See the module docs for what is torn and what is corrupt.
///
/// ```
/// use host::fs::{FileSystem, SimFs};
/// use host::wal::{recover, Record};
/// use raft_core::{HardState, Term};
///
/// let mut fs = SimFs::default();
/// let hs = HardState { term: Term(3), ..HardState::default() };
/// fs.append("wal", &Record::HardState(hs).encode()).expect("in memory");
/// fs.sync("wal").expect("in memory");
/// fs.append("wal", &Record::HardState(HardState::default()).encode()).expect("in memory");
/// fs.crash(Some(5)); // the second record is torn
/// let recovered = recover(&mut fs, "wal").expect("a torn tail is not corruption");
/// assert_eq!(recovered.state.hard_state.term, Term(3));
/// assert_eq!(recovered.torn_bytes, 5);
/// ```
///
/// # Errors
/// [`WalError::Corrupt`] for damaged synced data; [`WalError::Fs`] if the
/// file cannot be read or its torn tail cut off.
pub fn recover<F: FileSystem>(fs: &mut F, file: &str) -> Result<Recovered, WalError> {
    let Some(bytes) = fs.read(file).map_err(WalError::Fs)? else {
        return Ok(Recovered {
            state: LogState::default(),
            records: 0,
            torn_bytes: 0,
        });
    };
    let mut state = LogState::default();
    let mut records = 0;
    let mut at = 0usize;
    let end = bytes.len();
    let corrupt = |offset: usize, reason: String| WalError::Corrupt {
        file: file.to_string(),
        offset: offset as u64,
        reason,
    };
    while at < end {
        let Some(header) = bytes.get(at..at + HEADER) else {
            break; // a torn header
        };
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (len, check, crc) = (word(0), word(4), word(8));
        if check != !len {
            return Err(corrupt(at, format!("record length {len} damaged")));
        }
        let len = len as usize;
        if len == 0 || len > RECORD_MAX {
            return Err(corrupt(at, format!("record length {len}")));
        }
        let body_end = at + HEADER + len;
        if body_end > end {
            break; // the last append, cut short
        }
        let body = &bytes[at + HEADER..body_end];
        if crc32c::crc32c(body) != crc {
            if body_end == end && body.iter().all(|&b| b == 0) {
                break; // the last append: the file grew, its data never landed
            }
            return Err(corrupt(at, "checksum mismatch".to_string()));
        }
        let record = Record::decode(body[0], &body[1..]).map_err(|e| corrupt(at, e))?;
        state.apply(record);
        records += 1;
        at = body_end;
    }
    let torn_bytes = (end - at) as u64;
    if torn_bytes > 0 {
        fs.truncate(file, at as u64).map_err(WalError::Fs)?;
    }
    Ok(Recovered {
        state,
        records,
        torn_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::SimFs;
    use bytes::Bytes;
    use raft_core::{EntryKind, NodeId};

    fn ent(index: u64, term: u64) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: Bytes::from(format!("{index}@{term}")),
        }
    }

    fn hs(term: u64, commit: u64) -> HardState {
        HardState {
            term: Term(term),
            vote: Some(NodeId(1)),
            commit: LogIndex(commit),
        }
    }

    /// A WAL with five records, all synced; returns the records' offsets.
    fn written(fs: &mut SimFs) -> Vec<u64> {
        let records = [
            Record::Entries(vec![ent(1, 1), ent(2, 1), ent(3, 1)]),
            Record::HardState(hs(1, 2)),
            Record::Entries(vec![ent(3, 2), ent(4, 2)]),
            Record::Snapshot {
                index: LogIndex(2),
                term: Term(1),
                install: false,
            },
            Record::HardState(hs(2, 4)),
        ];
        let mut offsets = Vec::new();
        for r in records {
            offsets.push(fs.durable_len("wal"));
            fs.append("wal", &r.encode()).expect("in memory");
            fs.sync("wal").expect("in memory");
        }
        offsets
    }

    #[test]
    fn records_replay_into_the_log_they_wrote() {
        let mut fs = SimFs::default();
        written(&mut fs);
        let r = recover(&mut fs, "wal").expect("intact");
        assert_eq!(r.records, 5);
        assert_eq!(r.torn_bytes, 0);
        assert_eq!(r.state.hard_state, hs(2, 4));
        assert_eq!(r.state.snapshot, Some((LogIndex(2), Term(1))));
        assert_eq!(
            r.state.entries,
            vec![ent(3, 2), ent(4, 2)],
            "truncated, then compacted"
        );
        let install = Record::Snapshot {
            index: LogIndex(9),
            term: Term(3),
            install: true,
        };
        fs.append("wal", &install.encode()).expect("in memory");
        let r = recover(&mut fs, "wal").expect("intact");
        assert!(r.state.entries.is_empty(), "an install replaces the log");
        assert_eq!(
            recover(&mut SimFs::default(), "wal")
                .expect("absent")
                .records,
            0
        );
    }

    #[test]
    fn every_torn_tail_is_cut_and_the_rest_kept() {
        let mut base = SimFs::default();
        written(&mut base);
        let last = Record::Entries(vec![ent(5, 2)]).encode();
        for keep in 0..last.len() {
            let mut fs = base.clone();
            fs.append("wal", &last).expect("in memory");
            fs.crash(Some(keep));
            let r = recover(&mut fs, "wal").expect("a torn tail is not corruption");
            assert_eq!(r.records, 5, "kept {keep} bytes");
            assert_eq!(r.torn_bytes, keep as u64);
            assert_eq!(fs.durable_len("wal"), base.durable_len("wal"), "cut off");
            // Recovery after the cut finds a clean log.
            assert_eq!(recover(&mut fs, "wal").expect("clean").torn_bytes, 0);
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_written_data_is_refused_with_its_offset() {
        let mut base = SimFs::default();
        let offsets = written(&mut base);
        // Every bit of every record, the last one too: refused at that
        // record, never taken for a torn write.
        for offset in 0..base.durable_len("wal") {
            for bit in 0..8 {
                let mut fs = base.clone();
                assert!(fs.flip_bit("wal", offset, bit));
                let record_at = *offsets
                    .iter()
                    .rev()
                    .find(|&&o| o <= offset)
                    .expect("a record");
                match recover(&mut fs, "wal") {
                    Err(WalError::Corrupt {
                        offset: at, file, ..
                    }) => {
                        assert_eq!((at, file.as_str()), (record_at, "wal"));
                    }
                    other => panic!("byte {offset} bit {bit}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_last_record_of_zeros_is_a_torn_write() {
        let mut fs = SimFs::default();
        written(&mut fs);
        let mut last = Record::Entries(vec![ent(5, 2)]).encode();
        for b in &mut last[HEADER..] {
            *b = 0;
        }
        fs.append("wal", &last).expect("in memory");
        fs.sync("wal").expect("in memory");
        let r = recover(&mut fs, "wal").expect("the data never landed");
        assert_eq!((r.records, r.torn_bytes), (5, last.len() as u64));
    }

    #[test]
    fn the_error_names_file_and_offset() {
        let e = WalError::Corrupt {
            file: "wal".into(),
            offset: 42,
            reason: "checksum mismatch".into(),
        };
        assert_eq!(
            e.to_string(),
            "write-ahead log wal is corrupt at offset 42: checksum mismatch; refusing to start"
        );
    }
}
