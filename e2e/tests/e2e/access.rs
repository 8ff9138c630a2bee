//! Access end to end: mode `none` (anyone acts as anyone), mode `jwt` (a member reaches only
//! its own chats), the demo issuer, and settings that stop the start.

use std::process::Command;

use im_testkit::{Api, Signer, Stack, assert_error, test_secret_file};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A stack whose http-server requires tokens signed with the test HS256 secret.
pub fn jwt_stack(extra: &[(&str, String)]) -> Stack {
    let mut env = vec![
        ("IM_AUTH", "jwt".to_owned()),
        (
            "IM_AUTH_HS256_SECRET_FILE",
            test_secret_file().display().to_string(),
        ),
    ];
    env.extend(extra.iter().cloned());
    Stack::start_with(1, &env)
}

/// A client of the stack's http-server acting as `member`.
pub fn as_member(stack: &Stack, member: &str) -> Api {
    Api::with_token(stack.http.addr, &Signer::test_hs256().token(member))
}

#[tokio::test]
async fn mode_none_is_the_default_and_anyone_acts_as_any_member() {
    let stack = Stack::start(1);
    let api = stack.api();
    let (status, info) = api.call(api.client().get(api.url("/api/access"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info, json!({ "mode": "none", "demo_issuer": false }));
    api.send_ok("al:bob", "bob", "as bob, without a token")
        .await;
    let (status, inbox) = api.chats("member=al").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["chats"][0]["chat"], "al:bob");
}

#[tokio::test]
async fn an_authorised_member_gets_the_same_answers_as_in_mode_none() {
    let stack = jwt_stack(&[]);
    let al = as_member(&stack, "al");
    let sent = al.send_ok("bob:al", "al", "hello").await;
    assert_eq!(sent["chat"], "al:bob");
    assert_eq!(sent["sender"], "al");
    let page = al.pull_ok("chat=al:bob").await;
    assert_eq!(page["messages"][0], sent);
    assert_eq!(page["has_more"], false);
    let (status, inbox) = al.chats("member=al").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["chats"][0]["last_message"], sent);
    // `member` and `sender` default to the token's member.
    let (status, own) = al.chats("").await;
    assert_eq!((status, &own["chats"]), (StatusCode::OK, &inbox["chats"]));
    let (status, body) = al
        .send(json!({ "chat": "al:bob", "text": "no sender" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"]["sender"], "al");
}

#[tokio::test]
async fn a_member_reaches_only_its_own_chats_and_inbox() {
    let stack = jwt_stack(&[]);
    let (al, bob) = (as_member(&stack, "al"), as_member(&stack, "bob"));
    bob.send_ok("bob:cy", "bob", "private").await;

    let forbidden = [
        (
            "send as another",
            al.send(json!({ "chat": "al:bob", "sender": "bob", "text": "x" }))
                .await,
        ),
        (
            "send into others' chat",
            al.send(json!({ "chat": "bob:cy", "sender": "al", "text": "x" }))
                .await,
        ),
        ("pull others' chat", al.pull("chat=bob:cy").await),
        (
            "reverse pull others' chat",
            al.pull("chat=cy:bob&reverse=true").await,
        ),
        (
            "long poll others' chat",
            al.pull("chat=bob:cy&cursor=1&wait_ms=5000").await,
        ),
        ("list another's inbox", al.chats("member=bob").await),
        (
            "wait on another's inbox",
            al.chats("member=bob&wait_ms=5000").await,
        ),
    ];
    for (what, (status, body)) in forbidden {
        assert_error(status, &body, StatusCode::FORBIDDEN, what);
        assert!(
            body["msg"].as_str().unwrap().starts_with("forbidden"),
            "{what}: {body}"
        );
    }
    assert_eq!(
        bob.all_texts("bob:cy").await,
        ["private"],
        "nothing was stored"
    );
    // A malformed chat is a 400, as without access.
    let (status, body) = al.pull("chat=al").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "malformed chat");
}

#[tokio::test]
async fn a_request_without_a_token_is_401_and_the_public_paths_need_none() {
    let stack = jwt_stack(&[]);
    let api = stack.api();
    for path in ["/api/pull?chat=al:bob", "/api/chats?member=al"] {
        let resp = api.client().get(api.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{path}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["msg"].as_str().unwrap().starts_with("unauthenticated"),
            "{body}"
        );
    }
    let (status, body) = api
        .send(json!({ "chat": "al:bob", "sender": "al", "text": "x" }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "send without a token",
    );
    // Credentials of another scheme are no bearer token: the plain challenge.
    let basic = api
        .client()
        .get(api.url("/api/pull?chat=al:bob"))
        .header("authorization", "Basic YWw6cHc=")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer");
    // A token in the query string is not a token.
    let token = Signer::test_hs256().token("al");
    let (status, _) = api.pull(&format!("chat=al:bob&access_token={token}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in ["/ping", "/api/access", "/healthz", "/metrics"] {
        let resp = api.client().get(api.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let (_, info) = api.call(api.client().get(api.url("/api/access"))).await;
    assert_eq!(info, json!({ "mode": "jwt", "demo_issuer": false }));
}

#[tokio::test]
async fn the_demo_issuer_hands_out_working_tokens_only_when_on() {
    let off = jwt_stack(&[]);
    let api = off.api();
    let (status, _) = api
        .call(
            api.client()
                .post(api.url("/api/demo/token"))
                .json(&json!({ "member": "al" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let on = jwt_stack(&[("IM_AUTH_DEMO_ISSUER", "true".to_owned())]);
    let api = on.api();
    let (_, info) = api.call(api.client().get(api.url("/api/access"))).await;
    assert_eq!(info["demo_issuer"], true);
    let demo = |member: &str| {
        api.client()
            .post(api.url("/api/demo/token"))
            .json(&json!({ "member": member }))
    };
    let (status, body) = api.call(demo("a b")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "not a member id");
    let (status, body) = api.call(demo("al")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let al = Api::with_token(on.http.addr, body["token"].as_str().unwrap());
    al.send_ok("al:bob", "al", "with a demo token").await;
    let (status, _) = al.pull("chat=bob:cy").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn start_fails(env: &[(&str, String)]) -> String {
    let output = Command::new(im_testkit::binary_path("http-server"))
        .env_clear()
        .env("IM_RPC_ADDRS", "127.0.0.1:1")
        .env("IM_HTTP_LISTEN", "127.0.0.1:0")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{env:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn access_settings_that_cannot_work_stop_the_start_naming_the_setting() {
    let dir = std::env::temp_dir().join(format!("im-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.secret");
    std::fs::write(&short, "too short\n").unwrap();
    let not_jwks = dir.join("not.jwks");
    std::fs::write(&not_jwks, "{\"keys\": 5}").unwrap();
    let jwt = ("IM_AUTH", "jwt".to_owned());
    for (env, named) in [
        (vec![jwt.clone()], "IM_AUTH_HS256_SECRET_FILE"),
        (
            vec![
                jwt.clone(),
                ("IM_AUTH_HS256_SECRET_FILE", short.display().to_string()),
            ],
            "IM_AUTH_HS256_SECRET_FILE",
        ),
        (
            vec![
                jwt.clone(),
                ("IM_AUTH_HS256_SECRET_FILE", "/no/such/file".to_owned()),
            ],
            "IM_AUTH_HS256_SECRET_FILE",
        ),
        (
            vec![
                jwt.clone(),
                ("IM_AUTH_JWKS_FILE", not_jwks.display().to_string()),
            ],
            "IM_AUTH_JWKS_FILE",
        ),
        (
            vec![("IM_AUTH_DEMO_ISSUER", "true".to_owned())],
            "IM_AUTH_DEMO_ISSUER",
        ),
    ] {
        let stderr = start_fails(&env);
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
