//! The one retry loop: a call tries the replicas of its key in the ring's order, passing over
//! those ejected as unreachable (`ejection`) or heard stopping (`leaving`), each attempt bounded
//! in time when a retry on another replica is harmless, each failure judged by [`decide`]; the
//! last attempt decides the error, and every call is timed and, failed, logged.
//!
//! A send without a client_msg_id gets no time of its own: a replica that is only slow may still
//! store it. A read, or a send with an id, gets `attempt_timeout` (a read its wait on top), so
//! that a replica that stopped answering (frozen, its lease not yet expired) costs a caller a
//! slower answer, not a failed one.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use volo::net::Address;

use super::ejection::{Attempt, Found};
use super::per_replica::Replica;
use super::request::{Reply, Request};
use super::retry::{Decision, NoAnswer, Repeat, decide, unreachable, withheld};
use super::{RpcClient, RpcError};

impl RpcClient {
    /// `request`'s answer from the first replica of `key` that gives one; `wait` is how long a
    /// read may wait at the replica for something new, on top of the client's timeout.
    pub(super) async fn call(
        &self,
        method: &'static str,
        key: u64,
        request: Request,
        wait: Duration,
    ) -> Result<Reply, RpcError> {
        let started = Instant::now();
        let deadline = started + self.timeout + wait;
        let repeat = request.repeat();
        let mut result = Err(Decision::Retry { silent: false });
        let mut last_attempt = None;
        // Asked for anew each time: a list of them would be kept through a whole wait.
        let (mut tried, mut passed) = (Vec::new(), Vec::new());
        loop {
            // Boxed, and not in a `while let`, which would keep it through the attempt: choosing
            // takes a kilobyte of futures, which a waiting call would carry over its wait.
            let Some((replica, at, ejection)) =
                Box::pin(self.next_attempt(key, repeat, &tried, &mut passed)).await
            else {
                break;
            };
            let now = Instant::now();
            let attempt_deadline = match repeat {
                Repeat::Harmless => deadline.min(now + self.attempt_timeout + wait),
                Repeat::Duplicates => deadline,
            };
            let attempt = at.call(request.clone(), wait, attempt_deadline);
            let failure = match tokio::time::timeout_at(attempt_deadline.into(), attempt).await {
                Ok(Ok(reply)) => {
                    ejection.found(Found::Reachable);
                    result = Ok(reply);
                    break;
                }
                Ok(Err(failed)) => failed.into_client_error(),
                Err(_) => NoAnswer(attempt_deadline - now).into_client_error(),
            };
            // A call kept back tells nothing of the replica; its attempt just ends.
            if !withheld(&failure) {
                ejection.found(if unreachable(&failure) {
                    Found::Unreachable
                } else {
                    Found::Reachable
                });
            }
            let decision = decide(&failure, repeat);
            result = Err(decision);
            tried.push(replica.clone());
            last_attempt = Some(LastAttempt {
                replica,
                error: failure.to_string(),
            });
            if !matches!(decision, Decision::Retry { .. }) || Instant::now() >= deadline {
                break;
            }
        }
        let result = result.map_err(RpcError::from);
        record(method, started, &result, last_attempt);
        result
    }
}

impl RpcClient {
    /// The next replica to try for `key`, its state, and the attempt's record for ejection: the
    /// ring's next replica not yet tried, passing over ejected and stopping ones (into `passed`)
    /// while another is left; when only those are left, the first stopping one that is not
    /// ejected, else the first of them anyway.
    async fn next_attempt(
        &self,
        key: u64,
        repeat: Repeat,
        tried: &[Address],
        passed: &mut Vec<Address>,
    ) -> Option<(Address, Arc<Replica>, Attempt)> {
        let may_probe = repeat == Repeat::Harmless;
        loop {
            let skip: Vec<Address> = tried.iter().chain(passed.iter()).cloned().collect();
            let Some(replica) = self.ring.next_replica(key, &skip).await else {
                break;
            };
            let at = self.per_replica.get(&replica);
            let now = Instant::now();
            if !self.per_replica.leaving.is_leaving(&replica, now)
                && let Some(attempt) = at.ejection.admit(now, may_probe)
            {
                return Some((replica, at, attempt));
            }
            passed.push(replica);
        }
        if passed.is_empty() {
            return None;
        }
        // A replica only stopping still answers: it goes before one found unreachable.
        let now = Instant::now();
        for (i, replica) in passed.iter().enumerate() {
            let at = self.per_replica.get(replica);
            if let Some(attempt) = at.ejection.admit(now, may_probe) {
                return Some((passed.remove(i), at, attempt));
            }
        }
        let replica = passed.remove(0);
        let at = self.per_replica.get(&replica);
        let attempt = at.ejection.force();
        Some((replica, at, attempt))
    }
}

/// The replica of a call's last failed attempt, and its error as it read.
struct LastAttempt {
    replica: Address,
    error: String,
}

impl fmt::Display for LastAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.replica, self.error)
    }
}

/// Times a call in the client metrics, and logs it when it failed.
fn record<T>(
    method: &'static str,
    started: Instant,
    result: &Result<T, RpcError>,
    last_attempt: Option<LastAttempt>,
) {
    let elapsed = started.elapsed();
    let outcome = result.as_ref().err().map_or("ok", RpcError::kind);
    metrics::histogram!("im_rpc_client_duration_seconds", "method" => method, "outcome" => outcome)
        .record(elapsed);
    if let Err(err) = result {
        let replica = last_attempt.map_or_else(|| "none known".to_owned(), |a| a.to_string());
        let elapsed_ms = elapsed.as_millis() as u64;
        match err {
            RpcError::Internal => {
                tracing::error!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
            }
            _ => {
                tracing::warn!(method, kind = err.kind(), %replica, elapsed_ms, "rpc call failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc_client::Replicas;
    use crate::rpc_client::ejection::Found;

    /// With every replica passed over, a call goes to one that is only leaving (it still
    /// answers), not to one found unreachable, wherever the ring puts them.
    #[tokio::test]
    async fn with_none_left_a_leaving_replica_goes_before_an_unreachable_one() {
        let addrs: Vec<std::net::SocketAddr> = vec![
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ];
        let (ejected, leaving) = (Address::from(addrs[0]), Address::from(addrs[1]));
        let client = RpcClient::new(Replicas::Fixed(addrs), Duration::from_secs(1), 8, 2);
        let now = Instant::now();
        let at = client.per_replica.get(&ejected);
        while at.ejection.admit(now, true).is_some() {
            at.ejection
                .admit(now, true)
                .unwrap()
                .found(Found::Unreachable);
        }
        client.per_replica.leaving.heard(leaving.clone(), now);
        for key in 0..32 {
            for repeat in [Repeat::Harmless, Repeat::Duplicates] {
                let mut passed = Vec::new();
                let (chosen, _, _) = client
                    .next_attempt(key, repeat, &[], &mut passed)
                    .await
                    .unwrap();
                assert_eq!(chosen, leaving, "key {key}");
            }
        }
    }
}
