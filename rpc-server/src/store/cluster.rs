//! The database nodes a replica may use: the one URL of `DATABASE_URL`, or the nodes of one
//! MariaDB Galera cluster listed there separated by commas.
//!
//! A replica sends all its work to one node at a time, the active one, so that its own groups
//! never fail each other's certification (two nodes committing the same room would). The
//! active node is the first listed that answers and is synced: a server without Galera counts
//! as synced, a Galera node must report `wsrep_ready` ON in a primary component. With several
//! nodes a monitor checks the active one every [`PROBE_INTERVAL`], and at once when one of its
//! connections fails, it answers "not prepared" (1047) or a statement outlasts its deadline.
//! When the check fails, the first listed node that passes becomes active (none: the replica
//! has no usable node, and is not ready). Each held connection (commit lanes, readers) notices
//! the move at its next use and takes a fresh one on the new node, so no transaction ever
//! spans two nodes.
//!
//! A replica stays on the node it moved to even when an earlier one is healthy again: every
//! synced node holds the same data, and moving back would only cost every lane and reader a
//! fresh connection and one more window of failed calls.
//!
//! On a Galera node, the connections that read pages wait for the node to apply every write
//! the cluster committed before the read began (`wsrep_sync_wait`), so a pull that starts after
//! a send's reply sees it, whichever node each used.

mod node;

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::{Connection, Executor};
use tokio::sync::Notify;

use super::error::classify;
use super::{Internal, StoreError, StoreOptions, Unavailable};
use node::Node;

/// How often the monitor checks the active node when nothing is amiss.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The URLs of a `DATABASE_URL`: one, or several separated by commas. Each must parse.
pub fn parse_urls(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, url)| match MySqlConnectOptions::from_str(url) {
            Ok(_) => Ok(url.to_owned()),
            // Not the URL itself: it may carry a password.
            Err(err) => Err(format!("URL number {} of the list: {err}", i + 1)),
        })
        .collect()
}

/// The node in use, and how many moves happened before: a connection taken in an earlier
/// generation belongs to a node the replica left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Active {
    node: Option<usize>,
    pub(super) generation: u64,
}

#[derive(Clone)]
pub(super) struct Cluster {
    shared: Arc<Shared>,
}

struct Shared {
    nodes: Vec<Node>,
    active: Mutex<Active>,
    recheck: Arc<Notify>,
}

impl Cluster {
    /// Creates the database on the first node that can, makes the first usable node active
    /// and, with several nodes, starts the monitor (it ends when the last clone is dropped).
    pub(super) async fn open(
        database_url: &str,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let urls = parse_urls(database_url)
            .map_err(|err| StoreError::Internal(Internal::DatabaseUrl(err)))?;
        let nodes = urls
            .into_iter()
            .map(|url| Node::new(url, options))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = Self {
            shared: Arc::new(Shared {
                nodes,
                active: Mutex::new(Active {
                    node: None,
                    generation: 0,
                }),
                recheck: Arc::new(Notify::new()),
            }),
        };
        if !options.vitess {
            cluster.create_database().await?;
        }
        if let Err(reasons) = cluster.check().await {
            return Err(StoreError::Unavailable(Unavailable::NoUsableNode(
                reasons.to_string(),
            )));
        }
        if cluster.shared.nodes.len() > 1 {
            tokio::spawn(monitor(
                Arc::downgrade(&cluster.shared),
                cluster.shared.recheck.clone(),
            ));
        }
        Ok(cluster)
    }

    pub(super) fn active(&self) -> Active {
        *self.shared.active.lock().expect("active lock")
    }

    /// Whether the database is a Galera cluster: several nodes listed, or the active one
    /// replicating.
    pub(super) fn is_galera(&self) -> bool {
        let active = self.active().node.map(|i| &self.shared.nodes[i]);
        self.shared.nodes.len() > 1
            || active.is_some_and(|node| node.galera.load(Ordering::Relaxed))
    }

    /// The pool of the active node, for the occasional query.
    pub(super) fn pool(&self) -> Result<MySqlPool, StoreError> {
        self.pool_of(self.active())
            .cloned()
            .ok_or_else(no_active_node)
    }

