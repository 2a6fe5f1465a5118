//! Client operations, their results, and the replicated command format.

use serde::{Deserialize, Serialize};

use crate::KvError;

/// A client's operation on string keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set `key` to `value`, replacing any previous value. Returns [`OpResult::Ok`].
    Put {
        /// The key to write.
        key: String,
        /// The new value.
        value: String,
    },
    /// Read `key`. Returns [`OpResult::Value`].
    Get {
        /// The key to read.
        key: String,
    },
    /// Append `value` to the string at `key` (an absent key counts as `""`).
    /// Returns [`OpResult::Ok`].
    Append {
        /// The key to extend.
        key: String,
        /// The suffix to append.
        value: String,
    },
    /// Compare-and-set: write `new` only if the current value equals `expected`.
    /// Returns [`OpResult::CasOk`] or [`OpResult::CasFailed`].
    Cas {
        /// The key to test and write.
        key: String,
        /// The required current value; `None` means the key must be absent.
        expected: Option<String>,
        /// The value written on success.
        new: String,
    },
}

/// What an applied op returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// A put or append ran.
    Ok,
    /// A get's answer: the value, or `None` if the key was absent.
    Value(Option<String>),
    /// A compare-and-set matched and wrote its new value.
    CasOk,
    /// A compare-and-set did not match; nothing was written.
    CasFailed {
        /// The value found instead of the expected one (`None` if absent).
        current: Option<String>,
    },
}

/// A command as replicated through the log: the op plus its client session.
///
/// `seq` numbers a client's operations; a client retries an op with the *same* `seq`
/// and uses a larger `seq` only after it has received the previous op's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The session (client) that issued the op.
    pub client_id: u64,
    /// The op's sequence number within the client's session.
    pub seq: u64,
    /// The operation itself.
    pub op: Op,
}

impl Command {
    /// Encodes the command as the bytes stored in a log entry (postcard's
    /// compact serde binary encoding: a few bytes per field, fast to decode
    /// on every replica). Never empty.
    pub fn encode(&self) -> Vec<u8> {
        // Written by hand into one allocation of the exact size (every
        // client op is encoded once): a property test holds it to the bytes
        // postcard makes of the same command.
        let strings = |op: &Op| -> usize {
            let s = |t: &str| varint_len(t.len() as u64) + t.len();
            match op {
                Op::Put { key, value } | Op::Append { key, value } => s(key) + s(value),
                Op::Get { key } => s(key),
                Op::Cas { key, expected, new } => {
                    s(key) + 1 + expected.as_deref().map_or(0, s) + s(new)
                }
            }
        };
        let len = varint_len(self.client_id) + varint_len(self.seq) + 1 + strings(&self.op);
        let mut out = Vec::with_capacity(len);
        put_varint(&mut out, self.client_id);
        put_varint(&mut out, self.seq);
        match &self.op {
            Op::Put { key, value } => {
                out.push(0);
                put_str(&mut out, key);
                put_str(&mut out, value);
            }
            Op::Get { key } => {
                out.push(1);
                put_str(&mut out, key);
            }
            Op::Append { key, value } => {
                out.push(2);
                put_str(&mut out, key);
                put_str(&mut out, value);
            }
            Op::Cas { key, expected, new } => {
                out.push(3);
                put_str(&mut out, key);
                match expected {
                    None => out.push(0),
                    Some(expected) => {
                        out.push(1);
                        put_str(&mut out, expected);
                    }
                }
                put_str(&mut out, new);
            }
        }
        debug_assert_eq!(out.len(), len);
        out
    }

