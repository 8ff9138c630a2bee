//! One file per endpoint family; `router` wires them with the admin endpoints, the JSON 404 and
//! 405 answers, and the layers of `middleware`.

mod access;
mod chats;
mod ping;
mod pull;
mod read;
mod send;

use std::sync::Arc;

use http::request::Parts;
use im_ops::{ReadinessCheck, Telemetry, admin_router};
use volo::context::Context;
use volo_http::context::ServerContext;
use volo_http::request::Request;
use volo_http::response::Response;
use volo_http::server::IntoResponse;
use volo_http::server::extract::FromContext;
use volo_http::server::middleware;
use volo_http::server::route::{Router, get, post};
use volo_http::utils::Extension;

use crate::access::Caller;
use crate::error::ApiError;
use crate::middleware::{TrackRequests, admit};
use crate::rpc_client::RpcError;
use crate::state::Api;
use crate::web::Web;

/// A handler that takes a [`Caller`] is called only for a caller the access mode admits.
impl FromContext for Caller {
    type Rejection = ApiError;

    async fn from_context(cx: &mut ServerContext, parts: &mut Parts) -> Result<Self, ApiError> {
        match cx.extensions().get::<Arc<Api>>() {
            Some(api) => api.access.identify(&parts.headers),
            None => Err(RpcError::Internal.into()),
        }
    }
}

/// The API behind its layers, the page (when served), `/ping` and the admin endpoints.
pub fn router(
    api: Api,
    web: Option<Web>,
    ready: ReadinessCheck,
    telemetry: Telemetry,
) -> TrackRequests<Router> {
    // Later layers run first: `admit` finds the extension.
    let api = Router::new()
        .route("/api/send", post(send::send).fallback(only_post))
        .route("/api/pull", get(pull::pull).fallback(only_get))
        .route("/api/chats", get(chats::chats).fallback(only_get))
        .route("/api/read", post(read::read).fallback(only_post))
        .route("/api/access", get(access::info).fallback(only_get))
        .route(
            "/api/demo/token",
            post(access::demo_token).fallback(only_post),
        )
        .layer(middleware::from_fn(admit))
        .layer(Extension(Arc::new(api)));
    let web = Arc::new(web);
    let all = Router::new()
        .route("/ping", get(ping::ping).fallback(only_get))
        .merge(api)
        .merge(admin_router(ready, telemetry))
        .fallback(move |req: Request| page_or_not_found(web.clone(), req));
    TrackRequests(all)
}

/// Any other path is a file of the page, or 404.
async fn page_or_not_found(web: Arc<Option<Web>>, req: Request) -> Response {
    (*web)
        .as_ref()
        .and_then(|web| web.serve(req.method(), req.uri().path(), req.headers()))
        .unwrap_or_else(|| ApiError::not_found().into_response())
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
