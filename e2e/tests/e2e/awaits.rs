//! Long polls that hold no connection each: the http-server hands waiting pulls and inbox
//! listings over to the replica with `AwaitPulls` and holds one call open for all of them. Each
//! is answered by its id, on its own; a newer call of the same waiter ends the older one; a
//! replica killed under waiting pulls fails none of them; a pull whose caller went away stops.

use std::time::Duration;

use im_idl::{
    AwaitPullsRequest, AwaitPullsResponse, AwaitedChatsRequest, AwaitedPullRequest, ChatsRequest,
    ImServiceClient, PullRequest,
};
use im_testkit::{
    Api, Stack, connections_accepted_on, eventually, fresh_database_url, metric,
    start_rpc_server_with, thrift,
};
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
    waiting(admins, "im_pull_waiting", count).await;
}

/// Returns once the gauge `name` adds up to `count` on the replicas with these admin addresses.
async fn waiting(admins: &[std::net::SocketAddr], name: &str, count: f64) {
    eventually(name, AT_ONCE, || async {
        let mut waiting = 0.0;
        for admin in admins {
            waiting += metric(*admin, name).await;
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
        let page = answer_of(pull).await;
        assert_eq!(page["messages"][0]["text"], format!("to w{n}"), "{page}");
    }
}

/// The 200 answer a waiting call ends with, which must come at once.
async fn answer_of(call: tokio::task::JoinHandle<(StatusCode, Value)>) -> Value {
    let (status, answer) = tokio::time::timeout(AT_ONCE, call)
        .await
        .expect("the message ends the wait")
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
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
async fn waiting_listings_share_the_connections_of_waiting_pulls_and_each_sees_its_change() {
    let stack = Stack::start(1);
    let api = stack.api();
    let pulls = spawn_waiting_pulls(&api, 100);
    let listings: Vec<_> = (0..100)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move { api.chats(&format!("member=c{n}&wait_ms=20000")).await })
        })
        .collect();
    let admin = [stack.replicas[0].admin];
    pulls_waiting(&admin, 100.0).await;
    waiting(&admin, "im_chats_waiting", 100.0).await;
    let held = connections_accepted_on(stack.replicas[0].addr.port());
    assert!(
        held <= 4,
        "100 waiting pulls and 100 listings hold {held} connections"
    );

    for n in 0..listings.len() {
        api.send_ok(&format!("y:c{n}"), "y", "hello").await;
    }
    for (n, listing) in listings.into_iter().enumerate() {
        let inbox = answer_of(listing).await;
        assert_eq!(inbox["chats"][0]["chat"], format!("c{n}:y"), "{inbox}");
    }
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
        chats: None,
        gone: None,
    }
}

fn awaited_listing(id: i64, member: &str) -> AwaitedChatsRequest {
    let chats = ChatsRequest {
        member: member.to_owned().into(),
        cursor: None,
        limit: None,
        reverse: None,
        wait_ms: Some(20_000),
    };
    AwaitedChatsRequest {
        id,
        chats,
        budget_ms: Some(30_000),
    }
}

/// Holds a call open, sends a message, and returns what the call collected.
async fn collected_after_sending(
    rpc: &ImServiceClient,
    api: &Api,
    chat: &str,
    sender: &str,
    text: &str,
) -> AwaitPullsResponse {
    let collecting = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.await_pulls(await_pulls(vec![])).await }
    });
    api.send_ok(chat, sender, text).await;
    tokio::time::timeout(AT_ONCE, collecting)
        .await
        .expect("the message ends the call's hold")
        .unwrap()
        .unwrap()
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
    let woken = collected_after_sending(&rpc, &api, "wa:wb", "wa", "woken").await;
    assert_eq!(ids_and_codes(&woken), [(1, 0)]);
    let texts: Vec<_> = (woken.replies[0].reply.messages.iter().flatten())
        .map(|m| m.text.clone().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["woken"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn await_pulls_answers_waiting_listings_by_their_ids_beside_the_pulls() {
    let stack = Stack::start(1);
    let api = stack.api();
    let rpc = thrift(stack.replicas[0].addr);
    let with_listings = |pulls, listings| AwaitPullsRequest {
        chats: Some(listings),
        ..await_pulls(pulls)
    };

    // An invalid listing is answered at once, alone; the waiting pull and listing stay behind.
    let first = rpc
        .await_pulls(with_listings(
            vec![awaited(1, "la:lb", 0, 20_000)],
            vec![awaited_listing(2, "lc"), awaited_listing(3, "bad member")],
        ))
        .await
        .unwrap();
    assert!(first.replies.is_empty(), "{first:?}");
    let listed = first.chats_replies.unwrap_or_default();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].id, listed[0].reply.code), (3, 1), "{listed:?}");

    // A message for lc ends the listing's wait, not the pull's.
    let woken = collected_after_sending(&rpc, &api, "lc:ld", "ld", "for lc").await;
    assert!(woken.replies.is_empty(), "{woken:?}");
    let listed = woken.chats_replies.unwrap_or_default();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].id, listed[0].reply.code), (2, 0), "{listed:?}");
    let chats = listed[0].reply.chats.as_deref().unwrap_or_default();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(&*chats[0].chat, "lc:ld");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pull_named_gone_stops_and_gives_its_place_to_the_next() {
    let env = [
        ("ETCD_ENDPOINTS", String::new()),
        ("IM_PULL_MAX_WAITING", "1".to_owned()),
    ];
    let replica = start_rpc_server_with(&fresh_database_url(), &env);
    let rpc = thrift(replica.addr);
    let holding = tokio::spawn({
        let rpc = rpc.clone();
        async move {
            let pull = awaited(1, "ga:gb", 0, 30_000);
            rpc.await_pulls(await_pulls(vec![pull])).await
        }
    });
    pulls_waiting(&[replica.admin], 1.0).await;
    let gone = AwaitPullsRequest {
        hold_ms: 0,
        gone: Some(vec![1]),
        ..await_pulls(vec![])
    };
    let gone = rpc.await_pulls(gone).await.unwrap();
    assert_eq!(ids_and_codes(&gone), [], "no answer for a pull gone");
    let ended = tokio::time::timeout(AT_ONCE, holding).await.unwrap();
    assert!(ended.unwrap().unwrap().replies.is_empty());
    // Well within its 30 s, it stops waiting, and the next pull takes its place (a refused one
    // would be answered at once with code 2).
    eventually("pull 1 stops", AT_ONCE, || async {
        metric(replica.admin, "im_pull_waiting").await == 0.0
    })
    .await;
    let next = AwaitPullsRequest {
        hold_ms: 500,
        ..await_pulls(vec![awaited(2, "ga:gc", 0, 30_000)])
    };
    let next = rpc.await_pulls(next).await.unwrap();
    assert_eq!(ids_and_codes(&next), [], "{next:?}");
}
