//! Rolling back across a schema change: migrations only add, so a release serves a database a
//! later release migrated (a recorded migration it does not know, a new table, new columns),
//! says so, and reads rows the way the release before wrote them.

use im_idl::{
    AwaitPullsRequest, AwaitedPullRequest, ChatsRequest, PullBatchRequest, PullRequest,
    SendBatchRequest,
};
use im_testkit::{
    fresh_database_url, start_http_server, start_rpc_server, thrift, thrift_send_request,
};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Executor, MySqlPool};

/// What a later release might have migrated: additive only, as scripts/check-migrations asks.
const LATER_RELEASE: &str = "
    ALTER TABLE messages ADD COLUMN edited_at BIGINT NULL;
    ALTER TABLE rooms ADD COLUMN topic VARCHAR(64) NOT NULL DEFAULT '';
    CREATE TABLE reactions (room VARBINARY(129) NOT NULL, send_time BIGINT NOT NULL,
                            member VARBINARY(64) NOT NULL, emoji VARCHAR(16) NOT NULL,
                            PRIMARY KEY (room, send_time, member));
    INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum,
                                  execution_time)
    VALUES (9001, 'reactions', NOW(), 1, x'00', 1);";

fn pull(chat: &str, wait_ms: Option<i32>) -> PullRequest {
    PullRequest {
        chat: chat.to_owned().into(),
        cursor: 0,
        limit: 10,
        reverse: None,
        wait_ms,
    }
}

#[tokio::test]
async fn a_schema_a_later_release_migrated_is_served_by_every_method_and_said_so() {
    let url = fresh_database_url();
    drop(start_rpc_server(&url));
    let db = MySqlPool::connect(&url).await.unwrap();
    sqlx::raw_sql(LATER_RELEASE).execute(&db).await.unwrap();

    let replica = start_rpc_server(&url);
    let readyz: Value = reqwest::get(format!("http://{}/readyz", replica.admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(readyz["status"], "ready", "{readyz}");
    assert!(
        readyz["note"].as_str().unwrap().contains("9001"),
        "{readyz}"
    );

    let rpc = thrift(replica.addr);
    let sent = rpc
        .send(thrift_send_request("al:bob", "al", "one"))
        .await
        .unwrap();
    assert_eq!(sent.code, 0, "{}", sent.msg);
    let batch = SendBatchRequest {
        sends: vec![thrift_send_request("al:bob", "bob", "two")],
        budgets_ms: Some(vec![2000]),
    };
    let replies = rpc.send_batch(batch).await.unwrap().replies;
    assert_eq!(replies[0].code, 0, "{}", replies[0].msg);
    let page = rpc.pull(pull("al:bob", None)).await.unwrap();
    assert_eq!(page.code, 0, "{}", page.msg);
    assert_eq!(page.messages.unwrap().len(), 2);
    let pages = PullBatchRequest {
        pulls: vec![pull("al:bob", None)],
        budgets_ms: Some(vec![2000]),
    };
    let replies = rpc.pull_batch(pages).await.unwrap().replies;
    assert_eq!(
        replies[0].messages.as_ref().unwrap().len(),
        2,
        "{replies:?}"
    );
    let inbox = ChatsRequest {
        member: "al".into(),
        cursor: None,
        limit: None,
        reverse: Some(true),
        wait_ms: None,
    };
    let listed = rpc.chats(inbox).await.unwrap();
    assert_eq!(
        listed.chats.unwrap()[0].last_message.text.as_deref(),
        Some("two")
    );
    let awaited = AwaitPullsRequest {
        waiter: "rollback".into(),
        pulls: vec![AwaitedPullRequest {
            id: 1,
            pull: pull("al:bob", Some(5000)),
            budget_ms: Some(10_000),
        }],
        hold_ms: 5000,
        chats: None,
        gone: None,
    };
    let answered = rpc.await_pulls(awaited).await.unwrap();
    assert_eq!(
        answered.replies[0].reply.messages.as_ref().unwrap().len(),
        2
    );

    // And over HTTP, through the client the http-server uses.
    let http = start_http_server(vec![replica.addr], &[]);
    let api = im_testkit::Api::new(http.addr);
    api.send_ok("al:bob", "al", "three").await;
    assert_eq!(api.all_texts("bob:al").await, ["one", "two", "three"]);
}

#[tokio::test]
async fn rows_written_the_way_the_release_before_wrote_them_are_read_right() {
    let url = fresh_database_url();
    drop(start_rpc_server(&url));
    let db = MySqlPool::connect(&url).await.unwrap();
    // A release before the inbox moved into the rooms' rows wrote a room without versions and
    // messages without client_msg_ids.
    db.execute(
        "INSERT INTO rooms (room, last_send_time) VALUES ('al:bob', 2000);
         INSERT INTO messages (room, send_time, sender, text)
         VALUES ('al:bob', 1000, 'al', 'old one'), ('al:bob', 2000, 'bob', 'old two');",
    )
    .await
    .unwrap();
    let replica = start_rpc_server(&url);
    let http = start_http_server(vec![replica.addr], &[]);
    let api = im_testkit::Api::new(http.addr);
    let page = api.pull_ok("chat=al:bob").await;
    assert_eq!(page["messages"][0]["send_time"], 1000);
    assert!(page["messages"][0].get("client_msg_id").is_none(), "{page}");
    // The room enters the inbox with its next send, after the old messages.
    let (status, inbox) = api.chats("member=al").await;
    assert_eq!(
        (status, inbox["chats"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let sent = api.send_ok("al:bob", "al", "new").await;
    assert!(sent["send_time"].as_i64().unwrap() > 2000);
    let (_, inbox) = api.chats("member=bob").await;
    assert_eq!(inbox["chats"][0]["last_message"]["text"], "new", "{inbox}");
    assert_eq!(api.all_texts("al:bob").await, ["old one", "old two", "new"]);
}
