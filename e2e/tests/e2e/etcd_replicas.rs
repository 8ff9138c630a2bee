//! Three rpc-server processes registered in a real etcd behind one http-server that discovers
//! them: spreading, failover, graceful shutdown, late joiners, and etcd itself going away.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::GetOptions;
use im_testkit::{
    Api, Etcd, Proxy, ServerProcess, eventually, fresh_database_url, metric, metrics_text,
    start_http_server, start_rpc_server_with,
};
use reqwest::{Client, StatusCode};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(20);
/// Calls are spread by room, so streams rotate over this many rooms to reach every replica.
const ROOMS: usize = 40;

fn room(i: usize) -> String {
    format!("r{i}a:r{i}b")
}
const REGISTRY_PREFIX: &str = "kitex/registry-etcd/im.rpc/";

struct Cluster {
    etcd: Etcd,
    database_url: String,
    replicas: Vec<ServerProcess>,
    http: ServerProcess,
    api: Api,
}

impl Cluster {
    async fn start(replicas: usize) -> Self {
        let etcd = Etcd::start();
        let database_url = fresh_database_url();
        let replicas = (0..replicas)
            .map(|_| start_replica(&etcd, &database_url))
            .collect();
        let http = start_http_server(vec![], &[("ETCD_ENDPOINTS", etcd.endpoint())]);
        let cluster = Self {
            etcd,
            database_url,
            replicas,
            api: Api::new(http.addr),
            http,
        };
        cluster.wait_for_replicas(cluster.replicas.len()).await;
        cluster
    }

    /// Waits until the http-server knows exactly `n` replicas.
    async fn wait_for_replicas(&self, n: usize) {
        let expected = format!("im_rpc_replicas {n}");
        eventually(
            &format!("the http-server knows {n} replicas"),
            PATIENCE,
            || async {
                metrics_text(self.http.admin)
                    .await
                    .lines()
                    .any(|l| l == expected)
            },
        )
        .await;
    }

    async fn send(&self, chat: &str, text: &str) -> Result<i64, String> {
        self.send_with_id(chat, text, None).await
    }

    async fn send_with_id(
        &self,
        chat: &str,
        text: &str,
        client_msg_id: Option<&str>,
    ) -> Result<i64, String> {
        let sender = &chat[..chat.find(':').unwrap()];
        let mut body = json!({ "chat": chat, "sender": sender, "text": text });
        if let Some(id) = client_msg_id {
            body["client_msg_id"] = json!(id);
        }
        let req = self
            .api
            .client()
            .post(self.api.url("/api/send"))
            .json(&body);
        let (status, body, _) = self.api.try_answer(req).await?;
        if status == StatusCode::OK {
            Ok(body["message"]["send_time"].as_i64().unwrap())
        } else {
            Err(format!("{status}: {body}"))
        }
    }

    /// Every text of every room of the streams.
    async fn pull_all_rooms(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for i in 0..ROOMS {
            texts.extend(self.pull_all(&room(i)).await);
        }
        texts
    }

    async fn pull_all(&self, chat: &str) -> Vec<String> {
        self.api.all_texts(chat).await
    }
}

fn start_replica(etcd: &Etcd, database_url: &str) -> ServerProcess {
    start_rpc_server_with(
        database_url,
        &[
            ("ETCD_ENDPOINTS", etcd.endpoint()),
            ("IM_REGISTRY_TTL_SECS", "2".to_owned()),
            ("IM_SHUTDOWN_DRAIN_MS", "1000".to_owned()),
        ],
    )
}

/// How many calls a replica has answered, from its own /metrics.
async fn calls_answered(replica: &ServerProcess) -> f64 {
    metric(replica.admin, "im_rpc_requests_total{").await
}

/// Sends `count` messages one after another, named `{tag}-{i}`, rotating over the rooms;
/// returns the acknowledged names and the failures.
async fn send_stream(
    cluster: Arc<Cluster>,
    tag: String,
    count: usize,
) -> (Vec<String>, Vec<String>) {
    stream_of_sends(cluster, tag, count, false).await
}

