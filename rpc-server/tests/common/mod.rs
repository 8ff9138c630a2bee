//! Helpers the store tests share: options, a clock moved by hand, sends, walks and the schema
//! of an older release.
#![allow(dead_code)] // each test binary uses its own part of these

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use im_domain::{NewMessage, Page, PageRequest, StoredMessage};
use im_testkit::fresh_database_url;
use rpc_server::clock::Clock;
use rpc_server::store::{InboxVersions, Store, StoreOptions};

/// Options for a test store; `IM_TEST_INBOX_VERSIONS=clock` runs the tests with inbox versions
/// from the clock (`scripts/test` runs them both ways).
pub fn options(pool_size: u32, commit_lanes: usize) -> StoreOptions {
    let inbox_versions = match std::env::var("IM_TEST_INBOX_VERSIONS").as_deref() {
        Ok("clock") => InboxVersions::Clock,
        _ => InboxVersions::Counter,
    };
    StoreOptions {
        pool_size,
        commit_lanes,
        readers: (pool_size as usize).saturating_sub(commit_lanes + 1).max(1),
        inbox_versions,
        ..StoreOptions::default()
    }
}

/// A clock the test moves by hand.
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub async fn store_with_clock(start: i64) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    clock.set(start);
    let store = Store::open(
        &fresh_database_url(),
        &options(8, 2),
        clock.clone(),
        Arc::new(()),
    )
    .await
    .expect("open store");
    (store, clock)
}

pub async fn send(store: &Store, chat: &str, sender: &str, text: &str) -> StoredMessage {
    let msg = NewMessage::parse(chat, sender, text).expect("valid message");
    store.append(msg, None).await.expect("append").message
}

/// One page of `chat` read from `store`.
pub async fn read_page(store: &Store, chat: &str, cursor: i64, limit: i64, reverse: bool) -> Page {
    let req = PageRequest::parse(chat, cursor, limit, reverse).unwrap();
    store.read_page(&req, None).await.expect("read page")
}

/// The texts of a page's messages, in order.
pub fn texts_of(page: &Page) -> Vec<&str> {
    page.messages
        .iter()
        .map(|m| m.message().text().as_str())
        .collect()
}

/// Walks the whole room page by page with `next_cursor`, returning every send_time seen.
pub async fn walk(store: &Store, chat: &str, limit: i64, reverse: bool) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let req = PageRequest::parse(chat, cursor, limit, reverse).unwrap();
        let page = store.read_page(&req, None).await.expect("read page");
        assert!(page.messages.len() <= req.window().limit());
        seen.extend(page.messages.iter().map(|m| m.send_time()));
        if !page.has_more {
            return seen;
        }
        assert_eq!(
            page.messages.len(),
            req.window().limit(),
            "a page with more must be full"
        );
        cursor = page.next_cursor;
    }
}

/// A fresh database with only the first `count` migrations applied: the schema as an older
/// release left it. Returns its URL and a pool on it.
pub async fn database_of_release(count: usize) -> (String, sqlx::MySqlPool) {
    use sqlx::migrate::{MigrateDatabase, Migrator};

    let url = fresh_database_url();
    sqlx::MySql::create_database(&url).await.unwrap();
    let older = std::env::temp_dir().join(format!(
        "im-migrations-{count}-{}",
        url.rsplit('/').next().unwrap()
    ));
    std::fs::create_dir_all(&older).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    files.sort();
    for file in files.into_iter().take(count) {
        std::fs::copy(migrations.join(&file), older.join(&file)).unwrap();
    }
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    Migrator::new(older.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&older);
    (url, pool)
}
