//! Waiting on facts: a test that needs "the replica is known" or "the pull is waiting" polls
//! for it, and fails with what it waited for when it never comes.

use std::time::{Duration, Instant};

/// Polls `condition` until it holds, failing the test after `limit`. For waiting on
/// eventually-consistent state (a watch, a lease), never for measuring speed.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
