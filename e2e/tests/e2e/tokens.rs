//! Tokens end to end: each key kind is accepted, every forgery and every token that is not
//! valid now is refused with 401 `invalid_token`, and keys rotate through the JWKS file.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use im_testkit::{
    Api, Signer, Stack, TestKey, eventually, jwks, keys_dir, metric, now, test_secret_file,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::jwt_stack;

/// A JWKS file of the test's own, removed when dropped.
struct JwksFile(PathBuf);

impl JwksFile {
    fn new(signers: &[&Signer]) -> Self {
        let path = std::env::temp_dir().join(format!(
            "im-jwks-{}-{}.json",
            std::process::id(),
            fastrand_suffix()
        ));
        let file = Self(path);
        file.write(signers);
        file
    }

    /// Replaces the file whole, as a key rotation does (write aside, then rename).
    fn write(&self, signers: &[&Signer]) {
        let aside = self.0.with_extension("tmp");
        std::fs::write(&aside, jwks(signers)).unwrap();
        std::fs::rename(&aside, &self.0).unwrap();
    }
}

impl Drop for JwksFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn fastrand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A stack that takes the test HS256 secret and the keys of `jwks`, with `aud` and `iss`.
fn stack(jwks: &JwksFile) -> Stack {
    Stack::start_with(
        1,
        &[
            ("IM_AUTH", "jwt".to_owned()),
            (
                "IM_AUTH_HS256_SECRET_FILE",
                test_secret_file().display().to_string(),
            ),
            ("IM_AUTH_JWKS_FILE", jwks.0.display().to_string()),
            ("IM_AUTH_AUDIENCE", "im".to_owned()),
            ("IM_AUTH_ISSUER", "https://issuer.example".to_owned()),
            ("IM_AUTH_LEEWAY_S", "5".to_owned()),
        ],
    )
}

fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "exp": now() + 600, "aud": "im", "iss": "https://issuer.example" })
}

/// The status of a pull of al's chat with `token`, and its `WWW-Authenticate`.
async fn pull_with(stack: &Stack, token: &str) -> (StatusCode, String) {
    let resp = Api::with_token(stack.http.addr, token)
        .client()
        .get(stack.url("/api/pull?chat=al:bob"))
        .send()
        .await
        .unwrap();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status(), challenge)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn each_key_kind_is_accepted_by_kid() {
    let (rsa, ec, ed) = (
        Signer::test_key(TestKey::Rsa),
        Signer::test_key(TestKey::Ec),
        Signer::test_key(TestKey::EdA),
    );
    let file = JwksFile::new(&[&rsa, &ec, &ed]);
    let stack = stack(&file);
    for (kind, signer) in [
        ("RS256", &rsa),
        ("ES256", &ec),
        ("EdDSA", &ed),
        ("HS256", &Signer::test_hs256()),
    ] {
        let (status, _) = pull_with(&stack, &signer.sign(&claims("al"))).await;
        assert_eq!(status, StatusCode::OK, "{kind}");
    }
}

