//! The service on a sharded Vitess keyspace (`scripts/test-vitess` brings one up and runs
//! these): two replicas through vtgate store every send once, in order, on its room's shard,
//! each group in one shard's transaction; racing sends with one id store one message; an inbox
//! follower misses no room while both replicas send; a waiting pull wakes on a send through the
//! other replica; a shard's database killed and started again loses nothing acknowledged.
//!
//! The keyspace is shared by every test and every run, so each names its rooms after the run.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use im_testkit::{ServerProcess, start_http_server, start_rpc_server_with};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::MySqlPool;

mod load;
mod versions;

use load::{WithoutIds, Writers, follow_inbox, follow_room, run_script};
use versions::assert_versions_carry_their_rooms_byte;

const PATIENCE: Duration = Duration::from_secs(60);

/// Two replicas through vtgate, each with an http-server of its own in front.
struct Stack {
    _replicas: Vec<ServerProcess>,
    http: Vec<ServerProcess>,
    client: Client,
}

impl Stack {
    fn start() -> Self {
        let url = env("IM_TEST_VITESS_URL");
        let settings = [
            ("ETCD_ENDPOINTS", String::new()),
            ("IM_DB_VITESS", "true".to_owned()),
            ("IM_INBOX_VERSIONS", "clock".to_owned()),
        ];
        let replicas: Vec<ServerProcess> = (0..2)
            .map(|_| start_rpc_server_with(&url, &settings))
            .collect();
        let http = replicas
            .iter()
            .map(|replica| start_http_server(vec![replica.addr], &[]))
            .collect();
        let client = Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            _replicas: replicas,
            http,
            client,
        }
    }

    fn base(&self, i: usize) -> String {
        format!("http://{}", self.http[i % 2].addr)
    }

    /// Sends with `id` through replica `i` until stored, as a careful client does (again after
    /// a 503 or 502/504); anything else fails the test. The stored message.
    async fn send(&self, i: usize, room: &str, sender: &str, id: &str) -> Value {
        let body = json!({ "chat": room, "sender": sender, "text": id, "client_msg_id": id });
        let deadline = Instant::now() + PATIENCE;
        loop {
            let url = format!("{}/api/send", self.base(i));
            if let Ok(resp) = self.client.post(url).json(&body).send().await {
                let status = resp.status();
                let answer: Value = resp.json().await.unwrap_or(Value::Null);
                match status {
                    StatusCode::OK => return answer["message"].clone(),
                    StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::GATEWAY_TIMEOUT => {}
                    other => panic!("send {id}: {other} {answer}"),
                }
            }
            assert!(Instant::now() < deadline, "{id} was never stored");
            // A client's pause before sending again, not a wait for anything.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET {path}` through replica `i`, asked again while it answers 503.
    async fn get(&self, i: usize, path: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let resp = self.client.get(format!("{}{path}", self.base(i))).send();
            if let Ok(resp) = resp.await {
                let status = resp.status();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                match status {
                    StatusCode::OK => return body,
                    StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {}
                    other => panic!("{path}: {other} {body}"),
                }
            }
            assert!(Instant::now() < deadline, "{path} never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every message of `room`, paging forward (or newest first) with the cursor.
    async fn messages(&self, i: usize, room: &str, reverse: bool) -> Vec<Value> {
        let (mut cursor, mut all) = (0, Vec::new());
        loop {
            let path = format!("/api/pull?chat={room}&cursor={cursor}&limit=7&reverse={reverse}");
            let page = self.get(i, &path).await;
            all.extend(page["messages"].as_array().unwrap().iter().cloned());
            if page["has_more"] != json!(true) {
                return all;
            }
            cursor = page["next_cursor"].as_i64().unwrap();
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/test-vitess"))
}

/// A name unique to this test in this run.
fn run_tag(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}{}x{}", std::process::id(), nanos % 1_000_000_000)
}

/// The shards' own databases that `list` names, to see where rows are.
async fn shards(list: &str) -> Vec<MySqlPool> {
    let mut pools = Vec::new();
    for url in env(list).split(',') {
        pools.push(MySqlPool::connect(url).await.expect("a shard's database"));
    }
    pools
}

/// Sends `per_room` messages with ids into each of `rooms`, every one also resent at once
/// through the other replica; returns what each id was stored as.
async fn send_all(stack: &Stack, rooms: &[String], per_room: usize) -> HashMap<String, Value> {
    let sends = rooms.iter().enumerate().map(|(r, room)| async move {
        let sender = room.split(':').next().unwrap();
        let mut stored = Vec::new();
        for k in 0..per_room {
            let id = format!("{room}-{k}");
            let (first, again) = tokio::join!(
                stack.send(r + k, room, sender, &id),
                stack.send(r + k + 1, room, sender, &id)
            );
            assert_eq!(first["send_time"], again["send_time"], "{id}: one message");
            stored.push((id, first));
        }
        stored
    });
    futures::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn every_send_is_stored_once_in_order_on_its_rooms_shard() {
    let stack = Stack::start();
    let tag = run_tag("order");
    let rooms: Vec<String> = (0..24).map(|i| format!("{tag}a{i}:{tag}b{i}")).collect();
    let stored = send_all(&stack, &rooms, 6).await;

    for (r, room) in rooms.iter().enumerate() {
        let forward = stack.messages(r, room, false).await;
        let ids: Vec<&str> = forward
            .iter()
            .map(|m| m["client_msg_id"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..6).map(|k| format!("{room}-{k}")).collect();
        assert_eq!(ids, expected, "{room}: each once, in the order sent");
        for message in &forward {
            assert_eq!(message, &stored[message["client_msg_id"].as_str().unwrap()]);
        }
        let mut backward = stack.messages(r + 1, room, true).await;
        backward.reverse();
        assert_eq!(
            backward, forward,
            "{room}: newest first is the same, reversed"
        );
    }

    // Each room's row and messages are on one shard, and both shards hold rooms.
    let mut rooms_per_shard = Vec::new();
    for shard in shards("IM_TEST_VITESS_SHARDS").await {
        let held: Vec<(String, i64)> = sqlx::query_as(
            "SELECT CAST(r.room AS CHAR), (SELECT COUNT(*) FROM messages m WHERE m.room = r.room) \
             FROM rooms r WHERE r.room LIKE CONCAT(?, '%')",
        )
        .bind(&tag)
        .fetch_all(&shard)
        .await
        .unwrap();
        for (room, messages) in &held {
            assert_eq!(*messages, 6, "{room}: its messages beside its row");
        }
        rooms_per_shard.push(held.len());
    }
    assert_eq!(rooms_per_shard.iter().sum::<usize>(), rooms.len());
    assert!(
        rooms_per_shard.iter().all(|&n| n > 0),
        "{rooms_per_shard:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn an_inbox_follower_misses_no_room_while_both_replicas_send() {
    let stack = Arc::new(Stack::start());
    let tag = run_tag("inbox");
    let hub = format!("{tag}hub");
    // The hub is the first member of half of its rooms and the second of the others.
    let rooms: Arc<Vec<String>> = Arc::new(
        (0..16)
            .map(|i| match i % 2 {
                0 => format!("{hub}:{tag}z{i}"),
                _ => format!("{tag}a{i}:{hub}"),
            })
            .collect(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let follower = follow_inbox(&stack, &hub, &done);
    let senders = (0..4).map(|w| {
        let (stack, rooms, hub) = (stack.clone(), rooms.clone(), hub.clone());
        tokio::spawn(async move {
            for k in 0..24 {
                let room = &rooms[(w * 7 + k * 5) % rooms.len()];
                stack.send(w + k, room, &hub, &format!("{w}-{k}")).await;
            }
        })
    });
    for sender in futures::future::join_all(senders).await {
        sender.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let seen = follower.await.unwrap();

    for (r, room) in rooms.iter().enumerate() {
        let newest = stack.messages(r, room, true).await;
        let Some(newest) = newest.first() else {
            assert!(
                !seen.contains_key(room),
                "{room} has no message yet was listed"
            );
            continue;
        };
        assert_eq!(
            seen.get(room),
            newest["send_time"].as_i64().as_ref(),
            "{room}: the follower learned of its newest message"
        );
    }
    assert_versions_carry_their_rooms_byte(&shards("IM_TEST_VITESS_SHARDS").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn read_markers_unread_counts_and_ids_hold_across_replicas() {
    let stack = Stack::start();
    let tag = run_tag("marks");
    let (al, bo) = (format!("{tag}al"), format!("{tag}bo"));
    let room = format!("{al}:{bo}");
    let mut sent = Vec::new();
    for k in 0..3 {
        sent.push(stack.send(k, &room, &al, &format!("m{k}")).await["send_time"].clone());
    }
    let entry = |listing: Value| listing["chats"][0].clone();
    let bo_sees = entry(
        stack
            .get(1, &format!("/api/chats?member={bo}&limit=5"))
            .await,
    );
    assert_eq!(bo_sees["unread"], 3, "{bo_sees}");

    let body = json!({ "chat": room, "member": bo, "read_up_to": sent[1] });
    let resp = stack.client.post(format!("{}/api/read", stack.base(0)));
    let marked: Value = resp.json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(marked["read_up_to"], sent[1], "{marked}");

    let bo_sees = entry(
        stack
            .get(1, &format!("/api/chats?member={bo}&limit=5"))
            .await,
    );
    assert_eq!(
        (&bo_sees["unread"], &bo_sees["read_up_to"]),
        (&json!(1), &sent[1])
    );
    let al_sees = entry(
        stack
            .get(0, &format!("/api/chats?member={al}&limit=5"))
            .await,
    );
    assert_eq!(al_sees["peer_read_up_to"], sent[1], "{al_sees}");

    // An id already used for another text is refused, through either replica.
    let body = json!({ "chat": room, "sender": al, "text": "other", "client_msg_id": "m0" });
    let resp = stack.client.post(format!("{}/api/send", stack.base(1)));
    let resp = resp.json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], 9);
    assert_versions_carry_their_rooms_byte(&shards("IM_TEST_VITESS_SHARDS").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn a_waiting_pull_wakes_on_a_send_through_the_other_replica() {
    let stack = Arc::new(Stack::start());
    let tag = run_tag("wait");
    let room = format!("{tag}a:{tag}b");
    let first = stack.send(0, &room, &format!("{tag}a"), "first").await;
    let cursor = first["send_time"].as_i64().unwrap() + 1;
    let waiting = {
        let (stack, room) = (stack.clone(), room.clone());
        let path = format!("/api/pull?chat={room}&cursor={cursor}&limit=10&wait_ms=20000");
        tokio::spawn(async move { stack.get(0, &path).await })
    };
    let second = stack.send(1, &room, &format!("{tag}b"), "second").await;
    let page = waiting.await.unwrap();
    assert_eq!(
        page["messages"],
        json!([second]),
        "the waiting pull got the send"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn a_shards_database_killed_and_started_again_loses_nothing_acknowledged() {
    let stack = Arc::new(Stack::start());
    let tag = run_tag("kill");
    let rooms: Arc<Vec<String>> =
        Arc::new((0..8).map(|i| format!("{tag}a{i}:{tag}b{i}")).collect());
    let writers = Writers::start(&stack, &rooms);
    writers.acked_by(40).await;
    // The script kills the second shard's database and starts it again.
    run_script("IM_TEST_VITESS_RESTART_SHARD").await;
    writers.acked_by(40).await;
    writers.finish_exactly_once(&stack, &rooms).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Vitess keyspace: scripts/test-vitess runs it"]
async fn the_keyspace_resharded_from_two_shards_to_four_under_load_loses_and_doubles_nothing() {
    let stack = Arc::new(Stack::start());
    let tag = run_tag("reshard");
    let hub = format!("{tag}hub");
    let rooms: Arc<Vec<String>> = Arc::new((0..12).map(|i| format!("{tag}a{i}:{hub}")).collect());
    let writers = Writers::start(&stack, &rooms);
    let without_ids = WithoutIds::start(&stack, &rooms[1..]);
    let done = Arc::new(AtomicBool::new(false));
    let inbox = follow_inbox(&stack, &hub, &done);
    let room = rooms[0].clone();
    let pulls = follow_room(&stack, &room, &done);
    writers.acked_by(40).await;
    run_script("IM_TEST_VITESS_RESHARD").await;
    writers.acked_by(40).await;
    let stored = writers.finish_exactly_once(&stack, &rooms).await;
    without_ids.finish_stored_once(&stack, &rooms[1..]).await;
    done.store(true, Ordering::Relaxed);

    // The rooms' rows are on the new shards now.
    let mut moved = 0;
    for shard in shards("IM_TEST_VITESS_NEW_SHARDS").await {
        let (held,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rooms WHERE room LIKE ?")
            .bind(format!("{tag}%"))
            .fetch_one(&shard)
            .await
            .unwrap();
        moved += held;
    }
    assert_eq!(
        moved,
        rooms.len() as i64,
        "every room on one of the four new shards"
    );
    assert_eq!(
        pulls.await.unwrap(),
        stack.messages(0, &room, false).await,
        "the waiting pulls handed out every message of the room, in order"
    );
    let seen = inbox.await.unwrap();
    for (r, room) in rooms.iter().enumerate() {
        let newest = &stack.messages(r, room, true).await[0];
        assert_eq!(
            seen.get(room),
            newest["send_time"].as_i64().as_ref(),
            "{room}"
        );
    }
    assert!(stored > 80);
}
