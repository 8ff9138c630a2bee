//! `IMService`: turns Thrift requests into domain values, runs them against the store, and
//! answers every failure with a `Code` and a readable `Msg` (never a transport exception).

use im_domain::{ErrorCode, InvalidInput, NewMessage, Page, PageRequest, StoredMessage};
use im_idl::{ImService, Message, PullRequest, PullResponse, SendRequest, SendResponse};
use pilota::FastStr;
use thiserror::Error;
use volo_thrift::ServerError;

use crate::store::{Store, StoreError};

#[derive(Debug, Error)]
enum CallError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallError {
    fn code_and_msg(&self) -> (i32, FastStr) {
        let (code, msg) = match self {
            Self::Invalid(err) => (ErrorCode::InvalidArgument, err.to_string()),
            Self::Store(StoreError::Unavailable(err)) => {
                tracing::warn!(%err, "database unavailable");
                (
                    ErrorCode::Unavailable,
                    "database unavailable, retry later".to_owned(),
                )
            }
            Self::Store(StoreError::Overloaded) => (
                ErrorCode::Unavailable,
                "overloaded: too many sends waiting, retry later".to_owned(),
            ),
            Self::Store(StoreError::Internal(err)) => {
                tracing::error!(%err, "database error");
                (ErrorCode::Internal, "internal error".to_owned())
            }
        };
        (code as i32, msg.into())
    }
}

pub struct MessageService {
    store: Store,
}

impl MessageService {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn send(&self, req: SendRequest) -> Result<StoredMessage, CallError> {
        let msg = req.message;
        let new = NewMessage::parse(
            msg.chat.as_deref().unwrap_or_default(),
            msg.sender.as_deref().unwrap_or_default(),
            msg.text.as_deref().unwrap_or_default(),
        )?;
        Ok(self.store.append(new).await?)
    }

    async fn pull(&self, req: PullRequest) -> Result<Page, CallError> {
        let page = PageRequest::parse(
            &req.chat,
            req.cursor,
            req.limit.into(),
            req.reverse.unwrap_or(false),
        )?;
        Ok(self.store.read_page(&page).await?)
    }
}

fn count_request(method: &'static str, code: i32) {
    metrics::counter!("im_rpc_requests_total", "method" => method, "code" => code.to_string())
        .increment(1);
}

impl ImService for MessageService {
    async fn send(&self, req: SendRequest) -> Result<SendResponse, ServerError> {
        let resp = match MessageService::send(self, req).await {
            Ok(stored) => SendResponse {
                code: ErrorCode::OK,
                msg: FastStr::from_static_str("success"),
                stored: Some(to_thrift(stored)),
            },
            Err(err) => {
                let (code, msg) = err.code_and_msg();
                SendResponse {
                    code,
                    msg,
                    stored: None,
                }
            }
        };
        count_request("send", resp.code);
        Ok(resp)
    }

    async fn pull(&self, req: PullRequest) -> Result<PullResponse, ServerError> {
        let resp = match MessageService::pull(self, req).await {
            Ok(page) => PullResponse {
                code: ErrorCode::OK,
                msg: FastStr::from_static_str("success"),
                messages: Some(page.messages.into_iter().map(to_thrift).collect()),
                has_more: Some(page.has_more),
                next_cursor: Some(page.next_cursor),
            },
            Err(err) => {
                let (code, msg) = err.code_and_msg();
                PullResponse {
                    code,
                    msg,
                    messages: None,
                    has_more: None,
                    next_cursor: None,
                }
            }
        };
        count_request("pull", resp.code);
        Ok(resp)
    }
}

fn to_thrift(msg: StoredMessage) -> Message {
    Message {
        chat: Some(msg.chat.into()),
        text: Some(msg.text.into()),
        sender: Some(msg.sender.into()),
        send_time: Some(msg.send_time),
    }
}
