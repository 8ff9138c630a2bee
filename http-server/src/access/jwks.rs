//! The JWKS file: public keys by `kid`, re-read when the file changes so that keys rotate
//! without a restart. A file that no longer parses keeps the keys last read, loudly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::tokens::Key;

/// How often the file is read to see whether it changed.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

type KeysById = HashMap<String, Key>;

pub struct JwksFile {
    path: PathBuf,
    keys: RwLock<Arc<KeysById>>,
    /// Counts the reloads: a token verified under an earlier set of keys is verified again.
    version: AtomicU64,
}

impl JwksFile {
    /// Reads the file; the start fails when it cannot be read or holds a key that cannot be used.
    pub fn load(path: &Path) -> anyhow::Result<Arc<Self>> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("IM_AUTH_JWKS_FILE: cannot read {}", path.display()))?;
        let keys = parse(&bytes)
            .with_context(|| format!("IM_AUTH_JWKS_FILE: {} is not usable", path.display()))?;
        tracing::info!(file = %path.display(), kids = ?keys.keys().collect::<Vec<_>>(), "JWKS keys loaded");
        let file = Arc::new(Self {
            path: path.to_owned(),
            keys: RwLock::new(Arc::new(keys)),
            version: AtomicU64::new(0),
        });
        tokio::spawn(Arc::clone(&file).reload_on_change(bytes));
        Ok(file)
    }

    pub fn key(&self, kid: &str) -> Option<Key> {
        self.keys.read().expect("keys lock").get(kid).cloned()
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    async fn reload_on_change(self: Arc<Self>, mut last: Vec<u8>) {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        loop {
            tick.tick().await;
            let Ok(bytes) = tokio::fs::read(&self.path).await else {
                tracing::warn!(file = %self.path.display(), "cannot read the JWKS file: keeping the keys last read");
                continue;
            };
            if bytes == last {
                continue;
            }
            match parse(&bytes) {
                Ok(keys) => {
                    metrics::counter!("im_http_jwks_reloads_total", "result" => "loaded")
                        .increment(1);
                    tracing::info!(kids = ?keys.keys().collect::<Vec<_>>(), "JWKS file changed: keys reloaded");
                    *self.keys.write().expect("keys lock") = Arc::new(keys);
                    self.version.fetch_add(1, Ordering::AcqRel);
                }
                Err(err) => {
                    metrics::counter!("im_http_jwks_reloads_total", "result" => "refused")
                        .increment(1);
                    tracing::error!(
                        file = %self.path.display(),
                        "the JWKS file changed but is not usable ({err:#}): keeping the keys last read"
                    );
                }
            }
            last = bytes;
        }
    }
}

fn parse(bytes: &[u8]) -> anyhow::Result<KeysById> {
    let set: JwkSet = serde_json::from_slice(bytes).context("not a JWKS document")?;
    let mut keys = KeysById::new();
    for jwk in &set.keys {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| anyhow!("a key has no \"kid\": tokens choose their key by it"))?;
        let key = key_of(jwk).with_context(|| format!("key {kid:?}"))?;
        if keys.insert(kid.clone(), key).is_some() {
            bail!("two keys have the kid {kid:?}");
        }
    }
    Ok(keys)
}

/// The key and the one algorithm it verifies, which follows from the key's type: a token
/// never chooses it.
fn key_of(jwk: &Jwk) -> anyhow::Result<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        bail!("it is an encryption key (\"use\": \"enc\")");
    }
    // Coordinates of the wrong length would fail every token, or worse, inside the crypto.
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            coordinate(&ec.x, "x", 32)?;
            coordinate(&ec.y, "y", 32)?;
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            coordinate(&okp.x, "x", 32)?;
            Algorithm::EdDSA
        }
        AlgorithmParameters::OctetKey(_) => {
            bail!("a symmetric key belongs in IM_AUTH_HS256_SECRET_FILE, not in the JWKS file")
        }
        _ => bail!("only RSA (RS256), P-256 (ES256) and Ed25519 (EdDSA) keys are supported"),
    };
    if let Some(named) = jwk.common.key_algorithm {
        let named = Algorithm::try_from(named).ok();
        if named != Some(algorithm) {
            bail!("its \"alg\" does not match its key type, which verifies {algorithm:?}");
        }
    }
    let decoding = DecodingKey::from_jwk(jwk).context("malformed key")?;
    Ok(Key {
        algorithm,
        decoding,
    })
}

/// A base64url key coordinate of exactly `bytes` bytes.
fn coordinate(encoded: &str, name: &str, bytes: usize) -> anyhow::Result<()> {
    let decoded = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .with_context(|| format!("\"{name}\" is not base64url"))?;
    if decoded.len() != bytes {
        bail!("\"{name}\" is {} bytes, not {bytes}", decoded.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_chosen_by_kid_with_the_algorithm_of_their_type() {
        let keys = parse(
            br#"{"keys":[
              {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
              {"kty":"EC","crv":"P-256","kid":"ec","alg":"ES256",
               "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
        assert_eq!(keys["ec"].algorithm, Algorithm::ES256);
    }

    #[test]
    fn unusable_keys_are_refused() {
        let symmetric = br#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#;
        assert!(parse(symmetric).is_err());
        let no_kid = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        assert!(parse(no_kid).is_err());
        let wrong_alg = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","alg":"RS256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        assert!(parse(wrong_alg).is_err());
        assert!(parse(b"not json").is_err());
        let short_key = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"AAAA"}]}"#;
        assert!(parse(short_key).is_err());
    }
}
