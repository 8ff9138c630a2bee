//! The store against a real MariaDB: send_time uniqueness and order, and cursor walks that
//! never repeat or skip, with an injected clock that stands still or goes backwards.

mod common;

use std::sync::Arc;

use common::{ManualClock, options, read_page, send, store_with_clock, texts_of, walk};
use im_domain::PageRequest;
use im_testkit::fresh_database_url;
use rpc_server::store::Store;

#[tokio::test]
async fn sends_at_the_same_instant_get_unique_increasing_times() {
    let (store, _clock) = store_with_clock(1_000).await;
    let mut times = Vec::new();
    for i in 0..20 {
        times.push(
            send(&store, "al:bob", "al", &format!("m{i}"))
                .await
                .send_time(),
        );
    }
    assert_eq!(times, (1_000..1_020).collect::<Vec<_>>());
}

#[tokio::test]
async fn concurrent_sends_at_one_instant_are_all_stored_once() {
    let (store, _clock) = store_with_clock(5_000).await;
    let sends = (0..64).map(|i| {
        let store = store.clone();
        async move { send(&store, "al:bob", "bob", &format!("m{i}")).await }
    });
    let stored = futures::future::join_all(sends).await;
    let mut times: Vec<i64> = stored.iter().map(|m| m.send_time()).collect();
    times.sort_unstable();
    assert_eq!(times, (5_000..5_064).collect::<Vec<_>>());
    assert_eq!(walk(&store, "al:bob", 100, false).await, times);
}

#[tokio::test]
async fn concurrent_sends_into_many_rooms_at_one_instant_stay_ordered_per_room() {
    let (store, _clock) = store_with_clock(9_000).await;
    let rooms = ["al:bob", "al:cy", "bob:cy", "cy:cy"];
    let sends = (0..200).map(|i| {
        let store = store.clone();
        let chat = rooms[i % rooms.len()];
        let sender = &chat[..chat.find(':').unwrap()];
        async move { (chat, send(&store, chat, sender, &format!("m{i}")).await) }
    });
    let stored = futures::future::join_all(sends).await;
    for room in rooms {
        let mut times: Vec<i64> = stored
            .iter()
            .filter(|(chat, _)| *chat == room)
            .map(|(_, m)| m.send_time())
            .collect();
        times.sort_unstable();
        // 50 sends per room at one instant: exactly the next 50 microseconds, none shared.
        assert_eq!(times, (9_000..9_050).collect::<Vec<_>>(), "{room}");
        assert_eq!(walk(&store, room, 7, false).await, times, "{room}");
    }
}

#[tokio::test]
async fn a_clock_that_goes_backwards_still_gives_increasing_times() {
    let (store, clock) = store_with_clock(10_000).await;
    let first = send(&store, "al:bob", "al", "one").await.send_time();
    clock.set(3);
    let second = send(&store, "al:bob", "al", "two").await.send_time();
    clock.set(20_000);
    let third = send(&store, "al:bob", "al", "three").await.send_time();
    assert_eq!((first, second, third), (10_000, 10_001, 20_000));
}

#[tokio::test]
async fn pages_never_repeat_or_skip_in_either_direction() {
    let (store, clock) = store_with_clock(100).await;
    // Bursts at one instant, separated by jumps: ties are where offset or seconds cursors break.
    let mut all = Vec::new();
    for burst in 0..7 {
        clock.set(100 + burst * 1_000);
        for i in 0..(burst + 3) {
            all.push(
                send(&store, "al:bob", "al", &format!("{burst}-{i}"))
                    .await
                    .send_time(),
            );
        }
    }
    for limit in [1, 3, 10, 100] {
        assert_eq!(
            walk(&store, "al:bob", limit, false).await,
            all,
            "forward, limit {limit}"
        );
        let mut newest_first = all.clone();
        newest_first.reverse();
        assert_eq!(
            walk(&store, "bob:al", limit, true).await,
            newest_first,
            "backward, limit {limit}"
        );
    }
}

