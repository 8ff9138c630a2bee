//! Read markers against a real MariaDB: forward only, clamped to the newest message, unread
//! counts exact to 100, a new version in both inboxes only when a marker moves.

mod common;

use std::sync::Arc;

use common::{options, send};
use im_domain::{ChatEntry, InboxRequest, MarkRead};
use im_testkit::fresh_database_url;
use rpc_server::clock::SystemClock;
use rpc_server::store::Store;

async fn open(url: &str) -> Store {
    Store::open(url, &options(8, 2), Arc::new(SystemClock), Arc::new(()))
        .await
        .expect("open store")
}

async fn mark(store: &Store, chat: &str, member: &str, read_up_to: i64) -> i64 {
    let mark = MarkRead::parse(chat, member, read_up_to).expect("valid marker");
    store.mark_read(&mark, None).await.expect("marked")
}

/// The member's entry for `room`, from its whole inbox.
async fn entry(store: &Store, member: &str, room: &str) -> ChatEntry {
    let req = InboxRequest::parse(member, 0, 100, false).expect("valid listing");
    let inbox = store.list_inbox(&req, None).await.expect("list");
    inbox
        .chats
        .into_iter()
        .find(|entry| entry.chat == room)
        .expect("the room is listed")
}

#[tokio::test]
async fn a_marker_moves_forward_only_and_never_past_the_newest_message() {
    let store = open(&fresh_database_url()).await;
    let first = send(&store, "al:bob", "bob", "one").await.send_time();
    let newest = send(&store, "al:bob", "bob", "two").await.send_time();

    assert_eq!(mark(&store, "bob:al", "al", first).await, first);
    assert_eq!(
        mark(&store, "al:bob", "al", first - 1).await,
        first,
        "no way back"
    );
    assert_eq!(mark(&store, "al:bob", "al", 0).await, first);
    assert_eq!(
        mark(&store, "al:bob", "al", i64::MAX).await,
        newest,
        "nothing unsent can be marked read"
    );
    // The other member's marker is its own.
    assert_eq!(mark(&store, "al:bob", "bob", 0).await, 0);
}

#[tokio::test]
async fn a_room_without_messages_keeps_its_markers_at_zero() {
    let store = open(&fresh_database_url()).await;
    assert_eq!(mark(&store, "al:bob", "al", 12345).await, 0);
}

#[tokio::test]
async fn unread_counts_the_other_members_messages_after_the_marker_exact_to_100() {
    let store = open(&fresh_database_url()).await;
    let mut times = Vec::new();
    for i in 0..3 {
        times.push(
            send(&store, "al:bob", "bob", &format!("b{i}"))
                .await
                .send_time(),
        );
        send(&store, "al:bob", "al", &format!("a{i}")).await;
    }
    let al = entry(&store, "al", "al:bob").await;
    assert_eq!((al.read.unread, al.read.read_up_to), (3, 0));
    assert_eq!(entry(&store, "bob", "al:bob").await.read.unread, 3);

    mark(&store, "al:bob", "al", times[1]).await;
    let al = entry(&store, "al", "al:bob").await;
    assert_eq!((al.read.unread, al.read.read_up_to), (1, times[1]));
    let bob = entry(&store, "bob", "al:bob").await;
    assert_eq!(
        (bob.read.read_up_to, bob.read.peer_read_up_to),
        (0, times[1]),
        "the other member sees how far al has read"
    );

    for i in 0..120 {
        send(&store, "al:bob", "bob", &format!("more {i}")).await;
    }
    assert_eq!(
        entry(&store, "al", "al:bob").await.read.unread,
        100,
        "100 or more"
    );
    let newest = send(&store, "al:bob", "bob", "last").await.send_time();
    mark(&store, "al:bob", "al", newest).await;
    assert_eq!(entry(&store, "al", "al:bob").await.read.unread, 0);
}

#[tokio::test]
async fn a_self_chat_has_nothing_unread_and_one_marker() {
    let store = open(&fresh_database_url()).await;
    let note = send(&store, "al:al", "al", "note to self")
        .await
        .send_time();
    let al = entry(&store, "al", "al:al").await;
    assert_eq!((al.read.unread, al.read.read_up_to), (0, 0));
    assert_eq!(mark(&store, "al:al", "al", note).await, note);
    let al = entry(&store, "al", "al:al").await;
    assert_eq!(
        (al.read.unread, al.read.read_up_to, al.read.peer_read_up_to),
        (0, note, note)
    );
}

#[tokio::test]
async fn a_marker_that_moves_gives_the_room_a_new_version_in_both_inboxes() {
    let store = open(&fresh_database_url()).await;
    let newest = send(&store, "al:bob", "bob", "hi").await.send_time();
    send(&store, "al:cy", "cy", "yo").await;
    let (al_before, bob_before) = (
        entry(&store, "al", "al:bob").await.version,
        entry(&store, "bob", "al:bob").await.version,
    );
    let cy_room = entry(&store, "al", "al:cy").await.version;
    assert!(al_before < cy_room);

    mark(&store, "al:bob", "al", newest).await;
    let (al_after, bob_after) = (
        entry(&store, "al", "al:bob").await.version,
        entry(&store, "bob", "al:bob").await.version,
    );
    assert!(al_after > cy_room, "above every version al's inbox held");
    assert!(bob_after > bob_before);

    // Marking again where it is changes no version.
    mark(&store, "al:bob", "al", newest).await;
    mark(&store, "al:bob", "al", 1).await;
    assert_eq!(entry(&store, "al", "al:bob").await.version, al_after);
    assert_eq!(entry(&store, "bob", "al:bob").await.version, bob_after);
}

#[tokio::test]
async fn devices_marking_at_once_end_at_the_highest_marker() {
    let store = open(&fresh_database_url()).await;
    let mut times = Vec::new();
    for i in 0..20 {
        times.push(
            send(&store, "al:bob", "bob", &format!("m{i}"))
                .await
                .send_time(),
        );
    }
    let marks = times.iter().map(|&t| {
        let store = store.clone();
        tokio::spawn(async move { mark(&store, "al:bob", "al", t).await })
    });
    for answered in futures::future::join_all(marks).await {
        answered.expect("no panic");
    }
    let al = entry(&store, "al", "al:bob").await;
    assert_eq!((al.read.read_up_to, al.read.unread), (times[19], 0));
}
