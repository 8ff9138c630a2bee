use std::sync::Arc;

use im_idl::MarkReadRequest;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::{Api, rpc_outcome};
use crate::access::Caller;
use crate::api::ReadReply;
use crate::error::ApiError;
use crate::fields::Fields;

/// `POST /api/read`: moves `member`'s read marker in `chat` forward to `read_up_to` (a
/// send_time; at most the room's newest). With a token, `member` defaults to its member. Fair
/// use counts it as a read that does not wait.
pub async fn read(
    Extension(api): Extension<Arc<Api>>,
    caller: Caller,
    fields: Fields,
) -> Result<Json<ReadReply>, ApiError> {
    let chat = fields.string("chat")?;
    let member = caller.or_self(fields.string("member")?);
    let charged = caller.may_mark_read(chat.as_deref(), member.as_deref())?;
    api.access.fair_use.read(charged.as_deref())?;
    let req = MarkReadRequest {
        chat: chat.clone().unwrap_or_default().into(),
        member: member.clone().unwrap_or_default().into(),
        read_up_to: fields
            .integer("read_up_to")?
            .ok_or_else(|| ApiError::invalid("read_up_to is required".to_owned()))?,
    };
    let resp = api.rpc.mark_read(req).await?;
    rpc_outcome(resp.code, &resp.msg)?;
    // Answered with success, so the chat is well formed.
    let room = im_domain::Room::parse(chat.as_deref().unwrap_or_default())
        .map_err(|err| ApiError::invalid(err.to_string()))?;
    Ok(Json(ReadReply {
        chat: room.key().to_owned(),
        member: member.unwrap_or_default(),
        read_up_to: resp.read_up_to.unwrap_or_default(),
    }))
}
