//! The inbox against a real MariaDB: versions per member in commit order, listings that page
//! exactly, newest messages, several replicas at once, and the upgrade of a database of the
//! release before.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{database_of_release, options, send};
use im_domain::{ChatEntry, ClientMsgId, Inbox, InboxRequest, NewMessage, PageRequest};
use im_testkit::fresh_database_url;
use rpc_server::clock::SystemClock;
use rpc_server::store::Store;

async fn open(url: &str) -> Store {
    Store::open(url, &options(8, 2), Arc::new(SystemClock), Arc::new(()))
        .await
        .expect("open store")
}

async fn list(store: &Store, member: &str, cursor: i64, limit: i64, reverse: bool) -> Inbox {
    let req = InboxRequest::parse(member, cursor, limit, reverse).expect("valid listing");
    store.list_inbox(&req, None).await.expect("list")
}

/// The rooms listed, in order.
fn rooms_in(inbox: &Inbox) -> Vec<&str> {
    inbox
        .chats
        .iter()
        .map(|entry| entry.chat.as_str())
        .collect()
}

fn chats(inbox: &Inbox) -> Vec<(&str, i64)> {
    inbox
        .chats
        .iter()
        .map(|entry| (entry.chat.as_str(), entry.version))
        .collect()
}

/// Every entry of the member's inbox, walked forward with `next_cursor`.
async fn walk(store: &Store, member: &str, limit: i64, reverse: bool) -> Vec<ChatEntry> {
    let (mut seen, mut cursor) = (Vec::new(), 0);
    loop {
        let page = list(store, member, cursor, limit, reverse).await;
        assert!(page.chats.len() <= usize::try_from(limit).unwrap());
        seen.extend(page.chats);
        if !page.has_more {
            assert_eq!(
                page.next_cursor,
                if reverse {
                    0
                } else {
                    seen.last().map_or(0, |e| e.version + 1)
                }
            );
            return seen;
        }
        cursor = page.next_cursor;
    }
}

#[tokio::test]
async fn each_commit_gives_its_room_a_higher_version_in_both_members_inboxes() {
    let store = open(&fresh_database_url()).await;
    send(&store, "bob:al", "al", "one").await;
    send(&store, "al:cy", "cy", "two").await;
    let newest = send(&store, "al:bob", "bob", "three").await;

    let al = list(&store, "al", 0, 0, false).await;
    assert_eq!(rooms_in(&al), ["al:cy", "al:bob"]);
    assert!(al.chats[0].version < al.chats[1].version);
    assert_eq!(
        al.chats[1].last_message, newest,
        "the room's newest message, as a pull has it"
    );
    assert_eq!(
        (al.has_more, al.next_cursor),
        (false, al.chats[1].version + 1)
    );
    let bob = list(&store, "bob", 0, 0, false).await;
    assert_eq!(rooms_in(&bob), ["al:bob"]);
    let cy = list(&store, "cy", 0, 0, false).await;
    assert_eq!(rooms_in(&cy), ["al:cy"]);

    // Polling with next_cursor learns of the next change, and only of it.
    send(&store, "al:cy", "al", "four").await;
    let polled = list(&store, "al", al.next_cursor, 0, false).await;
    assert_eq!(rooms_in(&polled), ["al:cy"]);
    assert!(polled.chats[0].version >= al.next_cursor);
    assert_eq!(
        polled.chats[0].last_message.message().text().as_str(),
        "four"
    );
}

#[tokio::test]
async fn a_self_chat_is_listed_once_and_unknown_members_have_no_chats() {
    let store = open(&fresh_database_url()).await;
    send(&store, "al:al", "al", "note to self").await;
    send(&store, "al:al", "al", "another").await;
    let al = list(&store, "al", 0, 0, false).await;
    assert_eq!(rooms_in(&al), ["al:al"], "one room");

    let nobody = list(&store, "nobody", 0, 0, false).await;
    assert!(nobody.chats.is_empty());
    assert_eq!((nobody.has_more, nobody.next_cursor), (false, 0));
    let later = list(&store, "nobody", 42, 0, false).await;
    assert_eq!(
        later.next_cursor, 42,
        "an empty forward page keeps the cursor"
    );
}

