//! All SQL of the service: the schema's migrations, appending messages and moving inboxes (in
//! `writer`), reading pages (`page`, many at once: `pages`) and inbox listings (`listing`) on
//! lent connections
//! (`reader`), the one reading of database errors (`error`), and which database node it all
//! goes to (`cluster`).

mod cluster;
mod connection;
mod error;
mod listing;
mod markers;
mod out_of_space;
mod page;
mod pages;
mod reader;
mod scattered_listing;
mod shards;
mod unread;
mod versions;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use im_domain::{Direction, Inbox, InboxRequest, NewMessage, Page, PageRequest, StoredMessage};
use sqlx::{MySql, QueryBuilder};

use crate::clock::Clock;
use cluster::Cluster;
pub use cluster::parse_urls as parse_database_urls;
pub use error::{Internal, StoreError, Unavailable};
use out_of_space::OutOfSpace;
use reader::Reader;
use shards::Shards;
pub use versions::InboxVersions;
use writer::{ReadBack, Writer};

/// A send's answer: the stored message, and whether its client_msg_id named a message stored
/// before (then nothing new was stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: StoredMessage,
    pub duplicate: bool,
}

/// How the store uses the database; every wait is bounded.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub pool_size: u32,
    /// Group-commit lanes (see [`writer`]).
    pub commit_lanes: usize,
    /// Commits a lane may have beside a slow one (see [`writer`]), within the pool.
    pub commits_beside: usize,
    /// Connections held for page reads (see [`reader`]). Lanes and readers each hold a
    /// connection of the pool; the rest serve read markers and the occasional query (health
    /// checks, long-poll scans), and up to half of them commits beside slow ones.
    pub readers: usize,
    /// The longest a send waits for its commit, queue included, and a pull for its read; a
    /// send still queued then is dropped, never committed after its caller was answered.
    pub deadline: Duration,
    /// `innodb_lock_wait_timeout` of every connection, in seconds (at least 1).
    pub lock_wait_secs: u32,
    /// Whether commits move the members' inboxes. Always on in service; off only to measure
    /// what the inbox costs each send.
    pub inbox: bool,
    /// Where the rooms' inbox versions come from (see [`versions`]).
    pub inbox_versions: InboxVersions,
    /// The longest a statement writing versions may take before it writes fresh ones, and so
    /// how far listings stay behind the database's clock (see [`versions`]).
    pub inbox_settle: Duration,
    /// The database is a vtgate serving a sharded Vitess keyspace whose schema is applied
    /// shard by shard (docs/scaling.md): the store neither creates the database nor migrates
    /// it, and sets only what vtgate accepts.
    pub vitess: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 32,
            commit_lanes: 2,
            commits_beside: 0,
            readers: 8,
            deadline: Duration::from_millis(2500),
            lock_wait_secs: 2,
            inbox: true,
            inbox_versions: InboxVersions::Counter,
            inbox_settle: Duration::from_millis(100),
            vitess: false,
        }
    }
}

/// Told of every room where this replica committed a message, right after the commit (its
/// members' inboxes moved with it), and of every room where it moved a read marker (only the
/// members' inboxes moved).
pub trait CommitListener: Send + Sync {
    fn committed(&self, room: &str);
    fn marker_moved(&self, room: &str);
}

/// Nobody listens.
impl CommitListener for () {
    fn committed(&self, _room: &str) {}
    fn marker_moved(&self, _room: &str) {}
}

/// Most rows one statement of a commit carries; larger groups take several statements. Each
/// statement is prepared once per row count, so this bounds the shapes a connection keeps
/// prepared to a few dozen each, well within its statement cache (sized from it: `cluster`): a
/// cache that overflowed would close a statement and prepare another on every group.
pub(crate) const STATEMENT_ROWS: usize = 32;

#[derive(Clone)]
pub struct Store {
    cluster: Cluster,
    writer: Writer,
    reader: Reader,
    deadline: Duration,
    schema_ahead: Arc<[i64]>,
    out_of_space: Arc<OutOfSpace>,
    on_commit: Arc<dyn CommitListener>,
    read_back: ReadBack,
    inbox_versions: InboxVersions,
    inbox_settle: Duration,
    vitess: bool,
}

