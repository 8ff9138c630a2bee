//! Exactly-once sends with client message ids: a resend stores nothing new and answers the
//! original, another text under the same id is refused, identical sends racing on two replicas
//! store one message, and a COMMIT whose answer is lost neither loses nor doubles a message.

use im_idl::{Message, SendRequest};
use im_testkit::{
    Api, Proxy, Stack, fresh_database_url, server_url, start_http_server, start_rpc_server,
    start_rpc_server_with, thrift,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_resend_with_the_same_id_stores_nothing_and_answers_the_original() {
    let stack = Stack::start(1);
    let api = stack.api();
    let send = |body: Value| api.send(body);
    let first = json!({ "chat": "al:bob", "sender": "al", "text": "hi", "client_msg_id": "m-1" });

    let (status, original) = send(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{original}");
    assert_eq!(original["duplicate"], false);
    assert_eq!(original["message"]["client_msg_id"], "m-1");
    let (status, again) = send(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message"], original["message"]);

    // The id belongs to (room, sender): bob may use it too, and al in another room.
    let (status, bobs) =
        send(json!({ "chat": "bob:al", "sender": "bob", "text": "hi", "client_msg_id": "m-1" }))
            .await;
    assert_eq!(
        (status, &bobs["duplicate"]),
        (StatusCode::OK, &json!(false))
    );
    let (status, _) =
        send(json!({ "chat": "al:cy", "sender": "al", "text": "hi", "client_msg_id": "m-1" }))
            .await;
    assert_eq!(status, StatusCode::OK);

    // Another text under a used id is refused with its own code.
    let (status, refused) =
        send(json!({ "chat": "al:bob", "sender": "al", "text": "bye", "client_msg_id": "m-1" }))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], 9);

    // A send without an id is stored every time and pulls without the field.
    for _ in 0..2 {
        let (status, _) = send(json!({ "chat": "al:bob", "sender": "al", "text": "plain" })).await;
        assert_eq!(status, StatusCode::OK);
    }
    let messages = api.all_messages("al:bob").await;
    let shown: Vec<(&str, Option<&str>)> = messages
        .iter()
        .map(|m| (m["text"].as_str().unwrap(), m["client_msg_id"].as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("hi", Some("m-1")),
            ("hi", Some("m-1")),
            ("plain", None),
            ("plain", None)
        ]
    );
}

#[tokio::test]
async fn the_idempotency_key_header_is_an_alias_and_bad_ids_are_400() {
    let stack = Stack::start(1);
    let api = stack.api();
    let client = api.client();
    let with_header = |key: &str, body: Value| {
        client
            .post(stack.url("/api/send"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({ "chat": "al:bob", "sender": "al", "text": "hi" });
    let first: Value = with_header("k-1", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["message"]["client_msg_id"], "k-1");
    let again: Value = with_header("k-1", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true);
    // Both given and the same: fine. Different: 400.
    let same = with_header(
        "k-1",
        json!({ "chat": "al:bob", "sender": "al", "text": "hi", "client_msg_id": "k-1" }),
    )
    .await
    .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let differ = with_header(
        "k-2",
        json!({ "chat": "al:bob", "sender": "al", "text": "hi", "client_msg_id": "k-1" }),
    )
    .await
    .unwrap();
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);

    for bad in ["", "x".repeat(65).as_str(), "tab\there", "ünïcode"] {
        let (status, body) = api
            .send(json!({ "chat": "al:bob", "sender": "al", "text": "hi", "client_msg_id": bad }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(body["code"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_sends_racing_on_two_replicas_store_one_message() {
    let database_url = fresh_database_url();
    let replicas = [
        start_rpc_server(&database_url),
        start_rpc_server(&database_url),
    ];
    let clients: Vec<_> = replicas.iter().map(|r| thrift(r.addr)).collect();
    for round in 0..20 {
        let id = format!("race-{round}");
        let request = || SendRequest {
            message: Message {
                chat: Some("al:bob".into()),
                text: Some(format!("text {round}").into()),
                sender: Some("al".into()),
                send_time: None,
                client_msg_id: Some(id.clone().into()),
            },
        };
        let (a, b) = tokio::join!(clients[0].send(request()), clients[1].send(request()));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.code, b.code), (0, 0), "{a:?} {b:?}");
        let time = |r: &im_idl::SendResponse| r.stored.as_ref().unwrap().send_time;
        assert_eq!(
            time(&a),
            time(&b),
            "both answers name the one stored message"
        );
        assert_eq!(
            [a.duplicate, b.duplicate]
                .iter()
                .filter(|d| **d == Some(true))
                .count(),
            1,
            "one stored it, the other found it"
        );
    }
    let http = start_http_server(vec![replicas[0].addr], &[]);
    let stored = Api::new(http.addr).all_messages("al:bob").await;
    assert_eq!(stored.len(), 20);
}

/// The rpc-server reaches the shared test MariaDB through a proxy that loses the answer to one
/// COMMIT: the message is committed, the rpc-server cannot know it.
async fn stack_behind_commit_proxy() -> (Proxy, im_testkit::ServerProcess, im_testkit::ServerProcess)
{
    let server = server_url();
    let db_addr: std::net::SocketAddr = server.rsplit('@').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(db_addr).await;
    let database_url = fresh_database_url().replace(&db_addr.to_string(), &proxy.addr.to_string());
    let rpc = start_rpc_server_with(&database_url, &[("ETCD_ENDPOINTS", String::new())]);
    let http = start_http_server(vec![rpc.addr], &[]);
    (proxy, rpc, http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_with_an_id_is_retried_safely_and_stored_once() {
    let (proxy, _rpc, http) = stack_behind_commit_proxy().await;
    let api = Api::new(http.addr);
    // The room's first send commits its row apart; the answer lost is the message's COMMIT.
    api.send_ok("al:bob", "bob", "first").await;
    proxy.lose_next_commit_answer();
    let body = json!({ "chat": "al:bob", "sender": "al", "text": "once", "client_msg_id": "c-1" });
    let (status, first) = api.send(body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["duplicate"], false,
        "the server's own retry is not a duplicate"
    );
    // The client, unsure, sends again with its id.
    let (status, again) = api.send(body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["message"]["send_time"], first["message"]["send_time"]);
    let stored = api.all_messages("al:bob").await;
    assert_eq!(stored.len(), 2, "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_without_an_id_is_an_unknown_outcome_not_retry_later() {
    let (proxy, _rpc, http) = stack_behind_commit_proxy().await;
    let api = Api::new(http.addr);
    api.send_ok("al:bob", "bob", "first").await;
    proxy.lose_next_commit_answer();
    let body = json!({ "chat": "al:bob", "sender": "al", "text": "maybe" });
    let send = api.client().post(api.url("/api/send")).json(&body);
    let (status, body, retry_after) = api.try_answer(send).await.unwrap();
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(retry_after.is_none());
    assert_eq!(body["code"], 10);
    assert!(
        body["msg"].as_str().unwrap().contains("client_msg_id"),
        "{body}"
    );
    // It was committed: exactly once.
    assert_eq!(api.all_messages("al:bob").await.len(), 2);
}
