//! The JSON shapes of idl_http.proto that the server writes.

use im_idl::{ChatEntry, Message};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct MessageJson {
    pub chat: String,
    pub text: String,
    pub sender: String,
    pub send_time: i64,
    /// Only on messages sent with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

impl From<Message> for MessageJson {
    fn from(msg: Message) -> Self {
        Self {
            chat: msg.chat.unwrap_or_default().to_string(),
            text: msg.text.unwrap_or_default().to_string(),
            sender: msg.sender.unwrap_or_default().to_string(),
            send_time: msg.send_time.unwrap_or_default(),
            client_msg_id: msg.client_msg_id.map(|id| id.to_string()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SendReply {
    pub message: Option<MessageJson>,
    /// True when client_msg_id named a message stored before: nothing new was stored.
    pub duplicate: bool,
}

#[derive(Debug, Serialize)]
pub struct PullReply {
    pub messages: Vec<MessageJson>,
    pub has_more: bool,
    pub next_cursor: i64,
}

#[derive(Debug, Serialize)]
pub struct ChatJson {
    pub chat: String,
    pub version: i64,
    pub last_message: MessageJson,
    /// The other member's messages after `read_up_to`, exact up to 100 (100: 100 or more).
    pub unread: i32,
    pub read_up_to: i64,
    pub peer_read_up_to: i64,
}

impl From<ChatEntry> for ChatJson {
    fn from(entry: ChatEntry) -> Self {
        Self {
            chat: entry.chat.to_string(),
            version: entry.version,
            last_message: entry.last_message.into(),
            // A replica of a release before read markers says nothing: nothing is marked.
            unread: entry.unread.unwrap_or_default(),
            read_up_to: entry.read_up_to.unwrap_or_default(),
            peer_read_up_to: entry.peer_read_up_to.unwrap_or_default(),
        }
    }
}

/// A read marker as stored.
#[derive(Debug, Serialize)]
pub struct ReadReply {
    pub chat: String,
    pub member: String,
    pub read_up_to: i64,
}

#[derive(Debug, Serialize)]
pub struct ChatsReply {
    pub chats: Vec<ChatJson>,
    pub has_more: bool,
    pub next_cursor: i64,
}

#[derive(Debug, Serialize)]
pub struct ErrorReply<'a> {
    pub code: i32,
    pub msg: &'a str,
}
