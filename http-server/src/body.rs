//! The request body's limits: its size, and how much of an oversized one is read before the
//! answer. (Its deadline is the middleware's.)

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use volo_http::body::Body;

use crate::error::ApiError;

/// Larger than any valid request: 4096 characters, each escaped as a 12-byte surrogate pair,
/// plus the other fields.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT_BYTES: usize = 1024 * 1024;

/// Reads the body up to [`MAX_BODY_BYTES`]. An oversized body is still drained up to
/// [`DRAIN_LIMIT_BYTES`] before the 413 goes out, so that the client, still writing, reads the
/// answer instead of a reset connection.
pub async fn read_body(mut body: Body) -> Result<Bytes, ApiError> {
    let mut kept = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|err| ApiError::invalid(format!("cannot read the request body: {err}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT_BYTES {
            break;
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    Ok(kept.freeze())
}
