use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use volo_http::server::IntoResponse;
use volo_http::server::extract::Json;
use volo_http::server::route::{Router, get};
use volo_http::utils::Extension;

use crate::Telemetry;

/// Whether the process can do useful work now; `Err` says why not, `Ok(Some(note))` what an
/// operator should know although it serves.
pub type ReadinessCheck = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>> + Send + Sync,
>;

/// `/healthz` (the process answers), `/readyz` (200 when `ready` passes, else 503 with the
/// reason) and `/metrics` (Prometheus text).
pub fn admin_router(ready: ReadinessCheck, telemetry: Telemetry) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(Extension(ready))
        .layer(Extension(telemetry))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(Extension(ready): Extension<ReadinessCheck>) -> impl IntoResponse {
    match ready().await {
        Ok(None) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Some(note)) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "note": note })),
        ),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "reason": reason })),
        ),
    }
}

async fn metrics(Extension(telemetry): Extension<Telemetry>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        telemetry.metrics.render(),
    )
}
