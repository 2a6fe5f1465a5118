//! A snapshot of the whole store: its data, its client sessions and its
//! applied index, with a checksum, and the store rebuilt from one.
//!
//! The format: the magic `KVSNAP1\0`, a postcard-encoded body (the applied
//! index, the key/value pairs in key order, the sessions in client order),
//! then the CRC-32C of magic and body, little-endian. A restored
//! store has the digest of the store it was taken from (the digest covers
//! data and sessions), so it equals a store that applied the same entries.
//! Restoring refuses anything else: a wrong magic or checksum, a body that
//! does not decode or has bytes left over, keys or sessions out of order or
//! repeated.
//!
//! ```
//! use kv::{Command, KvStore, Op};
//!
//! let mut store = KvStore::new();
//! let put = Command { client_id: 1, seq: 1, op: Op::Put { key: "k".into(), value: "v".into() } };
//! store.apply(1, &put.encode()).expect("the next index");
//! let snapshot = store.snapshot();
//! let restored = KvStore::restore(&snapshot).expect("a valid snapshot");
//! assert_eq!((restored.digest(), restored.applied_index()), (store.digest(), 1));
//! let mut corrupt = snapshot.clone();
//! corrupt[10] ^= 1;
//! assert!(KvStore::restore(&corrupt).is_err());
//! ```

use super::{KvStore, Session};
use crate::OpResult;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

const MAGIC: &[u8; 8] = b"KVSNAP1\0";

/// Why bytes are not a snapshot of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a kv snapshot: {}", self.0)
    }
}

impl std::error::Error for SnapshotError {}

fn err<T>(message: impl Into<String>) -> Result<T, SnapshotError> {
    Err(SnapshotError(message.into()))
}

#[derive(Serialize, Deserialize)]
struct Body {
    applied_index: u64,
    data: Vec<(String, String)>,
    /// (client id, last applied seq, its result).
    sessions: Vec<(u64, u64, OpResult)>,
}

fn checksum(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// The body as written, borrowing the store (nothing is copied): postcard
/// encodes a map as a length and its pairs, exactly as it encodes
/// [`Body`]'s vectors of tuples, so [`KvStore::restore`] reads it as a `Body`.
#[derive(Serialize)]
struct BodyRef<'a> {
    applied_index: u64,
    data: &'a BTreeMap<String, String>,
    sessions: SessionsRef<'a>,
}

/// The sessions as a sequence of (client id, last seq, its result).
struct SessionsRef<'a>(&'a BTreeMap<u64, Session>);

impl Serialize for SessionsRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (id, s) in self.0 {
            seq.serialize_element(&(id, s.last_seq, &s.last_result))?;
        }
        seq.end()
    }
}

impl KvStore {
    /// The whole store as bytes (see the module docs for the format).
    #[must_use]
    pub fn snapshot(&self) -> Vec<u8> {
        let body = BodyRef {
            applied_index: self.applied_index,
            data: &self.data,
            sessions: SessionsRef(&self.sessions),
        };
        let mut out = Vec::with_capacity(64 + 16 * (self.data.len() + self.sessions.len()));
        out.extend_from_slice(MAGIC);
        // Strings and integers only: encoding cannot fail.
        out = postcard::to_extend(&body, out).unwrap_or_default();
        let sum = checksum(&out);
        out.extend(sum.to_le_bytes());
        out
    }

    /// The store a snapshot holds.
    ///
    /// # Errors
    /// [`SnapshotError`] if the bytes are not a snapshot this format
    /// writes, whole and unaltered.
    pub fn restore(bytes: &[u8]) -> Result<KvStore, SnapshotError> {
        if bytes.len() < MAGIC.len() + 4 {
            return err(format!("{} bytes, too short", bytes.len()));
        }
        let (covered, sum) = bytes.split_at(bytes.len() - 4);
        if &covered[..MAGIC.len()] != MAGIC {
            return err("bad magic");
        }
        let mut stored = [0u8; 4];
        stored.copy_from_slice(sum);
        if u32::from_le_bytes(stored) != checksum(covered) {
            return err("checksum mismatch");
        }
        let (body, rest): (Body, _) = postcard::take_from_bytes(&covered[MAGIC.len()..])
            .map_err(|e| SnapshotError(format!("body: {e}")))?;
        if !rest.is_empty() {
            return err(format!("{} bytes after the body", rest.len()));
        }
        if body.data.windows(2).any(|w| w[0].0 >= w[1].0) {
            return err("keys out of order or repeated");
        }
        if body.sessions.windows(2).any(|w| w[0].0 >= w[1].0) {
            return err("sessions out of order or repeated");
        }
        Ok(KvStore {
            data: body.data.into_iter().collect(),
            sessions: body
                .sessions
                .into_iter()
                .map(|(id, last_seq, last_result)| {
                    (
                        id,
                        Session {
                            last_seq,
                            last_result,
                        },
                    )
                })
                .collect(),
            applied_index: body.applied_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot of `body`, with a valid magic and checksum.
    fn sealed(body: &Body) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(postcard::to_allocvec(body).expect("encodes"));
        let sum = checksum(&out);
        out.extend(sum.to_le_bytes());
        out
    }

    #[test]
    fn keys_or_sessions_out_of_order_are_refused_even_with_a_valid_checksum() {
        let pair = |k: &str| (k.to_string(), "v".to_string());
        let ok = Body {
            applied_index: 3,
            data: vec![pair("a"), pair("b")],
            sessions: vec![(1, 1, OpResult::Ok), (2, 5, OpResult::CasOk)],
        };
        assert!(KvStore::restore(&sealed(&ok)).is_ok());
        let unsorted = Body {
            data: vec![pair("b"), pair("a")],
            ..ok
        };
        let e = KvStore::restore(&sealed(&unsorted)).expect_err("keys out of order");
        assert!(e.0.contains("keys"), "{e}");
        let repeated = Body {
            applied_index: 3,
            data: vec![pair("a")],
            sessions: vec![(1, 1, OpResult::Ok), (1, 2, OpResult::Ok)],
        };
        let e = KvStore::restore(&sealed(&repeated)).expect_err("a session twice");
        assert!(e.0.contains("sessions"), "{e}");
    }
}
