//! A hand-written FNV-1a 64 hasher with a canonical, length-prefixed encoding.
//!
//! Written out here (rather than using `std::hash`) so that digests are identical on every
//! platform, Rust version and run: integers are hashed as little-endian bytes, strings as a
//! `u64` length followed by their UTF-8 bytes, and options as a tag byte then the value.

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Streaming FNV-1a 64 over a canonical encoding of the values written to it.
#[derive(Clone, Debug)]
pub(crate) struct Fnv1a64 {
    state: u64,
}

impl Fnv1a64 {
    /// A hasher that has seen no bytes.
    pub(crate) fn new() -> Self {
        Fnv1a64 {
            state: FNV_OFFSET_BASIS,
        }
    }

    /// Hashes raw bytes with no length prefix.
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state ^= u64::from(byte);
            self.state = self.state.wrapping_mul(FNV_PRIME);
        }
    }

    /// Hashes one tag byte.
    pub(crate) fn write_u8(&mut self, value: u8) {
        self.write_raw(&[value]);
    }

    /// Hashes an integer as 8 little-endian bytes.
    pub(crate) fn write_u64(&mut self, value: u64) {
        self.write_raw(&value.to_le_bytes());
    }

    /// Hashes a length (a `usize`) as a `u64`, so 32- and 64-bit targets agree.
    pub(crate) fn write_len(&mut self, len: usize) {
        // usize is at most 64 bits on every supported target.
        self.write_u64(len as u64);
    }

    /// Hashes a string as its byte length followed by its UTF-8 bytes.
    pub(crate) fn write_str(&mut self, value: &str) {
        self.write_len(value.len());
        self.write_raw(value.as_bytes());
    }

    /// Hashes `None` as tag 0 and `Some(s)` as tag 1 followed by the string.
    pub(crate) fn write_opt_str(&mut self, value: Option<&str>) {
        match value {
            None => self.write_u8(0),
            Some(text) => {
                self.write_u8(1);
                self.write_str(text);
            }
        }
    }

    /// The digest of everything written so far.
    pub(crate) fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv_of_raw(bytes: &[u8]) -> u64 {
        let mut hasher = Fnv1a64::new();
        hasher.write_raw(bytes);
        hasher.finish()
    }

    #[test]
    fn matches_published_fnv1a64_test_vectors() {
        assert_eq!(fnv_of_raw(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv_of_raw(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv_of_raw(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn length_prefix_separates_adjacent_strings() {
        let digest_of = |parts: &[&str]| {
            let mut hasher = Fnv1a64::new();
            parts.iter().for_each(|part| hasher.write_str(part));
            hasher.finish()
        };
        assert_ne!(digest_of(&["ab", "c"]), digest_of(&["a", "bc"]));
    }

    #[test]
    fn none_differs_from_empty_string() {
        let digest_of = |value: Option<&str>| {
            let mut hasher = Fnv1a64::new();
            hasher.write_opt_str(value);
            hasher.finish()
        };
        assert_ne!(digest_of(None), digest_of(Some("")));
    }
}
