use std::sync::Arc;

use im_idl::ChatsRequest;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::pull::wait_ms;
use super::{Api, rpc_outcome};
use crate::access::Caller;
use crate::api::{ChatJson, ChatsReply};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::middleware::InFlightPermit;

/// `GET /api/chats`: a member's inbox. Fields `member`, `cursor` (0), `limit` (0: the default,
/// 20), `reverse` (false), `wait_ms` (0: answer at once; a forward listing whose page is empty
/// waits up to this long for any room of the member to change). With a token, `member`
/// defaults to its member.
pub async fn chats(
    Extension(api): Extension<Arc<Api>>,
    Extension(in_flight): Extension<InFlightPermit>,
    caller: Caller,
    fields: Fields,
) -> Result<Json<ChatsReply>, ApiError> {
    let member = caller.or_self(fields.string("member")?);
    let charged = caller.may_list(member.as_deref())?;
    let reverse = fields.boolean("reverse")?.unwrap_or(false);
    let (wait, _waiting) =
        api.admit_read(&fields, reverse, (&caller, charged.as_deref()), &in_flight)?;
    let req = ChatsRequest {
        member: member.unwrap_or_default().into(),
        cursor: Some(fields.integer("cursor")?.unwrap_or(0)),
        limit: Some(fields.integer("limit")?.unwrap_or(0)),
        reverse: Some(reverse),
        wait_ms: wait_ms(wait),
    };
    // Its map is not kept through the wait.
    drop(fields);
    let resp = api.rpc.chats(req, wait).await?;
    rpc_outcome(resp.code, &resp.msg)?;
    let answered = resp.chats.as_ref().is_some_and(|c| !c.is_empty());
    api.charge_answered(wait, answered, charged.as_deref())?;
    Ok(Json(ChatsReply {
        chats: resp
            .chats
            .unwrap_or_default()
            .into_iter()
            .map(ChatJson::from)
            .collect(),
        has_more: resp.has_more.unwrap_or(false),
        next_cursor: resp.next_cursor.unwrap_or_default(),
    }))
}