    /// Whether the active node can serve now. A Galera node must be synced: outside the
    /// primary component it still answers `SELECT 1`, and 1047 to every statement on a table.
    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let node = &self.shared.nodes[self.active().node.ok_or_else(no_active_node)?];
        if node.galera.load(Ordering::Relaxed) {
            return node.probe().await.map_err(|reason| {
                StoreError::Unavailable(Unavailable::NoUsableNode(format!(
                    "{}: {reason}",
                    node.label
                )))
            });
        }
        sqlx::query("SELECT 1").execute(&node.pool).await?;
        Ok(())
    }

    /// Applies `migrator`'s migrations once for the whole cluster, however many replicas start
    /// together. sqlx's own guard, `GET_LOCK(name, -1)`, locks nothing on MariaDB (a negative
    /// timeout answers NULL at once, on Galera and on a plain server alike), and two replicas
    /// applying the same migration leave it marked partially applied for good: the loser's
    /// failed insert keeps a lock on the bookkeeping row that the winner must update. So every
    /// replica migrates through the same node, the first usable in the order of the sorted
    /// URLs, holding a row lock there instead; one that waits longer than the lock wait timeout
    /// fails this start and retries.
    pub(super) async fn migrate(&self, mut migrator: Migrator) -> Result<(), StoreError> {
        let mut nodes: Vec<&Node> = self.shared.nodes.iter().collect();
        nodes.sort_by(|a, b| a.url.cmp(&b.url));
        let mut reasons = Vec::new();
        for node in nodes {
            if let Err(reason) = node.probe().await {
                reasons.push(format!("{}: {reason}", node.label));
                continue;
            }
            let mut lock = node.pool.acquire().await?;
            lock.execute("CREATE TABLE IF NOT EXISTS _im_migration_lock (id TINYINT PRIMARY KEY)")
                .await?;
            lock.execute("INSERT IGNORE INTO _im_migration_lock VALUES (1)")
                .await?;
            let mut held = lock.begin().await?;
            held.execute("SELECT id FROM _im_migration_lock WHERE id = 1 FOR UPDATE")
                .await?;
            migrator.set_locking(false);
            migrator.run(&node.pool).await.map_err(StoreError::from)?;
            held.rollback().await?;
            return Ok(());
        }
        Err(StoreError::Unavailable(Unavailable::NoUsableNode(format!(
            "none to migrate through: {}",
            reasons.join("; ")
        ))))
    }

    /// The pool of the node active in `active`, and whether that node runs Galera.
    pub(super) fn node_of(&self, active: Active) -> Option<(&MySqlPool, bool)> {
        let node = &self.shared.nodes[active.node?];
        Some((&node.pool, node.galera.load(Ordering::Relaxed)))
    }

    fn pool_of(&self, active: Active) -> Option<&MySqlPool> {
        self.node_of(active).map(|(pool, _)| pool)
    }

    /// After a failure of one of its connections: when it may be the node's (see
    /// [`points_at_the_node`]), the active node is checked now rather than at the next tick.
    pub(super) fn failed(&self, err: Option<&sqlx::Error>) {
        if points_at_the_node(err) {
            self.shared.recheck.notify_one();
        }
    }

    async fn create_database(&self) -> Result<(), StoreError> {
        let mut last = None;
        for node in &self.shared.nodes {
            match node.create_database().await {
                Ok(()) => return Ok(()),
                Err(err) => {
                    tracing::warn!(node = %node.label, %err, "cannot create the database here");
                    last = Some(err);
                }
            }
        }
        Err(last.expect("at least one URL").into())
    }

    /// Keeps the active node if it passes its check; otherwise makes the first listed node
    /// that passes active, or none, and then says why each failed.
    async fn check(&self) -> Result<(), String> {
        let before = self.active();
        let mut reasons = Vec::new();
        if let Some(i) = before.node {
            let node = &self.shared.nodes[i];
            match node.probe().await {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    tracing::warn!(node = %node.label, %reason, "database node unusable");
                    reasons.push(format!("{}: {reason}", node.label));
                }
            }
        }
        let mut next = None;
        for (i, node) in self.shared.nodes.iter().enumerate() {
            if Some(i) == before.node {
                continue;
            }
            match node.probe().await {
                Ok(()) => {
                    next = Some(i);
                    break;
                }
                Err(reason) => reasons.push(format!("{}: {reason}", node.label)),
            }
        }
        self.activate(before, next);
        match next {
            Some(_) => Ok(()),
            None => Err(reasons.join("; ")),
        }
    }

    fn activate(&self, before: Active, next: Option<usize>) {
        let mut active = self.shared.active.lock().expect("active lock");
        if *active != before || active.node == next {
            return;
        }
        active.node = next;
        active.generation += 1;
        for (i, node) in self.shared.nodes.iter().enumerate() {
            let in_use = if Some(i) == next { 1.0 } else { 0.0 };
            metrics::gauge!("im_db_node_active", "node" => node.label.clone()).set(in_use);
        }
        match (before.node, next) {
            (None, Some(i)) if before.generation == 0 => {
                tracing::info!(node = %self.shared.nodes[i].label, "using database node");
            }
            (_, Some(i)) => {
                metrics::counter!("im_db_node_moves_total").increment(1);
                tracing::warn!(node = %self.shared.nodes[i].label, "moved to database node");
            }
            (_, None) => tracing::error!("no database node is usable"),
        }
    }
}

/// Checks the active node every [`PROBE_INTERVAL`] and whenever asked, until the cluster is
/// dropped.
async fn monitor(shared: Weak<Shared>, recheck: Arc<Notify>) {
    loop {
        let _ = tokio::time::timeout(PROBE_INTERVAL, recheck.notified()).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err(reasons) = (Cluster { shared }).check().await {
            tracing::debug!(%reasons, "no database node is usable");
        }
    }
}

/// A failure that may be the node's rather than the statement's: no answer in time (`None`),
/// or one that points at the node (see `ErrorKind::points_at_the_node`).
fn points_at_the_node(err: Option<&sqlx::Error>) -> bool {
    err.is_none_or(|err| classify(err).points_at_the_node())
}

/// No node is active: every node failed its last check.
fn no_active_node() -> StoreError {
    StoreError::Unavailable(Unavailable::NoUsableNode("none is active".to_owned()))
}

/// What a connection gets when no node is usable: like a refused connection.
pub(super) fn no_usable_node() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "no database node is usable",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_or_several_separated_by_commas() {
        assert_eq!(
            parse_urls("mysql://root@db:3306/im").unwrap(),
            ["mysql://root@db:3306/im"]
        );
        assert_eq!(
            parse_urls("mysql://root@db1:3306/im, mysql://root@db2:3307/im").unwrap(),
            ["mysql://root@db1:3306/im", "mysql://root@db2:3307/im"]
        );
    }

    #[test]
    fn a_bad_url_in_the_list_is_named_by_position_without_its_text() {
        let err =
            parse_urls("mysql://root:secret@db1/im,mysql://root:secret@db2:port/im").unwrap_err();
        assert!(err.starts_with("URL number 2"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert!(parse_urls("mysql://root@db1/im,").is_err(), "an empty URL");
    }
}
