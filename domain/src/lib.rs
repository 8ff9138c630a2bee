//! The IM vocabulary, parsed once at the edge: a value of these types is valid by construction,
//! so code behind the edge never checks again.

mod client_msg_id;
mod codes;
mod error;
mod inbox;
mod member;
mod message;
mod page;
mod read_marker;
mod room;
mod text;

pub use client_msg_id::ClientMsgId;
pub use codes::ErrorCode;
pub use error::InvalidInput;
pub use inbox::{ChatEntry, DEFAULT_CHATS_LIMIT, Inbox, InboxRequest};
pub use member::Member;
pub use message::{NewMessage, StoredMessage};
pub use page::{Direction, Page, PageRequest, Window, parse_wait};
pub use read_marker::{MAX_UNREAD, MarkRead, ReadState};
pub use room::Room;
pub use text::MessageText;
