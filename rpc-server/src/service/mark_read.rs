//! `MarkRead`: a member's read marker in a room (see the store's `markers`).

use std::time::Instant;

use im_domain::{ErrorCode, MarkRead};
use im_idl::lenient::{MarkReadRequest, MarkReadResponse};
use pilota::Bytes;

use super::{CallError, MessageService, required, text_field};

/// The marker as stored, or why not; `deadline` is when the caller stops waiting.
pub(super) async fn answer(
    service: &MessageService,
    req: MarkReadRequest,
    deadline: Option<Instant>,
) -> MarkReadResponse {
    match mark(service, req, deadline).await {
        Ok(read_up_to) => MarkReadResponse {
            code: ErrorCode::OK,
            msg: Bytes::from_static(b"success"),
            read_up_to: Some(read_up_to),
        },
        Err(err) => {
            let (code, msg) = err.code_and_msg();
            MarkReadResponse {
                code,
                msg,
                read_up_to: None,
            }
        }
    }
}

async fn mark(
    service: &MessageService,
    req: MarkReadRequest,
    deadline: Option<Instant>,
) -> Result<i64, CallError> {
    let mark = MarkRead::parse(
        text_field("chat", req.chat.as_ref())?,
        text_field("member", req.member.as_ref())?,
        required("read_up_to", req.read_up_to)?,
    )?;
    Ok(service.store.mark_read(&mark, deadline).await?)
}
