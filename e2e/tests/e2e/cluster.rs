//! Three rpc-server processes registered in a real etcd behind one http-server that discovers
//! them, and the sends and pulls the tests of `etcd_replicas` and `replica_failover` make.

use std::sync::Arc;
use std::time::Duration;

use im_testkit::{
    Api, Etcd, ServerProcess, eventually, fresh_database_url, metric, metrics_text,
    start_http_server, start_rpc_server_with,
};
use reqwest::StatusCode;
use serde_json::json;

pub(crate) const PATIENCE: Duration = Duration::from_secs(20);
/// Calls are spread by room, so streams rotate over this many rooms to reach every replica.
pub(crate) const ROOMS: usize = 40;

pub(crate) fn room(i: usize) -> String {
    format!("r{i}a:r{i}b")
}
pub(crate) const REGISTRY_PREFIX: &str = "kitex/registry-etcd/im.rpc/";

pub(crate) struct Cluster {
    pub(crate) etcd: Etcd,
    pub(crate) database_url: String,
    pub(crate) replicas: Vec<ServerProcess>,
    pub(crate) http: ServerProcess,
    pub(crate) api: Api,
}

impl Cluster {
    pub(crate) async fn start(replicas: usize) -> Self {
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
    pub(crate) async fn wait_for_replicas(&self, n: usize) {
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

    pub(crate) async fn send(&self, chat: &str, text: &str) -> Result<i64, String> {
        self.send_with_id(chat, text, None).await
    }

    pub(crate) async fn send_with_id(
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
    pub(crate) async fn pull_all_rooms(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for i in 0..ROOMS {
            texts.extend(self.pull_all(&room(i)).await);
        }
        texts
    }

    pub(crate) async fn pull_all(&self, chat: &str) -> Vec<String> {
        self.api.all_texts(chat).await
    }
}

pub(crate) fn start_replica(etcd: &Etcd, database_url: &str) -> ServerProcess {
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
pub(crate) async fn calls_answered(replica: &ServerProcess) -> f64 {
    metric(replica.admin, "im_rpc_requests_total{").await
}

/// Sends `count` messages one after another, named `{tag}-{i}`, rotating over the rooms;
/// returns the acknowledged names and the failures.
pub(crate) async fn send_stream(
    cluster: Arc<Cluster>,
    tag: String,
    count: usize,
) -> (Vec<String>, Vec<String>) {
    stream_of_sends(cluster, tag, count, false).await
}

/// Sends `count` messages over the rooms, each with its text as client_msg_id when `with_ids`;
/// returns the acknowledged texts and the failures.
pub(crate) async fn stream_of_sends(
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
