//! Inbox versions from the database's clock (`InboxVersions::Clock`), and the neighbouring
//! settings of a switch under way at once (`Counter` with `Mixed`, `Mixed` with `Clock`),
//! against a follower: sends and read markers of many
//! rooms of one member race on two replicas while the member follows its inbox forward with
//! `next_cursor`, and afterwards the follower must have learned of every room's newest state.
//! A version that committed below a cursor already handed out would leave a room behind.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::options;
use im_domain::{InboxRequest, MarkRead, NewMessage};
use im_testkit::fresh_database_url;
use rpc_server::clock::SystemClock;
use rpc_server::store::{InboxVersions, Store};

const MEMBER: &str = "hub";

/// Two replicas of one fresh database, taking their versions each as `versions` says.
async fn two_replicas(versions: [InboxVersions; 2], settle: Duration) -> [Store; 2] {
    let url = fresh_database_url();
    [
        open(&url, versions[0], settle).await,
        open(&url, versions[1], settle).await,
    ]
}

async fn open(url: &str, versions: InboxVersions, settle: Duration) -> Store {
    let mut options = options(8, 2);
    options.inbox_versions = versions;
    options.inbox_settle = settle;
    Store::open(url, &options, Arc::new(SystemClock), Arc::new(()))
        .await
        .expect("open store")
}

/// The member's rooms: it is the first member of half of them and the second of the others,
/// and one is its self-chat.
fn rooms() -> Vec<String> {
    let mut rooms: Vec<String> = (0..12)
        .flat_map(|i| [format!("a{i}:{MEMBER}"), format!("{MEMBER}:z{i}")])
        .collect();
    rooms.push(format!("{MEMBER}:{MEMBER}"));
    rooms
}

/// What the member's inbox must show of a room in the end: its newest send_time and the
/// markers of both members.
type RoomState = (i64, i64, i64);

