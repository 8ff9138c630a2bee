//! Replicas replaced in place by the release before the batch methods and back, twice, under
//! sends with and without ids, waiting pulls and waiting inbox listings: no call fails, nothing
//! is lost or stored twice. The "release before" is today's binary answering those methods
//! "unknown method" (`IM_RPC_BATCH_METHODS=false`), as that release did. And replicas switched
//! to inbox versions from the clock and back, one by one, under sends to many rooms of one
//! member that inbox followers follow: every follower ends with every room's newest message.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use im_testkit::{
    Api, ServerProcess, Stack, eventually, metric, metrics_text, start_rpc_server_at,
};
use serde_json::json;

use crate::cluster::{Cluster, PATIENCE, ROOMS, calls_answered, room};

/// What the clients saw: the texts acknowledged, and every answer that was not a 200.
#[derive(Default)]
struct Seen {
    acked: Vec<String>,
    failed: Vec<String>,
}

/// Sends until `stop`, to the room and as the sender `pick` gives for the i-th send, with ids or
/// without.
async fn sender(
    api: Api,
    tag: String,
    with_ids: bool,
    pick: fn(usize) -> (String, String),
    stop: Arc<AtomicBool>,
) -> Seen {
    let mut seen = Seen::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let (chat, from) = pick(i);
        let text = format!("{tag}-{i}");
        let mut body = json!({ "chat": chat, "sender": from, "text": text });
        if with_ids {
            body["client_msg_id"] = json!(text);
        }
        match api
            .try_answer(api.client().post(api.url("/api/send")).json(&body))
            .await
        {
            Ok((status, _, _)) if status.is_success() => seen.acked.push(text),
            Ok((status, body, _)) => seen.failed.push(format!("send {text}: {status} {body}")),
            Err(err) => seen.failed.push(format!("send {text}: {err}")),
        }
        i += 1;
    }
    seen
}

/// The rooms in turn, each sent to by its first member.
fn rotating(i: usize) -> (String, String) {
    let chat = room(i % ROOMS);
    let first = chat[..chat.find(':').unwrap()].to_owned();
    (chat, first)
}

/// Follows `path` (a waiting pull or listing) with its next_cursor until `stop`.
async fn follower(api: Api, path: String, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut cursor = 0;
    while !stop.load(Ordering::Relaxed) {
        let url = api.url(&format!("{path}&cursor={cursor}&wait_ms=1500&limit=100"));
        match api.try_answer(api.client().get(url)).await {
            Ok((status, body, _)) if status.is_success() => {
                cursor = body["next_cursor"].as_i64().unwrap();
            }
            Ok((status, body, _)) => seen.failed.push(format!("{path}: {status} {body}")),
            Err(err) => seen.failed.push(format!("{path}: {err}")),
        }
    }
    seen
}

/// The servers a test rolls: replicas found through etcd or at fixed addresses.
struct Fleet {
    api: Api,
    http_admin: SocketAddr,
    database_url: String,
    /// Where replicas register; none: the http-server has their fixed addresses.
    etcd: Option<String>,
    replicas: Vec<ServerProcess>,
}

