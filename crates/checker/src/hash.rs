//! Deterministic 64-bit hashing: entry payload hashes, the log hash chain, and a
//! fixed-seed `Hasher` for hash-based caches.
//!
//! This module owns the chain definition used by every log comparison:
//! `chain(i) = H(chain(i - 1), i, term(i), data_hash(entry i))`, with
//! `chain(0) = CHAIN_ROOT`. Equal chains at an index mean (up to a 64-bit
//! collision) identical entries there and identical prefixes. It must never use a
//! process-random seed (`RandomState`): every run hashes identically.

use raft_core::{Entry, EntryKind, LogIndex, Term};
use std::hash::{BuildHasherDefault, Hasher};

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The chain value of the empty prefix (index 0).
pub(crate) const CHAIN_ROOT: u64 = FNV_OFFSET_BASIS;

/// FNV-1a 64. Deterministic on every platform and run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(FNV_OFFSET_BASIS)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Little-endian on every platform (the default would use native order).
    fn write_u64(&mut self, value: u64) {
        self.write(&value.to_le_bytes());
    }
}

/// A `BuildHasher` for `HashMap`/`HashSet` used only for lookups (never iterated
/// into output): fixed seed, so even their performance is reproducible.
pub(crate) type FixedState = BuildHasherDefault<Fnv64>;

/// The hash of an entry's payload (its kind and data), independent of its
/// position: word by word (the length first, so that the zero-padded last
/// word is unambiguous), each word mixed in by the splitmix64 finalizer.
pub(crate) fn data_hash(entry: &Entry) -> u64 {
    let kind: u64 = match entry.kind {
        EntryKind::Normal => 0,
        EntryKind::ConfChange => 1,
    };
    let data = &entry.data[..];
    let mut h = avalanche(FNV_OFFSET_BASIS ^ (data.len() as u64) ^ (kind << 63));
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = avalanche(h ^ u64::from_le_bytes(word));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = avalanche(h ^ u64::from_le_bytes(word));
    }
    h
}

/// The chain value at `index` given the chain value at `index - 1`.
pub(crate) fn chain(prev: u64, index: LogIndex, term: Term, data_hash: u64) -> u64 {
    // Word by word: each word is folded in and mixed by the splitmix64
    // finalizer (a bijection), four rounds where a byte-wise hash would
    // take 32. Runs for every entry every node writes.
    let h = avalanche(prev ^ 0x9e37_79b9_7f4a_7c15);
    let h = avalanche(h ^ index.0);
    let h = avalanche(h ^ term.0.rotate_left(32));
    avalanche(h ^ data_hash)
}

/// A stand-in chain value for a compacted prefix the checker cannot vouch for.
pub(crate) fn opaque_prefix(index: LogIndex, term: Term) -> u64 {
    chain(!CHAIN_ROOT, index, term, 0)
}

pub(crate) fn avalanche(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            term: Term(term),
            index: LogIndex(index),
            kind: EntryKind::Normal,
            data: data.to_vec().into(),
        }
    }

    #[test]
    fn chain_depends_on_every_part() {
        let e = entry(1, 1, b"a");
        let base = chain(CHAIN_ROOT, e.index, e.term, data_hash(&e));
        assert_eq!(base, chain(CHAIN_ROOT, e.index, e.term, data_hash(&e)));
        assert_ne!(base, chain(CHAIN_ROOT ^ 1, e.index, e.term, data_hash(&e)));
        assert_ne!(base, chain(CHAIN_ROOT, LogIndex(2), e.term, data_hash(&e)));
        assert_ne!(base, chain(CHAIN_ROOT, e.index, Term(2), data_hash(&e)));
        assert_ne!(data_hash(&e), data_hash(&entry(1, 1, b"b")));
        let conf = Entry {
            kind: EntryKind::ConfChange,
            ..e.clone()
        };
        assert_ne!(data_hash(&e), data_hash(&conf));
    }

    #[test]
    fn fnv_matches_reference_vector() {
        let mut h = Fnv64::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
