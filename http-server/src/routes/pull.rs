use std::sync::Arc;
use std::time::Duration;

use im_domain::parse_wait;
use im_idl::PullRequest;
use tokio::sync::OwnedSemaphorePermit;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::{Api, rpc_outcome};
use crate::access::{Caller, WaitingPlace};
use crate::api::{MessageJson, PullReply};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::middleware::InFlightPermit;

impl Api {
    /// The `wait_ms` field of a pull or listing, clamped. A call that may wait gets a permit to
    /// wait, which moves it out of the requests in progress, and a place among its caller's
    /// waiting calls; one that may not is charged to `charged`'s fair use.
    pub fn admit_read(
        &self,
        fields: &Fields,
        reverse: bool,
        (caller, charged): (&Caller, Option<&str>),
        in_flight: &InFlightPermit,
    ) -> Result<(Duration, Option<Waiting>), ApiError> {
        let wait = parse_wait(
            fields.integer("wait_ms")?.unwrap_or(0),
            self.limits.max_wait,
        )
        .map_err(|err| ApiError::invalid(err.to_string()))?;
        if wait.is_zero() || reverse {
            self.access.fair_use.read(charged)?;
            return Ok((Duration::ZERO, None));
        }
        let own = caller
            .member()
            .map(|member| self.access.fair_use.wait(member))
            .transpose()?;
        let shared = self
            .waiting
            .try_take()
            .ok_or_else(ApiError::too_many_waiting)?;
        in_flight.give_back();
        Ok((
            wait,
            Some(Waiting {
                _shared: shared,
                _own: own,
            }),
        ))
    }

    /// A call that may wait but answered with something did not wait: it is charged as one
    /// that does not (else `wait_ms=1` would make every read free). A 429 here loses nothing:
    /// the client asks again from the same cursor.
    pub fn charge_answered(
        &self,
        wait: Duration,
        answered: bool,
        charged: Option<&str>,
    ) -> Result<(), ApiError> {
        if !wait.is_zero() && answered {
            self.access.fair_use.read(charged)?;
        }
        Ok(())
    }
}

/// What a waiting call holds while it waits: its place among all waiting calls, and among its
/// member's.
pub struct Waiting {
    _shared: OwnedSemaphorePermit,
    _own: Option<WaitingPlace>,
}

/// A wait as the IDL carries it: at most the cap, which fits an i32.
pub fn wait_ms(wait: Duration) -> Option<i32> {
    (!wait.is_zero()).then(|| i32::try_from(wait.as_millis()).unwrap_or(i32::MAX))
}

/// `GET /api/pull`: fields `chat`, `cursor` (0), `limit` (0: the default), `reverse` (false),
/// `wait_ms` (0: answer at once; a forward pull whose page is empty waits up to this long for
/// the room's next message).
pub async fn pull(
    Extension(api): Extension<Arc<Api>>,
    Extension(in_flight): Extension<InFlightPermit>,
    caller: Caller,
    fields: Fields,
) -> Result<Json<PullReply>, ApiError> {
    let chat = fields.string("chat")?;
    let charged = caller.may_pull(chat.as_deref())?;
    let reverse = fields.boolean("reverse")?.unwrap_or(false);
    let (wait, _waiting) =
        api.admit_read(&fields, reverse, (&caller, charged.as_deref()), &in_flight)?;
    let req = PullRequest {
        chat: chat.unwrap_or_default().into(),
        cursor: fields.integer("cursor")?.unwrap_or(0),
        limit: fields.integer("limit")?.unwrap_or(0),
        reverse: Some(reverse),
        wait_ms: wait_ms(wait),
    };
    // Its map is not kept through the wait.
    drop(fields);
    let resp = api.rpc.pull(req, wait).await?;
    rpc_outcome(resp.code, &resp.msg)?;
    let answered = resp.messages.as_ref().is_some_and(|m| !m.is_empty());
    api.charge_answered(wait, answered, charged.as_deref())?;
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
