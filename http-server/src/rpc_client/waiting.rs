//! Pulls and inbox listings that may wait: handed straight to their replica's waiting calls (see
//! `coalesce`'s `awaits`), past volo's client stack, whose futures and call context a call holds
//! for as long as it waits: about 9 KiB each, measured, when thousands wait at once.
//!
//! What the stack does for other calls is done here the same way: the replicas come from the
//! client's own ring, in its order; each attempt is bounded as `RetryPolicy` bounds it and its
//! failure judged by `retry::decide` (a read is always safe to try on the next replica); the
//! last attempt decides the error. A replica that does not know `AwaitPulls` gets the call
//! through the client, one by one.

use std::time::{Duration, Instant};

use super::coalesce::{Awaited, Failed, Reply};
use super::layers::LastAttempt;
use super::retry::{Decision, NoAnswer, Repeat, decide};
use super::{RpcClient, RpcError, record};

impl RpcClient {
    /// `awaited`'s answer; `None` when its replica cannot hold waiting calls, and the call is to
    /// be made alone.
    pub(super) async fn await_change<T: TryFrom<Reply>>(
        &self,
        method: &'static str,
        key: u64,
        awaited: Awaited,
        wait: Duration,
    ) -> Result<Option<T>, RpcError> {
        if !self.batches.hold_waiting_calls() {
            return Ok(None);
        }
        let started = Instant::now();
        let deadline = started + self.timeout + wait;
        let mut result = Err(Decision::Retry { silent: false });
        let mut last_attempt = None;
        // Asked for anew each time: a list of them would be kept through the whole wait.
        let mut tried = Vec::new();
        while let Some(replica) = self.ring.next_replica(key, &tried).await {
            if self.batches.one_by_one(&replica) {
                return Ok(None);
            }
            let now = Instant::now();
            let attempt_time =
                (self.attempt_timeout + wait).min(deadline.saturating_duration_since(now));
            let attempt_deadline = now + attempt_time;
            let attempt = self
                .batches
                .await_at(replica.clone(), awaited.clone(), attempt_deadline);
            let failure = match tokio::time::timeout_at(attempt_deadline.into(), attempt).await {
                Ok(Ok(reply)) => {
                    result = Ok(reply);
                    break;
                }
                Ok(Err(Failed::NoBatches)) => return Ok(None),
                Ok(Err(Failed::Error(err))) => err,
                Err(_) => NoAnswer(attempt_time).into_client_error(),
            };
            let decision = decide(&failure, Repeat::Harmless);
            result = Err(decision);
            tried.push(replica.clone());
            last_attempt = Some(LastAttempt {
                replica,
                failure: Some((decision, failure.to_string())),
            });
            if !matches!(decision, Decision::Retry { .. }) || Instant::now() >= deadline {
                break;
            }
        }
        // An answer of the other kind would be the replica's bug.
        let result = match result {
            Ok(reply) => T::try_from(reply).map(Some).map_err(|_| RpcError::Internal),
            Err(decision) => Err(RpcError::from(decision)),
        };
        record(method, started, &result, last_attempt);
        result
    }
}
