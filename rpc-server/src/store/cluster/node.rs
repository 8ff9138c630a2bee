//! One database node of the list: its pool, and the check of whether it can serve.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{Connection, MySql};

use super::super::{STATEMENT_ROWS, StoreError, StoreOptions};

/// A node that does not answer its check within this is not usable (it may be frozen, or
/// stalled by the cluster).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) struct Node {
    /// host:port, for logs and metrics (the URL may carry a password).
    pub(super) label: String,
    pub(super) url: String,
    options: MySqlConnectOptions,
    pub(super) pool: MySqlPool,
    /// Whether its last check found Galera replication on (`wsrep_on`).
    pub(super) galera: AtomicBool,
}

impl Node {
    pub(super) fn new(url: String, options: &StoreOptions) -> Result<Self, StoreError> {
        let lock_wait_secs = options.lock_wait_secs.max(1);
        // Room for every statement shape a commit lane prepares (seven statements of up to
        // STATEMENT_ROWS rows), so that none is ever closed and prepared again.
        let connect_options =
            MySqlConnectOptions::from_str(&url)?.statement_cache_capacity(8 * STATEMENT_ROWS + 16);
        let label = format!(
            "{}:{}",
            connect_options.get_host(),
            connect_options.get_port()
        );
        let pool = MySqlPoolOptions::new()
            .max_connections(options.pool_size)
            .acquire_timeout(options.deadline)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // A replica never idles inside a write transaction: one that does for a
                    // second is frozen or stalled, and its room locks would block every other
                    // replica's sends to those rooms until it ran again. MariaDB then ends the
                    // transaction; the executable comment is skipped by MySQL, which has no
                    // such setting.
                    sqlx::query(
                        "SET SESSION innodb_lock_wait_timeout = ? \
                         /*M!100300 , idle_write_transaction_timeout = 1 */",
                    )
                    .bind(lock_wait_secs)
                    .execute(conn)
                    .await
                    .map(|_| ())
                })
            })
            .connect_lazy_with(connect_options.clone());
        Ok(Self {
            label,
            url,
            options: connect_options,
            pool,
            galera: AtomicBool::new(false),
        })
    }

    pub(super) async fn create_database(&self) -> Result<(), sqlx::Error> {
        if !MySql::database_exists(&self.url).await? {
            // Another replica may create it between the check and here; that is fine.
            if let Err(err) = MySql::create_database(&self.url).await
                && !MySql::database_exists(&self.url).await?
            {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Whether the node answers on a fresh connection within [`PROBE_TIMEOUT`] and is synced.
    pub(super) async fn probe(&self) -> Result<(), String> {
        match tokio::time::timeout(PROBE_TIMEOUT, self.synced()).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
        }
    }

    async fn synced(&self) -> Result<Result<(), String>, sqlx::Error> {
        let mut conn = MySqlConnection::connect_with(&self.options).await?;
        let wsrep_on: Option<(String, String)> =
            sqlx::query_as("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
                .fetch_optional(&mut conn)
                .await?;
        let galera = wsrep_on.is_some_and(|(_, on)| on.eq_ignore_ascii_case("ON"));
        self.galera.store(galera, Ordering::Relaxed);
        if !galera {
            conn.close().await?;
            return Ok(Ok(()));
        }
        let status: Vec<(String, String)> = sqlx::query_as(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status')",
        )
        .fetch_all(&mut conn)
        .await?;
        conn.close().await?;
        let value = |name: &str| {
            status
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        Ok(
            match (value("wsrep_ready"), value("wsrep_cluster_status")) {
                (Some("ON"), Some("Primary")) => Ok(()),
                (ready, status) => Err(format!(
                    "not synced: wsrep_ready {ready:?}, wsrep_cluster_status {status:?}"
                )),
            },
        )
    }
}
