//! The service on a three-node MariaDB Galera cluster on loopback (`scripts/test-galera` runs
//! these; each starts a cluster of its own). Replicas on different nodes store concurrent sends
//! exactly once and a pull through one node sees a send acknowledged through another; a
//! replica whose node is killed or frozen moves to another node and serves again, losing and
//! doubling nothing, while a follower's cursor misses nothing; the lost node rejoins with
//! every message; a node outside the primary component answers 503, never 500; a replica
//! refuses inbox versions from the clock on a cluster.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_testkit::{Galera, eventually};
use serde_json::{Value, json};
use tokio::task::block_in_place;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
async fn replicas_on_two_nodes_store_concurrent_and_racing_sends_exactly_once() {
    let cluster = block_in_place(|| Galera::start(3));
    // Started at once on a fresh database, each through its own node: both migrate it.
    let (a, b) = block_in_place(|| {
        std::thread::scope(|scope| {
            let a = scope.spawn(|| Replica::start(&cluster, &[0, 1, 2]));
            let b = scope.spawn(|| Replica::start(&cluster, &[1, 2, 0]));
            (a.join().unwrap(), b.join().unwrap())
        })
    });
    let client = client();
    assert_eq!(
        a.node_in_use(&client).await,
        (Some(cluster.address(0)), 0.0)
    );
    assert_eq!(
        b.node_in_use(&client).await,
        (Some(cluster.address(1)), 0.0)
    );

    // The same send through both nodes at once: one message, the same answer to both.
    let mut acked = Acked::new();
    let (through_a, through_b) = (a.base(), b.base());
    for k in 0..40 {
        let (room, id) = (ROOMS[k % 4], format!("race-{k}"));
        let (one, other) = tokio::join!(
            send_until_stored(&client, &through_a, room, &id),
            send_until_stored(&client, &through_b, room, &id)
        );
        assert_eq!(one, other, "{id}");
        acked.insert(id, one);
    }
    let load = Load::start(&client, vec![a.base(), b.base()], 8, "load");
    load.until_acked(600).await;
    acked.extend(load.finish().await);
    assert_exactly_once(&client, &b.base(), &acked).await;
}

