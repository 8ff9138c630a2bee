//! Who is calling, and the one place that decides what a caller may do: a member with a token
//! sends only as itself into its own chats, pulls only its own chats, lists only its own inbox
//! and moves only its own read markers, in its own chats. Each rule answers with the key the
//! call's fair use is charged to.

use im_domain::{Member, Room};

use crate::error::ApiError;

/// A caller as the access mode sees it. `Member` is built only from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Mode `none`: anyone may act as any member.
    Anyone,
    /// Mode `jwt`: the member a verified token names.
    Member(Member),
}

impl Caller {
    /// The member a token named; none in mode `none`, where anyone may claim any name.
    pub fn member(&self) -> Option<&str> {
        match self {
            Self::Anyone => None,
            Self::Member(me) => Some(me.as_str()),
        }
    }

    /// A send's sender or a listing's member as named, or the caller's own member when absent.
    pub fn or_self(&self, named: Option<String>) -> Option<String> {
        match self {
            Self::Member(me) if named.is_none() => Some(me.to_string()),
            _ => named,
        }
    }

    /// May a send into `chat` as `sender` go ahead? Charged to the sender.
    pub fn may_send(&self, chat: Option<&str>, sender: Option<&str>) -> Result<Key, ApiError> {
        match self {
            Self::Anyone => Ok(sender.and_then(valid_member)),
            Self::Member(me) => {
                let room = room(chat)?;
                if sender != Some(me.as_str()) {
                    return Err(ApiError::forbidden(NOT_ITS_OWN));
                }
                if !room.has_member(me) {
                    return Err(ApiError::forbidden(NOT_ITS_OWN));
                }
                Ok(Some(me.to_string()))
            }
        }
    }

    /// May `chat` be pulled? Charged to the caller, or without one to the room pulled.
    pub fn may_pull(&self, chat: Option<&str>) -> Result<Key, ApiError> {
        match self {
            Self::Anyone => Ok(chat
                .and_then(|chat| Room::parse(chat).ok())
                .map(|room| room.key().to_owned())),
            Self::Member(me) => {
                if room(chat)?.has_member(me) {
                    Ok(Some(me.to_string()))
                } else {
                    Err(ApiError::forbidden(NOT_ITS_OWN))
                }
            }
        }
    }

    /// May `member` move its read marker in `chat`? Charged to that member, as a read.
    pub fn may_mark_read(&self, chat: Option<&str>, member: Option<&str>) -> Result<Key, ApiError> {
        match self {
            Self::Anyone => Ok(member.and_then(valid_member)),
            Self::Member(me) => {
                let room = room(chat)?;
                if member != Some(me.as_str()) || !room.has_member(me) {
                    return Err(ApiError::forbidden(NOT_ITS_OWN));
                }
                Ok(Some(me.to_string()))
            }
        }
    }

    /// May `member`'s inbox be listed? Charged to that member.
    pub fn may_list(&self, member: Option<&str>) -> Result<Key, ApiError> {
        match self {
            Self::Anyone => Ok(member.and_then(valid_member)),
            Self::Member(me) if member == Some(me.as_str()) => Ok(Some(me.to_string())),
            Self::Member(_) => Err(ApiError::forbidden(NOT_ITS_OWN)),
        }
    }
}

/// One answer for every refusal: which rule refused is not said.
const NOT_ITS_OWN: &str = "a member acts only as itself, in its own chats and its own inbox";

/// Who a call's fair use is charged to; None for a call the rpc-server will refuse as invalid.
pub type Key = Option<String>;

fn valid_member(name: &str) -> Key {
    Member::parse(name, "member").ok().map(|m| m.to_string())
}

/// A chat that does not parse is a 400 before it is a 403, as the rpc-server would say.
fn room(chat: Option<&str>) -> Result<Room, ApiError> {
    Room::parse(chat.unwrap_or_default()).map_err(|err| ApiError::invalid(err.to_string()))
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    fn al() -> Caller {
        Caller::Member(Member::parse("al", "sub").unwrap())
    }

    fn status<T: std::fmt::Debug>(result: Result<T, ApiError>) -> StatusCode {
        result.expect_err("refused").status()
    }

    #[test]
    fn a_member_sends_as_itself_into_its_own_chats() {
        assert_eq!(
            al().may_send(Some("bob:al"), Some("al")).unwrap(),
            Some("al".into())
        );
        assert_eq!(
            al().may_send(Some("al:al"), Some("al")).unwrap(),
            Some("al".into())
        );
    }

    #[test]
    fn a_member_may_not_send_as_another() {
        assert_eq!(
            status(al().may_send(Some("al:bob"), Some("bob"))),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(al().may_send(Some("al:bob"), None)),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn a_member_may_not_send_into_a_chat_of_others() {
        assert_eq!(
            status(al().may_send(Some("bob:cy"), Some("al"))),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn a_malformed_chat_is_invalid_before_it_is_forbidden() {
        assert_eq!(
            status(al().may_send(Some("bob"), Some("al"))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(al().may_send(None, Some("al"))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(al().may_pull(Some("a:b:c"))),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn a_member_pulls_only_its_own_chats() {
        assert_eq!(al().may_pull(Some("bob:al")).unwrap(), Some("al".into()));
        assert_eq!(status(al().may_pull(Some("bob:cy"))), StatusCode::FORBIDDEN);
        // Member ids are compared byte for byte.
        assert_eq!(status(al().may_pull(Some("Al:bob"))), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_member_lists_only_its_own_inbox_which_is_the_default() {
        assert_eq!(al().or_self(None).as_deref(), Some("al"));
        assert_eq!(al().may_list(Some("al")).unwrap(), Some("al".into()));
        assert_eq!(status(al().may_list(Some("bob"))), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_member_moves_only_its_own_marker_in_its_own_chats() {
        assert_eq!(
            al().may_mark_read(Some("bob:al"), Some("al")).unwrap(),
            Some("al".into())
        );
        assert_eq!(
            status(al().may_mark_read(Some("al:bob"), Some("bob"))),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(al().may_mark_read(Some("bob:cy"), Some("al"))),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(al().may_mark_read(Some("bob"), Some("al"))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Caller::Anyone
                .may_mark_read(Some("x:y"), Some("y"))
                .unwrap(),
            Some("y".into())
        );
    }

    #[test]
    fn anyone_may_act_as_any_member_charged_to_the_member_named() {
        let anyone = Caller::Anyone;
        assert_eq!(anyone.or_self(None), None);
        assert_eq!(
            anyone.may_send(Some("x:y"), Some("bob")).unwrap(),
            Some("bob".into())
        );
        assert_eq!(anyone.may_list(Some("bob")).unwrap(), Some("bob".into()));
        assert_eq!(anyone.may_pull(Some("y:x")).unwrap(), Some("x:y".into()));
        // Invalid input is the rpc-server's to refuse, and charged to no one.
        assert_eq!(anyone.may_send(Some("x:y"), Some("a b")).unwrap(), None);
        assert_eq!(anyone.may_pull(Some("nope")).unwrap(), None);
    }
}