    /// Decodes bytes produced by [`Command::encode`].
    ///
    /// # Errors
    /// [`KvError::Decode`] if the bytes are not an encoded command.
    pub fn decode(bytes: &[u8]) -> Result<Command, KvError> {
        let CommandRef { client_id, seq, op } = CommandRef::decode(bytes)?;
        let op = match op {
            OpRef::Put { key, value } => Op::Put {
                key: key.to_owned(),
                value: value.to_owned(),
            },
            OpRef::Get { key } => Op::Get {
                key: key.to_owned(),
            },
            OpRef::Append { key, value } => Op::Append {
                key: key.to_owned(),
                value: value.to_owned(),
            },
            OpRef::Cas { key, expected, new } => Op::Cas {
                key: key.to_owned(),
                expected: expected.map(str::to_owned),
                new: new.to_owned(),
            },
        };
        Ok(Command { client_id, seq, op })
    }
}

/// A decoded command whose strings borrow the encoded bytes (the store
/// applies it without allocating what it does not keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CommandRef<'a> {
    pub(crate) client_id: u64,
    pub(crate) seq: u64,
    pub(crate) op: OpRef<'a>,
}

/// An [`Op`] whose strings borrow the encoded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpRef<'a> {
    Put {
        key: &'a str,
        value: &'a str,
    },
    Get {
        key: &'a str,
    },
    Append {
        key: &'a str,
        value: &'a str,
    },
    Cas {
        key: &'a str,
        expected: Option<&'a str>,
        new: &'a str,
    },
}

impl<'a> CommandRef<'a> {
    /// Decodes bytes produced by [`Command::encode`].
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<CommandRef<'a>, KvError> {
        // Every replica decodes every command it applies, so this reads the
        // postcard encoding directly (the same bytes postcard accepts, with
        // the same values: a property test holds it to postcard) instead of
        // going through serde's visitors, several times faster.
        let mut r = Reader { bytes, at: 0 };
        let client_id = r.varint_u64()?;
        let seq = r.varint_u64()?;
        let op = match r.varint_u32()? {
            0 => OpRef::Put {
                key: r.string()?,
                value: r.string()?,
            },
            1 => OpRef::Get { key: r.string()? },
            2 => OpRef::Append {
                key: r.string()?,
                value: r.string()?,
            },
            3 => OpRef::Cas {
                key: r.string()?,
                expected: match r.byte()? {
                    0 => None,
                    1 => Some(r.string()?),
                    tag => return Err(decode_error(format!("bad option tag {tag}"))),
                },
                new: r.string()?,
            },
            variant => return Err(decode_error(format!("unknown op variant {variant}"))),
        };
        Ok(CommandRef { client_id, seq, op })
    }
}

/// Bytes of `v` as a LEB128 varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn decode_error(message: String) -> KvError {
    KvError::Decode(message)
}

