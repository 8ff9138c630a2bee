use std::fmt;

use crate::error::{InvalidInput, preview};
use crate::member::Member;

/// A conversation between two members, whichever order a chat names them in:
/// `bob:al` and `al:bob` are the same room, whose key is `al:bob` (members sorted byte-wise).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Room {
    first: Member,
    second: Member,
    key: String,
}

impl Room {
    /// Parses a chat of the form `<member1>:<member2>`.
    pub fn parse(chat: &str) -> Result<Self, InvalidInput> {
        if chat.is_empty() {
            return Err(InvalidInput::Missing { field: "chat" });
        }
        let mut parts = chat.split(':');
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidInput::ChatShape(preview(chat)));
        };
        let (a, b) = (Member::parse(a, "chat")?, Member::parse(b, "chat")?);
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        let key = format!("{first}:{second}");
        Ok(Self { first, second, key })
    }

    /// The canonical `<first>:<second>` form, as stored and as returned in pulls.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Its members, each once (a self-chat has one).
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        let second = (self.second != self.first).then_some(&self.second);
        std::iter::once(&self.first).chain(second)
    }

    pub fn has_member(&self, member: &Member) -> bool {
        *member == self.first || *member == self.second
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_name_the_same_room() {
        let a = Room::parse("bob:al").unwrap();
        let b = Room::parse("al:bob").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key(), "al:bob");
    }

    #[test]
    fn members_sort_byte_wise_not_by_case_or_locale() {
        // 'B' (0x42) sorts before 'a' (0x61).
        assert_eq!(Room::parse("a:B").unwrap().key(), "B:a");
        assert_ne!(
            Room::parse("Al:bob").unwrap(),
            Room::parse("al:bob").unwrap()
        );
    }

    #[test]
    fn a_member_may_talk_to_itself() {
        let room = Room::parse("al:al").unwrap();
        assert_eq!(room.key(), "al:al");
        assert!(room.has_member(&Member::parse("al", "sender").unwrap()));
        assert_eq!(room.members().count(), 1);
        let pair: Vec<_> = Room::parse("bob:al")
            .unwrap()
            .members()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(pair, ["al", "bob"]);
    }

    #[test]
    fn needs_exactly_two_members() {
        assert_eq!(
            Room::parse(""),
            Err(InvalidInput::Missing { field: "chat" })
        );
        for bad in ["al", "al:bob:cy", "al::bob"] {
            assert!(
                matches!(Room::parse(bad), Err(InvalidInput::ChatShape(_))),
                "{bad}"
            );
        }
        for bad in [":bob", "al:", "al :bob", "al:b\u{0}b"] {
            assert!(Room::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn membership_is_exact() {
        let room = Room::parse("al:bob").unwrap();
        assert!(room.has_member(&Member::parse("bob", "sender").unwrap()));
        assert!(!room.has_member(&Member::parse("Bob", "sender").unwrap()));
        assert!(!room.has_member(&Member::parse("cy", "sender").unwrap()));
    }
}
