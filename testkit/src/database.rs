use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The MariaDB server the tests use (or vtgate, see [`fresh_database_url`]), without a database
/// name.
pub fn server_url() -> String {
    std::env::var("IM_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:13306".into())
}

/// A URL naming a database that does not exist yet, unique to the calling test. The rpc-server
/// creates it on start, as it would in production. `scripts/test` drops old ones.
///
/// Under `scripts/test-vitess` (`IM_TEST_KEYSPACE_SHARDS` set) the server is vtgate, whose
/// keyspace `im` is one database that nobody can create: every test gets that keyspace, emptied
/// first on each shard's own database, so those tests run one at a time.
pub fn fresh_database_url() -> String {
    if let Ok(shards) = std::env::var("IM_TEST_KEYSPACE_SHARDS") {
        shards.split(',').for_each(empty_shard);
        return format!("{}/im", server_url());
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "{}/im_test_{}_{}_{}",
        server_url(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Deletes every row but the migrations' from the shard database at `url`
/// (`mysql://user@host:port/database`).
fn empty_shard(url: &str) {
    let (user, rest) = url
        .trim_start_matches("mysql://")
        .split_once('@')
        .unwrap_or_else(|| panic!("no user in {url}"));
    let (address, database) = rest
        .split_once('/')
        .unwrap_or_else(|| panic!("no database in {url}"));
    let (host, port) = address
        .split_once(':')
        .unwrap_or_else(|| panic!("no port in {url}"));
    let status = Command::new("mariadb")
        .args([
            "--protocol=tcp",
            "-h",
            host,
            "-P",
            port,
            "-u",
            user,
            database,
            "-e",
        ])
        .arg("DELETE FROM messages; DELETE FROM rooms; DELETE FROM inbox; DELETE FROM members;")
        .status()
        .expect("the mariadb client runs");
    assert!(status.success(), "could not empty {url}");
}
