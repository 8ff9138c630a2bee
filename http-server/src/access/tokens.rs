//! Bearer tokens: JWTs checked with a maintained crate against the configured keys. A token's
//! key is chosen by its `kid` (the JWKS file) or, without one, is the HS256 secret; the key
//! alone decides the algorithm, so `alg: none` and an HS256 token signed with a public key are
//! refused like any forgery.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

use super::jwks::JwksFile;
use crate::config::AccessArgs;
use im_domain::Member;

/// Below this an HS256 secret can be guessed offline from any token (RFC 7518 asks for a key
/// at least as long as the hash).
const MIN_SECRET_BYTES: usize = 32;

/// How long a demo token lives.
const DEMO_TOKEN_SECONDS: u64 = 3600;

/// Tokens verified lately, kept so that a client's token is verified once rather than on every
/// request (an ES256 signature costs the http-server several times a whole request).
const VERIFIED_TOKENS_KEPT: usize = 16_384;

/// Longer tokens are verified every time rather than kept.
const LONGEST_TOKEN_KEPT: usize = 2048;

/// A token that passed every check. Its signature and claims cannot change; what can is the
/// time (`exp` is checked again on every use) and the JWKS file (a reload makes it stale).
#[derive(Clone)]
struct Verified {
    member: Member,
    /// `exp` plus the leeway.
    valid_until: u64,
    keys_version: u64,
}

/// A verifying key and the one algorithm it verifies.
#[derive(Clone)]
pub struct Key {
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
}

/// Why a token was refused: counted in the metrics, never said to the caller or logged with
/// the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a JWT, or a header that names no algorithm this server knows (`none` included).
    Malformed,
    /// No configured key fits: an unknown `kid`, or no `kid` and no HS256 secret.
    UnknownKey,
    /// The signature, the algorithm or a claim (`exp`, `nbf`, `aud`, `iss`) is wrong.
    Invalid,
    /// `sub` is not a member id.
    BadSubject,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::Invalid => "invalid",
            Self::BadSubject => "bad_subject",
        }
    }
}

/// The claims read here (`sub`, `exp`) and those the demo issuer writes; the others are
/// jsonwebtoken's to check, in any form the RFC allows (`aud` as an array, say).
#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// A NumericDate, which may have a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<serde_json::Number>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

pub struct Verifier {
    hs256: Option<(Key, EncodingKey)>,
    jwks: Option<Arc<JwksFile>>,
    verified: Cache<String, Verified>,
    leeway: u64,
    /// One per algorithm a key may have, all with the configured claims and leeway.
    validations: Vec<(Algorithm, Validation)>,
    audience: Option<String>,
    issuer: Option<String>,
}

impl Verifier {
    /// The keys of `args`; the start fails with a message naming the setting that is wrong.
    pub fn load(args: &AccessArgs) -> anyhow::Result<Self> {
        let hs256 = args
            .hs256_secret_file
            .as_deref()
            .map(hs256_key)
            .transpose()?;
        let jwks = args.jwks_file.as_deref().map(JwksFile::load).transpose()?;
        if hs256.is_none() && jwks.is_none() {
            bail!(
                "IM_AUTH=jwt needs keys: set IM_AUTH_HS256_SECRET_FILE, IM_AUTH_JWKS_FILE or both"
            );
        }
        let audience = Some(args.audience.trim().to_owned()).filter(|a| !a.is_empty());
        let issuer = Some(args.issuer.trim().to_owned()).filter(|i| !i.is_empty());
        let validations = [
            Algorithm::HS256,
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ]
        .into_iter()
        .map(|algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.leeway = args.leeway_s;
            validation.validate_nbf = true;
            validation.validate_aud = audience.is_some();
            let mut required = vec!["exp", "sub"];
            if let Some(audience) = &audience {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            if let Some(issuer) = &issuer {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            validation.set_required_spec_claims(&required);
            (algorithm, validation)
        })
        .collect();
        Ok(Self {
            hs256,
            jwks,
            verified: Cache::new(VERIFIED_TOKENS_KEPT),
            leeway: args.leeway_s,
            validations,
            audience,
            issuer,
        })
    }

    /// The member a token speaks for.
    pub fn verify(&self, token: &str) -> Result<Member, Refusal> {
        // Read before the keys: a reload while this token is checked makes its entry stale.
        let keys_version = self.jwks.as_ref().map_or(0, |jwks| jwks.version());
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(known) = self.verified.get(token)
            && known.keys_version == keys_version
            && now <= known.valid_until
        {
            return Ok(known.member);
        }
        let (member, exp) = self.verify_now(token)?;
        if token.len() <= LONGEST_TOKEN_KEPT {
            let valid_until = exp.saturating_add(self.leeway);
            let verified = Verified {
                member: member.clone(),
                valid_until,
                keys_version,
            };
            self.verified.insert(token.to_owned(), verified);
        }
        Ok(member)
    }

    /// Every check, on the token's signature and claims; the member and `exp`.
    fn verify_now(&self, token: &str) -> Result<(Member, u64), Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        let key = match &header.kid {
            Some(kid) => self.jwks.as_ref().and_then(|jwks| jwks.key(kid)),
            None => self.hs256.as_ref().map(|(key, _)| key.clone()),
        }
        .ok_or(Refusal::UnknownKey)?;
        let (_, validation) = self
            .validations
            .iter()
            .find(|(algorithm, _)| *algorithm == key.algorithm)
            .ok_or(Refusal::Invalid)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, validation)
            .map_err(|_| Refusal::Invalid)?
            .claims;
        let member = Member::parse(&claims.sub, "sub").map_err(|_| Refusal::BadSubject)?;
        // `exp` is required, so it was there: the validation checked it.
        let exp = claims.exp.and_then(|exp| exp.as_f64()).unwrap_or_default();
        Ok((member, exp as u64))
    }

    /// A token for `member` signed with the HS256 secret, valid for an hour: the demo issuer's.
    /// None without a secret.
    pub fn issue(&self, member: &Member) -> Option<String> {
        let (_, encoding) = self.hs256.as_ref()?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: member.to_string(),
            exp: Some((now + DEMO_TOKEN_SECONDS).into()),
            iat: Some(now),
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding).ok()
    }
}

fn hs256_key(path: &Path) -> anyhow::Result<(Key, EncodingKey)> {
    let raw = std::fs::read(path)
        .with_context(|| format!("IM_AUTH_HS256_SECRET_FILE: cannot read {}", path.display()))?;
    let secret = raw.strip_suffix(b"\n").unwrap_or(&raw);
    let secret = secret.strip_suffix(b"\r").unwrap_or(secret);
    if secret.len() < MIN_SECRET_BYTES {
        bail!(
            "IM_AUTH_HS256_SECRET_FILE: the secret in {} is {} bytes; at least {MIN_SECRET_BYTES} \
             are needed",
            path.display(),
            secret.len()
        );
    }
    let key = Key {
        algorithm: Algorithm::HS256,
        decoding: DecodingKey::from_secret(secret)?,
    };
    Ok((key, EncodingKey::from_secret(secret)?))
}
