use crate::client_msg_id::ClientMsgId;
use crate::error::InvalidInput;
use crate::member::Member;
use crate::room::Room;
use crate::text::MessageText;

/// A message a member wants to send, checked: the sender belongs to the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    room: Room,
    sender: Member,
    text: MessageText,
    /// Makes sending it again safe: see [`ClientMsgId`].
    client_msg_id: Option<ClientMsgId>,
}

impl NewMessage {
    pub fn parse(chat: &str, sender: &str, text: &str) -> Result<Self, InvalidInput> {
        let room = Room::parse(chat)?;
        if sender.is_empty() {
            return Err(InvalidInput::Missing { field: "sender" });
        }
        let sender = Member::parse(sender, "sender")?;
        if !room.has_member(&sender) {
            return Err(InvalidInput::SenderNotInChat {
                sender: sender.to_string(),
                chat: room.to_string(),
            });
        }
        let text = MessageText::parse(text)?;
        Ok(Self {
            room,
            sender,
            text,
            client_msg_id: None,
        })
    }

    pub fn with_client_msg_id(self, client_msg_id: Option<ClientMsgId>) -> Self {
        Self {
            client_msg_id,
            ..self
        }
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    pub fn sender(&self) -> &Member {
        &self.sender
    }

    pub fn text(&self) -> &MessageText {
        &self.text
    }

    pub fn client_msg_id(&self) -> Option<&ClientMsgId> {
        self.client_msg_id.as_ref()
    }
}

/// A committed message. `chat` is the room key; `send_time` is in microseconds and unique within
/// the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub chat: String,
    pub sender: String,
    pub text: String,
    pub send_time: i64,
    pub client_msg_id: Option<String>,
}

impl StoredMessage {
    /// `msg` as committed with `send_time`.
    pub fn new(msg: &NewMessage, send_time: i64) -> Self {
        Self {
            chat: msg.room.key().to_owned(),
            sender: msg.sender.to_string(),
            text: msg.text.as_str().to_owned(),
            send_time,
            client_msg_id: msg.client_msg_id.as_ref().map(ToString::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_must_be_one_of_the_two_members() {
        let msg = NewMessage::parse("bob:al", "al", "hi").unwrap();
        assert_eq!(msg.room.key(), "al:bob");
        assert_eq!(
            NewMessage::parse("bob:al", "cy", "hi"),
            Err(InvalidInput::SenderNotInChat {
                sender: "cy".into(),
                chat: "al:bob".into()
            })
        );
        assert_eq!(
            NewMessage::parse("bob:al", "", "hi"),
            Err(InvalidInput::Missing { field: "sender" })
        );
    }

    #[test]
    fn chat_is_checked_before_sender_and_text() {
        assert_eq!(
            NewMessage::parse("", "", ""),
            Err(InvalidInput::Missing { field: "chat" })
        );
    }
}
