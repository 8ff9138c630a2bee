//! Fair use end to end: a member over its limit gets 429 with Retry-After, and the others are
//! served as before; in mode `none` the member is the one the request names.

use std::time::Duration;

use im_testkit::{Stack, eventually, metric};
use reqwest::StatusCode;
use serde_json::json;

use crate::access::{as_member, jwt_stack};

/// As the http-server's `WAITING_PER_MEMBER`.
const WAITING_PER_MEMBER: usize = 64;

/// One send a minute with a burst of two: the third send within the test is over the limit.
fn limits() -> Vec<(&'static str, String)> {
    vec![
        ("IM_RATE_SEND", "0.0167".to_owned()),
        ("IM_RATE_SEND_BURST", "2".to_owned()),
        ("IM_RATE_READ", "0.0167".to_owned()),
        ("IM_RATE_READ_BURST", "3".to_owned()),
    ]
}

#[tokio::test]
async fn a_member_over_its_send_limit_gets_429_and_the_others_do_not() {
    let stack = jwt_stack(&limits());
    let (al, bob) = (as_member(&stack, "al"), as_member(&stack, "bob"));
    al.send_ok("al:bob", "al", "one").await;
    al.send_ok("al:bob", "al", "two").await;
    let (status, body, retry_after) = al
        .try_answer(
            al.client()
                .post(al.url("/api/send"))
                .json(&json!({ "chat": "al:bob", "sender": "al", "text": "three" })),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(body["code"], 13, "{body}");
    // bob, in the same chat, still sends; al's refused send was not stored.
    bob.send_ok("al:bob", "bob", "bob's turn").await;
    assert_eq!(bob.all_texts("al:bob").await, ["one", "two", "bob's turn"]);
}

#[tokio::test]
async fn reads_that_do_not_wait_are_limited_and_calls_that_wait_for_nothing_are_not() {
    let stack = jwt_stack(&limits());
    let al = as_member(&stack, "al");
    as_member(&stack, "bob")
        .send_ok("al:bob", "bob", "hello")
        .await;
    for _ in 0..3 {
        al.pull_ok("chat=al:bob").await;
    }
    let (status, _) = al.pull("chat=al:bob").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = al.chats("").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A call that may wait but has an answer at once did not wait: charged (no free reads
    // through wait_ms=1).
    let (status, _) = al.pull("chat=al:bob&cursor=0&wait_ms=1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // One that waits and gets nothing costs nothing.
    let (status, page) = al
        .pull("chat=al:bob&cursor=999999999999999999&wait_ms=200")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Another member's reads are untouched.
    as_member(&stack, "cy").pull_ok("chat=cy:dee").await;
}

#[tokio::test]
async fn one_member_cannot_take_every_waiting_place() {
    let stack = jwt_stack(&[]);
    let al = as_member(&stack, "al");
    let waiting: Vec<_> = (0..WAITING_PER_MEMBER)
        .map(|n| {
            let al = al.clone();
            tokio::spawn(async move { al.pull(&format!("chat=al:w{n}&wait_ms=30000")).await })
        })
        .collect();
    let replica = stack.replicas[0].admin;
    eventually("al's pulls all wait", Duration::from_secs(20), || async {
        metric(replica, "im_pull_waiting").await >= WAITING_PER_MEMBER as f64
    })
    .await;
    let (status, body) = al.pull("chat=al:one-more&wait_ms=30000").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // bob waits as ever.
    let (status, _) = as_member(&stack, "bob")
        .pull("chat=bob:x&wait_ms=100")
        .await;
    assert_eq!(status, StatusCode::OK);
    for pull in waiting {
        pull.abort();
    }
}

#[tokio::test]
async fn in_mode_none_the_limit_keys_on_the_member_named() {
    let stack = Stack::start_with(1, &limits());
    let api = stack.api();
    api.send_ok("al:bob", "al", "one").await;
    api.send_ok("al:bob", "al", "two").await;
    let (status, _) = api
        .send(json!({ "chat": "al:bob", "sender": "al", "text": "three" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    api.send_ok("al:bob", "bob", "bob is not al").await;
}
