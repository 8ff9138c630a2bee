//! `IMService`: turns Thrift requests into domain values, runs them against the store, and
//! answers every failure with a `Code` and a readable `Msg` (never a transport exception).
//!
//! Requests arrive as the lenient bindings decode them (`im_idl::lenient`): strings are bytes
//! and every field may be missing. Both are checked here, once, before anything else runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_domain::{
    ClientMsgId, Direction, ErrorCode, Inbox, InboxRequest, InvalidInput, NewMessage, Page,
    PageRequest, StoredMessage, parse_wait,
};
use im_idl::lenient::{
    AwaitPullsRequest, AwaitPullsResponse, ChatEntry, ChatsRequest, ChatsResponse, ImService,
    MarkReadRequest, MarkReadResponse, Message, PullBatchRequest, PullBatchResponse, PullRequest,
    PullResponse, SendBatchRequest, SendBatchResponse, SendRequest, SendResponse,
};
use pilota::Bytes;
use thiserror::Error;
use volo_thrift::{ApplicationException, ApplicationExceptionKind, ServerError};

use crate::caller_deadline::caller_deadline;
use crate::long_poll::{Followed, SharedReads, WaitError, Waiters, answer_when_changed};
use crate::store::{Appended, Store, StoreError};

mod await_pulls;
mod batch;
mod mark_read;

#[derive(Debug, Error)]
enum CallError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("too many calls waiting")]
    TooManyWaiting,
    #[error("a batch carries at most {} calls", batch::MAX_ITEMS)]
    BatchTooLarge,
}

impl From<WaitError> for CallError {
    fn from(err: WaitError) -> Self {
        match err {
            WaitError::Full => Self::TooManyWaiting,
            WaitError::Store(err) => Self::Store(err),
        }
    }
}

impl CallError {
    fn code_and_msg(&self) -> (i32, Bytes) {
        let (code, msg) = match self {
            Self::Invalid(err) => (ErrorCode::InvalidArgument, err.to_string()),
            Self::BatchTooLarge => (ErrorCode::InvalidArgument, self.to_string()),
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
            Self::Store(err @ StoreError::ClientMsgIdConflict) => {
                (ErrorCode::ClientMsgIdConflict, err.to_string())
            }
            Self::Store(StoreError::OutcomeUnknown) => (
                ErrorCode::OutcomeUnknown,
                "the database connection failed while committing: the message may or may not \
                 be stored; send with a client_msg_id to make resending safe"
                    .to_owned(),
            ),
            Self::TooManyWaiting => (
                ErrorCode::Unavailable,
                "overloaded: too many calls waiting, retry later".to_owned(),
            ),
            Self::Store(StoreError::Internal(err)) => {
                tracing::error!(%err, "database error");
                (ErrorCode::Internal, "internal error".to_owned())
            }
        };
        (code as i32, msg.into())
    }
}

/// Cheap to clone: the pulls handed over by `AwaitPulls` run in tasks of their own.
#[derive(Clone)]
pub struct MessageService {
    store: Store,
    waiters: Arc<Waiters>,
    page_reads: Arc<SharedReads<PageRequest>>,
    inbox_reads: Arc<SharedReads<InboxRequest>>,
    sessions: Arc<await_pulls::Sessions>,
    /// `wait_ms` of a pull or a listing is clamped to this.
    max_wait: Duration,
    /// Whether the methods the http-server adds for itself are answered (see the config).
    batch_methods: bool,
}

impl MessageService {
    /// At most `max_waiting` pulls handed over by `AwaitPulls` are held at once (as many as
    /// `waiters` lets wait). Without `batch_methods` it answers as the release before them.
    pub fn new(
        store: Store,
        waiters: Arc<Waiters>,
        max_wait: Duration,
        max_waiting: usize,
        batch_methods: bool,
    ) -> Self {
        Self {
            store,
            waiters,
            page_reads: Arc::default(),
            inbox_reads: Arc::default(),
            sessions: Arc::new(await_pulls::Sessions::new(max_waiting)),
            max_wait,
            batch_methods,
        }
    }

