//! The database link slow, and the database out of connections: calls slow down or answer 503
//! (code 2, Retry-After), never 500; nothing acknowledged is lost; and everything recovers when
//! the fault ends, with no restart.

use std::net::SocketAddr;
use std::time::Duration;

use im_testkit::{
    Api, MariaDb, Proxy, ServerProcess, eventually, fresh_database_url, metric, start_http_server,
    start_rpc_server_with, texts,
};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor};

const PATIENCE: Duration = Duration::from_secs(30);

fn servers(database_url: &str) -> (ServerProcess, ServerProcess, Api) {
    let rpc = start_rpc_server_with(database_url, &[("ETCD_ENDPOINTS", String::new())]);
    let http = start_http_server(vec![rpc.addr], &[("IM_RPC_TIMEOUT_MS", "5000".to_owned())]);
    let api = Api::new(http.addr);
    (rpc, http, api)
}

async fn send(api: &Api, chat: &str, text: &str) -> (StatusCode, serde_json::Value) {
    let sender = &chat[..chat.find(':').unwrap()];
    let body = json!({ "chat": chat, "sender": sender, "text": text, "client_msg_id": text });
    api.send(body).await
}

// Multi-threaded: the proxy's tasks run while a server's start blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_link_slows_sends_fails_none_and_long_polls_still_wake() {
    let url = fresh_database_url();
    let (server, database) = url.rsplit_once('/').unwrap();
    let server: SocketAddr = server.rsplit_once('@').unwrap().1.parse().unwrap();
    let link = Proxy::start(server).await;
    link.delay(Duration::from_millis(20));
    let (rpc, _http, api) = servers(&format!("mysql://root@{}/{database}", link.addr));

    let waiting = {
        let api = api.clone();
        tokio::spawn(async move { api.pull_ok("chat=al:w&wait_ms=20000").await })
    };
    eventually("the pull waits", PATIENCE, || async {
        metric(rpc.admin, "im_pull_waiting").await >= 1.0
    })
    .await;
    let rooms = ["al:w", "al:x", "bo:y", "bo:z"];
    let sends = (0..64).map(|i| {
        let (api, chat) = (api.clone(), rooms[i % rooms.len()]);
        tokio::spawn(async move {
            (
                chat,
                format!("slow-{i}"),
                send(&api, chat, &format!("slow-{i}")).await,
            )
        })
    });
    let mut acked = Vec::new();
    for sent in futures::future::join_all(sends).await {
        let (chat, text, (status, body)) = sent.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}: {body}");
        acked.push((chat, text));
    }
    assert!(
        !texts(&waiting.await.unwrap()).is_empty(),
        "the long poll did not wake"
    );
    // Sends that came together were committed together.
    let rows = metric(rpc.admin, "im_store_batch_size_sum").await;
    let groups = metric(rpc.admin, "im_store_batch_size_count").await;
    assert!(rows > groups, "{rows} rows in {groups} transactions");
    for (chat, text) in &acked {
        let stored = api.all_texts(chat).await;
        assert_eq!(stored.iter().filter(|t| *t == text).count(), 1, "{text}");
    }
}

#[tokio::test]
async fn a_database_out_of_connections_is_503_and_serves_again_once_they_are_released() {
    let db = MariaDb::start();
    let (rpc, _http, api) = servers(&format!("{}/im", db.url()));
    assert_eq!(send(&api, "al:bob", "before").await.0, StatusCode::OK);

    // Another client takes every connection the server allows, and the replica's own end (a
    // recycled connection, a restarted proxy): frozen meanwhile, it cannot take one back first.
    let mut admin = MySqlConnection::connect(&db.url()).await.unwrap();
    rpc.freeze();
    admin
        .execute("SET GLOBAL max_connections = 10")
        .await
        .unwrap();
    let own: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM information_schema.processlist WHERE db = 'im' AND id <> CONNECTION_ID()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    for id in own {
        // An integer the server gave: nothing to escape.
        let kill = sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}"));
        sqlx::query(kill).execute(&mut admin).await.unwrap();
    }
    let mut taken = Vec::new();
    while let Ok(conn) = MySqlConnection::connect(&db.url()).await {
        taken.push(conn);
        assert!(taken.len() < 100, "max_connections is not enforced");
    }
    rpc.thaw();

    let (status, body) = send(&api, "al:bob", "refused").await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(2))
    );
    assert_eq!(
        api.pull("chat=al:bob").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    eventually("the replica says it is not ready", PATIENCE, || async {
        metric(rpc.admin, "im_ready").await == 0.0
    })
    .await;

    // Released: it serves again by itself.
    drop(taken);
    admin
        .execute("SET GLOBAL max_connections = 151")
        .await
        .unwrap();
    eventually("sends succeed again", PATIENCE, || async {
        send(&api, "al:bob", "after").await.0 == StatusCode::OK
    })
    .await;
    eventually("the replica is ready again", PATIENCE, || async {
        metric(rpc.admin, "im_ready").await == 1.0
    })
    .await;
    assert_eq!(api.all_texts("al:bob").await, ["before", "after"]);
}

#[tokio::test]
async fn a_database_out_of_disk_refuses_sends_with_503_keeps_serving_pulls_and_recovers() {
    let Some(db) = MariaDb::on_small_disk(160) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "a small disk needs the privilege to mount a tmpfs, and CI=true"
        );
        eprintln!(
            "SKIPPED: a database on a small disk needs the privilege to mount a tmpfs \
             (root, and CAP_SYS_ADMIN in a container)"
        );
        return;
    };
    let (rpc, _http, api) = servers(&format!("{}/im", db.url()));
    assert_eq!(send(&api, "al:bob", "before").await.0, StatusCode::OK);
    let mut acked = vec!["before".to_owned()];

    let filler = db.fill_disk();
    // Sends are stored while the tables have room left, then refused: 503, never 500.
    let long = "x".repeat(4000);
    let mut refused = None;
    for i in 0..5000 {
        let text = format!("{i} {long}");
        let body = json!({ "chat": "al:bob", "sender": "al", "text": text, "client_msg_id": i.to_string() });
        match api.send(body).await {
            (StatusCode::OK, _) => acked.push(text),
            (StatusCode::SERVICE_UNAVAILABLE, body) => {
                refused = Some(body);
                break;
            }
            (status, body) => panic!("send {i}: {status} {body}"),
        }
    }
    let refused = refused.expect("the disk never filled");
    assert_eq!(refused["code"], 2, "{refused}");
    // Reads need no space: pulls go on.
    assert_eq!(api.pull("chat=al:bob&limit=5").await.0, StatusCode::OK);
    // The replica says why.
    eventually(
        "/readyz says the database is out of disk",
        PATIENCE,
        || async {
            let readyz = reqwest::get(format!("http://{}/readyz", rpc.admin))
                .await
                .unwrap();
            readyz.status() == StatusCode::SERVICE_UNAVAILABLE
                && readyz.text().await.unwrap().contains("out of disk")
        },
    )
    .await;
    assert_eq!(metric(rpc.admin, "im_db_out_of_space").await, 1.0);

    // Space freed: sends are stored again, with no restart.
    std::fs::remove_file(filler).unwrap();
    eventually("sends succeed again", PATIENCE, || async {
        send(&api, "al:bob", "after").await.0 == StatusCode::OK
    })
    .await;
    acked.push("after".to_owned());
    eventually("the replica is ready again", PATIENCE, || async {
        metric(rpc.admin, "im_ready").await == 1.0
    })
    .await;
    assert_eq!(api.all_texts("al:bob").await, acked, "lost or doubled");
}
