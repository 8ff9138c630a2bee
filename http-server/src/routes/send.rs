use std::sync::Arc;

use im_idl::{Message, SendRequest};
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::{Api, rpc_outcome};
use crate::access::Caller;
use crate::api::{MessageJson, SendReply};
use crate::error::ApiError;
use crate::fields::Fields;

/// `POST /api/send`: fields `chat`, `text`, `sender` and the optional `client_msg_id` (or the
/// `Idempotency-Key` header); with a token, `sender` defaults to its member. The rpc-server
/// validates them.
pub async fn send(
    Extension(api): Extension<Arc<Api>>,
    caller: Caller,
    fields: Fields,
) -> Result<Json<SendReply>, ApiError> {
    let chat = fields.string("chat")?;
    let sender = caller.or_self(fields.string("sender")?);
    let charged = caller.may_send(chat.as_deref(), sender.as_deref())?;
    api.access.fair_use.send(charged.as_deref())?;
    let message = Message {
        chat: chat.map(Into::into),
        text: fields.string("text")?.map(Into::into),
        sender: sender.map(Into::into),
        send_time: None,
        client_msg_id: fields.string("client_msg_id")?.map(Into::into),
    };
    let resp = api.rpc.send(SendRequest { message }).await?;
    rpc_outcome(resp.code, &resp.msg)?;
    Ok(Json(SendReply {
        message: resp.stored.map(MessageJson::from),
        duplicate: resp.duplicate.unwrap_or(false),
    }))
}
