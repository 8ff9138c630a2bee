//! Fair use end to end: a member over its limit gets 429 with Retry-After, and the others are
//! served as before; in mode `none` the member is the one the request names.

use im_testkit::Stack;
use reqwest::StatusCode;
use serde_json::json;

use crate::access::{as_member, jwt_stack};

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
async fn reads_that_do_not_wait_are_limited_and_waiting_ones_are_not() {
    let stack = jwt_stack(&limits());
    let al = as_member(&stack, "al");
    for _ in 0..3 {
        al.pull_ok("chat=al:bob").await;
    }
    let (status, _) = al.pull("chat=al:bob").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = al.chats("").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A waiting pull is not charged: it answers once a message arrives.
    let waiting = al.pull("chat=al:bob&cursor=0&wait_ms=10000");
    let bob = as_member(&stack, "bob");
    let send = bob.send_ok("al:bob", "bob", "wake up");
    let ((status, page), _) = tokio::join!(waiting, send);
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["messages"][0]["text"], "wake up");
    // Another member's reads are untouched.
    as_member(&stack, "cy").pull_ok("chat=cy:dee").await;
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
