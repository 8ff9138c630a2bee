//! The JSON shapes of idl_http.proto that the server writes.

use im_idl::Message;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct MessageJson {
    pub chat: String,
    pub text: String,
    pub sender: String,
    pub send_time: i64,
}

impl From<Message> for MessageJson {
    fn from(msg: Message) -> Self {
        Self {
            chat: msg.chat.unwrap_or_default().to_string(),
            text: msg.text.unwrap_or_default().to_string(),
            sender: msg.sender.unwrap_or_default().to_string(),
            send_time: msg.send_time.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SendReply {
    pub message: Option<MessageJson>,
}

#[derive(Debug, Serialize)]
pub struct PullReply {
    pub messages: Vec<MessageJson>,
    pub has_more: bool,
    pub next_cursor: i64,
}

#[derive(Debug, Serialize)]
pub struct ErrorReply<'a> {
    pub code: i32,
    pub msg: &'a str,
}
