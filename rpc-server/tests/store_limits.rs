//! The store's limits against a real MariaDB: a full queue, a room's lock held elsewhere, data
//! the database refuses, a schema of an older release, connections and prepared statements
//! held, reads abandoned midway, and callers that allow little time.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{ManualClock, database_of_release, options, read_page, send, store_with_clock, walk};
use im_domain::{NewMessage, PageRequest, StoredMessage};
use im_testkit::{eventually, fresh_database_url};
use rpc_server::clock::SystemClock;
use rpc_server::store::{Store, StoreError, StoreOptions};

/// Sends a first message to `al:bob`, then takes that room's row lock in a session of its own
/// (the pool it came from, and the transaction holding it).
async fn first_send_and_a_lock_held_elsewhere(
    store: &Store,
    url: &str,
) -> (sqlx::MySqlPool, sqlx::Transaction<'static, sqlx::MySql>) {
    send(store, "al:bob", "al", "first").await;
    let outside = sqlx::MySqlPool::connect(url).await.unwrap();
    let mut blocker = outside.begin().await.unwrap();
    sqlx::query("SELECT last_send_time FROM rooms WHERE room = 'al:bob' FOR UPDATE")
        .fetch_one(&mut *blocker)
        .await
        .unwrap();
    (outside, blocker)
}

/// How long a fact below may take to come true on a busy machine.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_send_queue_refuses_at_once_and_loses_nothing_it_accepted() {
    use std::sync::atomic::AtomicUsize;

    use rpc_server::store::StoreError;

    let url = fresh_database_url();
    let clock = Arc::new(ManualClock::default());
    clock.set(1);
    let store = Store::open(&url, &options(8, 1), clock, Arc::new(()))
        .await
        .unwrap();
    // Another session holds the room's row lock, so the lane's commit waits behind it.
    let (_outside, blocker) = first_send_and_a_lock_held_elsewhere(&store, &url).await;

    let refused = Arc::new(AtomicUsize::new(0));
    let sends: Vec<_> = (0..10_000)
        .map(|i| {
            let (store, refused) = (store.clone(), refused.clone());
            tokio::spawn(async move {
                let text = format!("m{i}");
                let msg = NewMessage::parse("al:bob", "bob", &text).unwrap();
                match store.append(msg, None).await {
                    Ok(stored) => Some(stored.message.message().text().as_str().to_owned()),
                    Err(StoreError::Overloaded) => {
                        refused.fetch_add(1, Ordering::SeqCst);
                        None
                    }
                    Err(err) => panic!("{err}"),
                }
            })
        })
        .collect();
    // Refusals come back while the accepted sends still wait for the lock.
    while refused.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    blocker.rollback().await.unwrap();

    let mut accepted = Vec::new();
    for handle in sends {
        accepted.extend(handle.await.unwrap());
    }
    let refused = refused.load(Ordering::SeqCst);
    assert!(refused > 0 && !accepted.is_empty());
    assert_eq!(accepted.len() + refused, 10_000);
    let stored = walk(&store, "al:bob", 100, false).await;
    assert_eq!(
        stored.len(),
        accepted.len() + 1,
        "every accepted send and no refused one"
    );
}

/// A commit stuck on a room's lock, held by another session, holds up no other room of its
/// lane: their sends are committed beside it, and it commits once the lock is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_stuck_on_a_rooms_lock_commits_its_other_rooms_beside_it() {
    let url = fresh_database_url();
    // One lane, and room in the pool for commits beside its first; no lock wait ends.
    let options = StoreOptions {
        readers: 1,
        commits_beside: 3,
        lock_wait_secs: 600,
        deadline: Duration::from_secs(600),
        ..options(8, 1)
    };
    let store = Store::open(&url, &options, Arc::new(SystemClock), Arc::new(()))
        .await
        .unwrap();
    let (outside, blocker) = first_send_and_a_lock_held_elsewhere(&store, &url).await;
    let stuck = {
        let store = store.clone();
        tokio::spawn(async move { send(&store, "al:bob", "bob", "stuck").await })
    };
    // The stuck commit is in its rooms statement, which the blocker holds up (this
    // database's connections only: other tests run beside this one).
    let stuck_statements = "SELECT COUNT(*) FROM information_schema.processlist \
         WHERE db = DATABASE() AND info LIKE 'INSERT INTO rooms%'";
    eventually("the stuck send waits for the lock", PATIENCE, || async {
        let statements: i64 = sqlx::query_scalar(stuck_statements)
            .fetch_one(&outside)
            .await
            .unwrap();
        statements > 0
    })
    .await;
    // A second send to the stuck room, queued before the other room's: it waits for the stuck
    // commit, and does not hold the other room's commit up.
    let mut second = Box::pin(send(&store, "al:bob", "al", "second"));
    assert!(futures::poll!(&mut second).is_pending());
    // Bounded only so that a lane that waits after all fails here instead of hanging.
    let beside = tokio::time::timeout(PATIENCE, send(&store, "cy:dan", "cy", "beside"))
        .await
        .expect("the other room's send is committed beside the stuck one");
    assert!(
        !stuck.is_finished(),
        "the stuck send still waits for the lock"
    );
    blocker.rollback().await.unwrap();
    let stuck = stuck.await.unwrap();
    let second = second.await;
    assert!(
        stuck.send_time() < second.send_time(),
        "a room's sends keep the order they came in"
    );
    let stored = walk(&store, "al:bob", 10, false).await;
    assert_eq!(stored[1..], [stuck.send_time(), second.send_time()]);
    assert_eq!(
        walk(&store, "cy:dan", 10, false).await,
        [beside.send_time()]
    );
}

