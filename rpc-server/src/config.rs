use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use im_ops::RegistryArgs;

use crate::store::{InboxVersions, StoreOptions, parse_database_urls};

/// The IMService Thrift server. Every flag falls back to the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "rpc-server", version, about)]
pub struct Config {
    /// Address the Thrift server listens on; unused when the socket is handed over
    /// (`LISTEN_FDS`, systemd's socket activation: the first socket).
    #[arg(long, env = "IM_RPC_LISTEN", default_value = "0.0.0.0:8888")]
    pub listen: SocketAddr,

    /// Address registered in etcd for clients to call. Default: the listen address, or this
    /// host's first non-loopback IP when listening on 0.0.0.0 / [::].
    #[arg(long, env = "IM_RPC_ADVERTISE")]
    pub advertise: Option<SocketAddr>,

    /// Address of the admin HTTP server: /healthz, /readyz (database reachable), /metrics;
    /// unused when `LISTEN_FDS` hands over a second socket.
    #[arg(long, env = "IM_RPC_ADMIN_LISTEN", default_value = "0.0.0.0:9888")]
    pub admin_listen: SocketAddr,

    /// MySQL/MariaDB URL, or the URLs of one Galera cluster's nodes separated by commas: the
    /// replica uses the first listed that is up and synced, and moves to the next when it fails.
    /// The database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mysql://root@127.0.0.1:3306/im",
        value_parser = database_urls
    )]
    pub database_url: String,

    /// Maximum number of database connections this replica opens.
    #[arg(long, env = "IM_DB_POOL_SIZE", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub db_pool_size: u32,

    /// Commit lanes: each room belongs to one, and each lane commits one group of sends at a
    /// time. Sends arriving meanwhile are committed together in the next group.
    #[arg(long, env = "IM_DB_COMMIT_LANES", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub db_commit_lanes: u16,

    /// Commits a lane may start beside its commit under way once that has taken 20 ms, for a
    /// database far away (each statement a long round trip). 0: none; on a machine whose CPU
    /// is what makes commits slow, more commits only add work.
    #[arg(long, env = "IM_DB_COMMITS_BESIDE", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=3))]
    pub db_commits_beside: u16,

    /// Connections held for pull reads, each lent to one read at a time.
    /// Commit lanes and readers together must stay below IM_DB_POOL_SIZE.
    #[arg(long, env = "IM_DB_READERS", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub db_readers: u16,

    /// The longest a send may wait for its commit (queue, lock waits and retries included) and
    /// a pull for its read, in milliseconds; then the caller gets "unavailable" and a queued
    /// send is dropped, never committed later. Keep it below the http-server's
    /// IM_RPC_TIMEOUT_MS.
    #[arg(long, env = "IM_DB_DEADLINE_MS", default_value_t = 2500,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub db_deadline_ms: u64,

    /// How long one statement waits for a row lock another transaction holds, in seconds
    /// (innodb_lock_wait_timeout); a conflict is then retried while the deadline allows.
    #[arg(long, env = "IM_DB_LOCK_WAIT_SECS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub db_lock_wait_secs: u32,

    /// How long to keep retrying the first database connection at start, in seconds.
    #[arg(long, env = "IM_DB_CONNECT_TIMEOUT_SECS", default_value_t = 60)]
    pub db_connect_timeout_secs: u64,

    /// The longest a forward pull (or inbox listing) whose page is empty waits for the next
    /// change (`wait_ms` is clamped to it), in milliseconds.
    #[arg(long, env = "IM_PULL_MAX_WAIT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub pull_max_wait_ms: u64,

    /// Most pulls and inbox listings waiting at once on this replica; one more is answered "unavailable" (code 2).
    #[arg(long, env = "IM_PULL_MAX_WAITING", default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub pull_max_waiting: usize,

    /// How often, while calls wait, the replica looks for commits other replicas made in the
    /// rooms and inboxes waited on (one query per 500 of them), in milliseconds: the longest a
    /// waiting call can lag behind a message another replica stored, plus that query.
    #[arg(long, env = "IM_PULL_WATCH_INTERVAL_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub pull_watch_interval_ms: u64,

    /// Whether sends move the members' inboxes (`GET /api/chats`). Leave it on: off exists only
    /// to measure what the inbox costs each send, and listings then miss what was sent.
    #[arg(long, env = "IM_INBOX", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub inbox: bool,

    /// Where the rooms' inbox versions come from: `counter`, each member's counter row, as the
    /// release before did (and as a Galera cluster needs: its nodes each have a clock); `clock`,
    /// the database's clock, so that a send writes only its room's rows; `mixed`, counters
    /// that serve beside either, while a switch is under way. Switch one step at a time,
    /// counter, mixed, clock, rolling the replicas at each, and back the same way before a
    /// rollback (docs/operations.md).
    #[arg(long, env = "IM_INBOX_VERSIONS", value_enum, default_value_t = InboxVersions::Counter)]
    pub inbox_versions: InboxVersions,

    /// How long a statement that writes inbox versions may take before the commit writes fresh
    /// ones, in milliseconds; inbox listings stay this far behind the database's clock. Above
    /// the database's round trip (docs/design.md, "Inbox versions").
    #[arg(long, env = "IM_INBOX_SETTLE_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub inbox_settle_ms: u64,

    /// DATABASE_URL names a vtgate serving a sharded Vitess keyspace, whose schema was applied
    /// shard by shard: the replica then neither creates nor migrates the database, sets only
    /// what vtgate accepts, and needs IM_INBOX_VERSIONS=clock (docs/scaling.md).
    #[arg(long, env = "IM_DB_VITESS", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub db_vitess: bool,

    /// Create the database if it is missing, apply the pending migrations, and exit: how each
    /// shard of a Vitess keyspace gets its schema (docs/scaling.md).
    #[arg(long, env = "IM_MIGRATE_ONLY", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub migrate_only: bool,

    /// Answer `SendBatch`, `PullBatch` and `AwaitPulls`, the methods the http-server uses for
    /// itself. Off, they answer "unknown method" as the release before them did: for testing
    /// upgrades and rollbacks.
    #[arg(long, env = "IM_RPC_BATCH_METHODS", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub batch_methods: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Lease time-to-live of the etcd registration, in seconds: how long a replica that died
    /// stays listed.
    #[arg(long, env = "IM_REGISTRY_TTL_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub registry_ttl_secs: u64,

    /// On SIGTERM/SIGINT, how long to keep serving after deregistering, every reply telling its
    /// caller to close its connection, so that http-servers stop sending here before the
    /// listener closes, in milliseconds. The process exits about this long after the signal.
    #[arg(long, env = "IM_SHUTDOWN_DRAIN_MS", default_value_t = 1500,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub shutdown_drain_ms: u64,
}

/// Refuses a list with a URL that does not parse at start, not at the first connection.
fn database_urls(list: &str) -> Result<String, String> {
    parse_database_urls(list).map(|_| list.to_owned())
}

impl Config {
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.db_pool_size,
            commit_lanes: self.db_commit_lanes.into(),
            commits_beside: self.db_commits_beside.into(),
            readers: self.db_readers.into(),
            deadline: Duration::from_millis(self.db_deadline_ms),
            lock_wait_secs: self.db_lock_wait_secs,
            inbox: self.inbox,
            inbox_versions: self.inbox_versions,
            inbox_settle: Duration::from_millis(self.inbox_settle_ms),
            vitess: self.db_vitess,
        }
    }
}