/// Sends and marks in the member's rooms from `tasks` tasks spread over `replicas`, while one
/// follower lists forward with a small page; then checks that the follower saw every room's
/// final state and that no two rooms of the member share a version.
async fn race(replicas: &[Store], tasks: usize, rounds: usize) {
    let rooms = Arc::new(rooms());
    // Every room has a message before the race, which then changes them at random.
    for room in rooms.iter() {
        let msg = NewMessage::parse(room, MEMBER, "first").unwrap();
        replicas[0].append(msg, None).await.expect("append");
    }
    let done = Arc::new(AtomicBool::new(false));
    let follower = tokio::spawn(follow(replicas.to_vec(), done.clone()));
    let mut senders = Vec::new();
    for task in 0..tasks {
        let (store, rooms) = (replicas[task % replicas.len()].clone(), rooms.clone());
        senders.push(tokio::spawn(async move {
            for round in 0..rounds {
                let room = &rooms[fastrand::usize(..rooms.len())];
                let (first, second) = room.split_once(':').unwrap();
                let sender = if round % 2 == 0 { first } else { second };
                let msg = NewMessage::parse(room, sender, &format!("{task}.{round}")).unwrap();
                let stored = store.append(msg, None).await.expect("append").message;
                if round % 3 == 0 {
                    let mark = MarkRead::parse(room, MEMBER, stored.send_time()).unwrap();
                    store.mark_read(&mark, None).await.expect("mark read");
                }
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    done.store(true, Ordering::SeqCst);
    let seen = follower.await.expect("follower");

    let settled = all_entries(&replicas[0]).await;
    assert_eq!(settled.len(), rooms.len(), "every room is in the inbox");
    for (room, (version, state)) in &settled {
        let (seen_version, seen_state) = seen.get(room).expect("the follower saw the room");
        assert_eq!(
            (seen_version, seen_state),
            (version, state),
            "the follower saw {room}'s last change"
        );
    }
    let mut versions: Vec<i64> = settled.values().map(|(version, _)| *version).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), rooms.len(), "no two rooms share a version");
}

/// Lists forward from 0 with `next_cursor`, three rooms a page, over the replicas in turn,
/// until the racers are done and a listing after that finds nothing new. Returns each room's
/// entry as last seen.
async fn follow(replicas: Vec<Store>, done: Arc<AtomicBool>) -> HashMap<String, (i64, RoomState)> {
    let (mut seen, mut cursor) = (HashMap::new(), 0);
    for call in 0.. {
        let finished = done.load(Ordering::SeqCst);
        let req = InboxRequest::parse(MEMBER, cursor, 3, false).unwrap();
        let page = replicas[call % replicas.len()]
            .list_inbox(&req, None)
            .await
            .expect("list");
        for entry in &page.chats {
            assert!(entry.version >= cursor, "listed below the cursor");
            let state = (
                entry.last_message.send_time(),
                entry.read.read_up_to,
                entry.read.peer_read_up_to,
            );
            seen.insert(entry.chat.clone(), (entry.version, state));
        }
        cursor = page.next_cursor;
        if finished && page.chats.is_empty() {
            break;
        }
    }
    seen
}

/// Every room of the member's inbox, walked in one go after the race.
async fn all_entries(store: &Store) -> HashMap<String, (i64, RoomState)> {
    let req = InboxRequest::parse(MEMBER, 0, 100, false).unwrap();
    let page = store.list_inbox(&req, None).await.expect("list");
    assert!(!page.has_more);
    page.chats
        .into_iter()
        .map(|entry| {
            let state = (
                entry.last_message.send_time(),
                entry.read.read_up_to,
                entry.read.peer_read_up_to,
            );
            (entry.chat, (entry.version, state))
        })
        .collect()
}

#[tokio::test]
async fn clock_versions_racing_on_two_replicas_never_slip_behind_a_follower() {
    let replicas = two_replicas(
        [InboxVersions::Clock, InboxVersions::Clock],
        Duration::from_millis(100),
    )
    .await;
    race(&replicas, 16, 40).await;
}

#[tokio::test]
async fn statements_slower_than_the_settle_time_write_fresh_versions_and_lose_nothing() {
    // A settle time near a statement's round trip: many commits write their versions again
    // (from the clock on one replica, from fresh counters on the other; an attempt that keeps
    // missing it is tried again), and listings stay a few milliseconds behind.
    let replicas = two_replicas(
        [InboxVersions::Mixed, InboxVersions::Clock],
        Duration::from_millis(2),
    )
    .await;
    race(&replicas, 8, 20).await;
}

#[tokio::test]
async fn mixed_and_clock_replicas_at_once_never_slip_behind_a_follower() {
    // A switch under way, its last step: one replica of each.
    let replicas = two_replicas(
        [InboxVersions::Mixed, InboxVersions::Clock],
        Duration::from_millis(100),
    )
    .await;
    race(&replicas, 16, 40).await;
}

#[tokio::test]
async fn counter_and_mixed_replicas_at_once_never_slip_behind_a_follower() {
    // A switch under way, its first step: one replica of each.
    let replicas = two_replicas(
        [InboxVersions::Counter, InboxVersions::Mixed],
        Duration::from_millis(100),
    )
    .await;
    race(&replicas, 16, 40).await;
}

#[tokio::test]
async fn a_listing_right_after_a_send_shows_it() {
    // Read-your-writes: the listing waits out the settle time rather than leave the change out.
    let url = fresh_database_url();
    let store = open(&url, InboxVersions::Clock, Duration::from_millis(300)).await;
    for (i, room) in rooms().iter().take(4).enumerate() {
        let msg = NewMessage::parse(room, MEMBER, &format!("{i}")).unwrap();
        let stored = store.append(msg, None).await.unwrap().message;
        for reverse in [false, true] {
            let req = InboxRequest::parse(MEMBER, 0, 10, reverse).unwrap();
            let page = store.list_inbox(&req, None).await.unwrap();
            assert!(
                page.chats.iter().any(|e| e.last_message == stored),
                "listing (reverse: {reverse}) shows the send just answered"
            );
        }
    }
}

#[tokio::test]
async fn first_sends_to_many_new_rooms_at_once_keep_every_room_in_the_inbox() {
    // New rooms of one member, their first sends all at once on two replicas: groups of many
    // rooms take neighbouring clock versions, and a new room's row must never be mistaken for
    // another's that holds the same version.
    let replicas = two_replicas(
        [InboxVersions::Clock, InboxVersions::Clock],
        Duration::from_millis(100),
    )
    .await;
    let rooms: Vec<String> = (0..300)
        .map(|i| match i % 2 {
            0 => format!("n{i}:{MEMBER}"),
            _ => format!("{MEMBER}:n{i}"),
        })
        .collect();
    let sends = rooms.iter().enumerate().map(|(i, room)| {
        let store = replicas[i % 2].clone();
        let msg = NewMessage::parse(room, MEMBER, "first").unwrap();
        async move { store.append(msg, None).await.expect("append").message }
    });
    let stored = futures::future::join_all(sends).await;

    let mut listed = HashMap::new();
    let mut cursor = 0;
    loop {
        let req = InboxRequest::parse(MEMBER, cursor, 100, false).unwrap();
        let page = replicas[0].list_inbox(&req, None).await.expect("list");
        for entry in page.chats {
            assert!(
                listed.insert(entry.chat.clone(), entry).is_none(),
                "listed twice"
            );
        }
        if !page.has_more {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(listed.len(), rooms.len(), "every new room is in the inbox");
    for message in stored {
        let entry = &listed[message.message().room().key()];
        assert_eq!(entry.last_message, message);
    }
}

#[tokio::test]
async fn a_new_room_whose_first_version_another_room_holds_leaves_that_room_alone() {
    // The member's counter is set so that a new room's first version is one that another room
    // of the member already holds, as a clock version taken a moment ahead could. The new room
    // must get a version of its own (on a retry, once the counter leaps past with the clock),
    // and the other room's row must stay as it was: an upsert inserting the version would have
    // updated that other row instead.
    let url = fresh_database_url();
    let store = open(&url, InboxVersions::Counter, Duration::from_millis(100)).await;
    let old = NewMessage::parse("hub:old", MEMBER, "old").unwrap();
    let old = store.append(old, None).await.unwrap().message;
    let db = sqlx::MySqlPool::connect(&url).await.unwrap();
    // Even (the member is the first of both rooms), and twice the clock 50 ms from now: ahead
    // of the first attempt, and well within what the retries' backoff waits in all (300 ms
    // could outlast all eight attempts' random backoffs, about one run in twenty).
    let (held,): (i64,) = sqlx::query_as(
        "SELECT 2 * (TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6)) + 50000)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    for (sql, value) in [
        (
            "UPDATE rooms SET version_a = ? WHERE room = 'hub:old'",
            held,
        ),
        (
            "UPDATE members SET last_version = ? WHERE member = 'hub'",
            held - 2,
        ),
    ] {
        sqlx::query(sql).bind(value).execute(&db).await.unwrap();
    }

    let new = NewMessage::parse("hub:new", MEMBER, "new").unwrap();
    let new = store.append(new, None).await.unwrap().message;

    let old_row: (i64, i64) =
        sqlx::query_as("SELECT version_a, last_send_time FROM rooms WHERE room = 'hub:old'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        old_row,
        (held, old.send_time()),
        "the other room's row is untouched"
    );
    let req = InboxRequest::parse(MEMBER, 0, 10, false).unwrap();
    let page = store.list_inbox(&req, None).await.unwrap();
    let listed: HashMap<&str, &_> = page
        .chats
        .iter()
        .map(|entry| (entry.chat.as_str(), &entry.last_message))
        .collect();
    assert_eq!(listed.len(), 2, "both rooms are listed once: {listed:?}");
    assert_eq!(listed["hub:old"], &old);
    assert_eq!(listed["hub:new"], &new);
}
