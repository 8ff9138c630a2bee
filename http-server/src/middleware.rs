//! The layers every API request passes before its route: request metrics, the body read within
//! its deadline, and load shedding.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use volo::context::Context;
use volo_http::body::Body;
use volo_http::context::ServerContext;
use volo_http::request::Request;
use volo_http::response::Response;
use volo_http::server::IntoResponse;
use volo_http::server::middleware::Next;
use volo_http::utils::Extension;

use crate::body::read_body;
use crate::error::ApiError;
use crate::routes::{ApiLimits, ROUTES};

/// Counts requests by route and status and times them; unknown paths share one label so that
/// scanners cannot blow up the number of series.
pub async fn track_requests(cx: &mut ServerContext, req: Request, next: Next) -> Response {
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
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }
}

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
pub async fn shed_load(
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
pub async fn read_body_first(
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
