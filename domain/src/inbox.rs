//! A member's inbox: which of its rooms changed, in the order they changed. Each commit in a room
//! gives the room a new version in the inbox of each of its members; versions of one member
//! only ever grow, so a version is an exact cursor, as a send_time is within a room.

use crate::error::InvalidInput;
use crate::member::Member;
use crate::message::StoredMessage;
use crate::page::Window;
use crate::read_marker::ReadState;

pub const DEFAULT_CHATS_LIMIT: usize = 20;

/// One inbox listing, checked: whose inbox and the window over its versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboxRequest {
    member: Member,
    window: Window,
}

/// A room as a member's inbox lists it: its version from its latest change, its newest message
/// and how far each member has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEntry {
    pub chat: String,
    pub version: i64,
    pub last_message: StoredMessage,
    pub read: ReadState,
}

/// What a listing returns; `next_cursor` follows the rules of a pull, with versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub chats: Vec<ChatEntry>,
    pub has_more: bool,
    pub next_cursor: i64,
}

impl InboxRequest {
    /// `limit` 0 means [`DEFAULT_CHATS_LIMIT`]; above 100 it is clamped to 100.
    pub fn parse(
        member: &str,
        cursor: i64,
        limit: i64,
        reverse: bool,
    ) -> Result<Self, InvalidInput> {
        if member.is_empty() {
            return Err(InvalidInput::Missing { field: "member" });
        }
        let member = Member::parse(member, "member")?;
        let window = Window::parse(cursor, limit, reverse, DEFAULT_CHATS_LIMIT)?;
        Ok(Self { member, window })
    }

    pub fn member(&self) -> &Member {
        &self.member
    }

    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Turns up to [`Window::rows_to_fetch`] entries, in walk order, into the listing.
    pub fn listing(&self, rows: Vec<ChatEntry>) -> Inbox {
        let (chats, has_more, next_cursor) = self.window.cut(rows, |entry| entry.version);
        Inbox {
            chats,
            has_more,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(versions: &[i64]) -> Vec<ChatEntry> {
        versions
            .iter()
            .map(|&version| ChatEntry {
                chat: "a:b".into(),
                version,
                last_message: StoredMessage::from_row(
                    &crate::Room::parse("a:b").unwrap(),
                    b"a",
                    "hi",
                    1,
                    None,
                )
                .unwrap(),
                read: ReadState::default(),
            })
            .collect()
    }

    #[test]
    fn limit_defaults_to_20_and_is_clamped_to_100() {
        let limit = |n| {
            InboxRequest::parse("al", 0, n, false)
                .unwrap()
                .window
                .limit()
        };
        assert_eq!(limit(0), 20);
        assert_eq!(limit(3), 3);
        assert_eq!(limit(1000), 100);
    }

    #[test]
    fn member_cursor_and_limit_are_checked() {
        assert_eq!(
            InboxRequest::parse("", 0, 0, false),
            Err(InvalidInput::Missing { field: "member" })
        );
        assert!(InboxRequest::parse("a:b", 0, 0, false).is_err());
        assert!(InboxRequest::parse(&"x".repeat(65), 0, 0, false).is_err());
        assert_eq!(
            InboxRequest::parse("al", -1, 0, false),
            Err(InvalidInput::NegativeCursor(-1))
        );
        assert_eq!(
            InboxRequest::parse("al", 0, -1, false),
            Err(InvalidInput::NegativeLimit(-1))
        );
    }

    #[test]
    fn listings_page_by_version() {
        let req = InboxRequest::parse("al", 0, 2, false).unwrap();
        let full = req.listing(entries(&[3, 5, 9]));
        assert_eq!(
            (full.chats.len(), full.has_more, full.next_cursor),
            (2, true, 9)
        );
        let last = req.listing(entries(&[3, 5]));
        assert_eq!((last.has_more, last.next_cursor), (false, 6));
        let empty = InboxRequest::parse("al", 7, 2, false)
            .unwrap()
            .listing(vec![]);
        assert_eq!((empty.has_more, empty.next_cursor), (false, 7));
        let newest_first = InboxRequest::parse("al", 0, 5, true).unwrap();
        assert_eq!(newest_first.listing(entries(&[9, 5])).next_cursor, 0);
    }
}
