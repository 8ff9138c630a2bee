//! A member's read marker in a room: how far it has read, as a send_time. It only moves
//! forward, never past the room's newest message; the store applies both rules, this type
//! only holds a checked request.

use crate::error::{InvalidInput, preview};
use crate::member::Member;
use crate::room::Room;

/// Most messages an inbox entry counts as unread; the count says "this many or more" there.
pub const MAX_UNREAD: i32 = 100;

/// A request to move a marker, checked: the member belongs to the room, the value is not
/// negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    room: Room,
    member: Member,
    read_up_to: i64,
}

impl MarkRead {
    pub fn parse(chat: &str, member: &str, read_up_to: i64) -> Result<Self, InvalidInput> {
        let room = Room::parse(chat)?;
        if member.is_empty() {
            return Err(InvalidInput::Missing { field: "member" });
        }
        let member = Member::parse(member, "member")?;
        if !room.has_member(&member) {
            return Err(InvalidInput::MemberNotInChat {
                member: preview(member.as_str()),
                chat: preview(chat),
            });
        }
        if read_up_to < 0 {
            return Err(InvalidInput::NegativeReadUpTo(read_up_to));
        }
        Ok(Self {
            room,
            member,
            read_up_to,
        })
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    pub fn member(&self) -> &Member {
        &self.member
    }

    pub fn read_up_to(&self) -> i64 {
        self.read_up_to
    }

    /// Whether the member is the room's first (its marker is the room's first).
    pub fn is_first(&self) -> bool {
        self.room.members().next() == Some(&self.member)
    }
}

/// How far each member of a room has read, as an inbox entry of one of them shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadState {
    /// The other member's messages after this member's marker, at most [`MAX_UNREAD`].
    pub unread: i32,
    /// This member's marker, 0 if none.
    pub read_up_to: i64,
    /// The other member's marker (in a self-chat, the member's own), 0 if none.
    pub peer_read_up_to: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_member_of_the_chat_marks_it() {
        let mark = MarkRead::parse("bob:al", "bob", 7).unwrap();
        assert_eq!(mark.room().key(), "al:bob");
        assert!(!mark.is_first());
        assert!(MarkRead::parse("al:bob", "al", 0).unwrap().is_first());
        assert!(matches!(
            MarkRead::parse("al:bob", "cy", 1),
            Err(InvalidInput::MemberNotInChat { .. })
        ));
        assert_eq!(
            MarkRead::parse("al:bob", "", 1),
            Err(InvalidInput::Missing { field: "member" })
        );
        assert!(MarkRead::parse("al", "al", 1).is_err());
    }

    #[test]
    fn a_negative_marker_is_refused() {
        assert_eq!(
            MarkRead::parse("al:bob", "al", -1),
            Err(InvalidInput::NegativeReadUpTo(-1))
        );
    }

    #[test]
    fn in_a_self_chat_the_member_is_first() {
        assert!(MarkRead::parse("al:al", "al", 3).unwrap().is_first());
    }
}
