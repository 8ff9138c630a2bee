use serde_json::{Value, json};
use volo_http::server::extract::Json;

pub async fn ping() -> Json<Value> {
    Json(json!({ "message": "pong" }))
}
