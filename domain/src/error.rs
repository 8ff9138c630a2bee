use thiserror::Error;

/// Why a request was refused. The messages are shown to API users as they are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is not valid UTF-8")]
    NotUtf8 { field: &'static str },
    #[error("{field}: a member id must be 1 to 64 bytes, got {len}")]
    MemberLength { field: &'static str, len: usize },
    #[error(
        "{field}: member id {member:?} contains {found:?}; ':', whitespace and control characters are not allowed"
    )]
    MemberCharacter {
        field: &'static str,
        member: String,
        found: char,
    },
    #[error("chat must be \"<member1>:<member2>\" with exactly one ':', got {0:?}")]
    ChatShape(String),
    #[error("sender {sender:?} is not a member of chat {chat:?}")]
    SenderNotInChat { sender: String, chat: String },
    #[error("member {member:?} is not a member of chat {chat:?}")]
    MemberNotInChat { member: String, chat: String },
    #[error("text must be 1 to 4096 characters, got {0}")]
    TextLength(usize),
    #[error("text must not be only whitespace")]
    BlankText,
    #[error("text must not contain NUL characters")]
    NulInText,
    #[error("client_msg_id must be 1 to 64 printable ASCII characters, got {0:?}")]
    ClientMsgId(String),
    #[error("cursor must be 0 or more, got {0}")]
    NegativeCursor(i64),
    #[error("limit must be 0 or more, got {0}")]
    NegativeLimit(i64),
    #[error("wait_ms must be 0 or more, got {0}")]
    NegativeWait(i64),
    #[error("read_up_to must be 0 or more, got {0}")]
    NegativeReadUpTo(i64),
}

/// Echoes user input in an error message without echoing a megabyte of it.
pub(crate) fn preview(raw: &str) -> String {
    const MAX_CHARS: usize = 80;
    match raw.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}