/// A cursor over an encoded command (postcard's wire format: LEB128
/// varints, strings as a varint length and UTF-8 bytes, an option as a
/// 0/1 tag, an enum as a varint variant index).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn byte(&mut self) -> Result<u8, KvError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| decode_error("unexpected end of input".into()))?;
        self.at += 1;
        Ok(b)
    }

    /// A varint of at most `max_bytes` bytes whose last byte holds at most
    /// `last_max` (the bits that still fit), as postcard requires.
    #[inline]
    fn varint(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, KvError> {
        // Most varints here are one byte: a length, a small id or seq.
        if let Some(&b) = self.bytes.get(self.at) {
            if b & 0x80 == 0 {
                self.at += 1;
                return Ok(u64::from(b));
            }
        }
        let mut out = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i == max_bytes - 1 && b > last_max {
                    break;
                }
                return Ok(out);
            }
        }
        Err(decode_error("bad varint".into()))
    }

    fn varint_u64(&mut self) -> Result<u64, KvError> {
        self.varint(10, 1)
    }

    fn varint_u32(&mut self) -> Result<u32, KvError> {
        // At most 32 bits: five bytes, the last holding four.
        self.varint(5, 15).map(|v| v as u32)
    }

    fn string(&mut self) -> Result<&'a str, KvError> {
        let len = self.varint_u64()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| decode_error("unexpected end of input".into()))?;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|_| decode_error("a string is not UTF-8".into()))?;
        self.at = end;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn every_op_kind() -> Vec<Op> {
        vec![
            Op::Put {
                key: "k".into(),
                value: "v".into(),
            },
            Op::Get { key: "k".into() },
            Op::Append {
                key: "k".into(),
                value: "\u{e9}\"\n".into(),
            },
            Op::Cas {
                key: "k".into(),
                expected: None,
                new: "n".into(),
            },
            Op::Cas {
                key: "".into(),
                expected: Some("old".into()),
                new: "".into(),
            },
        ]
    }

    #[test]
    fn encode_decode_round_trips_every_op_kind() {
        for (seq, op) in every_op_kind().into_iter().enumerate() {
            let cmd = Command {
                client_id: u64::MAX,
                seq: seq as u64,
                op,
            };
            let bytes = cmd.encode();
            assert!(
                !bytes.is_empty(),
                "an encoded command must not look like a no-op"
            );
            assert_eq!(Command::decode(&bytes), Ok(cmd));
        }
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        // Short strings, and some whose length takes a two-byte varint.
        let text = || {
            let short = prop::string::string_regex(".{0,12}").expect("a valid regex");
            let long = prop::string::string_regex(".{130,140}").expect("a valid regex");
            prop_oneof![4 => short, 1 => long]
        };
        prop_oneof![
            (text(), text()).prop_map(|(key, value)| Op::Put { key, value }),
            text().prop_map(|key| Op::Get { key }),
            (text(), text()).prop_map(|(key, value)| Op::Append { key, value }),
            (text(), prop::option::of(text()), text()).prop_map(|(key, expected, new)| Op::Cas {
                key,
                expected,
                new
            }),
        ]
    }

    fn command_strategy() -> impl Strategy<Value = Command> {
        (any::<u64>(), any::<u64>(), op_strategy()).prop_map(|(client_id, seq, op)| Command {
            client_id,
            seq,
            op,
        })
    }

    /// What postcard itself makes of `bytes`.
    fn postcard_decode(bytes: &[u8]) -> Option<Command> {
        postcard::from_bytes(bytes).ok()
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(cmd in command_strategy()) {
            prop_assert_eq!(Command::decode(&cmd.encode()), Ok(cmd));
        }

        /// The hand-written encoder makes postcard's bytes.
        #[test]
        fn encode_agrees_with_postcard(cmd in command_strategy(), big in any::<(u64, u64)>()) {
            let wide = Command { client_id: big.0, seq: big.1 >> (big.0 % 64), ..cmd.clone() };
            for c in [cmd, wide] {
                prop_assert_eq!(c.encode(), postcard::to_allocvec(&c).unwrap());
            }
        }

        /// The hand-written decoder accepts exactly what postcard accepts,
        /// with the same value: on encodings cut short, with a byte
        /// changed or bytes added, and on any bytes at all.
        #[test]
        fn decode_agrees_with_postcard(
            cmd in command_strategy(),
            cut in any::<prop::sample::Index>(),
            flip in any::<(prop::sample::Index, u8)>(),
            extra in prop::collection::vec(any::<u8>(), 0..4),
            noise in prop::collection::vec(any::<u8>(), 0..24),
        ) {
            let bytes = cmd.encode();
            let mut flipped = bytes.clone();
            let at = flip.0.index(flipped.len());
            flipped[at] ^= flip.1;
            let mut longer = bytes.clone();
            longer.extend(&extra);
            let short = &bytes[..cut.index(bytes.len())];
            for input in [&bytes[..], short, &flipped, &longer, &noise] {
                prop_assert_eq!(Command::decode(input).ok(), postcard_decode(input), "{:?}", input);
            }
        }
    }

    #[test]
    fn decode_rejects_garbage() {
        for garbage in [&b"\xff\x00"[..], b"{}", b"null", b"{\"client_id\":1}"] {
            assert!(
                matches!(Command::decode(garbage), Err(KvError::Decode(_))),
                "{garbage:?} decoded"
            );
        }
    }
}
