//! One file per endpoint family; `router` wires them with the JSON 404 and 405 answers.

mod ping;
mod pull;
mod send;

use std::sync::Arc;

use volo_http::server::route::{Router, get, post};
use volo_http::utils::Extension;

use crate::backend::Backend;
use crate::error::ApiError;

pub fn router(backend: Backend) -> Router {
    Router::new()
        .route("/ping", get(ping::ping).fallback(only_get))
        .route("/api/send", post(send::send).fallback(only_post))
        .route("/api/pull", get(pull::pull).fallback(only_get))
        .fallback(not_found)
        .layer(Extension(Arc::new(backend)))
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
