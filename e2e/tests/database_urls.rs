//! `DATABASE_URL` listing several nodes (docs/galera.md), tried here on one MariaDB reached
//! through proxies, so each proxy is a node that can be cut: a replica uses the first listed,
//! moves to the next when it is cut, and is not ready while no node is usable.

use std::net::SocketAddr;
use std::time::Duration;

use im_testkit::{Proxy, ServerProcess, eventually, fresh_database_url, server_url};
use im_testkit::{start_http_server, start_rpc_server_with};
use reqwest::{Client, StatusCode};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(30);

/// The server's address, from the URL of the MariaDB the tests use.
fn server_addr() -> SocketAddr {
    let url = server_url();
    let host_port = url.rsplit('@').next().unwrap().trim_end_matches('/');
    host_port
        .parse()
        .expect("the test server URL names 127.0.0.1:port")
}

/// A fresh database reached through each of `proxies`, as a `DATABASE_URL` list.
fn urls_through(proxies: &[&Proxy]) -> String {
    let database = fresh_database_url();
    let name = database.rsplit('/').next().unwrap().to_owned();
    proxies
        .iter()
        .map(|p| format!("mysql://root@{}/{name}", p.addr))
        .collect::<Vec<_>>()
        .join(",")
}

struct Api {
    rpc: ServerProcess,
    http: ServerProcess,
    client: Client,
}

impl Api {
    fn start(urls: &str) -> Self {
        let rpc = start_rpc_server_with(
            urls,
            &[
                ("ETCD_ENDPOINTS", String::new()),
                ("IM_DB_DEADLINE_MS", "1000".to_owned()),
            ],
        );
        let http = start_http_server(vec![rpc.addr], &[]);
        Self {
            rpc,
            http,
            client: Client::new(),
        }
    }

    /// A send with an id, which may be resent after any failure; a 500 fails the test.
    async fn send(&self, id: &str) -> bool {
        let body = json!({ "chat": "al:bob", "sender": "al", "text": id, "client_msg_id": id });
        let url = format!("http://{}/api/send", self.http.addr);
        let status = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
        status == StatusCode::OK
    }

    async fn texts(&self) -> Vec<String> {
        let url = format!("http://{}/api/pull?chat=al:bob&limit=100", self.http.addr);
        let page: serde_json::Value = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn admin(&self, path: &str) -> Option<(StatusCode, String)> {
        let resp = self
            .client
            .get(format!("http://{}{path}", self.rpc.admin))
            .send()
            .await
            .ok()?;
        Some((resp.status(), resp.text().await.ok()?))
    }

    /// The node this replica's /metrics says it uses.
    async fn node_in_use(&self) -> Option<String> {
        let (_, text) = self.admin("/metrics").await?;
        text.lines()
            .find(|l| l.starts_with("im_db_node_active{") && l.ends_with(" 1"))
            .and_then(|l| l.split('"').nth(1))
            .map(str::to_owned)
    }

    async fn ready(&self) -> bool {
        self.admin("/readyz")
            .await
            .is_some_and(|(status, _)| status == StatusCode::OK)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_moves_to_the_next_node_when_its_node_is_cut_and_loses_nothing() {
    let (first, second) = (
        Proxy::start(server_addr()).await,
        Proxy::start(server_addr()).await,
    );
    let api = Api::start(&urls_through(&[&first, &second]));
    assert_eq!(api.node_in_use().await, Some(first.addr.to_string()));
    assert!(api.send("before").await);

    first.cut();
    eventually("sends succeed through the second node", PATIENCE, || {
        api.send("after")
    })
    .await;
    assert_eq!(api.node_in_use().await, Some(second.addr.to_string()));
    assert_eq!(api.texts().await, ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_no_usable_node_is_not_ready_until_one_is_back() {
    let (first, second) = (
        Proxy::start(server_addr()).await,
        Proxy::start(server_addr()).await,
    );
    let api = Api::start(&urls_through(&[&first, &second]));
    assert!(api.send("before").await);

    first.cut();
    second.cut();
    eventually("the replica is not ready", PATIENCE, || async {
        !api.ready().await
    })
    .await;
    assert!(!api.send("while cut").await, "no node: 503");

    second.restore();
    eventually("the replica is ready again", PATIENCE, || api.ready()).await;
    eventually("sends succeed again", PATIENCE, || api.send("after")).await;
    assert_eq!(api.node_in_use().await, Some(second.addr.to_string()));
    let texts = api.texts().await;
    assert_eq!(texts.first().map(String::as_str), Some("before"));
    assert_eq!(texts.last().map(String::as_str), Some("after"));
}
