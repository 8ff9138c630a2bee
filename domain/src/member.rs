use std::fmt;

use crate::error::{InvalidInput, preview};

pub const MAX_MEMBER_BYTES: usize = 64;

/// A member id: 1 to 64 bytes of UTF-8 without ':', whitespace or control characters.
/// Compared byte for byte, so `Al` and `al` are different members.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member(String);

impl Member {
    /// `field` names the request field the id came from, for the error message.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > MAX_MEMBER_BYTES {
            return Err(InvalidInput::MemberLength {
                field,
                len: raw.len(),
            });
        }
        if let Some(found) = raw
            .chars()
            .find(|c| *c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(InvalidInput::MemberCharacter {
                field,
                member: preview(raw),
                found,
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_up_to_64_bytes() {
        assert!(Member::parse("al", "sender").is_ok());
        assert!(Member::parse("张三", "sender").is_ok());
        assert!(Member::parse(&"x".repeat(64), "sender").is_ok());
        // 16 four-byte emoji are exactly 64 bytes.
        assert!(Member::parse(&"😀".repeat(16), "sender").is_ok());
    }

    #[test]
    fn length_is_counted_in_bytes() {
        assert_eq!(
            Member::parse(&"x".repeat(65), "sender"),
            Err(InvalidInput::MemberLength {
                field: "sender",
                len: 65
            })
        );
        assert!(Member::parse(&"😀".repeat(17), "sender").is_err());
        assert!(Member::parse("", "sender").is_err());
    }

    #[test]
    fn rejects_colon_whitespace_and_control_characters() {
        for bad in [
            "a:b",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{3000}b",
            "a\u{a0}b",
        ] {
            assert!(
                matches!(
                    Member::parse(bad, "sender"),
                    Err(InvalidInput::MemberCharacter { .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn members_are_case_sensitive() {
        assert_ne!(
            Member::parse("Al", "sender").unwrap(),
            Member::parse("al", "sender").unwrap()
        );
    }
}
