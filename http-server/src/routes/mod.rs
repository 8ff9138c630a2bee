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
use crate::middleware::{InFlight, TrackRequests, admit};
use crate::rpc_client::RpcClient;

pub use pull::WaitingCalls;

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

/// What the API's routes share, as one extension.
pub struct Api {
    pub rpc: RpcClient,
    pub limits: ApiLimits,
    pub in_flight: InFlight,
    pub waiting: WaitingCalls,
}

impl Api {
    pub fn new(rpc: RpcClient, limits: ApiLimits) -> Self {
        Self {
            rpc,
            limits,
            in_flight: InFlight::new(limits.max_in_flight),
            waiting: WaitingCalls::new(limits.max_waiting_pulls),
        }
    }
}

pub fn router(
    rpc: RpcClient,
    ready: ReadinessCheck,
    telemetry: Telemetry,
    limits: ApiLimits,
) -> TrackRequests<Router> {
    // Later layers run first: `admit` finds the extension.
    let api = Router::new()
        .route("/api/send", post(send::send).fallback(only_post))
        .route("/api/pull", get(pull::pull).fallback(only_get))
        .route("/api/chats", get(chats::chats).fallback(only_get))
        .layer(middleware::from_fn(admit))
        .layer(Extension(Arc::new(Api::new(rpc, limits))));
    let all = Router::new()
        .route("/ping", get(ping::ping).fallback(only_get))
        .merge(api)
        .merge(admin_router(ready, telemetry))
        .fallback(not_found);
    TrackRequests(all)
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
