//! `GET /api/chats` and Thrift `Chats` through real servers: the listing's shape from the query
//! or a JSON body, its errors, and waiting listings woken by a commit on another replica, ended
//! by a timeout or by their server stopping.

use std::net::SocketAddr;
use std::time::Duration;

use im_idl::ChatsRequest;
use im_testkit::{
    Stack, eventually, fresh_database_url, metric, start_rpc_server, thrift, thrift_send,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Longer than any test waits for an answer that must come at once.
const AT_ONCE: Duration = Duration::from_secs(10);

fn waiting_listing(member: &str, cursor: i64, wait_ms: i32) -> ChatsRequest {
    ChatsRequest {
        member: member.to_owned().into(),
        cursor: Some(cursor),
        limit: None,
        reverse: None,
        wait_ms: Some(wait_ms),
    }
}

/// Listings waiting on the replica now, from its metrics.
async fn waiting_listings(admin: SocketAddr) -> f64 {
    metric(admin, "im_chats_waiting").await
}

#[tokio::test]
async fn the_inbox_lists_each_changed_room_with_its_newest_message() {
    let stack = Stack::start(2);
    let api = stack.api();
    let client = api.client();
    api.send_ok("bob:al", "al", "first").await;
    api.send_ok("cy:al", "cy", "hello al").await;
    let newest = api.send_ok("al:bob", "bob", "second").await;

    let (status, inbox) = api.chats("member=al").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        inbox,
        json!({
            "chats": [
                { "chat": "al:cy", "version": inbox["chats"][0]["version"], "last_message": {
                    "chat": "al:cy", "sender": "cy", "text": "hello al",
                    "send_time": inbox["chats"][0]["last_message"]["send_time"] },
                  "unread": 1, "read_up_to": 0, "peer_read_up_to": 0 },
                { "chat": "al:bob", "version": inbox["chats"][1]["version"], "last_message": newest,
                  "unread": 1, "read_up_to": 0, "peer_read_up_to": 0 },
            ],
            "has_more": false,
            "next_cursor": inbox["chats"][1]["version"].as_i64().unwrap() + 1,
        })
    );
    let (cy_version, bob_version) = (
        inbox["chats"][0]["version"].as_i64().unwrap(),
        inbox["chats"][1]["version"].as_i64().unwrap(),
    );
    assert!(0 < cy_version && cy_version < bob_version);

    // The most recent first, paged: the answer a conversation list shows.
    let (_, recent) = api.chats("member=al&reverse=true&limit=1").await;
    assert_eq!(recent["chats"][0]["chat"], "al:bob");
    assert_eq!(
        (recent["has_more"].clone(), recent["next_cursor"].clone()),
        (json!(true), json!(cy_version))
    );
    let (_, rest) = api
        .chats(&format!(
            "member=al&reverse=true&limit=1&cursor={cy_version}"
        ))
        .await;
    assert_eq!(rest["chats"][0]["chat"], "al:cy");
    assert_eq!(rest["next_cursor"], 0);

    // A GET with a JSON body, keys in any case, as the reference clients send.
    let resp = client
        .get(stack.url("/api/chats"))
        .json(&json!({ "Member": "al", "Cursor": bob_version, "LIMIT": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["chats"].as_array().unwrap().len(), 1);
    assert_eq!(body["chats"][0]["chat"], "al:bob");
}

#[tokio::test]
async fn bad_listings_are_400_and_an_unknown_member_has_no_chats() {
    let stack = Stack::start(1);
    let api = stack.api();
    let client = api.client();
    for query in [
        "",
        "member=",
        "member=a:b",
        "member=al%20bo",
        "member=al&cursor=-1",
        "member=al&limit=-1",
        "member=al&wait_ms=-1",
        "member=al&limit=abc",
        "member=al&reverse=maybe",
    ] {
        let (status, body) = api.chats(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], 1, "{query}");
        assert!(!body["msg"].as_str().unwrap().is_empty());
    }
    let (status, body) = api.chats("member=nobody&cursor=7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "chats": [], "has_more": false, "next_cursor": 7 })
    );
    let resp = client.post(stack.url("/api/chats")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_listing_waiting_on_one_replica_is_woken_by_a_commit_on_another() {
    let database = fresh_database_url();
    let (waiting_on, sent_through) = (start_rpc_server(&database), start_rpc_server(&database));
    thrift_send(sent_through.addr, "al:bob", "al", "before").await;

    let now = thrift(waiting_on.addr)
        .chats(waiting_listing("bob", 0, 0))
        .await
        .unwrap();
    let cursor = now.next_cursor.expect("a cursor");
    let listing = {
        let client = thrift(waiting_on.addr);
        tokio::spawn(async move { client.chats(waiting_listing("bob", cursor, 20_000)).await })
    };
    eventually("the listing waits", AT_ONCE, || async {
        waiting_listings(waiting_on.admin).await >= 1.0
    })
    .await;
    thrift_send(sent_through.addr, "bob:dee", "dee", "news").await;

    let answer = tokio::time::timeout(AT_ONCE, listing)
        .await
        .expect("the other replica's commit ends the wait")
        .unwrap()
        .unwrap();
    assert_eq!(answer.code, 0, "{}", answer.msg);
    let chats = answer.chats.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(&*chats[0].chat, "bob:dee");
    assert!(chats[0].version >= cursor);
    assert_eq!(&*chats[0].last_message.text.clone().unwrap(), "news");
    assert_eq!(answer.next_cursor, Some(chats[0].version + 1));
}

#[tokio::test]
async fn a_waiting_listing_times_out_empty_and_ends_at_once_when_its_server_stops() {
    let stack = Stack::start(1);
    let (status, body) = stack.api().chats("member=al&cursor=5&wait_ms=200").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "chats": [], "has_more": false, "next_cursor": 5 })
    );

    let replica = start_rpc_server(&fresh_database_url());
    let listing = {
        let client = thrift(replica.addr);
        tokio::spawn(async move { client.chats(waiting_listing("al", 0, 25_000)).await })
    };
    eventually("the listing waits", AT_ONCE, || async {
        waiting_listings(replica.admin).await >= 1.0
    })
    .await;
    let exited = tokio::task::spawn_blocking(move || replica.terminate());
    let answer = tokio::time::timeout(AT_ONCE, listing)
        .await
        .expect("stopping ends the wait at once")
        .unwrap()
        .unwrap();
    assert_eq!(answer.code, 0);
    assert_eq!(answer.chats.unwrap().len(), 0);
    assert!(exited.await.unwrap(), "the rpc-server exits 0");
}
