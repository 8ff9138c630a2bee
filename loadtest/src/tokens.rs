//! Bearer tokens for runs against an http-server in access mode `jwt`: one per member, signed
//! once and kept for the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use im_testkit::Signer;
use jsonwebtoken::Algorithm;

use crate::cli::{KeyAlgorithm, TokenArgs, TokensArgs};

/// Long enough for any bounded run.
const TOKEN_SECONDS: u64 = 24 * 3600;

pub struct Tokens {
    signer: Signer,
    audience: Option<String>,
    issuer: Option<String>,
    signed: Mutex<HashMap<String, Arc<str>>>,
}

impl Tokens {
    /// None when no key is given: requests carry no token (access mode `none`).
    pub fn new(args: &TokenArgs) -> anyhow::Result<Option<Arc<Self>>> {
        let signer = match (&args.token_secret_file, &args.token_key_file) {
            (Some(secret), _) => Signer::hs256_file(secret),
            (None, Some(key)) => {
                let algorithm = match args.token_alg {
                    KeyAlgorithm::Rs256 => Algorithm::RS256,
                    KeyAlgorithm::Es256 => Algorithm::ES256,
                    KeyAlgorithm::Eddsa => Algorithm::EdDSA,
                };
                let kid = args.token_kid.as_deref().unwrap_or_default();
                Signer::pem_file(algorithm, key, kid)
                    .map_err(anyhow::Error::msg)
                    .context("--token-key-file")?
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Arc::new(Self {
            signer,
            audience: args.token_audience.clone(),
            issuer: args.token_issuer.clone(),
            signed: Mutex::default(),
        })))
    }

    /// The token of `member`.
    pub fn of(&self, member: &str) -> Arc<str> {
        let mut signed = self.signed.lock().expect("tokens lock");
        signed
            .entry(member.to_owned())
            .or_insert_with(|| {
                self.signer
                    .token_for(
                        member,
                        TOKEN_SECONDS,
                        self.audience.as_deref(),
                        self.issuer.as_deref(),
                    )
                    .into()
            })
            .clone()
    }
}

/// `im-load tokens`: a `member token` line per member.
pub fn print(args: &TokensArgs) -> anyhow::Result<bool> {
    let tokens =
        Tokens::new(&args.token)?.context("give --token-secret-file or --token-key-file")?;
    if let Some(path) = &args.jwks {
        std::fs::write(path, im_testkit::jwks(&[&tokens.signer]))
            .with_context(|| format!("--jwks {}", path.display()))?;
    }
    for i in 0..args.count {
        let member = format!("{}{i}", args.prefix);
        println!("{member} {}", tokens.of(&member));
    }
    Ok(true)
}
