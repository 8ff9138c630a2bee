//! Whether a failed call may run again on another replica, and whether its outcome is unknown:
//! decided here only, by [`decide`], from the types in the error's source chain (volo-thrift's
//! `ClientError` variants, the `io::ErrorKind` under a transport exception, this module's
//! [`NoAnswer`]), never from message text, so a volo upgrade that rewords a message cannot turn
//! a possible duplicate into a retry.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

use im_idl::SendRequest;
use volo_thrift::{
    ApplicationException, ApplicationExceptionKind, BizError, ClientError, ProtocolException,
};

/// Whether running a call twice is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Repeat {
    /// A read (pull, chats), or a send with a client_msg_id: the rpc-servers store an id once,
    /// whichever replica gets it.
    Harmless,
    /// A send without a client_msg_id: a second run stores the message twice.
    Duplicates,
}

impl Repeat {
    pub(super) fn of_send(req: &SendRequest) -> Self {
        match req.message.client_msg_id {
            Some(_) => Self::Harmless,
            None => Self::Duplicates,
        }
    }
}

/// How an attempt at one replica failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// No connection was made: the replica never saw the request.
    NotConnected,
    /// The replica gave no answer in time; it may have run the call.
    Silent,
    /// The connection failed once the request may have reached the replica.
    Broken,
    /// The replica answered with an error, or with bytes that are not an answer.
    Answered,
    /// The replica answered that it does not know the method (a release before it, during a
    /// rolling upgrade): nothing ran.
    Unsupported,
    /// The call was kept back: its replica was heard leaving before the call left.
    Withheld,
}

/// What a failed attempt, or a failed call, comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// Try the next replica. `silent`: this one gave no answer in time (when no replica is left,
    /// the call timed out rather than found nobody).
    Retry { silent: bool },
    /// Stop: the replica may have run the call, and running it again could store it twice.
    OutcomeUnknown,
    /// Stop: the replica's answer stands.
    Final,
}

/// The one place that decides. `err` is an attempt's `ClientError`, or the `Elapsed` of a whole
/// call's deadline.
pub(super) fn decide(err: &(dyn Error + 'static), repeat: Repeat) -> Decision {
    match (failure(err), repeat) {
        (Failure::NotConnected, _) => Decision::Retry { silent: false },
        (Failure::Silent, Repeat::Harmless) => Decision::Retry { silent: true },
        (Failure::Broken, Repeat::Harmless) => Decision::Retry { silent: false },
        (Failure::Silent | Failure::Broken, Repeat::Duplicates) => Decision::OutcomeUnknown,
        (Failure::Unsupported | Failure::Withheld, _) => Decision::Retry { silent: false },
        (Failure::Answered, _) => Decision::Final,
    }
}

/// Whether the attempt found its replica out of reach: no connection, or no answer in time
/// (for outlier ejection; an answer, even an error, or a broken connection says it is there).
pub(super) fn unreachable(err: &(dyn Error + 'static)) -> bool {
    matches!(failure(err), Failure::NotConnected | Failure::Silent)
}

/// Whether the call never left for its replica (see [`Withheld`]): the attempt tells nothing
/// of the replica.
pub(super) fn withheld(err: &(dyn Error + 'static)) -> bool {
    failure(err) == Failure::Withheld
}

fn failure(err: &(dyn Error + 'static)) -> Failure {
    let mut link = Some(err);
    while let Some(err) = link {
        if err.is::<NoAnswer>() || err.is::<tokio::time::error::Elapsed>() {
            return Failure::Silent;
        }
        if let Some(app) = err.downcast_ref::<ApplicationException>()
            && app.kind() == ApplicationExceptionKind::UNKNOWN_METHOD
        {
            return Failure::Unsupported;
        }
        if err.is::<ApplicationException>() || err.is::<ProtocolException>() || err.is::<BizError>()
        {
            return Failure::Answered;
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            // `io::Error::source` skips the error it wraps: look at that one first.
            if io.get_ref().is_some_and(|inner| inner.is::<NoAnswer>()) {
                return Failure::Silent;
            }
            if io.get_ref().is_some_and(|inner| inner.is::<Withheld>()) {
                return Failure::Withheld;
            }
            // A connect timeout is a `TimedOut` too (it wraps tokio's `Elapsed`): no connection.
            return match io.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::TimedOut => Failure::NotConnected,
                _ => Failure::Broken,
            };
        }
        link = err.source();
    }
    // An error of no known type: the request may have been delivered.
    Failure::Broken
}

/// Why a call got no answer of its own from its replica.
#[derive(Clone, Debug)]
pub(super) enum Failed {
    /// The exchange failed with this error.
    Error(ClientError),
    /// The exchange got no answer within this time.
    Silent(Duration),
    /// The replica does not know the exchange's method: nothing ran.
    NoBatches,
    /// The call never left (see [`Withheld`]).
    Withheld,
}

impl Failed {
    /// A call left without an answer (a bug, never a replica's fault).
    pub(super) fn internal(what: &'static str) -> Self {
        Self::Error(ClientError::Application(ApplicationException::new(
            ApplicationExceptionKind::INTERNAL_ERROR,
            what,
        )))
    }

    /// The error [`decide`] judges.
    pub(super) fn into_client_error(self) -> ClientError {
        match self {
            Self::Error(err) => err,
            Self::Silent(waited) => NoAnswer(waited).into_client_error(),
            Self::NoBatches => ClientError::Application(ApplicationException::new(
                ApplicationExceptionKind::UNKNOWN_METHOD,
                "the replica does not know the method",
            )),
            Self::Withheld => ClientError::Transport(io::Error::other(Withheld).into()),
        }
    }
}

/// A send without an id kept back because its replica was heard leaving after the send chose it
/// and before it left: the replica may exit before it answers, and the send's outcome would
/// then be unknown; the next replica gets it instead.
#[derive(Debug)]
pub(super) struct Withheld;

impl fmt::Display for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not sent: the replica is leaving")
    }
}

impl Error for Withheld {}

/// An attempt that got no answer within its time.
#[derive(Debug)]
pub(super) struct NoAnswer(pub Duration);

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no answer within {:?}", self.0)
    }
}

