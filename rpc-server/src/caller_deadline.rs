//! How long the caller waits for this call's answer. A volo-thrift client sends its RPC timeout
//! in the TTHeader; the http-server sends its per-attempt timeout, after which it tries another
//! replica. A call that would outlive it is answered "unavailable" while the caller still
//! listens, not dropped unanswered: the database being frozen then reads as 503, and only a
//! replica that does not answer at all as a timeout. Plain Thrift clients send no timeout, and
//! the store's own deadline applies alone.

use std::time::{Duration, Instant};

use volo::Service;
use volo::context::Context;
use volo::layer::Layer;
use volo_thrift::context::ServerContext;

/// Left for the answer to travel back before the caller gives up.
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// The least time a call gets, whatever its caller says: far more than a healthy database takes
/// for a read or a commit, so a caller that allows itself less does not interrupt one midway
/// (which would cost a connection that other callers share).
const MIN_BUDGET: Duration = Duration::from_millis(100);

tokio::task_local! {
    static CALLER_DEADLINE: Instant;
}

/// When the current call must have its answer ready, if its caller said.
pub fn caller_deadline() -> Option<Instant> {
    CALLER_DEADLINE.try_with(|deadline| *deadline).ok()
}

/// Runs each call with its caller's deadline (see [`caller_deadline`]).
#[derive(Clone, Copy)]
pub struct CallerDeadlineLayer;

impl<S> Layer<S> for CallerDeadlineLayer {
    type Service = CallerDeadline<S>;

    fn layer(self, inner: S) -> Self::Service {
        CallerDeadline(inner)
    }
}

#[derive(Clone)]
pub struct CallerDeadline<S>(S);

impl<S, Req> Service<ServerContext, Req> for CallerDeadline<S>
where
    S: Service<ServerContext, Req> + Send + Sync,
    Req: Send,
{
    type Response = S::Response;
    type Error = S::Error;

    async fn call(&self, cx: &mut ServerContext, req: Req) -> Result<S::Response, S::Error> {
        // Zero means none, as in Kitex; a timeout too far away to count is none too.
        let deadline = cx
            .rpc_info()
            .config()
            .rpc_timeout()
            .filter(|timeout| !timeout.is_zero())
            .and_then(|timeout| {
                Instant::now().checked_add(timeout.saturating_sub(ANSWER_MARGIN).max(MIN_BUDGET))
            });
        match deadline {
            Some(deadline) => CALLER_DEADLINE.scope(deadline, self.0.call(cx, req)).await,
            None => self.0.call(cx, req).await,
        }
    }
}
