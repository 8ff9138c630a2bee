//! Access: who may call the API (docs/api.md, "Access"). In mode `none` anyone acts as any
//! member, as in the reference; in mode `jwt` a bearer token names the member, and
//! [`Caller`]'s rules say what it may do. Fair use applies in both.

mod caller;
mod fair_use;
mod jwks;
mod tokens;

use std::net::SocketAddr;

use anyhow::bail;
use http::{HeaderMap, header};
use im_domain::Member;
use serde::Serialize;

pub use caller::Caller;
pub use fair_use::{FairUse, WaitingPlace};
use tokens::Verifier;

use crate::config::{AccessArgs, AccessMode};
use crate::error::ApiError;

pub struct Access {
    /// Some in mode `jwt`.
    verifier: Option<Verifier>,
    demo_issuer: bool,
    pub fair_use: FairUse,
}

/// What the web messenger asks before it signs in (`GET /api/access`).
#[derive(Debug, Serialize)]
pub struct AccessInfo {
    pub mode: &'static str,
    pub demo_issuer: bool,
}

impl Access {
    /// The access of `args` for a server listening on `listen`; a setting that cannot work
    /// stops the start with a message naming it.
    pub fn new(args: &AccessArgs, listen: SocketAddr) -> anyhow::Result<Self> {
        let verifier = match args.mode {
            AccessMode::None => {
                warn_anyone_may_act_as_anyone(listen);
                if args.demo_issuer {
                    bail!("IM_AUTH_DEMO_ISSUER needs IM_AUTH=jwt and IM_AUTH_HS256_SECRET_FILE");
                }
                None
            }
            AccessMode::Jwt => {
                let verifier = Verifier::load(args)?;
                if args.demo_issuer {
                    if args.hs256_secret_file.is_none() {
                        bail!("IM_AUTH_DEMO_ISSUER needs IM_AUTH_HS256_SECRET_FILE");
                    }
                    tracing::warn!(
                        "DEMO ISSUER ON: POST /api/demo/token gives anyone a token for any \
                         member; for demos only, never in production"
                    );
                }
                Some(verifier)
            }
        };
        Ok(Self {
            verifier,
            demo_issuer: args.demo_issuer,
            fair_use: FairUse::new(args),
        })
    }

    pub fn info(&self) -> AccessInfo {
        AccessInfo {
            mode: if self.verifier.is_some() {
                "jwt"
            } else {
                "none"
            },
            demo_issuer: self.demo_issuer,
        }
    }

    /// The caller of a request with these headers: in mode `jwt`, the member of its bearer
    /// token, or 401.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(verifier) = &self.verifier else {
            return Ok(Caller::Anyone);
        };
        let mut sent = headers.get_all(header::AUTHORIZATION).iter();
        let Some(first) = sent.next() else {
            return Err(ApiError::unauthenticated(false));
        };
        let (scheme, token) = first
            .to_str()
            .ok()
            .filter(|_| sent.next().is_none())
            .and_then(|value| value.split_once(' '))
            .ok_or_else(|| refused(tokens::Refusal::Malformed))?;
        // Credentials of another scheme are no bearer token: the plain challenge (RFC 6750).
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthenticated(false));
        }
        let token = token.trim();
        verifier.verify(token).map(Caller::Member).map_err(refused)
    }

    /// The demo issuer's token for the member named; 404 when the issuer is off.
    pub fn demo_token(&self, member: Option<&str>) -> Result<String, ApiError> {
        let verifier = self
            .verifier
            .as_ref()
            .filter(|_| self.demo_issuer)
            .ok_or_else(ApiError::not_found)?;
        let member = Member::parse(member.unwrap_or_default(), "member")
            .map_err(|err| ApiError::invalid(err.to_string()))?;
        // Its own bucket: asking for tokens must not use up the member's reads.
        self.fair_use.read(Some(&format!("demo-token {member}")))?;
        verifier.issue(&member).ok_or_else(ApiError::not_found)
    }
}

/// A refused token is counted by why, and answered without saying why.
fn refused(refusal: tokens::Refusal) -> ApiError {
    metrics::counter!("im_http_tokens_refused_total", "reason" => refusal.label()).increment(1);
    ApiError::unauthenticated(true)
}

fn warn_anyone_may_act_as_anyone(listen: SocketAddr) {
    if listen.ip().is_loopback() {
        tracing::warn!("access mode none: any caller may send as any member and read any chat");
    } else {
        tracing::error!(
            %listen,
            "ACCESS MODE NONE ON AN ADDRESS BEYOND LOOPBACK: anyone who reaches it may send as \
             any member and read any chat; set IM_AUTH=jwt to require tokens"
        );
    }
}
