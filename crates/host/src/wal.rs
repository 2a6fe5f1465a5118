//! The write-ahead log: a node's entries, hard states and snapshot marks as
//! checksummed records appended to one file, and the recovery that reads
//! them back.
//!
//! A record is `[len: u32 LE | !len: u32 LE | crc: u32 LE | kind: u8 |
//! payload]`, where `len` counts the kind byte and the payload, `!len` is
//! its bitwise complement (a damaged length is detected, never taken for a
//! record that runs past the end), and `crc` is the CRC-32C of kind and
//! payload. Kinds: 1, a batch (postcard `(Vec<Entry>, Option<HardState>)`:
//! the log from the first entry's index on is replaced by the entries, then
//! the hard state, if any, is the node's; one record per batch, so a batch
//! is durable whole or not at all), 3, a snapshot mark (postcard `(index,
//! term, install)`: the log is compacted up to the index, or, for an
//! installed snapshot, replaced).
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
use bytes::Bytes;
use raft_core::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};
use std::fmt;

/// Record kinds.
const KIND_BATCH: u8 = 1;
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
            Record::Batch {
                entries,
                hard_state,
            } => {
                self.write_entries(entries);
                if let Some(hs) = hard_state {
                    self.hard_state = hs;
                }
            }
            Record::Snapshot {
                index,
                term,
                install,
            } => self.mark_snapshot(index, term, install),
        }
    }

    /// An entries record's effect: the entries from the first new one's
    /// index on are replaced by `new` (contiguous, in order).
    pub fn write_entries(&mut self, new: impl IntoIterator<Item = Entry>) {
        let mut new = new.into_iter().peekable();
        if let Some(first) = new.peek() {
            let keep = self.entries.partition_point(|e| e.index < first.index);
            self.entries.truncate(keep);
            self.entries.extend(new);
        }
    }

    /// A snapshot mark's effect: the log is compacted up to `index` or,
    /// for an installed snapshot, replaced.
    pub fn mark_snapshot(&mut self, index: LogIndex, term: Term, install: bool) {
        if install {
            self.entries.clear();
        } else {
            let covered = self.entries.partition_point(|e| e.index <= index);
            self.entries.drain(..covered);
        }
        self.snapshot = Some((index, term));
    }
}