impl Store {
    /// Connects, creating the database if it is missing, and applies pending migrations.
    /// Migrations only ever add: nothing is dropped.
    pub async fn open(
        database_url: &str,
        options: &StoreOptions,
        clock: Arc<dyn Clock>,
        on_commit: Arc<dyn CommitListener>,
    ) -> Result<Self, StoreError> {
        let cluster = Cluster::open(database_url, options).await?;
        if options.inbox_versions.settled() && cluster.is_galera() {
            return Err(StoreError::Internal(Internal::ClockVersionsOnGalera));
        }
        if options.vitess && options.inbox_versions != InboxVersions::Clock {
            return Err(StoreError::Internal(Internal::CounterVersionsOnVitess));
        }
        // Through vtgate the schema is applied to each shard's database apart (the migrations'
        // bookkeeping cannot live in a sharded keyspace).
        let schema_ahead = match options.vitess {
            true => Vec::new(),
            false => migrate(&cluster).await?,
        };
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&cluster.pool()?)
            .await?;
        let read_back = ReadBack::for_server(&version);
        let shards = match options.vitess {
            true => Some(Shards::follow(cluster.pool()?, database_url).await?),
            false => None,
        };
        let writer = Writer::start(
            cluster.clone(),
            clock,
            on_commit.clone(),
            options,
            read_back,
            shards,
        );
        let reader = Reader::start(&cluster, options.readers);
        Ok(Self {
            cluster,
            writer,
            reader,
            deadline: options.deadline,
            schema_ahead: schema_ahead.into(),
            out_of_space: Arc::default(),
            on_commit,
            read_back,
            inbox_versions: options.inbox_versions,
            inbox_settle: options.inbox_settle,
            vitess: options.vitess,
        })
    }

    /// Migrations applied by a later release that this build does not know.
    pub fn schema_ahead(&self) -> &[i64] {
        &self.schema_ahead
    }

    /// Whether the database can serve now (see [`cluster`]).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.cluster.ping().await
    }

    /// Open and idle connections of the active node's pool.
    pub fn pool_usage(&self) -> (usize, usize) {
        self.cluster
            .pool()
            .map_or((0, 0), |pool| (pool.size() as usize, pool.num_idle()))
    }

    /// Commits `msg` with a send_time above every earlier one of its room, and returns it once
    /// it is committed; or, when its client_msg_id names a stored message, returns that one.
    /// Concurrent sends are committed together (see [`writer`]). It waits at most the store's
    /// deadline, and its caller no longer than `caller_deadline`.
    pub async fn append(
        &self,
        msg: NewMessage,
        caller_deadline: Option<Instant>,
    ) -> Result<Appended, StoreError> {
        let deadline = Instant::now() + self.deadline;
        let appended = self.writer.append(msg, deadline, caller_deadline).await;
        self.out_of_space.note(&appended);
        appended
    }

    /// What the database said, while sends fail for want of disk.
    pub fn out_of_space(&self) -> Option<String> {
        self.out_of_space.lately()
    }

    /// One range read of the (room, send_time) key, no OFFSET, within the store's deadline and
    /// `caller_deadline`.
    pub async fn read_page(
        &self,
        req: &PageRequest,
        caller_deadline: Option<Instant>,
    ) -> Result<Page, StoreError> {
        let started = Instant::now();
        let rows = self
            .reader
            .read(req, self.deadline(caller_deadline))
            .await?;
        record_latency("read_page", started);
        let messages = rows
            .into_iter()
            .map(|row| row.into_message(req.room()))
            .collect::<Result<Vec<StoredMessage>, _>>()
            .map_err(|err| StoreError::Internal(Internal::DamagedRow(err)))?;
        Ok(req.page(messages))
    }

    /// The pages of `reqs`, in order, read with one statement per direction (see [`pages`]),
    /// within the store's deadline and `caller_deadline`. A failed read fails every page.
    pub async fn read_pages(
        &self,
        reqs: &[PageRequest],
        caller_deadline: Option<Instant>,
    ) -> Result<Vec<Page>, StoreError> {
        let started = Instant::now();
        let deadline = self.deadline(caller_deadline);
        let mut messages: Vec<Vec<StoredMessage>> = vec![Vec::new(); reqs.len()];
        for direction in [Direction::Forward, Direction::Backward] {
            let (places, pages): (Vec<usize>, Vec<&PageRequest>) = (reqs.iter().enumerate())
                .filter(|(_, req)| req.window().direction() == direction)
                .unzip();
            if pages.is_empty() {
                continue;
            }
            let batch = pages::PageBatch { pages, direction };
            for row in self.reader.read(&batch, deadline).await? {
                let place = usize::try_from(row.page).ok().and_then(|i| places.get(i));
                let Some(&place) = place else { continue };
                let message = row.row.into_message(reqs[place].room());
                let message =
                    message.map_err(|err| StoreError::Internal(Internal::DamagedRow(err)))?;
                messages[place].push(message);
            }
        }
        record_latency("read_pages", started);
        Ok(reqs
            .iter()
            .zip(messages)
            .map(|(req, mut messages)| {
                // The union's parts come back in their own order; each page's is restored.
                messages.sort_by_key(|m| m.send_time());
                if req.window().direction() == Direction::Backward {
                    messages.reverse();
                }
                req.page(messages)
            })
            .collect())
    }

    /// One range read of the member's (member, version) index, each room with its newest
    /// message, within the store's deadline and `caller_deadline`.
    pub async fn list_inbox(
        &self,
        req: &InboxRequest,
        caller_deadline: Option<Instant>,
    ) -> Result<Inbox, StoreError> {
        let started = Instant::now();
        let rows = self
            .listing_rows(req, self.deadline(caller_deadline))
            .await?;
        record_latency("list_inbox", started);
        let entries = rows
            .into_iter()
            .map(listing::EntryRow::into_entry)
            .collect::<Result<_, _>>()
            .map_err(|err| StoreError::Internal(Internal::DamagedRow(err)))?;
        Ok(req.listing(entries))
    }

    /// The earlier of the store's own deadline for a read starting now and the caller's.
    fn deadline(&self, caller_deadline: Option<Instant>) -> Instant {
        let own = Instant::now() + self.deadline;
        caller_deadline.map_or(own, |caller| caller.min(own))
    }
}

