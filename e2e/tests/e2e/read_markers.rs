//! Read markers through real servers: `POST /api/read` and Thrift `MarkRead`, the inbox's
//! `unread`, `read_up_to` and `peer_read_up_to`, waiting listings woken by a marker moved on
//! another replica, and the access and fair-use rules of mode `jwt`.

use std::time::Duration;

use im_idl::{ChatsRequest, MarkReadRequest};
use im_testkit::{Stack, assert_error, thrift};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::{as_member, jwt_stack};

/// The entry of `room` in `member`'s inbox.
async fn entry(api: &im_testkit::Api, member: &str, room: &str) -> Value {
    let (status, inbox) = api.chats(&format!("member={member}&limit=100")).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    inbox["chats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["chat"] == room)
        .cloned()
        .unwrap_or_else(|| panic!("{room} is not in {member}'s inbox: {inbox}"))
}

#[tokio::test]
async fn a_marker_moves_forward_only_up_to_the_newest_message_and_shows_in_both_inboxes() {
    let stack = Stack::start(1);
    let api = stack.api();
    let first = api.send_ok("al:bob", "bob", "one").await["send_time"]
        .as_i64()
        .unwrap();
    api.send_ok("al:bob", "bob", "two").await;
    let newest = api.send_ok("al:bob", "al", "mine").await["send_time"]
        .as_i64()
        .unwrap();
    let al = entry(&api, "al", "al:bob").await;
    assert_eq!(
        (&al["unread"], &al["read_up_to"], &al["peer_read_up_to"]),
        (&json!(2), &json!(0), &json!(0))
    );

    let (status, body) = api
        .read(json!({ "chat": "bob:al", "member": "al", "read_up_to": first }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "chat": "al:bob", "member": "al", "read_up_to": first })
    );
    let (_, back) = api
        .read(json!({ "chat": "al:bob", "member": "al", "read_up_to": 1 }))
        .await;
    assert_eq!(back["read_up_to"], first, "a marker never moves back");
    // A form body and the query string work as for a send; beyond the newest is the newest.
    let resp = api
        .client()
        .post(api.url("/api/read"))
        .form(&[
            ("chat", "al:bob"),
            ("member", "al"),
            ("read_up_to", "9223372036854775807"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let clamped: Value = resp.json().await.unwrap();
    assert_eq!(clamped["read_up_to"], newest);

    let al = entry(&api, "al", "al:bob").await;
    assert_eq!(
        (&al["unread"], &al["read_up_to"]),
        (&json!(0), &json!(newest))
    );
    let bob = entry(&api, "bob", "al:bob").await;
    assert_eq!(
        (&bob["unread"], &bob["peer_read_up_to"]),
        (&json!(1), &json!(newest)),
        "bob sees how far al has read, and al's one message unread"
    );
    // In a room without messages the marker stays 0.
    let (_, empty) = api
        .read(json!({ "chat": "al:cy", "member": "cy", "read_up_to": 5 }))
        .await;
    assert_eq!(empty["read_up_to"], 0);
}

#[tokio::test]
async fn bad_markers_are_400_naming_what_is_wrong() {
    let stack = Stack::start(1);
    let api = stack.api();
    for (body, what) in [
        (
            json!({ "chat": "al:bob", "member": "cy", "read_up_to": 1 }),
            "member",
        ),
        (
            json!({ "chat": "al:bob", "member": "al", "read_up_to": -1 }),
            "read_up_to",
        ),
        (json!({ "chat": "al:bob", "member": "al" }), "read_up_to"),
        (
            json!({ "chat": "al:bob", "member": "al", "read_up_to": "x" }),
            "read_up_to",
        ),
        (
            json!({ "chat": "al", "member": "al", "read_up_to": 1 }),
            "chat",
        ),
        (json!({ "chat": "al:bob", "read_up_to": 1 }), "member"),
    ] {
        let (status, reply) = api.read(body.clone()).await;
        assert_error(status, &reply, StatusCode::BAD_REQUEST, &format!("{body}"));
        assert!(
            reply["msg"].as_str().unwrap().contains(what),
            "{body}: {reply}"
        );
    }
    let resp = api.client().get(api.url("/api/read")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_marker_moved_on_one_replica_wakes_both_members_listings_waiting_on_another() {
    let stack = Stack::start(2);
    let api = stack.api();
    let sent = api.send_ok("al:bob", "bob", "hi").await;
    let (a, b) = (
        thrift(stack.replicas[0].addr),
        thrift(stack.replicas[1].addr),
    );
    let listing = |member: &str, cursor: i64| ChatsRequest {
        member: member.to_owned().into(),
        cursor: Some(cursor),
        limit: None,
        reverse: None,
        wait_ms: Some(20_000),
    };
    let cursor_of = |member: &'static str| {
        let b = b.clone();
        async move {
            let now = b.chats(listing(member, 0)).await.unwrap();
            now.next_cursor.unwrap()
        }
    };
    let (al_cursor, bob_cursor) = (cursor_of("al").await, cursor_of("bob").await);
    let al_waits = tokio::spawn({
        let b = b.clone();
        let req = listing("al", al_cursor);
        async move { b.chats(req).await.unwrap() }
    });
    let bob_waits = tokio::spawn({
        let b = b.clone();
        let req = listing("bob", bob_cursor);
        async move { b.chats(req).await.unwrap() }
    });
    im_testkit::eventually("both listings wait", Duration::from_secs(10), || async {
        im_testkit::metric(stack.replicas[1].admin, "im_chats_waiting").await == 2.0
    })
    .await;

    let marked = a
        .mark_read(MarkReadRequest {
            chat: "bob:al".into(),
            member: "al".into(),
            read_up_to: sent["send_time"].as_i64().unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(
        (marked.code, marked.read_up_to),
        (0, sent["send_time"].as_i64())
    );
    for (who, waiting) in [("al", al_waits), ("bob", bob_waits)] {
        let woken = waiting.await.unwrap();
        let chats = woken.chats.unwrap_or_default();
        assert_eq!(chats.len(), 1, "{who}'s listing wakes with the room");
        let expected = (Some(0), sent["send_time"].as_i64());
        // al reads its own marker; bob sees al's as the peer's.
        let marker = match who {
            "al" => chats[0].read_up_to,
            _ => chats[0].peer_read_up_to,
        };
        let read = (chats[0].unread, marker);
        assert_eq!(read, expected, "{who}");
    }
}

#[tokio::test]
async fn with_tokens_a_member_moves_only_its_own_marker_in_its_own_chats() {
    let stack = jwt_stack(&[
        ("IM_RATE_READ", "0.0167".to_owned()),
        ("IM_RATE_READ_BURST", "3".to_owned()),
    ]);
    let (al, bob) = (as_member(&stack, "al"), as_member(&stack, "bob"));
    let sent = bob.send_ok("al:bob", "bob", "hello").await;
    let at = sent["send_time"].as_i64().unwrap();

    let anonymous = stack.api();
    let (status, body) = anonymous
        .read(json!({ "chat": "al:bob", "member": "al", "read_up_to": at }))
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "no token");
    let (status, body) = al
        .read(json!({ "chat": "al:bob", "member": "bob", "read_up_to": at }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "another member's marker",
    );
    let (status, body) = al
        .read(json!({ "chat": "bob:cy", "member": "al", "read_up_to": at }))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "a chat of others");
    // `member` defaults to the token's member; a marker is a read that does not wait.
    let (status, body) = al.read(json!({ "chat": "al:bob", "read_up_to": at })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["member"], "al");
    al.read(json!({ "chat": "al:bob", "read_up_to": at })).await;
    al.read(json!({ "chat": "al:bob", "read_up_to": at })).await;
    let (status, body) = al.read(json!({ "chat": "al:bob", "read_up_to": at })).await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "over the read limit",
    );
    let (status, _) = bob
        .read(json!({ "chat": "al:bob", "read_up_to": at }))
        .await;
    assert_eq!(status, StatusCode::OK, "bob's bucket is its own");
}
