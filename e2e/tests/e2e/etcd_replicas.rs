//! rpc-servers registered in a real etcd behind one http-server that discovers them: calls
//! spread by room, late joiners, etcd itself going away, and readiness.

use etcd_client::GetOptions;
use im_testkit::{Etcd, Proxy, eventually, fresh_database_url, start_http_server};
use reqwest::{Client, StatusCode};

use crate::cluster::{Cluster, PATIENCE, REGISTRY_PREFIX, calls_answered, room, start_replica};

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
