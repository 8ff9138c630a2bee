//! Every failure of the HTTP API, mapped once to a status and a JSON `{code, msg}` body.

use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode, header};
use im_domain::ErrorCode;
use volo_http::response::Response;
use volo_http::server::IntoResponse;
use volo_http::server::extract::Json;

use crate::api::ErrorReply;
use crate::rpc_client::RpcError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    msg: String,
    /// A header the status calls for: `Allow`, `WWW-Authenticate` or `Retry-After`.
    header: Option<(HeaderName, HeaderValue)>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            header: None,
        }
    }

    fn with_header(self, name: HeaderName, value: HeaderValue) -> Self {
        Self {
            header: Some((name, value)),
            ..self
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument, msg)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidArgument,
            format!(
                "unsupported Content-Type {content_type:?}: send application/json or \
                 application/x-www-form-urlencoded"
            ),
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("request body is over the limit of {limit} bytes"),
        )
    }

    pub fn body_timeout(deadline: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} ms",
                deadline.as_millis()
            ),
        )
    }

    pub fn overloaded() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "overloaded: too many requests in progress, retry later",
        )
    }

    pub fn too_many_waiting() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "overloaded: too many calls waiting, retry later",
        )
    }

    pub fn too_many_connections() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "overloaded: too many connections open, retry later",
        )
    }

    /// The JSON body of the answer.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.reply()).unwrap_or_default()
    }

    fn reply(&self) -> ErrorReply<'_> {
        ErrorReply {
            code: self.code as i32,
            msg: &self.msg,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("method not allowed; this route accepts {allow}"),
        )
        .with_header(header::ALLOW, HeaderValue::from_static(allow))
    }

    /// 401 (RFC 6750): no bearer token was sent, or the one sent is not valid. Which check
    /// failed is not said.
    pub fn unauthenticated(token_sent: bool) -> Self {
        let (msg, challenge) = if token_sent {
            (
                "unauthenticated: the bearer token is not valid",
                r#"Bearer error="invalid_token""#,
            )
        } else {
            (
                "unauthenticated: send Authorization: Bearer <token>",
                "Bearer",
            )
        };
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, msg).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )
    }

    /// 403: a valid token asks for what is not its member's own.
    pub fn forbidden(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("forbidden: {what}"),
        )
    }

    /// 429: the member is over its fair-use limit; `wait` is how long until the next call fits.
    pub fn rate_limited(what: &str, wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("too many {what} from this member: retry after {seconds} s"),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
    }

    /// A non-zero `Code` answered by the rpc-server.
    pub fn from_rpc(code: i32, msg: &str) -> Self {
        let (status, code) = match ErrorCode::from_code(code) {
            Some(ErrorCode::InvalidArgument) => {
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument)
            }
            Some(ErrorCode::Unavailable) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
            }
            Some(ErrorCode::ClientMsgIdConflict) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ClientMsgIdConflict,
            ),
            Some(ErrorCode::OutcomeUnknown) => (StatusCode::BAD_GATEWAY, ErrorCode::OutcomeUnknown),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        };
        Self::new(status, code, msg)
    }
}

/// The failure itself is logged once, by the RPC client.
impl From<RpcError> for ApiError {
    fn from(err: RpcError) -> Self {
        match err {
            RpcError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "no rpc-server reachable, retry later",
            ),
            RpcError::OutcomeUnknown => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::OutcomeUnknown,
                "the rpc-server failed or timed out during the send: the message may or may not \
                 have been stored; send with a client_msg_id to make resending safe",
            ),
            RpcError::Timeout => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::Timeout,
                "the rpc-server did not answer in time",
            ),
            RpcError::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.reply())).into_response();
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        // The rest of a body that did not arrive in time is not waited for.
        if self.status == StatusCode::REQUEST_TIMEOUT {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        // Every 503 is temporary: overload, or no replica or database reachable right now.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