#[tokio::test]
async fn tokens_that_are_not_valid_now_or_not_ours_are_refused() {
    let (rsa, ed) = (
        Signer::test_key(TestKey::Rsa),
        Signer::test_key(TestKey::EdA),
    );
    let file = JwksFile::new(&[&rsa, &ed]);
    let stack = stack(&file);
    let hs = Signer::test_hs256();
    let with = |change: Value| {
        let mut all = claims("al");
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                all.as_object_mut().unwrap().remove(k);
            } else {
                all[k] = v.clone();
            }
        }
        all
    };
    let valid = ed.sign(&claims("al"));
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims("bob")), parts[2]);
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims("al"))
    );
    // HS256 "signed" with the RSA key's public half, naming the RSA key.
    let public_pem = std::fs::read(keys_dir().join("rsa.pub.pem")).unwrap();
    let confusion = Signer::hs256(&public_pem)
        .with_kid("rsa")
        .sign(&claims("al"));
    let refused = [
        ("expired", hs.sign(&with(json!({ "exp": now() - 60 })))),
        ("without exp", hs.sign(&with(json!({ "exp": null })))),
        (
            "not yet valid",
            hs.sign(&with(json!({ "nbf": now() + 600 }))),
        ),
        ("wrong audience", hs.sign(&with(json!({ "aud": "other" })))),
        ("without audience", hs.sign(&with(json!({ "aud": null })))),
        (
            "wrong issuer",
            hs.sign(&with(json!({ "iss": "https://evil.example" }))),
        ),
        ("tampered payload", tampered),
        ("wrong secret", Signer::hs256(&[7; 32]).sign(&claims("al"))),
        (
            "wrong key for the kid",
            Signer::test_key(TestKey::EdB)
                .with_kid("ed-a")
                .sign(&claims("al")),
        ),
        ("alg none", alg_none),
        ("algorithm confusion", confusion),
        (
            "unknown kid",
            Signer::test_key(TestKey::EdB).sign(&claims("al")),
        ),
        (
            "sub not a member id",
            hs.sign(&with(json!({ "sub": "al bob" }))),
        ),
        (
            "sub with a colon",
            hs.sign(&with(json!({ "sub": "al:bob" }))),
        ),
        ("empty sub", hs.sign(&with(json!({ "sub": "" })))),
        ("without sub", hs.sign(&with(json!({ "sub": null })))),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (what, token) in refused {
        let (status, challenge) = pull_with(&stack, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(challenge, r#"Bearer error="invalid_token""#, "{what}");
    }
    // `aud` may be a list that names this service among others.
    let listed = hs.sign(&with(json!({ "aud": ["other", "im"] })));
    assert_eq!(pull_with(&stack, &listed).await.0, StatusCode::OK);
    // Within the leeway, a just-expired token still counts.
    let (status, _) = pull_with(&stack, &hs.sign(&with(json!({ "exp": now() - 1 })))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = pull_with(&stack, &valid).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_accepted_before_is_refused_once_it_expires() {
    let stack = jwt_stack(&[("IM_AUTH_LEEWAY_S", "0".to_owned())]);
    let short = Signer::test_hs256().sign(&json!({ "sub": "al", "exp": now() + 3 }));
    assert_eq!(pull_with(&stack, &short).await.0, StatusCode::OK);
    eventually("the token expires", Duration::from_secs(10), || async {
        pull_with(&stack, &short).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn keys_rotate_through_the_jwks_file_without_a_restart() {
    let (old, new) = (
        Signer::test_key(TestKey::EdA),
        Signer::test_key(TestKey::EdB),
    );
    let file = JwksFile::new(&[&old]);
    let stack = stack(&file);
    let (old_token, new_token) = (old.sign(&claims("al")), new.sign(&claims("al")));
    assert_eq!(pull_with(&stack, &old_token).await.0, StatusCode::OK);
    assert_eq!(
        pull_with(&stack, &new_token).await.0,
        StatusCode::UNAUTHORIZED
    );

    file.write(&[&old, &new]);
    eventually("the new key is taken", Duration::from_secs(10), || async {
        pull_with(&stack, &new_token).await.0 == StatusCode::OK
    })
    .await;
    file.write(&[&new]);
    eventually(
        "the old key is dropped",
        Duration::from_secs(10),
        || async { pull_with(&stack, &old_token).await.0 == StatusCode::UNAUTHORIZED },
    )
    .await;
    assert_eq!(pull_with(&stack, &new_token).await.0, StatusCode::OK);

    // A file that no longer parses keeps the keys last read.
    std::fs::write(&file.0, "{ not json").unwrap();
    let refused = || async {
        metric(
            stack.http.admin,
            "im_http_jwks_reloads_total{result=\"refused\"}",
        )
        .await
    };
    eventually(
        "the broken file is read",
        Duration::from_secs(10),
        || async { refused().await >= 1.0 },
    )
    .await;
    assert_eq!(pull_with(&stack, &new_token).await.0, StatusCode::OK);
}
