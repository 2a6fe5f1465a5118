//! Errors returned by the state machine.

use std::fmt;

/// Why an entry could not be applied (or decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// The entry's bytes are not a valid [`Command`](crate::Command); the message is the
    /// decoder's description. When returned by [`KvStore::apply`](crate::KvStore::apply) the
    /// entry's index still counts as applied.
    Decode(String),
    /// The entry's index is not the one right after the applied index; nothing was applied.
    OutOfOrder {
        /// The only index the store would accept next.
        expected: u64,
        /// The index that was offered.
        got: u64,
    },
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::Decode(message) => write!(f, "cannot decode command: {message}"),
            KvError::OutOfOrder { expected, got } => {
                write!(
                    f,
                    "entry index out of order: expected {expected}, got {got}"
                )
            }
        }
    }
}

impl std::error::Error for KvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_indices_and_the_decoder_message() {
        let out_of_order = KvError::OutOfOrder {
            expected: 4,
            got: 6,
        };
        assert_eq!(
            out_of_order.to_string(),
            "entry index out of order: expected 4, got 6"
        );
        let decode = KvError::Decode("bad json".to_owned());
        assert_eq!(decode.to_string(), "cannot decode command: bad json");
    }
}
