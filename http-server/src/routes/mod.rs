//! One file per endpoint family; `router` wires them with the admin endpoints, the JSON 404 and
//! 405 answers, and the layers of `middleware`.

mod chats;
mod ping;
mod pull;
mod send;

use std::sync::Arc;
use std::time::Duration;

use im_ops::{ReadinessCheck, Telemetry, admin_router};
use volo_http::server::middleware;
use volo_http::server::route::{Router, get, post};
use volo_http::utils::Extension;

use crate::error::ApiError;
use crate::middleware::{InFlight, read_body_first, shed_load, track_requests};
use crate::rpc_client::RpcClient;

/// The routes that get their own label in the request metrics.
pub const ROUTES: [&str; 7] = [
    "/ping",
    "/api/send",
    "/api/pull",
    "/api/chats",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// Bounds on the API requests in progress.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Most requests in progress at once; beyond it, 503 at once.
    pub max_in_flight: usize,
    /// The longest a request body may take to arrive; then 408.
    pub body_timeout: Duration,
    /// Most pulls and inbox listings waiting for a change at once (they do not count as in
    /// progress); beyond it, 503 at once.
    pub max_waiting_pulls: usize,
    /// `wait_ms` of a pull or a listing is clamped to this.
    pub max_wait: Duration,
}

pub fn router(
    rpc: RpcClient,
    ready: ReadinessCheck,
    telemetry: Telemetry,
    limits: ApiLimits,
) -> Router {
    // Later layers run first: the body is read before a permit is taken.
    let api = Router::new()
        .route("/api/send", post(send::send).fallback(only_post))
        .route("/api/pull", get(pull::pull).fallback(only_get))
        .route("/api/chats", get(chats::chats).fallback(only_get))
        .layer(middleware::from_fn(shed_load))
        .layer(middleware::from_fn(read_body_first))
        .layer(Extension(InFlight::new(limits.max_in_flight)))
        .layer(Extension(pull::WaitingCalls::new(limits.max_waiting_pulls)))
        .layer(Extension(limits));
    Router::new()
        .route("/ping", get(ping::ping).fallback(only_get))
        .merge(api)
        .merge(admin_router(ready, telemetry))
        .fallback(not_found)
        .layer(Extension(Arc::new(rpc)))
        .layer(middleware::from_fn(track_requests))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn only_get() -> ApiError {
    ApiError::method_not_allowed("GET")
}

async fn only_post() -> ApiError {
    ApiError::method_not_allowed("POST")
}

/// Turns an rpc-server answer with a non-zero `Code` into the matching HTTP error.
fn rpc_outcome(code: i32, msg: &str) -> Result<(), ApiError> {
    if code == im_domain::ErrorCode::OK {
        Ok(())
    } else {
        Err(ApiError::from_rpc(code, msg))
    }
}
