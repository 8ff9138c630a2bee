//! The four calls the client makes, and their answers, as one type each: what a replica's
//! single calls carry, and what every attempt hands back.

use im_idl::{
    ChatsRequest, ChatsResponse, MarkReadRequest, MarkReadResponse, PullRequest, PullResponse,
    SendRequest, SendResponse,
};

use super::retry::Repeat;

/// A call. Clones share their strings.
#[derive(Clone, Debug)]
pub(super) enum Request {
    Send(SendRequest),
    Pull(PullRequest),
    Chats(ChatsRequest),
    MarkRead(MarkReadRequest),
}

impl Request {
    pub(super) fn repeat(&self) -> Repeat {
        match self {
            Self::Send(send) => Repeat::of_send(send),
            // A marker only moves forward: moving it to the same place twice is moving it once.
            Self::Pull(_) | Self::Chats(_) | Self::MarkRead(_) => Repeat::Harmless,
        }
    }
}

/// Its answer.
#[derive(Debug)]
pub(super) enum Reply {
    Send(SendResponse),
    Pull(PullResponse),
    Chats(ChatsResponse),
    MarkRead(MarkReadResponse),
}

macro_rules! reply_of {
    ($variant:ident, $response:ty) => {
        impl TryFrom<Reply> for $response {
            type Error = Reply;

            fn try_from(reply: Reply) -> Result<Self, Reply> {
                match reply {
                    Reply::$variant(resp) => Ok(resp),
                    other => Err(other),
                }
            }
        }
    };
}

reply_of!(Send, SendResponse);
reply_of!(Pull, PullResponse);
reply_of!(Chats, ChatsResponse);
reply_of!(MarkRead, MarkReadResponse);
