//! Faults on the links between healthy tiers, injected with the testkit's proxy into real
//! processes: a replica cut from etcd, and an http-server cut from a replica that etcd still
//! lists. Nothing acknowledged is lost or doubled, the healthy part serves throughout, and
//! everything comes back by itself when the link does.

use std::net::SocketAddr;

use im_testkit::{
    Api, Etcd, Proxy, ServerProcess, eventually, free_port, fresh_database_url, metric,
    start_http_server, start_rpc_server_at, start_rpc_server_with, thrift_send,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::cluster::{PATIENCE, ROOMS, calls_answered, room, start_replica};

/// Replica settings: registered in `etcd_endpoint` with a short lease.
fn registered(etcd_endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        ("ETCD_ENDPOINTS", etcd_endpoint),
        ("IM_REGISTRY_TTL_SECS", "2".to_owned()),
    ]
}

async fn wait_for_replicas(http: &ServerProcess, n: usize) {
    let fact = format!("the http-server knows {n} replicas");
    eventually(&fact, PATIENCE, || async {
        metric(http.admin, "im_rpc_replicas").await == n as f64
    })
    .await;
}

/// Sends `text` to `chat`, with `text` as its client_msg_id when `with_id`.
async fn send(api: &Api, chat: &str, text: &str, with_id: bool) -> (StatusCode, serde_json::Value) {
    let sender = &chat[..chat.find(':').unwrap()];
    let mut body = json!({ "chat": chat, "sender": sender, "text": text });
    if with_id {
        body["client_msg_id"] = json!(text);
    }
    api.send(body).await
}

/// The rooms whose sends `replica` answers, found one send at a time.
async fn rooms_of(api: &Api, replica: &ServerProcess) -> Vec<String> {
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let before = calls_answered(replica).await;
        api.send_ok(&room(i), &room(i)[..room(i).find(':').unwrap()], "placed")
            .await;
        if calls_answered(replica).await > before {
            rooms.push(room(i));
        }
    }
    assert!(!rooms.is_empty(), "no room hashes to the replica");
    rooms
}

/// A long poll, under way, for the message of `chat` after its newest now.
async fn next_message(api: &Api, chat: &str) -> JoinHandle<Value> {
    let newest = api.all_messages(chat).await.last().unwrap()["send_time"]
        .as_i64()
        .unwrap();
    let (api, query) = (
        api.clone(),
        format!("chat={chat}&cursor={}&wait_ms=20000", newest + 1),
    );
    tokio::spawn(async move { api.pull_ok(&query).await })
}

/// Every acknowledged text is stored once in its room.
async fn assert_stored_once(api: &Api, acked: &[(String, String)]) {
    for (chat, text) in acked {
        let texts = api.all_texts(chat).await;
        let copies = texts.iter().filter(|t| *t == text).count();
        assert_eq!(copies, 1, "{text} in {chat}: {texts:?}");
    }
}

