//! Read markers: each member's in the room's own row (`read_a` for the room's first member,
//! `read_b` for its second), so a listing reads them with the versions.
//!
//! A marker that moves gives the room a new version in both members' inboxes, exactly as a send
//! does, and under the same locks in the same order (see the module comment of `writer`): the
//! members' counters first (when versions come from them), then the room's row, all held until
//! COMMIT. So a marker's version obeys the follower rule exactly as a send's does (timed the same
//! way, see `versions`), and a marker and a send of one room never wait for each other in a
//! cycle. The new value is decided under the room's lock (forward
//! only, never past the newest message), so two devices marking at once both end at the
//! higher value, and the member's unread count is counted again from it there. A marker that
//! would not move is answered from a plain read and writes nothing: no lock, no version.

use std::time::{Duration, Instant};

use im_domain::MarkRead;
use sqlx::{Acquire, Executor, MySql, MySqlConnection, QueryBuilder, SqlSafeStr};

use super::error::classify;
use super::unread::{count_one, prepare_count_one};
use super::versions::{ClockSpread, InboxVersions, next_even, next_odd, restamp};
use super::writer::{advance_counters, recount};
use super::{Store, StoreError};

/// Attempts of a marker transaction that meets a lock conflict.
const MAX_ATTEMPTS: u32 = 5;

/// A room's newest send_time, its two markers and its members' unread counts, as stored.
#[derive(sqlx::FromRow)]
struct RoomMarkers {
    newest_send_time: Option<i64>,
    read_a: Option<i64>,
    read_b: Option<i64>,
    unread_a: Option<i32>,
    unread_b: Option<i32>,
    unread_at: Option<i64>,
}

impl RoomMarkers {
    fn of(&self, mark: &MarkRead) -> i64 {
        let marker = if mark.is_first() {
            self.read_a
        } else {
            self.read_b
        };
        marker.unwrap_or(0)
    }

    /// Where the marker ends: forward only, and never past the newest message.
    fn target(&self, mark: &MarkRead) -> i64 {
        let newest = self.newest_send_time.unwrap_or(0);
        self.of(mark).max(mark.read_up_to().min(newest))
    }
}

impl Store {
    /// Moves `mark`'s member's marker in its room forward to `mark.read_up_to()` (at most the
    /// room's newest send_time) and returns the marker as stored. Only a marker that moves
    /// writes, and then the room has a new version in both members' inboxes.
    pub async fn mark_read(
        &self,
        mark: &MarkRead,
        caller_deadline: Option<Instant>,
    ) -> Result<i64, StoreError> {
        let started = Instant::now();
        let deadline = self.deadline(caller_deadline);
        let result = tokio::time::timeout_at(deadline.into(), self.mark_with_retries(mark))
            .await
            .unwrap_or_else(|_| Err(StoreError::timed_out()));
        super::record_latency("mark_read", started);
        result
    }

    async fn mark_with_retries(&self, mark: &MarkRead) -> Result<i64, StoreError> {
        let pool = self.cluster.pool()?;
        let mut attempt = 1;
        loop {
            let result = async {
                let mut conn = pool.acquire().await?;
                let stored = read_markers(&mut conn, mark, false).await?;
                match stored {
                    Some(stored) if stored.target(mark) > stored.of(mark) => {
                        move_marker(&mut conn, mark, self).await
                    }
                    Some(stored) => Ok((stored.of(mark), false)),
                    // A room without messages has no row: its markers stay 0.
                    None => Ok((0, false)),
                }
            }
            .await;
            match result {
                Ok((marker, moved)) => {
                    if moved {
                        self.on_commit.marker_moved(mark.room().key());
                    }
                    return Ok(marker);
                }
                Err(err) if attempt < MAX_ATTEMPTS && classify(&err).is_transient() => {
                    self.cluster.failed(Some(&err));
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                    attempt += 1;
                }
                Err(err) => {
                    self.cluster.failed(Some(&err));
                    return Err(err.into());
                }
            }
        }
    }
}

/// [`read_markers`] with the row lock.
const LOCKED_READ: &str = "SELECT newest_send_time, read_a, read_b, unread_a, unread_b, \
     unread_at FROM rooms WHERE room = ? FOR UPDATE";

/// The room's markers; `lock` takes the room's row lock until the transaction ends.
async fn read_markers(
    conn: &mut MySqlConnection,
    mark: &MarkRead,
    lock: bool,
) -> Result<Option<RoomMarkers>, sqlx::Error> {
    let sql = if lock {
        LOCKED_READ
    } else {
        "SELECT newest_send_time, read_a, read_b, unread_a, unread_b, unread_at \
         FROM rooms WHERE room = ?"
    };
    sqlx::query_as(sql)
        .bind(mark.room().key())
        .fetch_optional(conn)
        .await
}