#[tokio::test]
async fn a_message_the_database_refuses_fails_alone_and_its_group_commits() {
    let url = fresh_database_url();
    let clock = Arc::new(ManualClock::default());
    clock.set(1_000);
    // One lane, so that the concurrent sends below are committed in shared groups.
    let store = Store::open(&url, &options(4, 1), clock, Arc::new(()))
        .await
        .unwrap();
    // Data the database refuses (here by a trigger, as a constraint or a charset would).
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW \
         BEGIN IF NEW.text = 'poison' THEN \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison refused'; END IF; END",
    )
    .execute(&pool)
    .await
    .unwrap();

    let sends = (0..60).map(|i| {
        let store = store.clone();
        async move {
            let text = if i % 10 == 3 {
                "poison".to_owned()
            } else {
                format!("fine {i}")
            };
            let msg = NewMessage::parse(
                &format!("r{}a:r{}b", i % 4, i % 4),
                &format!("r{}a", i % 4),
                &text,
            )
            .unwrap();
            (text, store.append(msg, None).await)
        }
    });
    let results = futures::future::join_all(sends).await;
    for (text, result) in &results {
        match (text.as_str(), result) {
            ("poison", Err(StoreError::Internal(_))) => {}
            ("poison", other) => panic!("poison got {other:?}"),
            (_, Ok(stored)) => assert_eq!(&stored.message.message().text().as_str(), text),
            (_, Err(err)) => panic!("{text} failed next to a refused message: {err}"),
        }
    }
    let stored: usize = futures::future::join_all((0..4).map(|r| {
        let store = store.clone();
        async move {
            walk(&store, &format!("r{r}a:r{r}b"), 100, false)
                .await
                .len()
        }
    }))
    .await
    .into_iter()
    .sum();
    assert_eq!(stored, 54);
}