    /// "Unknown method", as a release before the batch methods answers them.
    fn knows(&self, method: &str) -> Result<(), ServerError> {
        if self.batch_methods {
            return Ok(());
        }
        Err(ServerError::Application(ApplicationException::new(
            ApplicationExceptionKind::UNKNOWN_METHOD,
            format!("unknown method {method}"),
        )))
    }

    /// `deadline`: when the caller stops waiting; the send is never committed after it.
    async fn send(
        &self,
        req: SendRequest,
        deadline: Option<Instant>,
    ) -> Result<Appended, CallError> {
        let msg = required("message", req.message)?;
        let client_msg_id = match &msg.client_msg_id {
            Some(id) => Some(ClientMsgId::parse(text_field("client_msg_id", Some(id))?)?),
            None => None,
        };
        let new = NewMessage::parse(
            text_field("chat", msg.chat.as_ref())?,
            text_field("sender", msg.sender.as_ref())?,
            text_field("text", msg.text.as_ref())?,
        )?
        .with_client_msg_id(client_msg_id);
        Ok(self.store.append(new, deadline).await?)
    }

    async fn pull(&self, req: PullRequest, deadline: Option<Instant>) -> Result<Page, CallError> {
        let page = page_request(&req)?;
        let wait = parse_wait(req.wait_ms.unwrap_or(0).into(), self.max_wait)?;
        self.answer(&page, &self.page_reads, wait, deadline).await
    }

    async fn chats(
        &self,
        req: ChatsRequest,
        deadline: Option<Instant>,
    ) -> Result<Inbox, CallError> {
        let listing = InboxRequest::parse(
            text_field("member", req.member.as_ref())?,
            req.cursor.unwrap_or(0),
            req.limit.unwrap_or(0).into(),
            req.reverse.unwrap_or(false),
        )?;
        let wait = parse_wait(req.wait_ms.unwrap_or(0).into(), self.max_wait)?;
        self.answer(&listing, &self.inbox_reads, wait, deadline)
            .await
    }

    /// Reads `req` now; a forward one that may wait does so while its answer is empty (see
    /// [`crate::long_poll`]), holding no database connection while it waits.
    async fn answer<F: Followed>(
        &self,
        req: &F,
        reads: &SharedReads<F>,
        wait: Duration,
        deadline: Option<Instant>,
    ) -> Result<F::Answer, CallError> {
        if wait.is_zero() || req.window().direction() == Direction::Backward {
            return Ok(req.read(&self.store, deadline).await?);
        }
        // A caller that gives up sooner (a Kitex RPC timeout in the TTHeader shorter than
        // `wait_ms`) gets the timeout answer while it still listens, not nothing.
        let wait = deadline.map_or(wait, |deadline| {
            wait.min(deadline.saturating_duration_since(Instant::now()))
        });
        let answer =
            answer_when_changed(&self.waiters, reads, &self.store, req, wait, deadline).await?;
        Ok(answer)
    }
}

/// The page a pull asks for, checked.
fn page_request(req: &PullRequest) -> Result<PageRequest, InvalidInput> {
    PageRequest::parse(
        text_field("chat", req.chat.as_ref())?,
        required("cursor", req.cursor)?,
        required("limit", req.limit)?.into(),
        req.reverse.unwrap_or(false),
    )
}

/// A field the published IDL marks `required`.
fn required<T>(field: &'static str, value: Option<T>) -> Result<T, InvalidInput> {
    value.ok_or(InvalidInput::Missing { field })
}

/// A Thrift `string` field as UTF-8; absent is empty, which the domain answers as missing.
fn text_field<'a>(field: &'static str, bytes: Option<&'a Bytes>) -> Result<&'a str, InvalidInput> {
    std::str::from_utf8(bytes.map_or(&[][..], |b| &b[..]))
        .map_err(|_| InvalidInput::NotUtf8 { field })
}

fn count_request(method: &'static str, code: i32) {
    metrics::counter!("im_rpc_requests_total", "method" => method, "code" => code.to_string())
        .increment(1);
}