/// The transaction that moves the marker: the members' counters (their locks first), then the
/// room's row under its lock; nothing is written when, under the lock, the marker no longer
/// moves. Returns the marker and whether it moved.
async fn move_marker(
    conn: &mut MySqlConnection,
    mark: &MarkRead,
    store: &Store,
) -> Result<(i64, bool), sqlx::Error> {
    if store.vitess {
        // Through vtgate a SELECT prepared within the transaction would read its columns from
        // any shard, joining it to the transaction: the transaction's SELECTs are prepared
        // before it begins.
        conn.prepare(LOCKED_READ.into_sql_str()).await?;
        prepare_count_one(conn).await?;
    }
    let spread = ClockSpread::new(store.vitess);
    let mut tx = conn.begin().await?;
    let counters_taken = Instant::now();
    let counted = match store.inbox_versions {
        InboxVersions::Counter | InboxVersions::Mixed => {
            let rooms = [mark.room()];
            let versions = advance_counters(&mut tx, &rooms, store.read_back).await?;
            let versions = versions
                .get(mark.room().key())
                .ok_or(sqlx::Error::RowNotFound)?;
            Some((versions.first, versions.second))
        }
        InboxVersions::Clock => None,
    };
    let Some(stored) = read_markers(&mut tx, mark, true).await? else {
        return Ok((0, false));
    };
    let target = stored.target(mark);
    if target <= stored.of(mark) {
        // Rolled back when dropped: the counters stay where they were.
        return Ok((stored.of(mark), false));
    }
    // The member's count starts again from its new marker; the other's stays, unless the row
    // does not know it.
    let newest = stored.newest_send_time.unwrap_or(0);
    let (peer_marker, peer_count) = match mark.is_first() {
        true => (stored.read_b, stored.unread_b),
        false => (stored.read_a, stored.unread_a),
    };
    let peer = mark.room().members().find(|m| *m != mark.member());
    let peer_count = match (peer_count, peer) {
        (_, None) => 0,
        (Some(count), _) if stored.unread_at == Some(newest) => count,
        (_, Some(peer)) => {
            let after = peer_marker.unwrap_or(0);
            count_one(&mut tx, mark.room().key(), peer.as_str(), after, newest).await?
        }
    };
    let own_count = count_one(
        &mut tx,
        mark.room().key(),
        mark.member().as_str(),
        target,
        newest,
    )
    .await?;
    let (unread_a, unread_b) = match mark.is_first() {
        true => (own_count, peer_count),
        false => (peer_count, own_count),
    };
    let marker = if mark.is_first() { "read_a" } else { "read_b" };
    let mut update: QueryBuilder<MySql> = QueryBuilder::new("UPDATE rooms SET ");
    update.push(marker).push(" = ").push_bind(target);
    // Versions from the counters, or from the clock (NULL for a self-chat's second member).
    match counted {
        // Never below the room's own versions (NULL stays NULL: a self-chat's second).
        Some((first, second)) => {
            let next = next_even("version_a");
            update.push(format_args!(", version_a = GREATEST({next}, "));
            update.push_bind(first).push(")");
            let next = next_odd("version_b");
            update.push(format_args!(", version_b = GREATEST({next}, "));
            update.push_bind(second).push(")");
        }
        None => {
            let offset = spread.offsets([mark.room().key()])[0];
            update.push(", version_a = ");
            spread.push_version(&mut update, "version_a", |sql, part| {
                sql.push_bind(part.of(offset));
            });
            update.push(", version_b = IF(member_a = member_b, NULL, ");
            spread.push_version(&mut update, "version_b", |sql, part| {
                sql.push_bind(part.of(offset));
            });
            update.push(")");
        }
    }
    update.push(", unread_a = ").push_bind(unread_a);
    update.push(", unread_b = ").push_bind(unread_b);
    update.push(", unread_at = newest_send_time WHERE room = ");
    update.push_bind(mark.room().key());
    let started = Instant::now();
    update.build().execute(&mut *tx).await?;
    match counted {
        Some(_) if store.inbox_versions.settled() => {
            let (rooms, took) = ([mark.room()], counters_taken.elapsed());
            recount(&mut tx, &rooms, store.read_back, took, store.inbox_settle).await?;
        }
        Some(_) => {}
        None => {
            let room = [mark.room().key()];
            restamp(
                &mut tx,
                &room,
                spread,
                started.elapsed(),
                store.inbox_settle,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok((target, true))
}