#[tokio::test]
async fn listings_page_exactly_both_ways_and_clamp_their_limit() {
    let store = open(&fresh_database_url()).await;
    // 105 rooms of "hub" in one burst (a few group commits), then a few changed again.
    let sends = (0..105).map(|i| {
        let store = store.clone();
        async move { send(&store, &format!("hub:m{i:03}"), "hub", "hi").await }
    });
    futures::future::join_all(sends).await;
    for i in [3, 50, 3] {
        send(&store, &format!("hub:m{i:03}"), "hub", "again").await;
    }

    let forward = walk(&store, "hub", 7, false).await;
    assert_eq!(forward.len(), 105, "each room once");
    assert!(forward.windows(2).all(|w| w[0].version < w[1].version));
    assert_eq!(forward.last().unwrap().chat, "hub:m003");
    assert_eq!(
        forward
            .last()
            .unwrap()
            .last_message
            .message()
            .text()
            .as_str(),
        "again"
    );

    let mut backward = walk(&store, "hub", 10, true).await;
    backward.reverse();
    assert_eq!(
        backward, forward,
        "reverse walks the same entries newest first"
    );

    let clamped = list(&store, "hub", 0, 1000, false).await;
    assert_eq!(clamped.chats.len(), 100);
    assert!(clamped.has_more);
    assert_eq!(clamped.next_cursor, forward[100].version);
    let newest_first = list(&store, "hub", 0, 2, true).await;
    assert_eq!(chats(&newest_first)[0].0, "hub:m003");
    assert_eq!(newest_first.next_cursor, forward[102].version);
}

#[tokio::test]
async fn a_send_that_stores_nothing_new_does_not_move_the_inbox() {
    let store = open(&fresh_database_url()).await;
    let id = ClientMsgId::parse("once").unwrap();
    let msg = NewMessage::parse("al:bob", "al", "hi")
        .unwrap()
        .with_client_msg_id(Some(id));
    store.append(msg.clone(), None).await.unwrap();
    let before = list(&store, "al", 0, 0, false).await;
    assert!(store.append(msg, None).await.unwrap().duplicate);
    assert_eq!(list(&store, "al", 0, 0, false).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replicas_never_list_a_room_behind_a_cursor_and_end_with_the_newest() {
    let url = fresh_database_url();
    // Two stores on one database play two replicas: their groups race for the same locks.
    let replicas = [open(&url).await, open(&url).await];
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let store = replicas[sender % 2].clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    // Every sender writes to the hub's rooms and rooms of its own, so groups
                    // carry several rooms and members.
                    let chat = format!("hub:peer{}", (i + sender) % 6);
                    send(&store, &chat, "hub", &format!("{sender}-{i}")).await;
                    let side = format!("peer{sender}:x{i}");
                    send(&store, &side, &format!("peer{sender}"), "side").await;
                }
            })
        })
        .collect();

    // A follower polls the hub's inbox forward while they send.
    let follower = replicas[1].clone();
    let (mut cursor, mut newest_seen): (i64, HashMap<String, i64>) = (0, HashMap::new());
    let mut finished = false;
    while !finished {
        finished = senders.iter().all(|s| s.is_finished());
        loop {
            let page = list(&follower, "hub", cursor, 5, false).await;
            for entry in &page.chats {
                assert!(
                    entry.version >= cursor,
                    "{} listed at {} behind cursor {cursor}",
                    entry.chat,
                    entry.version
                );
                let seen = newest_seen.entry(entry.chat.clone()).or_insert(0);
                assert!(
                    entry.last_message.send_time() >= *seen,
                    "an older newest message for {}",
                    entry.chat
                );
                *seen = entry.last_message.send_time();
            }
            cursor = page.next_cursor;
            if !page.has_more {
                break;
            }
        }
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let page = list(&follower, "hub", cursor, 100, false).await;
    for entry in &page.chats {
        newest_seen.insert(entry.chat.clone(), entry.last_message.send_time());
    }

    assert_eq!(newest_seen.len(), 6);
    for (chat, send_time) in newest_seen {
        let req = PageRequest::parse(&chat, 0, 1, true).unwrap();
        let newest = follower.read_page(&req, None).await.unwrap();
        assert_eq!(
            newest.messages[0].send_time(),
            send_time,
            "{chat} ends at its newest message"
        );
    }
}

