//! Two rpc-server processes writing into one room at once: every message is stored once, with
//! send_times in commit order, and a client polling with next_cursor all the while receives every
//! message exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use im_idl::{ImServiceClient, PullRequest};
use im_testkit::{fresh_database_url, start_rpc_server, thrift, thrift_send_request};

const CHAT: &str = "al:bob";
const SENDERS_PER_REPLICA: usize = 4;
const SENDS_PER_SENDER: usize = 40;

/// Sends sequentially, returning (text, send_time) of every acknowledged message.
async fn sender(client: ImServiceClient, name: String) -> Vec<(String, i64)> {
    let mut acks = Vec::new();
    for i in 0..SENDS_PER_SENDER {
        let text = format!("{name}-{i}");
        let from = if i % 2 == 0 { "al" } else { "bob" };
        let resp = client
            .send(thrift_send_request(CHAT, from, &text))
            .await
            .expect("send call");
        assert_eq!(resp.code, 0, "{}", resp.msg);
        acks.push((text, resp.stored.unwrap().send_time.unwrap()));
    }
    acks
}

/// Polls with next_cursor until the senders are done and nothing more is left.
async fn poller(client: ImServiceClient, done: Arc<AtomicBool>) -> Vec<(String, i64)> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let senders_finished = done.load(Ordering::SeqCst);
        let resp = client
            .pull(PullRequest {
                chat: CHAT.into(),
                cursor,
                limit: 7,
                reverse: None,
                wait_ms: None,
            })
            .await
            .expect("pull call");
        assert_eq!(resp.code, 0, "{}", resp.msg);
        for m in resp.messages.unwrap_or_default() {
            seen.push((m.text.unwrap().to_string(), m.send_time.unwrap()));
        }
        cursor = resp.next_cursor.unwrap();
        if !resp.has_more.unwrap() {
            if senders_finished {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_in_one_room_store_and_deliver_every_message_once() {
    let database_url = fresh_database_url();
    let replicas = [
        start_rpc_server(&database_url),
        start_rpc_server(&database_url),
    ];
    let clients: Vec<_> = replicas.iter().map(|r| thrift(r.addr)).collect();

    let done = Arc::new(AtomicBool::new(false));
    let polling = tokio::spawn(poller(clients[0].clone(), done.clone()));
    let senders: Vec<_> = (0..SENDERS_PER_REPLICA * clients.len())
        .map(|n| {
            let client = clients[n % clients.len()].clone();
            tokio::spawn(sender(client, format!("sender{n}")))
        })
        .collect();
    let mut acked = HashMap::new();
    for handle in senders {
        let acks = handle.await.unwrap();
        // One sender's sends commit one after the other, so their times must increase.
        assert!(acks.windows(2).all(|w| w[0].1 < w[1].1), "{acks:?}");
        acked.extend(acks);
    }
    done.store(true, Ordering::SeqCst);
    let polled = polling.await.unwrap();

    let total = SENDERS_PER_REPLICA * clients.len() * SENDS_PER_SENDER;
    assert_eq!(acked.len(), total);
    assert_eq!(
        polled.len(),
        total,
        "the poller saw a message twice or missed one"
    );
    assert!(
        polled.windows(2).all(|w| w[0].1 < w[1].1),
        "send_times strictly increase along the walk"
    );
    for (text, send_time) in &polled {
        assert_eq!(
            acked.get(text),
            Some(send_time),
            "{text} was not acknowledged with that time"
        );
    }

    // A fresh walk through the other replica finds exactly the same history.
    let rewalk = poller(clients[1].clone(), done).await;
    assert_eq!(rewalk, polled);
}
