//! Replicas whose clocks are minutes wrong (libfaketime on one rpc-server each): send_time stays
//! strictly increasing per room in commit order whichever replica commits, a follower's cursor
//! skips nothing, inbox versions keep commit order, and a send with an id is stored once.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use im_testkit::{
    Api, ServerProcess, fresh_database_url, send_times, start_http_server, start_rpc_server,
    start_rpc_server_with, texts, thrift_send,
};
use serde_json::json;

/// Debian's libfaketime (package `faketime`), where it is installed.
fn libfaketime() -> Option<PathBuf> {
    let lib = std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .find_map(|arch| {
            let lib = arch.path().join("faketime/libfaketime.so.1");
            lib.exists().then_some(lib)
        });
    if lib.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "libfaketime is missing (apt-get install faketime), and CI=true"
        );
        eprintln!("SKIPPED: libfaketime is missing (apt-get install faketime)");
    }
    lib
}

/// An rpc-server whose clock reads `offset` (`+10m`, `-10m`) from the true time.
fn replica_with_clock(database_url: &str, lib: &Path, offset: &str) -> ServerProcess {
    start_rpc_server_with(
        database_url,
        &[
            ("ETCD_ENDPOINTS", String::new()),
            ("LD_PRELOAD", lib.display().to_string()),
            ("FAKETIME", offset.to_owned()),
            // Timers and timeouts keep the true clock.
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
        ],
    )
}

#[tokio::test]
async fn replicas_with_clocks_minutes_apart_keep_each_room_in_commit_order() {
    let Some(lib) = libfaketime() else {
        return;
    };
    let database_url = fresh_database_url();
    let replicas = [
        replica_with_clock(&database_url, &lib, "+10m"),
        replica_with_clock(&database_url, &lib, "-10m"),
        start_rpc_server(&database_url),
    ];
    let http = start_http_server(replicas.iter().map(|r| r.addr).collect(), &[]);
    let api = Api::new(http.addr);
    let chat = "al:bob";

    // A follower walks the room with waiting pulls while the sends are committed.
    let follower = {
        let api = api.clone();
        tokio::spawn(async move {
            let (mut seen, mut cursor) = (Vec::new(), 0);
            while seen.len() < 30 {
                let page = api
                    .pull_ok(&format!("chat={chat}&cursor={cursor}&limit=7&wait_ms=5000"))
                    .await;
                seen.extend(texts(&page));
                cursor = page["next_cursor"].as_i64().unwrap();
            }
            seen
        })
    };
    // Each send committed by the next replica in turn: ahead, behind, right.
    let expected: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    for (i, text) in expected.iter().enumerate() {
        thrift_send(replicas[i % 3].addr, chat, "al", text).await;
    }
    let stored = api.all_messages(chat).await;
    let page = json!({ "messages": stored });
    assert_eq!(texts(&page), expected, "commit order");
    let times = send_times(&page);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    // The first, committed ten minutes ahead, set the pace: the clock was wrong indeed.
    let true_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    assert!(
        times[0] > true_now + 5 * 60 * 1_000_000,
        "no fake clock: {}",
        times[0]
    );
    assert_eq!(
        follower.await.unwrap(),
        expected,
        "the follower skipped or repeated"
    );

    // Inbox versions follow commit order: the room committed last lists first.
    for (i, other) in ["al:c0", "al:c1", "al:c2", "al:c0"].iter().enumerate() {
        thrift_send(replicas[2 - i % 3].addr, other, "al", "latest").await;
    }
    let (_, inbox) = api.chats("member=al&reverse=true").await;
    let order: Vec<&str> = (inbox["chats"].as_array().unwrap().iter())
        .map(|entry| entry["chat"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["al:c0", "al:c2", "al:c1", "al:bob"]);

    // A send with an id, made through a replica ahead and again through one behind: once.
    let body = json!({ "chat": chat, "sender": "bob", "text": "once", "client_msg_id": "c-1" });
    let fixed = start_http_server(vec![replicas[0].addr], &[]);
    let first = Api::new(fixed.addr).send(body.clone()).await.1;
    let fixed = start_http_server(vec![replicas[1].addr], &[]);
    let again = Api::new(fixed.addr).send(body).await.1;
    assert_eq!(first["message"], again["message"]);
    let texts_now = api.all_texts(chat).await;
    assert_eq!(texts_now.iter().filter(|t| *t == "once").count(), 1);
}
