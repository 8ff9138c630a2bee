//! The layers every request passes before its route: request metrics, then, for the API, the
//! body read within its deadline and load shedding, in one layer (each layer costs a waiting
//! request a future of its own, and thousands of requests may wait).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;
use volo::Service;
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
use crate::state::{Api, ROUTES};

/// Counts requests by route and status and times them; unknown paths share one label so that
/// scanners cannot blow up the number of series. It wraps the whole router rather than being a
/// layer of it, which would box one more future for every request.
#[derive(Clone)]
pub struct TrackRequests<S>(pub S);

impl<S> Service<ServerContext, Request> for TrackRequests<S>
where
    S: Service<ServerContext, Request, Response = Response, Error = Infallible> + Send + Sync,
{
    type Response = Response;
    type Error = Infallible;

    async fn call(&self, cx: &mut ServerContext, req: Request) -> Result<Response, Infallible> {
        let path = req.uri().path();
        let route = ROUTES.into_iter().find(|r| *r == path).unwrap_or("other");
        let started = Instant::now();
        let Ok(resp) = self.0.call(cx, req).await;
        metrics::histogram!("im_http_request_duration_seconds", "route" => route)
            .record(started.elapsed());
        metrics::counter!(
            "im_http_requests_total",
            "route" => route,
            "status" => resp.status().as_str().to_owned()
        )
        .increment(1);
        Ok(resp)
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

/// Reads the whole body within the body deadline, then refuses the request at once when too
/// many are in progress, rather than queueing it: the client learns within microseconds to come
/// back later, and memory stays bounded. The body comes first so that a client that trickles it
/// holds its own connection, never one of the permits.
pub async fn admit(
    Extension(api): Extension<Arc<Api>>,
    cx: &mut ServerContext,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body_timeout = api.limits.body_timeout;
    let body = match tokio::time::timeout(body_timeout, read_body(body)).await {
        Err(_) => return ApiError::body_timeout(body_timeout).into_response(),
        Ok(Err(err)) => return err.into_response(),
        Ok(Ok(body)) => body,
    };
    let Some(permit) = api.in_flight.try_take() else {
        return ApiError::overloaded().into_response();
    };
    cx.extensions_mut()
        .insert(InFlightPermit(Arc::new(Mutex::new(Some(permit)))));
    let Ok(resp) = next
        .run(cx, Request::from_parts(parts, Body::from(body)))
        .await;
    resp
}