impl Fleet {
    /// Replaces each replica in turn by one at its address with `settings`; returns once the
    /// new one is known and serving calls.
    async fn replace_all(&mut self, settings: &[(&'static str, &str)]) {
        for slot in 0..self.replicas.len() {
            let old = self.replicas.remove(slot);
            let addr = old.addr;
            let exited = tokio::task::spawn_blocking(move || old.terminate())
                .await
                .unwrap();
            assert!(exited, "the replica exits 0 after SIGTERM");
            let mut env = vec![
                ("ETCD_ENDPOINTS", self.etcd.clone().unwrap_or_default()),
                ("IM_REGISTRY_TTL_SECS", "2".to_owned()),
                ("IM_SHUTDOWN_DRAIN_MS", "1000".to_owned()),
            ];
            env.extend(
                settings
                    .iter()
                    .map(|(name, value)| (*name, value.to_string())),
            );
            let url = self.database_url.clone();
            let new = tokio::task::spawn_blocking(move || start_rpc_server_at(addr, &url, &env))
                .await
                .unwrap();
            let known = format!("im_rpc_replicas {}", self.replicas.len() + 1);
            eventually(
                "the http-server knows the new replica",
                PATIENCE,
                || async {
                    metrics_text(self.http_admin)
                        .await
                        .lines()
                        .any(|l| l == known)
                },
            )
            .await;
            eventually("the new replica serves calls", PATIENCE, || async {
                calls_answered(&new).await >= 20.0
            })
            .await;
            self.replicas.insert(slot, new);
        }
    }

    /// Rolls the replicas to the release before and back, twice, under sends with ids and
    /// without, waiting pulls and waiting listings; every call must succeed, and every
    /// acknowledged send be stored exactly once.
    async fn roll_back_and_forth_under_load(mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for n in 0..6 {
            let with_ids = n % 2 == 0;
            let api = self.api.clone();
            let tag = format!("u{n}");
            clients.push(tokio::spawn(sender(
                api,
                tag,
                with_ids,
                rotating,
                stop.clone(),
            )));
        }
        for n in 0..4 {
            let pull = format!("/api/pull?chat={}", room(n));
            clients.push(tokio::spawn(follower(self.api.clone(), pull, stop.clone())));
            let listing = format!("/api/chats?member=r{n}b");
            clients.push(tokio::spawn(follower(
                self.api.clone(),
                listing,
                stop.clone(),
            )));
        }
        for batch_methods in ["false", "true", "false", "true"] {
            self.replace_all(&[("IM_RPC_BATCH_METHODS", batch_methods)])
                .await;
        }
        stop.store(true, Ordering::Relaxed);

        let mut acked = Vec::new();
        for client in clients {
            let seen = client.await.unwrap();
            assert!(seen.failed.is_empty(), "calls failed: {:?}", seen.failed);
            acked.extend(seen.acked);
        }
        let mut stored = Vec::new();
        for i in 0..ROOMS {
            stored.extend(self.api.all_texts(&room(i)).await);
        }
        stored.sort();
        acked.sort();
        assert!(!acked.is_empty());
        assert_eq!(
            stored, acked,
            "every acknowledged send stored exactly once, nothing else"
        );
        let heard = metric(self.http_admin, "im_rpc_client_leaving_heard_total{").await;
        assert!(heard >= 1.0, "the http-server heard replicas leaving");
    }
}

/// Found through etcd: a replica replaced is dropped and added again, and the http-server
/// learns anew what it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_in_etcd_replaced_by_the_release_before_and_back_fail_no_call() {
    let mut cluster = Cluster::start(2).await;
    let fleet = Fleet {
        api: cluster.api.clone(),
        http_admin: cluster.http.admin,
        database_url: cluster.database_url.clone(),
        etcd: Some(cluster.etcd.endpoint()),
        replicas: std::mem::take(&mut cluster.replicas),
    };
    fleet.roll_back_and_forth_under_load().await;
}

/// At fixed addresses only the replicas tell the http-server of the change: a stopping one
/// answers with `crrst`, and is passed over while it exits, so that its exit cuts no send
/// (whose outcome would be unknown without an id); a replica proven to batch answers "unknown
/// method", and each call it refused is made again alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_at_fixed_addresses_replaced_by_the_release_before_and_back_fail_no_call() {
    let mut stack = Stack::start(2);
    let fleet = Fleet {
        api: stack.api(),
        http_admin: stack.http.admin,
        database_url: stack.database_url.clone(),
        etcd: None,
        replicas: std::mem::take(&mut stack.replicas),
    };
    fleet.roll_back_and_forth_under_load().await;
}

/// The member whose many rooms the switch test sends to: the first member of some, the second
/// of the others.
const HUB: &str = "hub";

fn hub_room(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("a{i}:{HUB}")
    } else {
        format!("{HUB}:z{i}")
    }
}