// Multi-threaded: the proxy's tasks run while a server's start blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_from_etcd_leaves_the_ring_keeps_answering_and_registers_again() {
    let etcd = Etcd::start();
    let etcd_addr: SocketAddr = etcd
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let etcd_link = Proxy::start(etcd_addr).await;
    let database_url = fresh_database_url();
    let _steady = start_replica(&etcd, &database_url);
    let cut_off = start_rpc_server_with(
        &database_url,
        &registered(format!("http://{}", etcd_link.addr)),
    );
    let http = start_http_server(vec![], &[("ETCD_ENDPOINTS", etcd.endpoint())]);
    let api = Api::new(http.addr);
    wait_for_replicas(&http, 2).await;
    let its_rooms = rooms_of(&api, &cut_off).await;

    etcd_link.blackhole();
    // Its lease lapses: the http-server sends its rooms elsewhere, as for a dead replica.
    wait_for_replicas(&http, 1).await;
    let mut acked = Vec::new();
    let answered_before = calls_answered(&cut_off).await;
    for (i, chat) in its_rooms.iter().enumerate() {
        let text = format!("while-cut-{i}");
        let (status, body) = send(&api, chat, &text, false).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        acked.push((chat.clone(), text));
    }
    assert_eq!(
        calls_answered(&cut_off).await,
        answered_before,
        "it got new rooms"
    );
    // It still answers those who call it.
    let member = &its_rooms[0][..its_rooms[0].find(':').unwrap()];
    thrift_send(cut_off.addr, &its_rooms[0], member, "still answering").await;
    acked.push((its_rooms[0].clone(), "still answering".to_owned()));

    etcd_link.restore();
    // It registers again by itself, with a new lease, and gets its rooms back.
    wait_for_replicas(&http, 2).await;
    let (mut i, cut_off) = (0, &cut_off);
    eventually("the replica answers its rooms again", PATIENCE, || {
        i += 1;
        let (api, chat, text) = (&api, &its_rooms[i % its_rooms.len()], format!("back-{i}"));
        acked.push((chat.clone(), text.clone()));
        async move {
            let before = calls_answered(cut_off).await;
            assert_eq!(send(api, chat, &text, true).await.0, StatusCode::OK);
            calls_answered(cut_off).await > before
        }
    })
    .await;
    assert_stored_once(&api, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_cut_from_a_listed_replica_passes_it_over_and_takes_it_back() {
    let etcd = Etcd::start();
    let database_url = fresh_database_url();
    let near = start_replica(&etcd, &database_url);
    // The far replica is registered at the proxy's address: the http-server reaches it only
    // through the link, and etcd keeps listing it while the link drops everything.
    let far_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let link = Proxy::start(far_addr).await;
    let mut settings = registered(etcd.endpoint());
    settings.push(("IM_RPC_ADVERTISE", link.addr.to_string()));
    let far = start_rpc_server_at(far_addr, &database_url, &settings);
    let http = start_http_server(vec![], &[("ETCD_ENDPOINTS", etcd.endpoint())]);
    let api = Api::new(http.addr);
    wait_for_replicas(&http, 2).await;
    let far_rooms = rooms_of(&api, &far).await;
    // A long poll already waiting at the far replica when the link goes.
    let chat = far_rooms[0].clone();
    let held = next_message(&api, &chat).await;
    eventually("the pull waits at the far replica", PATIENCE, || async {
        metric(far.admin, "im_pull_waiting").await >= 1.0
    })
    .await;

    link.blackhole();
    // A send without an id may have reached it: "outcome unknown", never retried elsewhere.
    let (status, body) = send(&api, &chat, "unknown", false).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::BAD_GATEWAY, Some(10)),
        "{body}"
    );
    // Sends with ids move to the next replica once their attempt's time is up.
    let mut acked = Vec::new();
    for (i, chat) in far_rooms.iter().enumerate() {
        let text = format!("cut-{i}");
        let (status, body) = send(&api, chat, &text, true).await;
        assert_eq!(status, StatusCode::OK, "{text}: {body}");
        acked.push((chat.clone(), text));
    }
    eventually("the far replica is ejected", PATIENCE, || async {
        metric(http.admin, "im_rpc_client_ejected{").await == 1.0
    })
    .await;
    assert!(metric(http.admin, "im_rpc_client_ejections_total{").await >= 1.0);
    // The held long poll gave up on the silent replica and waited at the near one instead,
    // which had (or got) the room's next message.
    let moved = held.await.unwrap();
    assert_eq!(
        im_testkit::texts(&moved).first().map(String::as_str),
        Some("cut-0")
    );
    assert_eq!(
        metric(http.admin, "im_rpc_replicas").await,
        2.0,
        "etcd still lists it"
    );
    // Passed over, its rooms go to the near replica at once: sends without ids succeed too
    // (never a probe), and a waiting pull there wakes with the next send.
    for (i, chat) in far_rooms.iter().enumerate() {
        let text = format!("no-id-{i}");
        let (status, body) = send(&api, chat, &text, false).await;
        assert_eq!(status, StatusCode::OK, "{text}: {body}");
        acked.push((chat.clone(), text));
    }
    let waiting = next_message(&api, &chat).await;
    eventually("the pull waits at the near replica", PATIENCE, || async {
        metric(near.admin, "im_pull_waiting").await >= 1.0
    })
    .await;
    send(&api, &chat, "wakes", true).await;
    acked.push((chat.clone(), "wakes".to_owned()));
    let woken = waiting.await.unwrap();
    assert_eq!(im_testkit::texts(&woken), ["wakes"]);

    link.restore();
    // A probe, one of the calls for its rooms, finds it again.
    let mut i = 0;
    eventually("the far replica is taken back", PATIENCE, || {
        i += 1;
        let (api, chat, text) = (&api, &far_rooms[i % far_rooms.len()], format!("back-{i}"));
        acked.push((chat.clone(), text.clone()));
        let admin = http.admin;
        async move {
            assert_eq!(send(api, chat, &text, true).await.0, StatusCode::OK);
            metric(admin, "im_rpc_client_ejected{").await == 0.0
        }
    })
    .await;
    // Its rooms are its own again (what the link held reached it meanwhile: count after).
    for (i, chat) in far_rooms.iter().enumerate() {
        let before = calls_answered(&far).await;
        let text = format!("home-{i}");
        assert_eq!(send(&api, chat, &text, false).await.0, StatusCode::OK);
        acked.push((chat.clone(), text));
        assert!(
            calls_answered(&far).await > before,
            "{chat} did not go back to it"
        );
    }
    assert_stored_once(&api, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_without_quorum_leaves_the_servers_serving_and_a_new_replica_joins_after() {
    let mut etcd = Etcd::start_cluster(3);
    let database_url = fresh_database_url();
    let replicas = [0, 1].map(|_| start_replica(&etcd, &database_url));
    let http = start_http_server(vec![], &[("ETCD_ENDPOINTS", etcd.endpoint())]);
    let api = Api::new(http.addr);
    wait_for_replicas(&http, 2).await;

    // Two of three members stop: no quorum, no leader; leases can be neither granted nor kept.
    etcd.stop_member(1);
    etcd.stop_member(2);
    let late = start_replica(&etcd, &database_url);
    // The servers keep serving with the replicas they last knew, both of them.
    let mut acked = Vec::new();
    for i in 0..ROOMS {
        let (chat, text) = (room(i), format!("no-quorum-{i}"));
        let (status, body) = send(&api, &chat, &text, false).await;
        assert_eq!(status, StatusCode::OK, "{text}: {body}");
        acked.push((chat, text));
    }
    for replica in &replicas {
        assert!(
            calls_answered(replica).await > 0.0,
            "a known replica was dropped"
        );
    }
    assert_eq!(metric(http.admin, "im_rpc_replicas").await, 2.0);

    etcd.start_member_again(1);
    etcd.start_member_again(2);
    // Quorum back: registrations resume, and the replica started meanwhile joins.
    wait_for_replicas(&http, 3).await;
    let mut i = 0;
    let late = &late;
    eventually("the late replica gets rooms", PATIENCE, || {
        i += 1;
        let (api, chat, text) = (&api, room(i % ROOMS), format!("quorum-back-{i}"));
        acked.push((chat.clone(), text.clone()));
        async move {
            assert_eq!(send(api, &chat, &text, true).await.0, StatusCode::OK);
            calls_answered(late).await > 0.0
        }
    })
    .await;
    assert_stored_once(&api, &acked).await;
}
