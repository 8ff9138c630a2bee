use std::sync::Arc;

use im_domain::parse_wait;
use im_idl::PullRequest;
use tokio::sync::Semaphore;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::{ApiLimits, rpc_outcome};
use crate::api::{MessageJson, PullReply};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::middleware::InFlightPermit;
use crate::rpc_client::RpcClient;

/// Permits for pulls that wait for messages.
#[derive(Clone)]
pub struct WaitingPulls(Arc<Semaphore>);

impl WaitingPulls {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }
}

/// `GET /api/pull`: fields `chat`, `cursor` (0), `limit` (0: the default), `reverse` (false),
/// `wait_ms` (0: answer at once; a forward pull whose page is empty waits up to this long for
/// the room's next message).
pub async fn pull(
    Extension(rpc): Extension<Arc<RpcClient>>,
    Extension(limits): Extension<ApiLimits>,
    Extension(waiting): Extension<WaitingPulls>,
    Extension(in_flight): Extension<InFlightPermit>,
    fields: Fields,
) -> Result<Json<PullReply>, ApiError> {
    let reverse = fields.boolean("reverse")?.unwrap_or(false);
    let wait = parse_wait(fields.integer("wait_ms")?.unwrap_or(0), limits.max_wait)
        .map_err(|err| ApiError::invalid(err.to_string()))?;
    let waits = !wait.is_zero() && !reverse;
    let _waiting = if waits {
        let permit = waiting
            .0
            .try_acquire_owned()
            .map_err(|_| ApiError::too_many_waiting())?;
        in_flight.give_back();
        Some(permit)
    } else {
        None
    };
    let req = PullRequest {
        chat: fields.string("chat")?.unwrap_or_default().into(),
        cursor: fields.integer("cursor")?.unwrap_or(0),
        limit: fields.integer("limit")?.unwrap_or(0),
        reverse: Some(reverse),
        // At most the cap, which fits an i32.
        wait_ms: waits.then(|| i32::try_from(wait.as_millis()).unwrap_or(i32::MAX)),
    };
    let resp = rpc.pull(req, wait).await?;
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