#[tokio::test]
async fn a_database_created_before_client_ids_keeps_working() {
    // The schema as the first release left it: only the first migration applied.
    let (url, pool) = database_of_release(1).await;
    sqlx::query("INSERT INTO rooms (room, last_send_time) VALUES ('al:bob', 5)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO messages (room, send_time, sender, text) VALUES ('al:bob', 5, 'al', 'old')",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Today's store adds what it needs and reads the old messages as they were.
    let clock = Arc::new(ManualClock::default());
    clock.set(1);
    let store = Store::open(&url, &options(2, 1), clock, Arc::new(()))
        .await
        .unwrap();
    let page = read_page(&store, "al:bob", 0, 10, false).await;
    let old = NewMessage::parse("al:bob", "al", "old").unwrap();
    assert_eq!(page.messages, [StoredMessage::new(&old, 5)]);
    let id = im_domain::ClientMsgId::parse("new-1").unwrap();
    let msg = NewMessage::parse("al:bob", "bob", "new")
        .unwrap()
        .with_client_msg_id(Some(id));
    let appended = store.append(msg.clone(), None).await.unwrap();
    assert_eq!(appended.message.send_time(), 6);
    assert!(store.append(msg, None).await.unwrap().duplicate);
}

/// A global status counter of a (private) server, such as `Com_stmt_close`.
async fn server_status(url: &str, name: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
    // Text protocol: the check itself prepares, closes and pings nothing.
    let sql = format!("SHOW GLOBAL STATUS LIKE '{name}'");
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.get::<String, _>(1).parse().unwrap()
}

async fn private_store(db: &im_testkit::MariaDb) -> (Store, String) {
    let url = format!("{}/im", db.url());
    let store = Store::open(&url, &options(8, 1), Arc::new(SystemClock), Arc::new(()))
        .await
        .expect("open store");
    (store, url)
}

#[tokio::test]
async fn sends_and_pulls_do_not_ping_the_database_around_each_use() {
    // A server of its own, so that no other test's pings count.
    let db = im_testkit::MariaDb::start();
    let (store, url) = private_store(&db).await;
    let before = server_status(&url, "Com_admin_commands").await;
    for i in 0..100 {
        send(&store, "al:bob", "al", &format!("m{i}")).await;
        let req = PageRequest::parse("al:bob", 0, 10, false).expect("valid page request");
        store.read_page(&req, None).await.expect("read");
    }
    // A pool that pings on taking and on giving back would have pinged 400 times.
    assert!(server_status(&url, "Com_admin_commands").await - before < 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_of_every_size_never_overflow_the_prepared_statement_cache() {
    // A server of its own, so that no other test's statements count.
    let db = im_testkit::MariaDb::start();
    let (store, url) = private_store(&db).await;
    let before = server_status(&url, "Com_stmt_close").await;

    // Bursts of 1 to 110 sends into as many rooms make groups of about as many sizes: more
    // statement shapes than a connection's cache would hold if each size had its own text. A
    // cache that overflows closes statements (and then waits on Nagle for the next one).
    for burst in 1..=110 {
        let sends = (0..burst).map(|i| {
            let store = store.clone();
            async move {
                let chat = format!("r{burst}x{i}:peer");
                let msg = NewMessage::parse(&chat, "peer", "hi").expect("valid message");
                store.append(msg, None).await.expect("append")
            }
        });
        futures::future::join_all(sends).await;
    }
    assert_eq!(server_status(&url, "Com_stmt_close").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_abandoned_midway_leave_every_later_read_correct() {
    // Two connections for reads, so abandoned reads and later ones share them.
    let store = Store::open(
        &fresh_database_url(),
        &options(4, 1),
        Arc::new(SystemClock),
        Arc::new(()),
    )
    .await
    .expect("open store");
    for i in 0..100 {
        send(&store, "al:bob", "al", &format!("long {i:03}")).await;
    }
    let mut short = Vec::new();
    for i in 0..3 {
        short.push(
            send(&store, "cy:dee", "cy", &format!("short {i}"))
                .await
                .message()
                .text()
                .as_str()
                .to_owned(),
        );
    }

    // Reads of the long room given up after 0 to 2 ms: most end before, during or after
    // their round trip, in every state of the exchange.
    let abandoned = (0..200u64).map(|i| {
        let store = store.clone();
        async move {
            let req = PageRequest::parse("al:bob", 0, 100, false).expect("valid page request");
            let patience = std::time::Duration::from_micros(i * 10);
            let _ = tokio::time::timeout(patience, store.read_page(&req, None)).await;
        }
    });
    futures::future::join_all(abandoned).await;

    let req = PageRequest::parse("cy:dee", 0, 10, false).expect("valid page request");
    for _ in 0..20 {
        let page = store
            .read_page(&req, None)
            .await
            .expect("read after abandoned reads");
        let texts: Vec<String> = page
            .messages
            .into_iter()
            .map(|m| m.message().text().as_str().to_owned())
            .collect();
        assert_eq!(texts, short);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_caller_allows_little_time_fails_no_other_send_of_its_group() {
    let (store, _clock) = store_with_clock(1_000).await;
    // One room: one lane, so the sends of both kinds share groups.
    let sends = (0..200).map(|i| {
        let store = store.clone();
        async move {
            let msg = NewMessage::parse("al:bob", "al", &format!("m{i}")).expect("valid message");
            let hurried = i % 2 == 0;
            // 0 to 3 ms: some run out while their group's commit is under way.
            let caller_deadline = hurried.then(|| {
                std::time::Instant::now() + std::time::Duration::from_micros(i % 4 * 1000)
            });
            (hurried, store.append(msg, caller_deadline).await)
        }
    });
    for (hurried, result) in futures::future::join_all(sends).await {
        if !hurried {
            result.expect("a send with time to wait is committed");
        }
    }
}
