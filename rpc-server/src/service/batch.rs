//! `SendBatch` and `PullBatch`: each item is answered on its own, in order. A batch's sends run
//! as their own calls would, side by side, so they reach the commit lanes together and those
//! bound for one lane are committed in one group, each keeping its caller's deadline. A batch's
//! pulls read their pages together, in one statement per direction.

use std::time::{Duration, Instant};

use futures::future::join_all;
use im_domain::PageRequest;
use im_idl::lenient::{PullBatchRequest, PullResponse, SendBatchRequest, SendResponse};

use super::{CallError, MessageService, count_request, page_request, pull_response, send_response};
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

/// Checks each pull, then reads every valid one's page in one statement per direction (their
/// `WaitMs` is not even checked: a batch never waits). The read runs until the latest item's
/// deadline: a page read for a caller that gave up is harmless. A failed read answers each of
/// its pulls with the same error.
pub(super) async fn pulls(service: &MessageService, req: PullBatchRequest) -> Vec<PullResponse> {
    let budgets = req.budgets_ms.unwrap_or_default();
    let checked: Vec<Result<PageRequest, CallError>> = (req.pulls.unwrap_or_default().iter())
        .enumerate()
        .map(|(i, pull)| match i < MAX_ITEMS {
            true => Ok(page_request(pull)?),
            false => Err(CallError::BatchTooLarge),
        })
        .collect();
    let valid: Vec<PageRequest> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .cloned()
        .collect();
    let latest = (0..checked.len())
        .filter_map(|i| deadline(budgets.get(i).copied()))
        .max();
    let mut pages = match valid.is_empty() {
        true => Ok(Vec::new()),
        false => service.store.read_pages(&valid, latest).await,
    }
    .map(Vec::into_iter);
    checked
        .into_iter()
        .map(|item| {
            let result = item.and_then(|_| match &mut pages {
                Ok(pages) => Ok(pages.next().expect("a page for each valid pull")),
                Err(err) => Err(CallError::Store(err.clone())),
            });
            let resp = pull_response(result);
            count_request("pull", resp.code);
            resp
        })
        .collect()
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