/// Inbox versions from the clock, or timed counters, need one clock: a replica told to take
/// them on a Galera cluster's nodes refuses to start, and says why.
#[test]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
fn a_replica_refuses_clock_versions_on_a_galera_cluster() {
    let cluster = Galera::start(1);
    for versions in ["clock", "mixed"] {
        let refused = std::process::Command::new(im_testkit::binary_path("rpc-server"))
            .env("DATABASE_URL", cluster.database_urls("im", &[0]))
            .env("ETCD_ENDPOINTS", "")
            .env("IM_RPC_LISTEN", "127.0.0.1:0")
            .env("IM_RPC_ADMIN_LISTEN", "127.0.0.1:0")
            .env("IM_INBOX_VERSIONS", versions)
            .output()
            .expect("rpc-server runs");
        assert!(!refused.status.success(), "{versions}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            said.contains("needs a single database server") && said.contains("counter"),
            "{versions}: {said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
async fn a_pull_through_another_node_sees_every_send_acknowledged_before_it() {
    let cluster = block_in_place(|| Galera::start(3));
    let (a, b) = (
        Replica::start(&cluster, &[0, 1, 2]),
        Replica::start(&cluster, &[1, 2, 0]),
    );
    let client = client();
    let mut last = 0;
    for k in 0..300 {
        let (room, id) = (ROOMS[k % 4], format!("causal-{k}"));
        let send_time = send_until_stored(&client, &a.base(), room, &id).await;
        let page = pull(&client, &b.base(), room, send_time, 0)
            .await
            .expect("a page");
        assert_eq!(page["messages"][0]["client_msg_id"], json!(id), "{page}");
        last = last.max(send_time);
    }

    // A long poll waiting on one node is answered with a send committed through another,
    // not with an empty page at the end of its wait.
    let (waiter_client, waiting_on) = (client.clone(), b.base());
    let waiter = tokio::spawn(async move {
        let cursor = last + 1;
        pull(&waiter_client, &waiting_on, ROOMS[3], cursor, 8000).await
    });
    send_until_stored(&client, &a.base(), ROOMS[3], "woken").await;
    let page = waiter.await.unwrap().expect("a page");
    assert_eq!(
        page["messages"][0]["client_msg_id"],
        json!("woken"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
async fn a_replica_whose_node_is_killed_under_load_serves_again_and_loses_nothing() {
    let mut cluster = block_in_place(|| Galera::start(3));
    let (a, b) = (
        Replica::start(&cluster, &[0, 1, 2]),
        Replica::start(&cluster, &[1, 2, 0]),
    );
    let client = client();
    let stop_following = Arc::new(AtomicBool::new(false));
    let follower = follow(&client, b.base(), ROOMS[0], stop_following.clone());
    let load = Load::start(&client, vec![a.base(), b.base()], 8, "kill");
    load.until_acked(300).await;

    cluster.kill(0);
    let killed = Instant::now();
    let after = Mutex::new(None);
    eventually(
        "the killed node's replica serves again",
        Duration::from_secs(15),
        || async {
            let stored = send_once(&client, &a.base(), ROOMS[1], "after-kill").await;
            *after.lock().unwrap() = stored;
            stored.is_some()
        },
    )
    .await;
    eprintln!(
        "the killed node's replica served again after {:?}",
        killed.elapsed()
    );
    let mut acked = Acked::from([(
        "after-kill".to_owned(),
        after.into_inner().unwrap().unwrap(),
    )]);
    let (node, moves) = a.node_in_use(&client).await;
    assert_ne!(node, Some(cluster.address(0)));
    assert!(moves >= 1.0, "{moves}");
    load.until_acked(300).await;

    // The node comes back, copies the cluster's state, and holds every message.
    block_in_place(|| cluster.restart(0));
    assert_eq!(
        cluster.status(0, "wsrep_cluster_size").as_deref(),
        Some("3")
    );
    load.until_acked(100).await;
    acked.extend(load.finish().await);
    stop_following.store(true, Ordering::Relaxed);
    let followed = follower.await.unwrap();
    let on_rejoined = Replica::start(&cluster, &[0]);
    assert_exactly_once(&client, &on_rejoined.base(), &acked).await;

    // The follower was handed the room exactly as it is stored: nothing skipped, nothing twice.
    let stored = read_room(&client, &on_rejoined.base(), ROOMS[0]).await;
    let times = |msgs: &[Value]| {
        msgs.iter()
            .map(|m| m["send_time"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&followed), times(&stored));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
async fn a_replica_whose_node_freezes_moves_on_and_the_thawed_node_rejoins() {
    let cluster = block_in_place(|| Galera::start(3));
    let a = Replica::start(&cluster, &[0, 1, 2]);
    let client = client();
    let load = Load::start(&client, vec![a.base()], 4, "freeze");
    load.until_acked(100).await;

    cluster.freeze(0);
    eventually("the replica moves to another node", PATIENCE, || async {
        let (node, _) = a.node_in_use(&client).await;
        node.is_some() && node != Some(cluster.address(0))
    })
    .await;
    load.until_acked(100).await;
    // The others evict the frozen node; thawed, it finds itself alone and rejoins.
    eventually("the others evict the frozen node", PATIENCE, || async {
        cluster.status(1, "wsrep_cluster_size").as_deref() == Some("2")
    })
    .await;
    cluster.thaw(0);
    // Thawed, it still reports the view it was frozen in; it is back once the others count it
    // and it shares their view.
    eventually("the thawed node rejoins", PATIENCE * 2, || async {
        let view = |i| cluster.status(i, "wsrep_cluster_conf_id");
        cluster.status(1, "wsrep_cluster_size").as_deref() == Some("3")
            && view(0).is_some()
            && view(0) == view(1)
            && cluster.status(0, "wsrep_local_state_comment").as_deref() == Some("Synced")
    })
    .await;
    load.until_acked(100).await;
    let acked = load.finish().await;
    let on_rejoined = Replica::start(&cluster, &[0]);
    assert_exactly_once(&client, &on_rejoined.base(), &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "starts a Galera cluster: scripts/test-galera runs it"]
async fn a_node_outside_the_primary_component_is_503_never_500_and_is_left() {
    let cluster = block_in_place(|| Galera::start(3));
    let (listed, alone) = (
        Replica::start(&cluster, &[0, 1, 2]),
        Replica::start(&cluster, &[0]),
    );
    let client = client();
    let before = send_until_stored(&client, &alone.base(), ROOMS[0], "before").await;
    let mut acked = Acked::from([("before".to_owned(), before)]);

    cluster.isolate(0, true);
    eventually(
        "the node leaves the primary component",
        PATIENCE,
        || async { cluster.status(0, "wsrep_cluster_status").as_deref() == Some("non-Primary") },
    )
    .await;
    // The replica that knows only this node gets 1047 for every statement: 503, not ready.
    assert_eq!(
        send_once(&client, &alone.base(), ROOMS[0], "cut-off").await,
        None
    );
    assert_eq!(pull(&client, &alone.base(), ROOMS[0], 0, 0).await, None);
    eventually("the lone replica is not ready", PATIENCE, || async {
        !alone.ready(&client).await
    })
    .await;
    // The replica that knows the others moves to one of them.
    let moved = send_until_stored(&client, &listed.base(), ROOMS[0], "moved").await;
    acked.insert("moved".to_owned(), moved);
    let (node, _) = listed.node_in_use(&client).await;
    assert!(
        node.is_some() && node != Some(cluster.address(0)),
        "{node:?}"
    );

    cluster.isolate(0, false);
    eventually(
        "the node is back in the primary component",
        PATIENCE,
        || async {
            cluster.status(0, "wsrep_cluster_status").as_deref() == Some("Primary")
                && cluster.status(0, "wsrep_local_state_comment").as_deref() == Some("Synced")
        },
    )
    .await;
    eventually("the lone replica is ready again", PATIENCE, || {
        alone.ready(&client)
    })
    .await;
    let after = send_until_stored(&client, &alone.base(), ROOMS[0], "after").await;
    acked.insert("after".to_owned(), after);
    assert_exactly_once(&client, &alone.base(), &acked).await;
}
