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
    /// Encodes the command as the bytes stored in a log entry (compact serde
    /// binary encoding, postcard: a few bytes per field, fast to decode on every
    /// replica). Never empty.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self)
            .expect("a Command holds only integers and strings, so encoding cannot fail")
    }

    /// Decodes bytes produced by [`Command::encode`].
    ///
    /// # Errors
    /// [`KvError::Decode`] if the bytes are not an encoded command.
    pub fn decode(bytes: &[u8]) -> Result<Command, KvError> {
        postcard::from_bytes(bytes).map_err(|err| KvError::Decode(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
