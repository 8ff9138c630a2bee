//! Bearer tokens for the access tests and the load tool: JWTs signed with a secret or a private
//! key, by default the test keys of `testkit/keys/` (public, made for the tests only).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The test keys, each with its algorithm and `kid`.
#[derive(Debug, Clone, Copy)]
pub enum TestKey {
    Rsa,
    Ec,
    EdA,
    EdB,
}

/// Signs tokens with one key, naming its `kid` (none for a secret).
pub struct Signer {
    key: EncodingKey,
    header: Header,
}

impl Signer {
    /// HS256 with `secret`, without a `kid`.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_secret(secret).expect("a non-empty secret"),
            header: Header::new(Algorithm::HS256),
        }
    }

    /// HS256 with the secret in `path`, read as the http-server reads it (trailing newline off).
    pub fn hs256_file(path: &Path) -> Self {
        let raw = std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let secret = raw.strip_suffix(b"\n").unwrap_or(&raw);
        Self::hs256(secret.strip_suffix(b"\r").unwrap_or(secret))
    }

    /// The private key in PEM file `path`, for `algorithm` (RS256, ES256 or EdDSA), naming `kid`.
    pub fn pem_file(algorithm: Algorithm, path: &Path, kid: &str) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            other => return Err(format!("{other:?} is not a public-key algorithm here")),
        }
        .map_err(|err| format!("{}: {err}", path.display()))?;
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_owned());
        Ok(Self { key, header })
    }

    /// The test HS256 secret the access tests configure.
    pub fn test_hs256() -> Self {
        Self::hs256_file(&test_secret_file())
    }

    /// A test key, its `kid` the key's name (`rsa`, `ec`, `ed-a`, `ed-b`).
    pub fn test_key(key: TestKey) -> Self {
        let (algorithm, file, kid) = match key {
            TestKey::Rsa => (Algorithm::RS256, "rsa.pem", "rsa"),
            TestKey::Ec => (Algorithm::ES256, "ec.pem", "ec"),
            TestKey::EdA => (Algorithm::EdDSA, "ed25519-a.pem", "ed-a"),
            TestKey::EdB => (Algorithm::EdDSA, "ed25519-b.pem", "ed-b"),
        };
        Self::pem_file(algorithm, &keys_dir().join(file), kid).expect("a test key")
    }

    /// A token for `member`, valid for ten minutes.
    pub fn token(&self, member: &str) -> String {
        self.token_for(member, 600, None, None)
    }

    /// A token for `member`, valid for `seconds`, naming `audience` and `issuer` when given.
    pub fn token_for(
        &self,
        member: &str,
        seconds: u64,
        audience: Option<&str>,
        issuer: Option<&str>,
    ) -> String {
        let mut claims = json!({ "sub": member, "exp": now() + seconds, "iat": now() });
        if let Some(audience) = audience {
            claims["aud"] = json!(audience);
        }
        if let Some(issuer) = issuer {
            claims["iss"] = json!(issuer);
        }
        self.sign(&claims)
    }

    /// A token with exactly these claims.
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&self.header, claims, &self.key).expect("a signed token")
    }

    /// The same key naming another `kid` in its header.
    pub fn with_kid(mut self, kid: &str) -> Self {
        self.header.kid = Some(kid.to_owned());
        self
    }

    /// The public half as a JWK with this signer's `kid`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.header.alg).expect("a public JWK");
        jwk.common.key_id = self.header.kid.clone();
        serde_json::to_value(jwk).expect("a JWK as JSON")
    }
}

/// A JWKS document of these signers' public keys.
pub fn jwks(signers: &[&Signer]) -> String {
    json!({ "keys": signers.iter().map(|s| s.public_jwk()).collect::<Vec<_>>() }).to_string()
}

pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys")
}

/// The file of the test HS256 secret, as `IM_AUTH_HS256_SECRET_FILE` takes it.
pub fn test_secret_file() -> PathBuf {
    keys_dir().join("hs256.secret")
}

/// Seconds since the Unix epoch, as JWT claims count time.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}
