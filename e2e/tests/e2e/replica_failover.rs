//! A replica lost mid-stream behind the http-server: killed, stopped with SIGTERM or frozen, it
//! loses no acknowledged message, stores nothing twice and fails no request that could be
//! retried safely; frozen inside a commit, it does not block the other replicas.

use std::collections::HashSet;
use std::sync::Arc;

use im_testkit::{
    Api, eventually, fresh_database_url, metric, start_http_server, start_rpc_server,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::cluster::{
    Cluster, PATIENCE, ROOMS, calls_answered, room, send_stream, stream_of_sends,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_replica_loses_no_acknowledged_message_and_is_dropped() {
    let (cluster, streams) = kill_a_replica_under_streams(false).await;
    let acked: Vec<String> = streams.into_iter().flat_map(|(ok, _)| ok).collect();
    let stored = cluster.pull_all_rooms().await;
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message was stored twice");
    for text in &acked {
        assert!(unique.contains(text), "acknowledged {text} was lost");
    }
    assert_batches_formed(&cluster).await;

    // Once its lease expires the dead replica is gone, and nothing fails any more.
    cluster.wait_for_replicas(2).await;
    let (after, failed) = send_stream(cluster.clone(), "after".into(), 30).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(after.len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_replica_fails_no_send_with_an_id_and_stores_none_twice() {
    let (cluster, streams) = kill_a_replica_under_streams(true).await;
    let mut acked = Vec::new();
    for (ok, failed) in streams {
        assert!(failed.is_empty(), "sends with an id failed: {failed:?}");
        acked.extend(ok);
    }
    assert_eq!(acked.len(), STREAMS * 20);
    let mut stored = cluster.pull_all_rooms().await;
    stored.sort();
    acked.sort();
    assert_eq!(stored, acked, "every send stored exactly once");
    assert_batches_formed(&cluster).await;
}

/// Streams of sends at once: enough that calls to one replica share exchanges.
const STREAMS: usize = 16;

/// Three replicas; one is SIGKILLed while [`STREAMS`] streams of 20 sends each (with ids or
/// not) run through the http-server, so that it dies with batches in flight. The other two,
/// and what each stream acknowledged and what failed.
async fn kill_a_replica_under_streams(
    with_ids: bool,
) -> (Arc<Cluster>, Vec<(Vec<String>, Vec<String>)>) {
    let mut cluster = Cluster::start(3).await;
    let victim = cluster.replicas.remove(0);
    let cluster = Arc::new(cluster);
    let streams: Vec<_> = (0..STREAMS)
        .map(|n| {
            let stream = stream_of_sends(cluster.clone(), format!("s{n}"), 20, with_ids);
            tokio::spawn(stream)
        })
        .collect();
    eventually("the streams are under way", PATIENCE, || async {
        calls_answered(&victim).await >= 20.0
    })
    .await;
    drop(victim); // SIGKILL
    let mut results = Vec::new();
    for stream in streams {
        results.push(stream.await.unwrap());
    }
    (cluster, results)
}

/// Some exchange of the http-server carried more than one send.
async fn assert_batches_formed(cluster: &Cluster) {
    let admin = cluster.http.admin;
    let sends = metric(admin, "im_rpc_client_batch_size_sum{method=\"send\"}").await;
    let exchanges = metric(admin, "im_rpc_client_batch_size_count{method=\"send\"}").await;
    assert!(
        exchanges < sends,
        "{exchanges} exchanges carried {sends} sends"
    );
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

/// A replica frozen inside a commit holds its room's row lock; the database ends that
/// transaction, so another replica's sends to the same room still succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_frozen_inside_a_commit_blocks_no_other_replica() {
    let database_url = fresh_database_url();
    let (a, b) = (
        start_rpc_server(&database_url),
        start_rpc_server(&database_url),
    );
    let (http_a, http_b) = (
        start_http_server(vec![a.addr], &[]),
        start_http_server(vec![b.addr], &[]),
    );
    let (through_a, through_b) = (Api::new(http_a.addr), Api::new(http_b.addr));
    through_b.send_ok("fa:fb", "fb", "first").await;

    // `a` starts a commit and waits for the room's row lock, held here; frozen, it gets the
    // lock once it is released, and keeps it while frozen.
    let db = sqlx::MySqlPool::connect(&database_url).await.unwrap();
    let mut holder = db.begin().await.unwrap();
    sqlx::query("SELECT * FROM rooms WHERE room = 'fa:fb' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let stuck = tokio::spawn(async move {
        let body = json!({"chat": "fa:fb", "sender": "fa", "text": "through a"});
        let req = through_a
            .client()
            .post(through_a.url("/api/send"))
            .json(&body);
        through_a.try_answer(req).await
    });
    eventually("a waits for the row lock", PATIENCE, || async {
        reserving_room(&db).await
    })
    .await;
    a.freeze();
    holder.rollback().await.unwrap();
    eventually("frozen a has the row lock", PATIENCE, || async {
        !reserving_room(&db).await
    })
    .await;

    let (status, body) = through_b
        .send(json!({"chat": "fa:fb", "sender": "fb", "text": "through b"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    a.thaw();
    // Whatever `a` answered, the room holds what was acknowledged.
    let acknowledged_through_a = matches!(stuck.await.unwrap(), Ok((StatusCode::OK, ..)));
    let texts = through_b.all_texts("fa:fb").await;
    let mut expected = vec!["first", "through a", "through b"];
    if !acknowledged_through_a {
        expected.retain(|text| *text != "through a");
    }
    let stored: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| expected.contains(t))
        .collect();
    assert_eq!(stored.len(), expected.len(), "{texts:?}");
}

/// Whether a connection to this database is running the statement that takes a room's row
/// lock in a commit.
async fn reserving_room(db: &sqlx::MySqlPool) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM information_schema.processlist \
         WHERE db = DATABASE() AND info LIKE '%INSERT INTO rooms%' AND id <> CONNECTION_ID()",
    )
    .fetch_one(db)
    .await
    .unwrap()
        > 0
}
