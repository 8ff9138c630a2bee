//! Calls carried in one exchange: `SendBatch` and `PullBatch` answer each item on its own (an
//! invalid one fails alone, one whose caller's time ran out is left out and never stored), and
//! the http-server gathers concurrent calls bound for one replica into such exchanges.

use im_idl::{PullBatchRequest, PullRequest, SendBatchRequest};
use std::time::Duration;

use im_testkit::{Stack, eventually, metric, thrift, thrift_send_request};
use reqwest::StatusCode;
use serde_json::json;

/// Longer than any wait here for what must happen at once.
const AT_ONCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn each_send_of_a_batch_is_answered_on_its_own() {
    let stack = Stack::start(1);
    let mut with_id = thrift_send_request("ba:bb", "ba", "second");
    with_id.message.client_msg_id = Some("id-2".into());
    let sends = vec![
        thrift_send_request("ba:bb", "ba", "first"),
        thrift_send_request("ba:bb", "nobody", "not a member"),
        with_id.clone(),
        thrift_send_request("ba:bb", "bb", "out of time"),
        with_id,
    ];
    let req = SendBatchRequest {
        sends,
        // The fourth send's caller has no time left: it is left out, never stored.
        budgets_ms: Some(vec![2000, 2000, 2000, 0, 2000]),
    };
    let replies = thrift(stack.replicas[0].addr)
        .send_batch(req)
        .await
        .unwrap()
        .replies;
    let codes: Vec<i32> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 1, 0, 2, 0], "{replies:?}");
    assert!(replies[1].msg.contains("sender"), "{:?}", replies[1].msg);
    // The same id twice in one batch: one message, the same answer to both.
    let (second, again) = (replies[2].stored.as_ref(), replies[4].stored.as_ref());
    assert_eq!(
        second.unwrap().send_time,
        again.unwrap().send_time,
        "{replies:?}"
    );
    assert_eq!(replies[4].duplicate, Some(true));

    let texts = stack.api().all_texts("ba:bb").await;
    assert_eq!(texts, ["first", "second"]);
}

#[tokio::test]
async fn each_pull_of_a_batch_is_answered_on_its_own() {
    let stack = Stack::start(1);
    stack.api().send_ok("pa:pb", "pa", "hello").await;
    let pull = |chat: &'static str, limit| PullRequest {
        chat: chat.into(),
        cursor: 0,
        limit,
        reverse: None,
        // Ignored in a batch, which never waits.
        wait_ms: Some(10_000),
    };
    let req = PullBatchRequest {
        pulls: vec![pull("pa:pb", 10), pull("pa:pb", -1), pull("pc:pd", 10)],
        budgets_ms: None,
    };
    let replies = thrift(stack.replicas[0].addr)
        .pull_batch(req)
        .await
        .unwrap()
        .replies;
    let codes: Vec<i32> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 1, 0], "{replies:?}");
    assert_eq!(
        replies[0].messages.as_ref().unwrap()[0].text.as_deref(),
        Some("hello")
    );
    assert!(replies[2].messages.as_ref().unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_of_pulls_is_answered_as_single_pulls_are_in_one_read() {
    let stack = Stack::start(1);
    let api = stack.api();
    let mut send_times = Vec::new();
    for n in 0..5 {
        let sent = api.send_ok("qa:qb", "qa", &format!("m{n}")).await;
        send_times.push(sent["send_time"].as_i64().unwrap());
    }
    api.send_ok("qc:qd", "qc", "other room").await;
    let pull = |chat: &str, cursor, limit, reverse| PullRequest {
        chat: chat.to_owned().into(),
        cursor,
        limit,
        reverse: Some(reverse),
        wait_ms: None,
    };
    // Forward and backward pages, partial and whole, of two rooms and an empty one, as single
    // pulls answer them.
    let pulls = vec![
        pull("qa:qb", 0, 2, false),
        pull("qa:qb", send_times[2], 10, false),
        pull("qa:qb", 0, 2, true),
        pull("qc:qd", 0, 10, false),
        pull("qa:qb", send_times[3], 10, true),
        pull("qe:qf", 0, 10, false),
        pull("qb:qa", 0, 10, false),
    ];
    let rpc = thrift(stack.replicas[0].addr);
    let mut singles = Vec::new();
    for single in &pulls {
        singles.push(rpc.pull(single.clone()).await.unwrap());
    }
    let admin = stack.replicas[0].admin;
    let single_reads = statements(admin, "read_page").await;
    let req = PullBatchRequest {
        pulls,
        budgets_ms: None,
    };
    let replies = rpc.pull_batch(req).await.unwrap().replies;
    assert_eq!(replies, singles);
    assert_eq!(
        statements(admin, "read_page").await,
        single_reads,
        "no page read alone"
    );
    assert_eq!(
        statements(admin, "read_pages").await,
        1.0,
        "one read for the batch"
    );
}

/// Reads of kind `op` the rpc-server with this admin address has made.
async fn statements(admin: std::net::SocketAddr, op: &str) -> f64 {
    metric(
        admin,
        &format!("im_store_duration_seconds_count{{op=\"{op}\"}}"),
    )
    .await
}

#[tokio::test]
async fn concurrent_calls_to_one_replica_share_exchanges_and_each_gets_its_answer() {
    // Long enough that the exchanges held up below are not given up.
    let stack = Stack::start_with(1, &[("IM_RPC_TIMEOUT_MS", "60000".to_owned())]);
    let api = stack.api();
    let admin = stack.http.admin;
    // While the replica is frozen, the first exchanges cannot come back, so every later send
    // waits for the next one, or, once those are slow (20 ms), leaves in a place more: the 64
    // sends share exchanges.
    stack.replicas[0].freeze();
    let sends = (0..64).map(|i| {
        let api = api.clone();
        async move {
            let chat = format!("c{}:d{}", i % 8, i % 8);
            let body =
                json!({"chat": chat, "sender": format!("c{}", i % 8), "text": format!("m{i}")});
            let (status, body) = api.send(body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["message"]["text"], format!("m{i}"));
            (chat, body["message"]["send_time"].as_i64().unwrap())
        }
    });
    let sending = tokio::spawn(futures::future::join_all(sends));
    eventually(
        "every send is in an exchange or waits for one",
        AT_ONCE,
        || async {
            let carried = metric(admin, "im_rpc_client_batch_size_sum{method=\"send\"}").await;
            let waiting = metric(admin, "im_rpc_client_calls_waiting{method=\"send\"}").await;
            carried + waiting == 64.0
        },
    )
    .await;
    stack.replicas[0].thaw();
    let sent = sending.await.unwrap();
    for chat in (0..8).map(|i| format!("c{i}:d{i}")) {
        let stored = api.all_messages(&chat).await;
        assert_eq!(stored.len(), 8, "{chat}");
        for (_, send_time) in sent.iter().filter(|(c, _)| *c == chat) {
            assert!(stored.iter().any(|m| m["send_time"] == *send_time));
        }
    }
    let calls = metric(admin, "im_rpc_client_batch_size_sum{method=\"send\"}").await;
    let exchanges = metric(admin, "im_rpc_client_batch_size_count{method=\"send\"}").await;
    let more = metric(
        admin,
        "im_rpc_client_slow_exchange_places_total{method=\"send\"}",
    )
    .await;
    assert_eq!(calls, 64.0);
    // Two under way when the replica froze, and one in each place taken beside them; then
    // each place carries what waited meanwhile, once.
    assert!(
        exchanges <= 2.0 * (2.0 + more),
        "{exchanges} exchanges ({more} places beside the two) carried {calls} sends"
    );
}
