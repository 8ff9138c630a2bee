//! Long-poll pulls (`wait_ms`): a waiting pull answers as soon as a message is committed, on
//! whichever replica, times out with the normal empty answer, never misses a message sent at
//! the worst moment, is capped, and ends at once when its server stops.

use std::time::Duration;

use im_idl::PullRequest;
use im_testkit::{
    Api, Stack, eventually, fresh_database_url, metric, start_http_server, start_rpc_server_with,
    texts, thrift, thrift_send,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Longer than any test waits for an answer that must come at once.
const AT_ONCE: Duration = Duration::from_secs(10);

/// A pull of al:bob over HTTP that may wait 20 s, under way in the background.
fn spawn_waiting_pull(api: &Api) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let api = api.clone();
    tokio::spawn(async move { api.pull("chat=al:bob&wait_ms=20000").await })
}

fn waiting_pull(cursor: i64, wait_ms: i32) -> PullRequest {
    PullRequest {
        chat: "al:bob".into(),
        cursor,
        limit: 10,
        reverse: None,
        wait_ms: Some(wait_ms),
    }
}

#[tokio::test]
async fn a_waiting_pull_returns_when_a_message_arrives_and_not_before() {
    let stack = Stack::start(1);
    let api = stack.api();
    let waiting = spawn_waiting_pull(&api);
    pulls_waiting(stack.replicas[0].admin, 1.0).await;
    assert!(!waiting.is_finished(), "an empty room makes the pull wait");

    let send_time = api.send_ok("al:bob", "al", "hello").await["send_time"].clone();
    let (status, page) = tokio::time::timeout(AT_ONCE, waiting)
        .await
        .expect("the message ends the wait")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["text"], "hello");
    assert_eq!(page["has_more"], false);
    assert_eq!(page["next_cursor"], send_time.as_i64().unwrap() + 1);
}

#[tokio::test]
async fn a_wait_that_times_out_answers_the_empty_page_with_the_same_cursor() {
    let stack = Stack::start(1);
    let (status, page) = stack
        .api()
        .pull("chat=al:bob&cursor=12345&wait_ms=300")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page,
        json!({ "messages": [], "has_more": false, "next_cursor": 12345 })
    );
}

