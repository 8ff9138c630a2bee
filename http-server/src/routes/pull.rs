use std::sync::Arc;

use im_idl::PullRequest;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::rpc_outcome;
use crate::api::{MessageJson, PullReply};
use crate::backend::Backend;
use crate::error::ApiError;
use crate::fields::Fields;

/// `GET /api/pull`: fields `chat`, `cursor` (0), `limit` (0: the default), `reverse` (false).
pub async fn pull(
    Extension(backend): Extension<Arc<Backend>>,
    fields: Fields,
) -> Result<Json<PullReply>, ApiError> {
    let req = PullRequest {
        chat: fields.string("chat")?.unwrap_or_default().into(),
        cursor: fields.integer("cursor")?.unwrap_or(0),
        limit: fields.integer("limit")?.unwrap_or(0),
        reverse: Some(fields.boolean("reverse")?.unwrap_or(false)),
    };
    let resp = backend.pull(req).await?;
    rpc_outcome(resp.code, &resp.msg)?;
    Ok(Json(PullReply {
        messages: resp
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(MessageJson::from)
            .collect(),
        has_more: resp.has_more.unwrap_or(false),
        next_cursor: resp.next_cursor.unwrap_or_default(),
    }))
}
