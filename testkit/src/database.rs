use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The MariaDB server the tests use, without a database name.
pub fn server_url() -> String {
    std::env::var("IM_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:13306".into())
}

/// A URL naming a database that does not exist yet, unique to the calling test. The rpc-server
/// creates it on start, as it would in production. `scripts/test` drops old ones.
pub fn fresh_database_url() -> String {
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
