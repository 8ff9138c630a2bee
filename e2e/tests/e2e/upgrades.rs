//! Replicas replaced in place by the release before the batch methods and back, twice, under
//! sends with and without ids, waiting pulls and waiting inbox listings: no call fails, nothing
//! is lost or stored twice. The "release before" is today's binary answering those methods
//! "unknown method" (`IM_RPC_BATCH_METHODS=false`), as that release did.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use im_testkit::{Api, ServerProcess, Stack, eventually, metrics_text, start_rpc_server_at};
use serde_json::json;

use crate::cluster::{Cluster, PATIENCE, ROOMS, calls_answered, room};

/// What the clients saw: the texts acknowledged, and every answer that was not a 200.
#[derive(Default)]
struct Seen {
    acked: Vec<String>,
    failed: Vec<String>,
}

/// Sends until `stop`, rotating over the rooms, with ids or without.
async fn sender(api: Api, tag: String, with_ids: bool, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let chat = room(i % ROOMS);
        let text = format!("{tag}-{i}");
        let mut body =
            json!({ "chat": chat, "sender": &chat[..chat.find(':').unwrap()], "text": text });
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
    /// Replaces each replica in turn by one at its address answering as `release_before` says;
    /// returns once the new one is known and serving calls.
    async fn replace_all(&mut self, release_before: bool) {
        for slot in 0..self.replicas.len() {
            let old = self.replicas.remove(slot);
            let addr = old.addr;
            let exited = tokio::task::spawn_blocking(move || old.terminate())
                .await
                .unwrap();
            assert!(exited, "the replica exits 0 after SIGTERM");
            let env = [
                ("ETCD_ENDPOINTS", self.etcd.clone().unwrap_or_default()),
                ("IM_REGISTRY_TTL_SECS", "2".to_owned()),
                ("IM_SHUTDOWN_DRAIN_MS", "1000".to_owned()),
                ("IM_RPC_BATCH_METHODS", (!release_before).to_string()),
            ];
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

    /// Rolls the replicas to the release before and back, twice, under sends with ids (and
    /// without, when `sends_without_ids`), waiting pulls and waiting listings; every call must
    /// succeed, and every acknowledged send be stored exactly once.
    async fn roll_back_and_forth_under_load(mut self, sends_without_ids: bool) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for n in 0..6 {
            let with_ids = n % 2 == 0 || !sends_without_ids;
            let api = self.api.clone();
            clients.push(tokio::spawn(sender(
                api,
                format!("u{n}"),
                with_ids,
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
        for release_before in [true, false, true, false] {
            self.replace_all(release_before).await;
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
    fleet.roll_back_and_forth_under_load(true).await;
}

/// At fixed addresses nothing tells the http-server of the change: a replica proven to batch
/// answers "unknown method", and each call it refused is made again alone. Sends carry ids:
/// unannounced, a replica's stop can cut a connection under a send, whose outcome is then
/// unknown (502) without one, as the API says.
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
    fleet.roll_back_and_forth_under_load(false).await;
}
