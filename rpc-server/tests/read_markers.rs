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

#[tokio::test]
async fn rooms_of_the_release_before_count_every_message_of_the_other_member_as_unread() {
    // The schema of migrations 1-4, with al:bob's messages: two from bob, one from al, and a
    // self-chat.
    let (url, pool) = common::database_of_release(4).await;
    let old = open(&url).await;
    send(&old, "al:bob", "bob", "one").await;
    send(&old, "al:bob", "al", "two").await;
    send(&old, "al:bob", "bob", "three").await;
    send(&old, "al:al", "al", "note").await;
    drop(old);
    // As the release before wrote them: no counts.
    sqlx::query("UPDATE rooms SET unread_a = NULL, unread_b = NULL, unread_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 5")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE rooms DROP COLUMN read_a, DROP COLUMN read_b, DROP COLUMN unread_a, DROP COLUMN unread_b, DROP COLUMN unread_at")
        .execute(&pool)
        .await
        .unwrap();

    let store = open(&url).await;
    let counts = sqlx::query_as::<_, (Vec<u8>, Option<i32>, Option<i32>)>(
        "SELECT room, unread_a, unread_b FROM rooms ORDER BY room",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        counts,
        [
            (b"al:al".to_vec(), Some(0), Some(0)),
            (b"al:bob".to_vec(), Some(2), Some(1))
        ],
        "the migration counts them"
    );
    assert_eq!(entry(&store, "al", "al:bob").await.read.unread, 2);
    assert_eq!(entry(&store, "bob", "al:bob").await.read.unread, 1);
}

#[tokio::test]
async fn a_room_a_release_before_moved_is_counted_from_its_messages_until_marked() {
    let url = fresh_database_url();
    let store = open(&url).await;
    let first = send(&store, "al:bob", "bob", "one").await.send_time();
    send(&store, "al:bob", "bob", "two").await;
    // A send of the release before moves newest_send_time and leaves the counts behind.
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO messages (room, send_time, sender, text) \
         SELECT room, last_send_time + 1, 'bob', 'old release' FROM rooms WHERE room = 'al:bob'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE rooms SET last_send_time = last_send_time + 1, \
         newest_send_time = last_send_time WHERE room = 'al:bob'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        entry(&store, "al", "al:bob").await.read.unread,
        3,
        "counted"
    );
    // The next send of this release leaves the count unknown; a marker counts it again.
    send(&store, "al:bob", "bob", "four").await;
    assert_eq!(entry(&store, "al", "al:bob").await.read.unread, 4);
    mark(&store, "al:bob", "al", first).await;
    assert_eq!(entry(&store, "al", "al:bob").await.read.unread, 3);
    let known: Option<i32> =
        sqlx::query_scalar("SELECT IF(unread_at = newest_send_time, unread_a, NULL) FROM rooms")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(known, Some(3), "the row knows its count again");
    send(&store, "al:bob", "bob", "five").await;
    assert_eq!(entry(&store, "al", "al:bob").await.read.unread, 4);
}
