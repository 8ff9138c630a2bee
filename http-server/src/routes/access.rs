use std::sync::Arc;

use serde::Serialize;
use volo_http::server::extract::Json;
use volo_http::utils::Extension;

use super::Api;
use crate::access::AccessInfo;
use crate::error::ApiError;
use crate::fields::Fields;

/// `GET /api/access`: the access mode and whether the demo issuer is on, so that a client
/// knows how to sign in. Needs no token.
pub async fn info(Extension(api): Extension<Arc<Api>>) -> Json<AccessInfo> {
    Json(api.access.info())
}

#[derive(Serialize)]
pub struct TokenReply {
    token: String,
}

/// `POST /api/demo/token` with field `member`: an HS256 token for that member, valid for an
/// hour. Only when the demo issuer is on (404 otherwise).
pub async fn demo_token(
    Extension(api): Extension<Arc<Api>>,
    fields: Fields,
) -> Result<Json<TokenReply>, ApiError> {
    let member = fields.string("member")?;
    let token = api.access.demo_token(member.as_deref())?;
    Ok(Json(TokenReply { token }))
}