impl Store {
    /// `rooms.last_send_time` of each of `rooms` that has one: it moves with every commit in the
    /// room, by any replica.
    pub async fn last_send_times(
        &self,
        rooms: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.positions(
            "SELECT room, last_send_time FROM rooms WHERE room IN ",
            "",
            rooms,
        )
        .await
    }

    /// The newest version in the inbox of each of `members` that has one: it moves with every
    /// commit in any of the member's rooms, by any replica. Twice the same `IN` list, one for
    /// each index.
    pub async fn last_versions(
        &self,
        members: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut newest: HashMap<String, i64> = HashMap::new();
        for select in [
            "SELECT member_a, MAX(version_a) FROM rooms WHERE version_a IS NOT NULL \
             AND member_a IN ",
            "SELECT member_b, MAX(version_b) FROM rooms WHERE version_b IS NOT NULL \
             AND member_b IN ",
        ] {
            for (member, version) in self.positions(select, " GROUP BY 1", members).await? {
                let held = newest.entry(member).or_default();
                *held = version.max(*held);
            }
        }
        Ok(newest.into_iter().collect())
    }

    /// Runs `select` (a key and a position, `WHERE key IN `) over `keys`, then `tail`.
    async fn positions(
        &self,
        select: &'static str,
        tail: &'static str,
        keys: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut query: QueryBuilder<MySql> = QueryBuilder::new(select);
        query.push_tuples(keys, |mut row, key| {
            row.push_bind(key.as_str());
        });
        query.push(tail);
        let pool = self.cluster.pool()?;
        let read = query.build_query_as::<(Vec<u8>, i64)>().fetch_all(&pool);
        let rows = tokio::time::timeout(self.deadline, read)
            .await
            .map_err(|_| StoreError::timed_out())??;
        Ok(rows
            .into_iter()
            .map(|(key, position)| (String::from_utf8_lossy(&key).into_owned(), position))
            .collect())
    }
}

pub(crate) fn record_latency(op: &'static str, started: Instant) {
    metrics::histogram!("im_store_duration_seconds", "op" => op).record(started.elapsed());
}

/// Applies the pending migrations; returns those applied by a later release that this build
/// does not know.
async fn migrate(cluster: &Cluster) -> Result<Vec<i64>, StoreError> {
    let mut migrator = sqlx::migrate!("./migrations");
    // Migrations only add, so a release rolled back to serves the schema of a later one,
    // whose migrations it does not know.
    migrator.set_ignore_missing(true);
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    cluster.migrate(migrator).await?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&cluster.pool()?)
            .await?;
    let schema_ahead: Vec<i64> = applied.into_iter().filter(|v| !known.contains(v)).collect();
    if !schema_ahead.is_empty() {
        tracing::warn!(
            ?schema_ahead,
            "the database schema is newer than this build: a later release applied these \
             migrations; serving with what this build knows (a rollback)"
        );
    }
    Ok(schema_ahead)
}