/// Follows the hub's inbox forward with next_cursor until `done` (set once every send was
/// answered), then until a listing finds nothing new; returns the calls that failed and each
/// room's newest send_time as last listed.
async fn inbox_follower(api: Api, done: Arc<AtomicBool>) -> (Seen, HashMap<String, i64>) {
    let (mut seen, mut newest) = (Seen::default(), HashMap::new());
    let mut cursor = 0;
    loop {
        let stopped = done.load(Ordering::SeqCst);
        let wait_ms = if stopped { 0 } else { 1500 };
        let path = format!("/api/chats?member={HUB}&cursor={cursor}&limit=5&wait_ms={wait_ms}");
        match api.try_answer(api.client().get(api.url(&path))).await {
            Ok((status, body, _)) if status.is_success() => {
                let chats = body["chats"].as_array().unwrap();
                for chat in chats {
                    let send_time = chat["last_message"]["send_time"].as_i64().unwrap();
                    newest.insert(chat["chat"].as_str().unwrap().to_owned(), send_time);
                }
                cursor = body["next_cursor"].as_i64().unwrap();
                if stopped && chats.is_empty() {
                    return (seen, newest);
                }
            }
            Ok((status, body, _)) => seen.failed.push(format!("{path}: {status} {body}")),
            Err(err) => seen.failed.push(format!("{path}: {err}")),
        }
    }
}

/// One of the hub's rooms at random, sent to by the hub.
fn to_the_hub(_: usize) -> (String, String) {
    (hub_room(fastrand::usize(..24)), HUB.to_owned())
}

/// Rolls the replicas from inbox versions of the counters to the clock and back, a step at a
/// time (counter, mixed, clock, mixed, counter), under sends to the hub's rooms and two
/// followers of its inbox, then raises the counters as the procedure says before a rollback
/// (docs/operations.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_switched_to_clock_versions_and_back_under_load_miss_no_inbox_change() {
    let mut stack = Stack::start(2);
    let mut fleet = Fleet {
        api: stack.api(),
        http_admin: stack.http.admin,
        database_url: stack.database_url.clone(),
        etcd: None,
        replicas: std::mem::take(&mut stack.replicas),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|n| {
            tokio::spawn(sender(
                fleet.api.clone(),
                format!("s{n}"),
                true,
                to_the_hub,
                stop.clone(),
            ))
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let followers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(inbox_follower(fleet.api.clone(), done.clone())))
        .collect();
    for versions in ["mixed", "clock", "mixed", "counter"] {
        fleet.replace_all(&[("IM_INBOX_VERSIONS", versions)]).await;
    }
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        let seen = sender.await.unwrap();
        assert!(seen.failed.is_empty(), "sends failed: {:?}", seen.failed);
        assert!(!seen.acked.is_empty());
    }
    done.store(true, Ordering::SeqCst);

    let (status, everything) = fleet.api.chats(&format!("member={HUB}&limit=100")).await;
    assert_eq!(status, 200);
    let settled: HashMap<String, i64> = everything["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|chat| {
            let send_time = chat["last_message"]["send_time"].as_i64().unwrap();
            (chat["chat"].as_str().unwrap().to_owned(), send_time)
        })
        .collect();
    for follower in followers {
        let (seen, newest) = follower.await.unwrap();
        assert!(seen.failed.is_empty(), "listings failed: {:?}", seen.failed);
        assert_eq!(
            newest, settled,
            "the follower saw every room's newest message"
        );
    }

    // Before a rollback: every counter at least its member's newest version.
    let db = sqlx::MySqlPool::connect(&fleet.database_url).await.unwrap();
    sqlx::raw_sql(RAISE_COUNTERS).execute(&db).await.unwrap();
    let (counter,): (i64,) = sqlx::query_as("SELECT last_version FROM members WHERE member = ?")
        .bind(HUB)
        .fetch_one(&db)
        .await
        .unwrap();
    let chats = everything["chats"].as_array().unwrap();
    let newest = chats.iter().map(|c| c["version"].as_i64().unwrap()).max();
    let newest = newest.expect("the hub has chats");
    assert!(counter >= newest, "{counter} >= {newest}");
}

/// The statement of docs/operations.md that raises every member's counter to its newest version.
const RAISE_COUNTERS: &str = "
    INSERT INTO members (member, last_version)
    SELECT member, MAX(version) FROM (
        SELECT member_a AS member, version_a AS version FROM rooms WHERE version_a IS NOT NULL
        UNION ALL
        SELECT member_b, version_b FROM rooms WHERE version_b IS NOT NULL) AS versions
    GROUP BY member
    ON DUPLICATE KEY UPDATE last_version = GREATEST(last_version, VALUES(last_version));";
