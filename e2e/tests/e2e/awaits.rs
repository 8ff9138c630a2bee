//! Long polls that hold no connection each: the http-server hands waiting pulls over to the
//! replica with `AwaitPulls` and holds one call open for all of them. Each pull is answered by
//! its id, on its own; a newer call of the same waiter ends the older one; a replica killed
//! under waiting pulls fails none of them.

use std::time::Duration;

use im_idl::{AwaitPullsRequest, AwaitPullsResponse, AwaitedPullRequest, PullRequest};
use im_testkit::{Api, Stack, connections_accepted_on, eventually, metric, thrift};
use reqwest::StatusCode;
use serde_json::Value;

/// Longer than any test waits for an answer that must come at once.
const AT_ONCE: Duration = Duration::from_secs(10);

/// Waiting pulls of `rooms` rooms (`w0:x`, `w1:x`, ...), each under way in the background.
fn spawn_waiting_pulls(
    api: &Api,
    rooms: usize,
) -> Vec<tokio::task::JoinHandle<(StatusCode, Value)>> {
    (0..rooms)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move { api.pull(&format!("chat=w{n}:x&wait_ms=20000")).await })
        })
        .collect()
}

/// Returns once `count` pulls wait on the replicas with these admin addresses, together.
async fn pulls_waiting(admins: &[std::net::SocketAddr], count: f64) {
    eventually("the pulls wait", AT_ONCE, || async {
        let mut waiting = 0.0;
        for admin in admins {
            waiting += metric(*admin, "im_pull_waiting").await;
        }
        waiting >= count
    })
    .await;
}

/// Sends one message into each room and checks that each waiting pull got its own.
async fn each_pull_gets_its_message(
    api: &Api,
    pulls: Vec<tokio::task::JoinHandle<(StatusCode, Value)>>,
) {
    for n in 0..pulls.len() {
        api.send_ok(&format!("w{n}:x"), "x", &format!("to w{n}"))
            .await;
    }
    for (n, pull) in pulls.into_iter().enumerate() {
        let (status, page) = tokio::time::timeout(AT_ONCE, pull)
            .await
            .expect("the message ends the wait")
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["messages"][0]["text"], format!("to w{n}"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_pulls_share_a_few_connections_and_each_gets_its_message() {
    let stack = Stack::start(1);
    let api = stack.api();
    let pulls = spawn_waiting_pulls(&api, 200);
    pulls_waiting(&[stack.replicas[0].admin], 200.0).await;
    // One call holding on, one handing new pulls over, and the batches' own.
    let held = connections_accepted_on(stack.replicas[0].addr.port());
    assert!(held <= 4, "200 waiting pulls hold {held} connections");
    each_pull_gets_its_message(&api, pulls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_waiting_pulls_fails_none_of_them() {
    let mut stack = Stack::start(2);
    let api = stack.api();
    let pulls = spawn_waiting_pulls(&api, 40);
    let admins: Vec<_> = stack.replicas.iter().map(|r| r.admin).collect();
    pulls_waiting(&admins, 40.0).await;
    let victim = stack.replicas.remove(0);
    let on_victim = metric(victim.admin, "im_pull_waiting").await;
    assert!(on_victim > 0.0, "the rooms are spread over both replicas");
    drop(victim); // SIGKILL
    // The victim's pulls wait again on the survivor, and each gets its message from there.
    pulls_waiting(&[stack.replicas[0].admin], 40.0).await;
    each_pull_gets_its_message(&api, pulls).await;
}

fn awaited(id: i64, chat: &str, cursor: i64, wait_ms: i32) -> AwaitedPullRequest {
    let pull = PullRequest {
        chat: chat.to_owned().into(),
        cursor,
        limit: 10,
        reverse: None,
        wait_ms: Some(wait_ms),
    };
    AwaitedPullRequest {
        id,
        pull,
        budget_ms: Some(30_000),
    }
}

fn await_pulls(pulls: Vec<AwaitedPullRequest>) -> AwaitPullsRequest {
    AwaitPullsRequest {
        waiter: "test-waiter".into(),
        pulls,
        hold_ms: 20_000,
    }
}

/// The ids and codes of an answer, by id.
fn ids_and_codes(resp: &AwaitPullsResponse) -> Vec<(i64, i32)> {
    let mut answers: Vec<_> = resp.replies.iter().map(|r| (r.id, r.reply.code)).collect();
    answers.sort();
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn await_pulls_answers_each_pull_by_its_id_and_a_newer_call_ends_the_older() {
    let stack = Stack::start(1);
    let api = stack.api();
    api.send_ok("ra:rb", "ra", "already there").await;
    let rpc = thrift(stack.replicas[0].addr);

    // An invalid pull is answered at once, alone; the waiting one stays behind.
    let first = rpc
        .await_pulls(await_pulls(vec![
            awaited(1, "wa:wb", 0, 20_000),
            awaited(2, "no-colon", 0, 20_000),
        ]))
        .await
        .unwrap();
    assert_eq!(ids_and_codes(&first), [(2, 1)], "{first:?}");
    assert!(first.replies[0].reply.msg.contains("chat"), "{first:?}");

    // A call that holds on, ended by a newer one that hands over a pull with an answer.
    let holding = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.await_pulls(await_pulls(vec![])).await }
    });
    eventually("the call holds on", AT_ONCE, || async {
        metric(stack.replicas[0].admin, "im_await_pulls_calls").await >= 1.0
    })
    .await;
    let newer = rpc
        .await_pulls(await_pulls(vec![awaited(3, "ra:rb", 0, 20_000)]))
        .await
        .unwrap();
    assert_eq!(ids_and_codes(&newer), [(3, 0)]);
    assert_eq!(newer.replies[0].reply.messages.as_ref().unwrap().len(), 1);
    let ended = tokio::time::timeout(AT_ONCE, holding)
        .await
        .unwrap()
        .unwrap();
    assert!(
        ended.unwrap().replies.is_empty(),
        "the older call ends with no answers"
    );

    // The pull handed over first is still waiting, and its answer comes to the next call.
    let collecting = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.await_pulls(await_pulls(vec![])).await }
    });
    api.send_ok("wa:wb", "wa", "woken").await;
    let woken = tokio::time::timeout(AT_ONCE, collecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ids_and_codes(&woken), [(1, 0)]);
    let texts: Vec<_> = (woken.replies[0].reply.messages.iter().flatten())
        .map(|m| m.text.clone().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["woken"]);
}