impl Error for NoAnswer {}

impl NoAnswer {
    /// As a transport exception, which the load balancer retries.
    pub(super) fn into_client_error(self) -> ClientError {
        ClientError::Transport(io::Error::new(io::ErrorKind::TimedOut, self).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: io::ErrorKind) -> ClientError {
        ClientError::Transport(io::Error::new(kind, "test").into())
    }

    fn no_answer() -> ClientError {
        NoAnswer(Duration::from_secs(1)).into_client_error()
    }

    fn application() -> ClientError {
        ClientError::Application(ApplicationException::new(
            ApplicationExceptionKind::INTERNAL_ERROR,
            "x",
        ))
    }

    fn unknown_method() -> ClientError {
        ClientError::Application(ApplicationException::new(
            ApplicationExceptionKind::UNKNOWN_METHOD,
            "unknown method MarkRead",
        ))
    }

    fn protocol() -> ClientError {
        ClientError::Protocol(ProtocolException::new(
            volo_thrift::ProtocolExceptionKind::InvalidData,
            "x",
        ))
    }

    /// Every kind of failure the client meets, and what each must come to. Changing a row
    /// changes whether a send may be stored twice or a caller sees an error.
    #[tokio::test]
    async fn each_failure_is_retried_or_final_as_the_table_says() {
        use Decision::*;
        use io::ErrorKind::*;
        let elapsed = || async {
            tokio::time::timeout(Duration::ZERO, std::future::pending::<()>())
                .await
                .unwrap_err()
        };
        // How volo reports a connect timeout (`volo::net::dial`).
        let connect_timeout = ClientError::Transport(io::Error::from(elapsed().await).into());
        let (next, silent) = (Retry { silent: false }, Retry { silent: true });
        // (failure, then for a harmless call, then for a send without an id)
        #[rustfmt::skip]
        let cases: Vec<(&str, Box<dyn Error>, Decision, Decision)> = vec![
            ("refused", Box::new(transport(ConnectionRefused)), next, next),
            ("no address", Box::new(transport(AddrNotAvailable)), next, next),
            ("no network", Box::new(transport(NetworkUnreachable)), next, next),
            ("no host", Box::new(transport(HostUnreachable)), next, next),
            ("connect timeout", Box::new(connect_timeout), next, next),
            ("reset", Box::new(transport(ConnectionReset)), next, OutcomeUnknown),
            ("broken pipe", Box::new(transport(BrokenPipe)), next, OutcomeUnknown),
            ("closed mid-answer", Box::new(transport(UnexpectedEof)), next, OutcomeUnknown),
            ("attempt time up", Box::new(no_answer()), silent, OutcomeUnknown),
            ("call deadline", Box::new(elapsed().await), silent, OutcomeUnknown),
            ("application", Box::new(application()), Final, Final),
            ("unknown method", Box::new(unknown_method()), next, next),
            ("withheld", Box::new(Failed::Withheld.into_client_error()), next, next),
            ("protocol", Box::new(protocol()), Final, Final),
            ("biz", Box::new(ClientError::Biz(BizError::new(1, "x".into()))), Final, Final),
        ];
        for (name, err, harmless, duplicates) in cases {
            assert_eq!(
                decide(&*err, Repeat::Harmless),
                harmless,
                "{name}, harmless call"
            );
            assert_eq!(
                decide(&*err, Repeat::Duplicates),
                duplicates,
                "{name}, send without id"
            );
        }
        assert!(
            !unreachable(&unknown_method()),
            "a replica that answers is there"
        );
        assert!(
            !unreachable(&Failed::Withheld.into_client_error()),
            "a replica heard leaving is there"
        );
    }
}
