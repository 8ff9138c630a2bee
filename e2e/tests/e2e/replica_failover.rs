//! A replica lost mid-stream behind the http-server: killed, stopped with SIGTERM or frozen, it
//! loses no acknowledged message, stores nothing twice and fails no request that could be
//! retried safely.

use std::collections::HashSet;
use std::sync::Arc;

use im_testkit::eventually;
use reqwest::StatusCode;

use crate::cluster::{
    Cluster, PATIENCE, ROOMS, calls_answered, room, send_stream, stream_of_sends,
};

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
