use std::fmt;

use crate::error::{InvalidInput, preview};

pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;

/// The id a client gives a message so that sending it again stores nothing new: 1 to 64
/// printable ASCII bytes (space to `~`), scoped to (room, sender).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let printable = raw.bytes().all(|b| (b' '..=b'~').contains(&b));
        if raw.is_empty() || raw.len() > MAX_CLIENT_MSG_ID_BYTES || !printable {
            return Err(InvalidInput::ClientMsgId(preview(raw)));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_1_to_64_printable_ascii_bytes() {
        assert!(ClientMsgId::parse("a").is_ok());
        assert!(ClientMsgId::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
        assert!(ClientMsgId::parse("with space ~!").is_ok());
        assert!(ClientMsgId::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn refuses_empty_long_control_and_non_ascii_ids() {
        for bad in ["", &"x".repeat(65), "tab\there", "new\nline", "é", "nul\0"] {
            assert_eq!(
                ClientMsgId::parse(bad),
                Err(InvalidInput::ClientMsgId(preview(bad))),
                "{bad:?}"
            );
        }
    }
}
