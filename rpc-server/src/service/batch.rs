//! `SendBatch` and `PullBatch`: each item runs as its own call would, at once and side by side,
//! and is answered on its own, in order. A send's items reach the commit lanes together, so
//! those bound for one lane are committed in one group; each keeps its caller's deadline.

use std::time::{Duration, Instant};

use futures::future::join_all;
use im_idl::lenient::{PullBatchRequest, PullResponse, SendBatchRequest, SendResponse};

use super::{CallError, MessageService, count_request, pull_response, send_response};
use crate::caller_deadline::caller_deadline;

/// Items beyond this in one batch are refused, each with code 1: a batch is a few dozen calls
/// gathered in an instant, not a bulk import.
pub(super) const MAX_ITEMS: usize = 1024;

pub(super) async fn sends(service: &MessageService, req: SendBatchRequest) -> Vec<SendResponse> {
    let budgets = req.budgets_ms.unwrap_or_default();
    let items = req.sends.unwrap_or_default().into_iter().enumerate();
    join_all(items.map(|(i, send)| {
        let deadline = deadline(budgets.get(i).copied());
        async move {
            let result = match i < MAX_ITEMS {
                true => service.send(send, deadline).await,
                false => Err(CallError::BatchTooLarge),
            };
            let resp = send_response(result);
            count_request("send", resp.code);
            resp
        }
    }))
    .await
}

pub(super) async fn pulls(service: &MessageService, req: PullBatchRequest) -> Vec<PullResponse> {
    let budgets = req.budgets_ms.unwrap_or_default();
    let items = req.pulls.unwrap_or_default().into_iter().enumerate();
    join_all(items.map(|(i, pull)| {
        let deadline = deadline(budgets.get(i).copied());
        async move {
            let result = match i < MAX_ITEMS {
                true => service.pull(pull, deadline, true).await,
                false => Err(CallError::BatchTooLarge),
            };
            let resp = pull_response(result);
            count_request("pull", resp.code);
            resp
        }
    }))
    .await
}

/// The earlier of the whole call's deadline and the item's own budget (a negative budget has
/// run out already).
fn deadline(budget_ms: Option<i32>) -> Option<Instant> {
    let own = budget_ms.map(|ms| Instant::now() + Duration::from_millis(ms.max(0) as u64));
    match (caller_deadline(), own) {
        (Some(call), Some(own)) => Some(call.min(own)),
        (call, own) => call.or(own),
    }
}