#[tokio::test]
async fn a_database_of_the_release_before_lists_every_room_after_the_upgrade() {
    // The schema as the release before the inbox left it.
    let (url, pool) = database_of_release(2).await;
    // Rooms whose newest messages are, in send_time order: al:cy (20), al:al (30), al:bob (40).
    for (room, send_time, sender) in [
        ("al:bob", 10, "al"),
        ("al:cy", 20, "cy"),
        ("al:al", 30, "al"),
        ("al:bob", 40, "bob"),
    ] {
        sqlx::query("INSERT INTO rooms (room, last_send_time) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_send_time = VALUES(last_send_time)")
            .bind(room)
            .bind(send_time)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO messages (room, send_time, sender, text) VALUES (?, ?, ?, 'old')")
            .bind(room)
            .bind(send_time)
            .bind(sender)
            .execute(&pool)
            .await
            .unwrap();
    }

    let store = open(&url).await;
    let al = list(&store, "al", 0, 0, false).await;
    assert_eq!(chats(&al), [("al:cy", 1), ("al:al", 2), ("al:bob", 3)]);
    assert_eq!(al.chats[2].last_message.send_time(), 40);
    assert_eq!(
        chats(&list(&store, "bob", 0, 0, false).await),
        [("al:bob", 1)]
    );
    // New commits continue above the versions the upgrade gave.
    send(&store, "al:cy", "al", "new").await;
    assert_eq!(rooms_in(&list(&store, "al", 4, 0, false).await), ["al:cy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resends_grouped_with_new_sends_move_only_the_rooms_that_got_a_message() {
    let store = open(&fresh_database_url()).await;
    let with_id = |chat: &str, id: &str| {
        NewMessage::parse(chat, "al", &format!("{chat} {id}"))
            .unwrap()
            .with_client_msg_id(Some(ClientMsgId::parse(id).unwrap()))
    };
    let mut first = HashMap::new();
    for i in 0..8 {
        let msg = with_id(&format!("al:old{i}"), "x");
        first.insert(i, store.append(msg, None).await.unwrap().message);
    }
    let before = walk(&store, "al", 100, false).await;
    let cursor = before.last().unwrap().version + 1;

    // Resends of the eight, each twice, and eight new rooms' first sends, all at once: the
    // lanes group them as they come.
    let sends = (0..8).flat_map(|i| {
        [
            with_id(&format!("al:old{i}"), "x"),
            with_id(&format!("al:old{i}"), "x"),
            with_id(&format!("al:new{i}"), "y"),
            with_id(&format!("al:new{i}"), "y"),
        ]
    });
    let answers = futures::future::join_all(sends.map(|msg| store.append(msg, None))).await;
    for (i, answers) in answers.chunks(4).enumerate() {
        let answers: Vec<_> = answers.iter().map(|a| a.as_ref().unwrap()).collect();
        assert!(answers[0].duplicate && answers[1].duplicate);
        assert_eq!(answers[0].message, first[&i]);
        assert_eq!(answers[1].message, first[&i]);
        assert_eq!(
            answers[2].message, answers[3].message,
            "the same id twice at once is one message"
        );
        assert_eq!(
            usize::from(answers[2].duplicate) + usize::from(answers[3].duplicate),
            1
        );
    }

    let changed = walk_from(&store, "al", cursor).await;
    let mut rooms: Vec<&str> = changed.iter().map(|e| e.chat.as_str()).collect();
    rooms.sort_unstable();
    let new: Vec<String> = (0..8).map(|i| format!("al:new{i}")).collect();
    assert_eq!(rooms, new, "rooms of resends only keep their versions");
    assert_eq!(&walk(&store, "al", 100, false).await[..8], &before[..]);
}

/// Every entry of the member's inbox from `cursor` on, forward.
async fn walk_from(store: &Store, member: &str, cursor: i64) -> Vec<ChatEntry> {
    let page = list(store, member, cursor, 100, false).await;
    assert!(!page.has_more);
    page.chats
}

#[tokio::test]
async fn a_database_of_the_inbox_release_keeps_every_version_after_the_upgrade() {
    // The schema as the release with the inbox table left it, and rows as its writer wrote
    // them: versions need not be dense, and a room's last reserved time (al:bob, 45) may be a
    // duplicate's, above its newest message (40).
    let (url, pool) = database_of_release(3).await;
    let statements = [
        "INSERT INTO rooms (room, last_send_time) VALUES ('al:bob', 45), ('al:al', 30), ('al:cy', 20)",
        "INSERT INTO messages (room, send_time, sender, text) VALUES \
         ('al:bob', 10, 'al', 'a'), ('al:cy', 20, 'cy', 'b'), ('al:al', 30, 'al', 'c'), \
         ('al:bob', 40, 'bob', 'd')",
        "INSERT INTO members (member, last_version) VALUES ('al', 5), ('bob', 2), ('cy', 3)",
        "INSERT INTO inbox (member, room, version, last_send_time) VALUES \
         ('al', 'al:cy', 1, 20), ('al', 'al:al', 2, 30), ('al', 'al:bob', 5, 40), \
         ('bob', 'al:bob', 2, 40), ('cy', 'al:cy', 3, 20)",
    ];
    for statement in statements {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }

    let store = open(&url).await;
    let al = list(&store, "al", 0, 0, false).await;
    assert_eq!(chats(&al), [("al:cy", 1), ("al:al", 2), ("al:bob", 5)]);
    assert_eq!(al.chats[2].last_message.message().text().as_str(), "d");
    let bob = list(&store, "bob", 0, 0, true).await;
    assert_eq!(chats(&bob), [("al:bob", 2)]);
    assert_eq!(
        chats(&list(&store, "cy", 0, 0, false).await),
        [("al:cy", 3)]
    );

    // New commits continue above the versions the inbox table held.
    send(&store, "al:cy", "al", "new").await;
    assert_eq!(rooms_in(&list(&store, "al", 6, 0, false).await), ["al:cy"]);
    assert_eq!(rooms_in(&list(&store, "cy", 4, 0, false).await), ["al:cy"]);
    assert_eq!(
        chats(&list(&store, "bob", 0, 0, false).await),
        [("al:bob", 2)]
    );
}
