//! One database node of the list: its pool, and the check of whether it can serve.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Connection, MySql};

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
        // Room for every statement shape a commit lane prepares (seven statements of up to
        // STATEMENT_ROWS rows), so that none is ever closed and prepared again. No statement
        // uses `||`, and vtgate refuses the PIPES_AS_CONCAT mode that sqlx sets by default.
        let connect_options = MySqlConnectOptions::from_str(&url)?
            .statement_cache_capacity(8 * STATEMENT_ROWS + 16)
            .pipes_as_concat(false);
        let session = session_settings(options);
        let label = format!(
            "{}:{}",
            connect_options.get_host(),
            connect_options.get_port()
        );
        let pool = MySqlPoolOptions::new()
            .max_connections(options.pool_size)
            .acquire_timeout(options.deadline)
            .after_connect(move |conn, _| {
                // Text, not prepared: vtgate cannot prepare a SET.
                let session = sqlx::raw_sql(AssertSqlSafe(session.clone()));
                Box::pin(async move { session.execute(conn).await.map(|_| ()) })
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

/// The statement that sets up each connection: how long a lock wait lasts (a number of the
/// configuration's, written into the statement: vtgate cannot bind a SET's values), and on
/// MariaDB that a replica never idles inside a write transaction: one that does for a second is
/// frozen or stalled, and its room locks would block every other replica's sends to those rooms
/// until it ran again. MariaDB then ends the transaction; the executable comment is skipped by
/// MySQL, which has no such setting, and left out for vtgate, which refuses it (its tablets'
/// `--queryserver-config-transaction-timeout` does that job there).
fn session_settings(options: &StoreOptions) -> String {
    let lock_wait_secs = options.lock_wait_secs.max(1);
    let idle = match options.vitess {
        true => "",
        false => " /*M!100300 , idle_write_transaction_timeout = 1 */",
    };
    format!("SET SESSION innodb_lock_wait_timeout = {lock_wait_secs}{idle}")
}