#[tokio::test]
async fn the_last_forward_cursor_delivers_exactly_the_later_messages() {
    let (store, clock) = store_with_clock(1).await;
    send(&store, "al:bob", "al", "old").await;
    let page = read_page(&store, "al:bob", 0, 10, false).await;
    assert!(!page.has_more);
    assert_eq!(page.next_cursor, page.messages[0].send_time() + 1);

    clock.set(0); // the clock stalls: the new message must still land after the cursor
    let newer = send(&store, "bob:al", "bob", "new").await;
    let polled = store
        .read_page(
            &PageRequest::parse("al:bob", page.next_cursor, 10, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(polled.messages, vec![newer.clone()]);
    assert_eq!(polled.next_cursor, newer.send_time() + 1);

    let empty = store
        .read_page(
            &PageRequest::parse("al:bob", polled.next_cursor, 10, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(empty.messages.is_empty() && !empty.has_more);
    assert_eq!(empty.next_cursor, polled.next_cursor);
}

#[tokio::test]
async fn reverse_from_zero_starts_at_the_newest_and_ends_with_cursor_zero() {
    let (store, _clock) = store_with_clock(50).await;
    for i in 0..5 {
        send(&store, "al:bob", "al", &format!("m{i}")).await;
    }
    let page = read_page(&store, "al:bob", 0, 2, true).await;
    let texts = texts_of(&page);
    assert_eq!(texts, ["m4", "m3"]);
    assert!(page.has_more);
    assert_eq!(page.next_cursor, 52);

    let last = read_page(&store, "al:bob", 50, 10, true).await;
    assert_eq!(last.messages.len(), 1);
    assert!(!last.has_more);
    assert_eq!(last.next_cursor, 0);
}

#[tokio::test]
async fn forward_cursor_is_inclusive() {
    let (store, _clock) = store_with_clock(70).await;
    for i in 0..3 {
        send(&store, "al:bob", "al", &format!("m{i}")).await;
    }
    let page = read_page(&store, "al:bob", 71, 10, false).await;
    let times: Vec<i64> = page.messages.iter().map(|m| m.send_time()).collect();
    assert_eq!(times, [71, 72]);
}

#[tokio::test]
async fn text_comes_back_byte_identical_and_chat_in_room_form() {
    let (store, _clock) = store_with_clock(1).await;
    let texts = [
        "héllo 你好 مرحبا 👨‍👩‍👧‍👦",
        "quotes \" ' ` and back\\slashes \\n \\\\",
        "'); DROP TABLE messages; --",
        "  leading and trailing spaces  \r\n\t",
        "\u{202e}right-to-left override",
        &"😀".repeat(4096),
    ];
    for text in texts {
        send(&store, "zoë:Ünïcödé", "zoë", text).await;
    }
    let page = store
        .read_page(
            &PageRequest::parse("Ünïcödé:zoë", 0, 100, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    let got: Vec<&str> = page
        .messages
        .iter()
        .map(|m| m.message().text().as_str())
        .collect();
    assert_eq!(got, texts);
    assert!(page.messages.iter().all(
        |m| m.message().room().key() == "zoë:Ünïcödé" && m.message().sender().as_str() == "zoë"
    ));
}

#[tokio::test]
async fn rooms_are_separate_and_member_ids_are_case_sensitive() {
    let (store, _clock) = store_with_clock(1).await;
    send(&store, "al:bob", "al", "lower").await;
    send(&store, "Al:bob", "Al", "upper").await;
    send(&store, "al:al", "al", "self").await;
    for (chat, expected) in [("al:bob", "lower"), ("bob:Al", "upper"), ("al:al", "self")] {
        let page = read_page(&store, chat, 0, 10, false).await;
        let texts = texts_of(&page);
        assert_eq!(texts, [expected], "{chat}");
    }
}

#[tokio::test]
async fn reopening_runs_migrations_again_and_keeps_every_message() {
    let url = fresh_database_url();
    let clock = Arc::new(ManualClock::default());
    clock.set(1);
    let first = Store::open(&url, &options(2, 1), clock.clone(), Arc::new(()))
        .await
        .unwrap();
    let stored = send(&first, "al:bob", "al", "kept").await;
    let second = Store::open(&url, &options(2, 1), clock, Arc::new(()))
        .await
        .unwrap();
    let page = read_page(&second, "al:bob", 0, 10, false).await;
    assert_eq!(page.messages, vec![stored]);
    // The room's counter survived too: the next send continues after the kept message.
    assert_eq!(send(&second, "al:bob", "bob", "next").await.send_time(), 2);
}

/// Replicas started together on a fresh database race to migrate it. Each must open on its
/// first try: a start that fails here fails the replica's start (it retries, but a race that
/// leaves a migration half-recorded fails every later start too).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_opening_a_fresh_database_together_all_open() {
    for _ in 0..3 {
        let url = fresh_database_url();
        let opens = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                Store::open(
                    &url,
                    &options(3, 1),
                    Arc::new(ManualClock::default()),
                    Arc::new(()),
                )
                .await
                .map(|_| ())
                .map_err(|err| err.to_string())
            })
        });
        for (i, opened) in futures::future::join_all(opens)
            .await
            .into_iter()
            .enumerate()
        {
            opened
                .unwrap()
                .unwrap_or_else(|err| panic!("open {i} of 6 failed: {err}"));
        }
    }
}
