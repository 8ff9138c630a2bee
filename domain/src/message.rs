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
        Self::in_room(Room::parse(chat)?, sender, text)
    }

    fn in_room(room: Room, sender: &str, text: &str) -> Result<Self, InvalidInput> {
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

/// A committed message: the message as it was checked when sent, and its `send_time`, in
/// microseconds and unique within the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    message: NewMessage,
    send_time: i64,
}

impl StoredMessage {
    /// `msg` as committed with `send_time`.
    pub fn new(msg: &NewMessage, send_time: i64) -> Self {
        Self {
            message: msg.clone(),
            send_time,
        }
    }

    /// A message of `room` as its row was read back, checked again: a row this service did not
    /// write (or a damaged one) is refused, never handed out altered.
    pub fn from_row(
        room: &Room,
        sender: &[u8],
        text: &str,
        send_time: i64,
        client_msg_id: Option<&[u8]>,
    ) -> Result<Self, InvalidInput> {
        let client_msg_id = match client_msg_id {
            Some(id) => Some(ClientMsgId::parse(utf8(id, "client_msg_id")?)?),
            None => None,
        };
        let message = NewMessage::in_room(room.clone(), utf8(sender, "sender")?, text)?
            .with_client_msg_id(client_msg_id);
        Ok(Self { message, send_time })
    }

    pub fn message(&self) -> &NewMessage {
        &self.message
    }

    pub fn send_time(&self) -> i64 {
        self.send_time
    }
}

fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, InvalidInput> {
    std::str::from_utf8(bytes).map_err(|_| InvalidInput::NotUtf8 { field })
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

    #[test]
    fn a_row_read_back_is_checked_again() {
        let room = Room::parse("al:bob").unwrap();
        let msg = StoredMessage::from_row(&room, b"al", "hi", 7, Some(b"id-1")).unwrap();
        assert_eq!(msg.message().sender().as_str(), "al");
        assert_eq!(
            msg.message().client_msg_id().map(ClientMsgId::as_str),
            Some("id-1")
        );
        assert!(StoredMessage::from_row(&room, b"cy", "hi", 7, None).is_err());
        assert!(StoredMessage::from_row(&room, b"\xff", "hi", 7, None).is_err());
        assert!(StoredMessage::from_row(&room, b"al", "", 7, None).is_err());
        assert!(StoredMessage::from_row(&room, b"al", "hi", 7, Some(b"bad\x01")).is_err());
    }
}