impl ImService for MessageService {
    async fn send(&self, req: SendRequest) -> Result<SendResponse, ServerError> {
        let resp = send_response(MessageService::send(self, req, caller_deadline()).await);
        count_request("send", resp.code);
        Ok(resp)
    }

    async fn pull(&self, req: PullRequest) -> Result<PullResponse, ServerError> {
        let resp = pull_response(MessageService::pull(self, req, caller_deadline()).await);
        count_request("pull", resp.code);
        Ok(resp)
    }

    async fn chats(&self, req: ChatsRequest) -> Result<ChatsResponse, ServerError> {
        let resp = chats_response(MessageService::chats(self, req, caller_deadline()).await);
        count_request("chats", resp.code);
        Ok(resp)
    }

    async fn send_batch(&self, req: SendBatchRequest) -> Result<SendBatchResponse, ServerError> {
        self.knows("SendBatch")?;
        Ok(SendBatchResponse {
            replies: batch::sends(self, req).await,
        })
    }

    async fn pull_batch(&self, req: PullBatchRequest) -> Result<PullBatchResponse, ServerError> {
        self.knows("PullBatch")?;
        Ok(PullBatchResponse {
            replies: batch::pulls(self, req).await,
        })
    }

    async fn await_pulls(&self, req: AwaitPullsRequest) -> Result<AwaitPullsResponse, ServerError> {
        self.knows("AwaitPulls")?;
        Ok(await_pulls::await_pulls(self, req).await)
    }

    async fn mark_read(&self, req: MarkReadRequest) -> Result<MarkReadResponse, ServerError> {
        let resp = mark_read::answer(self, req, caller_deadline()).await;
        count_request("mark_read", resp.code);
        Ok(resp)
    }
}

fn send_response(result: Result<Appended, CallError>) -> SendResponse {
    match result {
        Ok(appended) => SendResponse {
            code: ErrorCode::OK,
            msg: Bytes::from_static(b"success"),
            stored: Some(to_thrift(appended.message)),
            duplicate: Some(appended.duplicate),
        },
        Err(err) => {
            let (code, msg) = err.code_and_msg();
            SendResponse {
                code,
                msg,
                stored: None,
                duplicate: None,
            }
        }
    }
}

fn pull_response(result: Result<Page, CallError>) -> PullResponse {
    match result {
        Ok(page) => PullResponse {
            code: ErrorCode::OK,
            msg: Bytes::from_static(b"success"),
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
    }
}

fn chats_response(result: Result<Inbox, CallError>) -> ChatsResponse {
    match result {
        Ok(inbox) => ChatsResponse {
            code: ErrorCode::OK,
            msg: Bytes::from_static(b"success"),
            chats: Some(
                inbox
                    .chats
                    .into_iter()
                    .map(|entry| ChatEntry {
                        chat: entry.chat.into(),
                        version: entry.version,
                        last_message: to_thrift(entry.last_message),
                        unread: Some(entry.read.unread),
                        read_up_to: Some(entry.read.read_up_to),
                        peer_read_up_to: Some(entry.read.peer_read_up_to),
                    })
                    .collect(),
            ),
            has_more: Some(inbox.has_more),
            next_cursor: Some(inbox.next_cursor),
        },
        Err(err) => {
            let (code, msg) = err.code_and_msg();
            ChatsResponse {
                code,
                msg,
                chats: None,
                has_more: None,
                next_cursor: None,
            }
        }
    }
}

fn to_thrift(msg: StoredMessage) -> Message {
    Message {
        chat: Some(Bytes::copy_from_slice(
            msg.message().room().key().as_bytes(),
        )),
        text: Some(Bytes::copy_from_slice(
            msg.message().text().as_str().as_bytes(),
        )),
        sender: Some(Bytes::copy_from_slice(
            msg.message().sender().as_str().as_bytes(),
        )),
        send_time: Some(msg.send_time()),
        client_msg_id: msg
            .message()
            .client_msg_id()
            .map(|id| Bytes::copy_from_slice(id.as_str().as_bytes())),
    }
}