/// Sends `count` messages over the rooms, each with its text as client_msg_id when `with_ids`;
/// returns the acknowledged texts and the failures.
async fn stream_of_sends(
    cluster: Arc<Cluster>,
    tag: String,
    count: usize,
    with_ids: bool,
) -> (Vec<String>, Vec<String>) {
    let (mut acked, mut failed) = (Vec::new(), Vec::new());
    for i in 0..count {
        let text = format!("{tag}-{i}");
        let id = with_ids.then_some(text.as_str());
        match cluster.send_with_id(&room(i % ROOMS), &text, id).await {
            Ok(_) => acked.push(text),
            Err(err) => failed.push(err),
        }
    }
    (acked, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_reach_every_replica() {
    let cluster = Cluster::start(3).await;
    for i in 0..60 {
        cluster.send(&room(i), &format!("m{i}")).await.unwrap();
    }
    for replica in &cluster.replicas {
        assert!(
            calls_answered(replica).await > 0.0,
            "{} got no call",
            replica.addr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_rooms_calls_stay_on_one_replica() {
    let cluster = Cluster::start(3).await;
    for i in 0..30 {
        // Both spellings of the room count as one.
        let chat = if i % 2 == 0 { "al:bob" } else { "bob:al" };
        cluster.send(chat, &format!("m{i}")).await.unwrap();
    }
    let mut answered = Vec::new();
    for replica in &cluster.replicas {
        answered.push(calls_answered(replica).await);
    }
    answered.sort_by(f64::total_cmp);
    assert_eq!(answered, [0.0, 0.0, 30.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_replica_loses_no_acknowledged_message_and_is_dropped() {
    let mut cluster = Cluster::start(3).await;
    let victim = cluster.replicas.remove(0);
    let cluster = Arc::new(cluster);
    let streams: Vec<_> = (0..4)
        .map(|n| tokio::spawn(send_stream(cluster.clone(), format!("s{n}"), 60)))
        .collect();
    eventually("the stream is under way", PATIENCE, || async {
        calls_answered(&victim).await >= 5.0
    })
    .await;
    drop(victim); // SIGKILL

    let mut acked = Vec::new();
    for stream in streams {
        acked.extend(stream.await.unwrap().0);
    }
    let stored = cluster.pull_all_rooms().await;
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message was stored twice");
    for text in &acked {
        assert!(unique.contains(text), "acknowledged {text} was lost");
    }

    // Once its lease expires the dead replica is gone, and nothing fails any more.
    cluster.wait_for_replicas(2).await;
    let (after, failed) = send_stream(cluster.clone(), "after".into(), 30).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(after.len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_replica_fails_no_send_with_an_id_and_stores_none_twice() {
    let mut cluster = Cluster::start(3).await;
    let victim = cluster.replicas.remove(0);
    let cluster = Arc::new(cluster);
    let streams: Vec<_> = (0..4)
        .map(|n| tokio::spawn(stream_of_sends(cluster.clone(), format!("s{n}"), 60, true)))
        .collect();
    eventually("the stream is under way", PATIENCE, || async {
        calls_answered(&victim).await >= 5.0
    })
    .await;
    drop(victim); // SIGKILL

    let mut acked = Vec::new();
    for stream in streams {
        let (ok, failed) = stream.await.unwrap();
        assert!(failed.is_empty(), "sends with an id failed: {failed:?}");
        acked.extend(ok);
    }
    assert_eq!(acked.len(), 4 * 60);
    let mut stored = cluster.pull_all_rooms().await;
    stored.sort();
    acked.sort();
    assert_eq!(stored, acked, "every send stored exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_stopped_with_sigterm_fails_no_request() {
    let mut cluster = Cluster::start(3).await;
    let leaving = cluster.replicas.remove(0);
    let cluster = Arc::new(cluster);
    let streams: Vec<_> = (0..4)
        .map(|n| tokio::spawn(send_stream(cluster.clone(), format!("s{n}"), 80)))
        .collect();
    eventually("the stream is under way", PATIENCE, || async {
        calls_answered(&leaving).await >= 5.0
    })
    .await;
    let exited_cleanly = tokio::task::spawn_blocking(move || leaving.terminate())
        .await
        .unwrap();
    assert!(exited_cleanly, "the replica exits 0 after SIGTERM");

    let mut acked = 0;
    for stream in streams {
        let (ok, failed) = stream.await.unwrap();
        assert!(failed.is_empty(), "requests failed: {failed:?}");
        acked += ok.len();
    }
    assert_eq!(acked, 4 * 80);
    assert_eq!(cluster.pull_all_rooms().await.len(), 4 * 80);
    cluster.wait_for_replicas(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_replica_fails_no_pull_and_no_send_with_an_id() {
    let cluster = Arc::new(Cluster::start(3).await);
    for i in 0..ROOMS {
        cluster
            .send(&room(i), &format!("before-{i}"))
            .await
            .unwrap();
    }
    // Frozen, it still holds its connections and its lease (for up to 2 s here): the calls
    // hashed to it go out and get no answer.
    cluster.replicas[0].freeze();
    let pulls = (0..ROOMS).map(|i| {
        let cluster = cluster.clone();
        async move {
            let (status, page) = cluster
                .api
                .pull(&format!("chat={}&limit=100", room(i)))
                .await;
            (i, status, page)
        }
    });
    let sends = (0..4).map(|n| {
        tokio::spawn(stream_of_sends(
            cluster.clone(),
            format!("f{n}"),
            ROOMS,
            true,
        ))
    });
    let (pages, streams) = tokio::join!(
        futures::future::join_all(pulls),
        futures::future::join_all(sends)
    );
    cluster.replicas[0].thaw();

    for (i, status, page) in pages {
        assert_eq!(status, StatusCode::OK, "pull of {}: {page}", room(i));
        assert_eq!(page["messages"][0]["text"], format!("before-{i}"));
    }
    let mut acked = 0;
    for stream in streams {
        let (ok, failed) = stream.unwrap();
        assert!(failed.is_empty(), "sends failed: {failed:?}");
        acked += ok.len();
    }
    assert_eq!(acked, 4 * ROOMS);
    assert_eq!(cluster.pull_all_rooms().await.len(), ROOMS + 4 * ROOMS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_started_later_gets_calls() {
    let mut cluster = Cluster::start(2).await;
    let late = start_replica(&cluster.etcd, &cluster.database_url);
    cluster.wait_for_replicas(3).await;
    let mut i = 0;
    eventually("the late replica gets calls", PATIENCE, || {
        i += 1;
        let cluster = &cluster;
        let late = &late;
        async move {
            cluster.send(&room(i), &format!("m{i}")).await.unwrap();
            calls_answered(late).await > 0.0
        }
    })
    .await;
    cluster.replicas.push(late);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_keep_working_without_etcd_and_replicas_register_again() {
    let mut cluster = Cluster::start(2).await;
    cluster.etcd.stop();
    for i in 0..30 {
        cluster
            .send("al:bob", &format!("without etcd {i}"))
            .await
            .unwrap();
    }

    // etcd comes back having lost every key and lease.
    cluster.etcd.start_again(true);
    let endpoint = cluster.etcd.endpoint();
    eventually("both replicas registered again", PATIENCE, || {
        let endpoint = endpoint.clone();
        async move {
            let Ok(mut etcd) = volo_etcd_registry::connect(&[endpoint]).await else {
                return false;
            };
            etcd.get(REGISTRY_PREFIX, Some(GetOptions::new().with_prefix()))
                .await
                .is_ok_and(|r| r.kvs().len() == 2)
        }
    })
    .await;
    for i in 0..10 {
        cluster
            .send("al:bob", &format!("with etcd again {i}"))
            .await
            .unwrap();
    }
    assert_eq!(cluster.pull_all("al:bob").await.len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_follows_the_replicas_and_the_database() {
    let etcd = Etcd::start();
    let http = start_http_server(vec![], &[("ETCD_ENDPOINTS", etcd.endpoint())]);
    let client = Client::new();
    let status = |addr: std::net::SocketAddr, path: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .map(|r| r.status())
                .ok()
        }
    };
    assert_eq!(status(http.addr, "/healthz").await, Some(StatusCode::OK));
    assert_eq!(
        status(http.addr, "/readyz").await,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "not ready while no rpc-server is known"
    );

    let replica = start_replica(&etcd, &fresh_database_url());
    assert_eq!(
        status(replica.admin, "/healthz").await,
        Some(StatusCode::OK)
    );
    assert_eq!(
        status(replica.admin, "/readyz").await,
        Some(StatusCode::OK),
        "the replica's database answers"
    );
    eventually("the http-server becomes ready", PATIENCE, || async {
        status(http.addr, "/readyz").await == Some(StatusCode::OK)
    })
    .await;
}

// Multi-threaded: the proxy runs on this runtime while the test blocks to start the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_loses_its_database_leaves_etcd_and_comes_back_with_it() {
    let etcd = Etcd::start();
    // The replica reaches the shared test MariaDB through a proxy that the test can cut.
    let server = im_testkit::server_url();
    let db_addr = server
        .trim_start_matches("mysql://")
        .rsplit('@')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = Proxy::start(db_addr).await;
    let database_url = fresh_database_url().replace(&db_addr.to_string(), &proxy.addr.to_string());
    let replica = start_replica(&etcd, &database_url);
    let client = etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .unwrap();
    let registered = |n: usize| {
        let mut client = client.clone();
        async move {
            client
                .get(REGISTRY_PREFIX, Some(GetOptions::new().with_prefix()))
                .await
                .is_ok_and(|r| r.kvs().len() == n)
        }
    };
    eventually("the replica registers", PATIENCE, || registered(1)).await;

    proxy.cut();
    eventually(
        "the replica without a database leaves etcd",
        PATIENCE,
        || registered(0),
    )
    .await;
    let ready = Client::new()
        .get(format!("http://{}/readyz", replica.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore();
    eventually("the replica registers again", PATIENCE, || registered(1)).await;
}