/// One record's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// One batch: entries replacing the log from the first one's index
    /// on, then a hard state.
    Batch {
        /// The entries (possibly none).
        entries: Vec<Entry>,
        /// The hard state, if the batch changed it.
        hard_state: Option<HardState>,
    },
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
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the record, framed and checksummed, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Record::Batch {
                entries,
                hard_state,
            } => encode_batch(entries, hard_state.as_ref(), out),
            Record::Snapshot {
                index,
                term,
                install,
            } => encode_snapshot_mark(*index, *term, *install, out),
        }
    }
    /// The record of `kind` whose payload is `file[range]`. Entries' data
    /// are slices of `file` (no copies).
    fn decode_in(kind: u8, file: &Bytes, range: std::ops::Range<usize>) -> Result<Record, String> {
        if kind == KIND_BATCH {
            if let Some(record) = decode_batch(file, range.clone()) {
                return Ok(record);
            }
        }
        // Anything the fast path does not take, postcard judges (and
        // explains).
        Record::decode(kind, &file[range])
    }

    fn decode(kind: u8, payload: &[u8]) -> Result<Record, String> {
        let err = |e: postcard::Error| e.to_string();
        match kind {
            KIND_BATCH => postcard::from_bytes(payload)
                .map(|(entries, hard_state)| Record::Batch {
                    entries,
                    hard_state,
                })
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

/// Appends a batch record for `entries` and `hard_state` to `out` (the
/// same bytes as [`Record::Batch`], without copying the entries into one).
pub fn encode_batch(entries: &[Entry], hard_state: Option<&HardState>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(KIND_BATCH);
    // Postcard's encoding of `(&[Entry], Option<&HardState>)`, written by
    // hand: this runs for every batch a node writes (a test holds it to
    // postcard's bytes).
    let data: usize = entries.iter().map(|e| e.data.len()).sum();
    out.reserve(10 + entries.len() * 40 + data + 32);
    put_varint(out, entries.len() as u64);
    for e in entries {
        put_varint(out, e.term.0);
        put_varint(out, e.index.0);
        out.push(match e.kind {
            EntryKind::Normal => 0,
            EntryKind::ConfChange => 1,
        });
        put_varint(out, e.data.len() as u64);
        out.extend_from_slice(&e.data);
    }
    match hard_state {
        None => out.push(0),
        Some(hs) => {
            out.push(1);
            put_varint(out, hs.term.0);
            match hs.vote {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    put_varint(out, v.0);
                }
            }
            put_varint(out, hs.commit.0);
        }
    }
    seal(start, out);
}

/// A batch record's payload, `file[range]`, read by hand (recovery reads
/// every batch a node wrote): `None` for anything but a canonical
/// encoding that postcard would decode to the same record.
fn decode_batch(file: &Bytes, range: std::ops::Range<usize>) -> Option<Record> {
    let mut r = Cursor {
        bytes: &file[..range.end],
        at: range.start,
    };
    let count = r.varint()?;
    // Every entry takes at least four bytes: no count beyond that is real.
    let mut entries = Vec::with_capacity(usize::try_from(count).ok()?.min(r.left() / 4));
    for _ in 0..count {
        let term = Term(r.varint()?);
        let index = LogIndex(r.varint()?);
        let kind = match r.byte()? {
            0 => EntryKind::Normal,
            1 => EntryKind::ConfChange,
            _ => return None,
        };
        let len = usize::try_from(r.varint()?).ok()?;
        let end = r.at.checked_add(len).filter(|&e| e <= r.bytes.len())?;
        let data = file.slice(r.at..end);
        r.at = end;
        entries.push(Entry {
            term,
            index,
            kind,
            data,
        });
    }
    let hard_state = match r.byte()? {
        0 => None,
        1 => {
            let term = Term(r.varint()?);
            let vote = match r.byte()? {
                0 => None,
                1 => Some(NodeId(r.varint()?)),
                _ => return None,
            };
            let commit = LogIndex(r.varint()?);
            Some(HardState { term, vote, commit })
        }
        _ => return None,
    };
    (r.left() == 0).then_some(Record::Batch {
        entries,
        hard_state,
    })
}

/// A read position in a record.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    /// A canonical varint of at most 64 bits (no needless zero bytes).
    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            if i == 9 && b > 1 {
                return None;
            }
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (i == 0 || b != 0).then_some(out);
            }
        }
        None
    }
}

/// Appends `v` as a postcard varint (seven bits a byte, low first).
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a snapshot mark to `out`.
pub fn encode_snapshot_mark(index: LogIndex, term: Term, install: bool, out: &mut Vec<u8>) {
    frame(KIND_SNAPSHOT, &(index, term, install), out);
}

/// A vector that postcard appends to.
struct Sink<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Sink<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// Appends `[len | !len | crc | kind | payload]` to `out`, the payload
/// encoded by postcard in place.
fn frame<T: serde::Serialize + ?Sized>(kind: u8, payload: &T, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(kind);
    // Plain data: encoding cannot fail.
    let encoded = postcard::to_extend(payload, Sink(out));
    debug_assert!(encoded.is_ok(), "plain data encodes");
    seal(start, out);
}

