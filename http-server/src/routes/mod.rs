//! One file per endpoint family; `router` wires them with the admin endpoints, the JSON 404 and
//! 405 answers, and request metrics.

mod chats;
mod ping;
mod pull;
mod send;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_ops::{ReadinessCheck, Telemetry, admin_router};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use volo::context::Context;
use volo_http::body::Body;
use volo_http::context::ServerContext;
use volo_http::request::Request;
use volo_http::response::Response;
use volo_http::server::IntoResponse;
use volo_http::server::middleware::{self, Next};
use volo_http::server::route::{Router, get, post};
use volo_http::utils::Extension;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::fields::read_body;

const ROUTES: [&str; 7] = [
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
    backend: Backend,
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
        .layer(Extension(InFlight(Arc::new(Semaphore::new(
            limits.max_in_flight,
        )))))
        .layer(Extension(pull::WaitingCalls::new(limits.max_waiting_pulls)))
        .layer(Extension(limits));
    Router::new()
        .route("/ping", get(ping::ping).fallback(only_get))
        .merge(api)
        .merge(admin_router(ready, telemetry))
        .fallback(not_found)
        .layer(Extension(Arc::new(backend)))
        .layer(middleware::from_fn(track_requests))
}

/// Counts requests by route and status and times them; unknown paths share one label so that
/// scanners cannot blow up the number of series.
async fn track_requests(cx: &mut ServerContext, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let route = ROUTES.into_iter().find(|r| *r == path).unwrap_or("other");
    let started = Instant::now();
    let Ok(resp) = next.run(cx, req).await;
    metrics::histogram!("im_http_request_duration_seconds", "route" => route)
        .record(started.elapsed());
    metrics::counter!(
        "im_http_requests_total",
        "route" => route,
        "status" => resp.status().as_str().to_owned()
    )
    .increment(1);
    resp
}

/// Permits for API requests in progress.
#[derive(Clone)]
struct InFlight(Arc<Semaphore>);

/// The in-flight permit of the request being served, which a pull that starts to wait gives
/// back: a waiting pull costs little, and thousands of them must not shut everyone else out.
#[derive(Clone)]
pub struct InFlightPermit(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl InFlightPermit {
    pub fn give_back(&self) {
        self.0.lock().expect("permit lock").take();
    }
}

/// Refuses a request at once when too many are in progress, rather than queueing it: the client
/// learns within microseconds to come back later, and memory stays bounded.
async fn shed_load(
    Extension(InFlight(permits)): Extension<InFlight>,
    cx: &mut ServerContext,
    req: Request,
    next: Next,
) -> Response {
    let Ok(permit) = permits.try_acquire_owned() else {
        return ApiError::overloaded().into_response();
    };
    cx.extensions_mut()
        .insert(InFlightPermit(Arc::new(Mutex::new(Some(permit)))));
    let Ok(resp) = next.run(cx, req).await;
    resp
}

/// Reads the whole body within the body deadline before the request counts as in progress: a
/// client that trickles its body holds its own connection, never one of the API permits.
async fn read_body_first(
    Extension(limits): Extension<ApiLimits>,
    cx: &mut ServerContext,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match tokio::time::timeout(limits.body_timeout, read_body(body)).await {
        Err(_) => return ApiError::body_timeout(limits.body_timeout).into_response(),
        Ok(Err(err)) => return err.into_response(),
        Ok(Ok(body)) => body,
    };
    let Ok(resp) = next
        .run(cx, Request::from_parts(parts, Body::from(body)))
        .await;
    resp
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
