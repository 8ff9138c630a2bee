/// The non-zero `Code` values of the Thrift responses and of the HTTP error bodies.
/// The table in docs/api.md lists them; their numbers never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    /// The request is malformed or fails validation; retrying it unchanged cannot succeed.
    InvalidArgument = 1,
    /// A dependency (the database, or every rpc-server) cannot be reached right now.
    Unavailable = 2,
    /// A fault inside the service; details are in its log.
    Internal = 3,
    /// The rpc-server did not answer in time (HTTP only).
    Timeout = 4,
    /// No such route (HTTP only).
    NotFound = 5,
    /// The route exists but not for this method (HTTP only).
    MethodNotAllowed = 6,
    /// The request body is over the size limit (HTTP only).
    PayloadTooLarge = 7,
    /// The request body did not arrive within the body deadline (HTTP only).
    RequestTimeout = 8,
    /// A send reuses a client_msg_id of the same sender in the same room with another text.
    ClientMsgIdConflict = 9,
    /// A send without a client_msg_id may or may not have been stored (its replica or database
    /// connection failed mid-commit); resend it with a client_msg_id to make retries safe.
    OutcomeUnknown = 10,
    /// No bearer token, or one that is not valid (HTTP only, access mode `jwt`).
    Unauthenticated = 11,
    /// A valid token asks for what is not its member's own (HTTP only, access mode `jwt`).
    Forbidden = 12,
    /// The member is over its fair-use limit; retry after `Retry-After` (HTTP only).
    RateLimited = 13,
}

impl ErrorCode {
    pub const OK: i32 = 0;

    pub fn from_code(code: i32) -> Option<Self> {
        [
            Self::InvalidArgument,
            Self::Unavailable,
            Self::Internal,
            Self::Timeout,
            Self::NotFound,
            Self::MethodNotAllowed,
            Self::PayloadTooLarge,
            Self::RequestTimeout,
            Self::ClientMsgIdConflict,
            Self::OutcomeUnknown,
            Self::Unauthenticated,
            Self::Forbidden,
            Self::RateLimited,
        ]
        .into_iter()
        .find(|known| *known as i32 == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_ok_is_not_an_error() {
        assert_eq!(ErrorCode::from_code(1), Some(ErrorCode::InvalidArgument));
        assert_eq!(ErrorCode::from_code(7), Some(ErrorCode::PayloadTooLarge));
        assert_eq!(ErrorCode::from_code(ErrorCode::OK), None);
        assert_eq!(ErrorCode::from_code(99), None);
    }
}