/// Fills in the header of the record that starts at `start` and runs to
/// the end of `out`: its length, the length's complement, its checksum.
fn seal(start: usize, out: &mut [u8]) {
    let body = start + HEADER;
    let len = (out.len() - body) as u32;
    let crc = crc32c::crc32c(&out[body..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&(!len).to_le_bytes());
    out[start + 8..body].copy_from_slice(&crc.to_le_bytes());
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
    /// The file's length after recovery (what the next append follows).
    pub len: u64,
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
/// let batch = |hs| Record::Batch { entries: vec![], hard_state: Some(hs) }.encode();
/// fs.append("wal", &batch(hs)).expect("in memory");
/// fs.sync("wal").expect("in memory");
/// fs.append("wal", &batch(HardState::default())).expect("in memory");
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
    let Some(bytes) = fs.read(file).map_err(WalError::Fs)?.map(Bytes::from) else {
        return Ok(Recovered {
            state: LogState::default(),
            records: 0,
            torn_bytes: 0,
            len: 0,
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
        let record = Record::decode_in(body[0], &bytes, at + HEADER + 1..body_end)
            .map_err(|e| corrupt(at, e))?;
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
        len: at as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::SimFs;
    use proptest::prelude::*;

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

    fn batch(entries: Vec<Entry>, hard_state: Option<HardState>) -> Record {
        Record::Batch {
            entries,
            hard_state,
        }
    }

    #[test]
    fn batches_encode_as_postcard_does() {
        let big = |index: u64| Entry {
            term: Term(u64::MAX - index),
            index: LogIndex(index << 40),
            kind: EntryKind::ConfChange,
            data: Bytes::from(vec![index as u8; 200]),
        };
        let cases = [
            (vec![], None),
            (vec![ent(1, 1)], None),
            (vec![], Some(hs(5, 3))),
            (
                vec![ent(1, 1), big(2), ent(300, 129)],
                Some(HardState {
                    vote: None,
                    ..hs(u64::MAX, 1 << 20)
                }),
            ),
        ];
        for (entries, hard_state) in cases {
            let mut ours = vec![9];
            encode_batch(&entries, hard_state.as_ref(), &mut ours);
            let mut theirs = vec![9];
            frame(KIND_BATCH, &(&entries, hard_state.as_ref()), &mut theirs);
            assert_eq!(ours, theirs, "{entries:?} {hard_state:?}");
            let decoded = Record::decode(ours[1 + HEADER], &ours[2 + HEADER..]).expect("decodes");
            assert_eq!(decoded, batch(entries, hard_state));
        }
    }

    fn arb_batch() -> impl Strategy<Value = (Vec<Entry>, Option<HardState>)> {
        let entry = (
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(term, index, conf, data)| Entry {
                term: Term(term >> (term % 64)),
                index: LogIndex(index >> (index % 64)),
                kind: if conf {
                    EntryKind::ConfChange
                } else {
                    EntryKind::Normal
                },
                data: Bytes::from(data),
            });
        let hs = prop::option::of(
            (any::<u64>(), prop::option::of(any::<u64>()), any::<u64>()).prop_map(
                |(term, vote, commit)| HardState {
                    term: Term(term >> 3),
                    vote: vote.map(NodeId),
                    commit: LogIndex(commit >> 40),
                },
            ),
        );
        (prop::collection::vec(entry, 0..5), hs)
    }

    proptest! {
        /// The hand-written batch reader takes nothing postcard refuses and
        /// reads what it takes as postcard does: on real batches, on
        /// batches with a byte changed or cut short, and on any bytes.
        #[test]
        fn the_batch_reader_agrees_with_postcard(
            (entries, hard_state) in arb_batch(),
            flip in any::<(prop::sample::Index, u8)>(),
            cut in any::<prop::sample::Index>(),
            noise in prop::collection::vec(any::<u8>(), 0..32),
        ) {
            let mut encoded = Vec::new();
            encode_batch(&entries, hard_state.as_ref(), &mut encoded);
            let payload = encoded[HEADER + 1..].to_vec();
            prop_assert_eq!(
                decode_batch(&Bytes::from(payload.clone()), 0..payload.len()),
                Some(batch(entries, hard_state))
            );
            let mut flipped = payload.clone();
            let at = flip.0.index(flipped.len());
            flipped[at] ^= flip.1;
            let short = payload[..cut.index(payload.len())].to_vec();
            for input in [flipped, short, noise] {
                let file = Bytes::from(input.clone());
                if let Some(fast) = decode_batch(&file, 0..input.len()) {
                    prop_assert_eq!(Ok(fast), Record::decode(KIND_BATCH, &input));
                }
                prop_assert_eq!(
                    Record::decode_in(KIND_BATCH, &file, 0..input.len()),
                    Record::decode(KIND_BATCH, &input)
                );
            }
        }
    }

    /// A WAL with five records, all synced; returns the records' offsets.
    fn written(fs: &mut SimFs) -> Vec<u64> {
        let records = [
            batch(vec![ent(1, 1), ent(2, 1), ent(3, 1)], None),
            batch(vec![], Some(hs(1, 2))),
            batch(vec![ent(3, 2), ent(4, 2)], None),
            Record::Snapshot {
                index: LogIndex(2),
                term: Term(1),
                install: false,
            },
            batch(vec![], Some(hs(2, 4))),
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
        let last = batch(vec![ent(5, 2)], None).encode();
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
        let mut last = batch(vec![ent(5, 2)], None).encode();
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