#[tokio::test]
async fn reverse_pulls_and_pages_with_messages_never_wait() {
    let stack = Stack::start(1);
    let api = stack.api();
    api.send_ok("al:bob", "al", "there").await;
    for query in [
        "chat=al:bob&wait_ms=30000",
        "chat=al:bob&reverse=true&wait_ms=30000",
        "chat=al:cy&reverse=true&wait_ms=30000",
    ] {
        let (status, _) = tokio::time::timeout(AT_ONCE, api.pull(query))
            .await
            .unwrap_or_else(|_| panic!("{query} waited"));
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn bad_wait_values_are_400() {
    let stack = Stack::start(1);
    let api = stack.api();
    for query in ["wait_ms=-1", "wait_ms=abc", "wait_ms=1.5"] {
        let (status, body) = api.pull(&format!("chat=al:bob&{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_sent_at_the_worst_moment_is_never_missed() {
    let stack = Stack::start(1);
    let api = stack.api();
    let mut cursor = 0;
    for round in 0..40 {
        // The send races the pull's empty read and the start of its wait.
        let query = format!("chat=al:bob&cursor={cursor}&wait_ms=8000");
        let text = format!("race {round}");
        let (page, _) = tokio::join!(api.pull(&query), api.send_ok("al:bob", "al", &text));
        let (status, page) = page;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            texts(&page),
            [text.as_str()],
            "round {round}: the pull missed the message"
        );
        cursor = page["next_cursor"].as_i64().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waiter_on_one_replica_wakes_for_a_message_committed_by_another() {
    let database_url = fresh_database_url();
    let no_etcd = [("ETCD_ENDPOINTS", String::new())];
    let (a, b) = (
        start_rpc_server_with(&database_url, &no_etcd),
        start_rpc_server_with(&database_url, &no_etcd),
    );
    let waiting = tokio::spawn({
        let client = thrift(a.addr);
        async move { client.pull(waiting_pull(0, 20_000)).await }
    });
    pulls_waiting(a.admin, 1.0).await;
    thrift_send(b.addr, "bob:al", "bob", "via b").await;
    let page = tokio::time::timeout(AT_ONCE, waiting)
        .await
        .expect("replica a learns of the message")
        .unwrap()
        .unwrap();
    assert_eq!(page.code, 0);
    let texts: Vec<String> = page
        .messages
        .unwrap()
        .into_iter()
        .map(|m| m.text.unwrap().to_string())
        .collect();
    assert_eq!(texts, ["via b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_hangs_up_gives_its_waiting_place_back_at_once() {
    use tokio::io::AsyncWriteExt;
    let database_url = fresh_database_url();
    // One place to wait at the http-server, and one at the replica (the pull handed over there
    // must stop too, not wait out its time).
    let rpc = start_rpc_server_with(
        &database_url,
        &[
            ("ETCD_ENDPOINTS", String::new()),
            ("IM_PULL_MAX_WAITING", "1".to_owned()),
        ],
    );
    let http = start_http_server(
        vec![rpc.addr],
        &[("IM_HTTP_MAX_WAITING_PULLS", "1".to_owned())],
    );
    let api = Api::new(http.addr);
    // The one place to wait, taken by a client that then hangs up mid-wait.
    let mut client = tokio::net::TcpStream::connect(http.addr).await.unwrap();
    client
        .write_all(b"GET /api/pull?chat=hu:x&wait_ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    pulls_waiting(rpc.admin, 1.0).await;
    drop(client);
    // Well within its 30 s, both places are free again (a refusal at either is a 503).
    eventually("the place is given back", AT_ONCE, || async {
        let quick = api.client().get(api.url("/api/pull?chat=hu:y&wait_ms=1"));
        matches!(api.try_answer(quick).await, Ok((StatusCode::OK, _, _)))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_sent_behind_a_waiting_pull_is_answered_after_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start(1);
    let mut conn = tokio::net::TcpStream::connect(stack.http.addr)
        .await
        .unwrap();
    conn.write_all(b"GET /api/pull?chat=pp:x&wait_ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    pulls_waiting(stack.replicas[0].admin, 1.0).await;
    // Pipelined on the same connection while the first waits: the server reads its start while
    // watching for a hang-up, and must keep it.
    conn.write_all(
        b"GET /api/pull?chat=pp:x&reverse=true&limit=10 HTTP/1.1\r\nHost: x\r\n\
          User-Agent: a-pipelining-client-with-a-long-name\r\n\r\n",
    )
    .await
    .unwrap();
    stack.api().send_ok("pp:x", "pp", "hello").await;
    let mut answers = String::new();
    let mut chunk = [0u8; 1024];
    while answers.matches("\"hello\"").count() < 2 {
        let read = tokio::time::timeout(AT_ONCE, conn.read(&mut chunk)).await;
        let n = read.expect("both answers come").unwrap();
        assert!(n > 0, "closed before both answers: {answers}");
        answers.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "{answers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_pulls_are_capped_and_hold_no_in_flight_permit() {
    let database_url = fresh_database_url();
    let rpc = start_rpc_server_with(
        &database_url,
        &[
            ("ETCD_ENDPOINTS", String::new()),
            ("IM_PULL_MAX_WAITING", "1".to_owned()),
        ],
    );
    let http = start_http_server(
        vec![rpc.addr],
        &[
            ("IM_HTTP_MAX_IN_FLIGHT", "1".to_owned()),
            ("IM_HTTP_MAX_WAITING_PULLS", "1".to_owned()),
        ],
    );
    let api = Api::new(http.addr);
    let first = spawn_waiting_pull(&api);
    pulls_waiting(rpc.admin, 1.0).await;

    // The waiting pull holds no in-flight permit: with a limit of 1, others are served.
    let (status, _) = api.pull("chat=al:cy").await;
    assert_eq!(status, StatusCode::OK);
    // A second waiting pull is over the http-server's cap.
    let second = api
        .client()
        .get(api.url("/api/pull?chat=al:cy&wait_ms=1000"));
    let (status, _, retry_after) = api.try_answer(second).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("1"));
    // And over the rpc-server's, for a Thrift caller.
    let refused = thrift(rpc.addr).pull(waiting_pull(0, 1000)).await.unwrap();
    assert_eq!(refused.code, 2, "{}", refused.msg);

    api.send_ok("al:bob", "al", "wake").await;
    let (status, page) = tokio::time::timeout(AT_ONCE, first).await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["text"], "wake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_every_wait_at_once_with_the_timeout_answer() {
    let rpc = start_rpc_server_with(&fresh_database_url(), &[("ETCD_ENDPOINTS", String::new())]);
    let waits: Vec<_> = (0..5)
        .map(|_| {
            let client = thrift(rpc.addr);
            tokio::spawn(async move { client.pull(waiting_pull(777, 30_000)).await })
        })
        .collect();
    pulls_waiting(rpc.admin, 5.0).await;
    let exited = tokio::task::spawn_blocking(move || rpc.terminate());
    for wait in waits {
        let page = tokio::time::timeout(AT_ONCE, wait)
            .await
            .expect("the wait ends at once")
            .unwrap()
            .unwrap();
        assert_eq!(page.code, 0);
        assert_eq!(page.messages.unwrap().len(), 0);
        assert_eq!(page.next_cursor, Some(777));
    }
    assert!(exited.await.unwrap(), "the rpc-server exits 0");
}

/// The drain keeps serving, each reply closing its connection (callers are told, in TTHeader,
/// not to reuse it), and the process exits about the drain after the signal: before volo's own
/// exit waited two seconds more after it, and looked at the connections once a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_stops_within_the_drain_telling_callers_first() {
    let drain = Duration::from_millis(3000);
    let mut rpc = start_rpc_server_with(
        &fresh_database_url(),
        &[
            ("ETCD_ENDPOINTS", String::new()),
            ("IM_SHUTDOWN_DRAIN_MS", drain.as_millis().to_string()),
        ],
    );
    let waits: Vec<_> = (0..5)
        .map(|_| {
            let client = thrift(rpc.addr);
            tokio::spawn(async move { client.pull(waiting_pull(777, 30_000)).await })
        })
        .collect();
    pulls_waiting(rpc.admin, 5.0).await;
    // A caller that keeps its connection, as the http-server does.
    let caller = thrift(rpc.addr);
    assert_eq!(caller.pull(waiting_pull(0, 0)).await.unwrap().code, 0);
    let signalled = std::time::Instant::now();
    rpc.stop();
    for wait in waits {
        let page = tokio::time::timeout(AT_ONCE, wait)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((page.code, page.next_cursor), (0, Some(777)));
    }
    // Served while draining, and its connection closed after the reply, the caller still there.
    let page = caller.pull(waiting_pull(0, 0)).await.unwrap();
    assert_eq!(page.code, 0, "{}", page.msg);
    let port = rpc.addr.port();
    eventually(
        "every connection is closed after its reply",
        AT_ONCE,
        || async { im_testkit::connections_accepted_on(port) == 0 },
    )
    .await;
    assert_eq!(rpc.exited(), None, "closed while draining, not by the exit");
    assert!(
        tokio::task::spawn_blocking(move || rpc.wait())
            .await
            .unwrap(),
        "exits 0"
    );
    let took = signalled.elapsed();
    drop(caller);
    assert!(
        took < drain + Duration::from_millis(1900),
        "exited {took:?} after SIGTERM, drain {drain:?}"
    );
}

/// Page reads the rpc-server has made, from its metrics.
async fn page_reads(admin: std::net::SocketAddr) -> f64 {
    metric(admin, "im_store_duration_seconds_count{op=\"read_page\"}").await
}

/// Returns once `count` pulls wait on the rpc-server with this admin address.
async fn pulls_waiting(admin: std::net::SocketAddr, count: f64) {
    eventually("the pulls wait", AT_ONCE, || async {
        metric(admin, "im_pull_waiting").await >= count
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_woken_together_share_one_read() {
    let rpc = start_rpc_server_with(&fresh_database_url(), &[("ETCD_ENDPOINTS", String::new())]);
    let waits: Vec<_> = (0..50)
        .map(|_| {
            let client = thrift(rpc.addr);
            tokio::spawn(async move { client.pull(waiting_pull(0, 20_000)).await })
        })
        .collect();
    // Each receiver read its (empty) page once and waits.
    eventually("50 receivers wait", Duration::from_secs(30), || async {
        page_reads(rpc.admin).await >= 50.0
    })
    .await;
    let before = page_reads(rpc.admin).await;

    thrift_send(rpc.addr, "al:bob", "al", "to all").await;
    for wait in waits {
        let page = tokio::time::timeout(AT_ONCE, wait)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(page.messages.unwrap().len(), 1);
    }
    let reads = page_reads(rpc.admin).await - before;
    assert!(
        reads <= 5.0,
        "50 receivers woken by one message made {reads} reads"
    );
}
