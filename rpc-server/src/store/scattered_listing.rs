//! A member's inbox listing through vtgate, whose planner cannot run the one-statement listing
//! over shards (it sends MariaDB a derived table with a column list, a MySQL 8 form). The same
//! reads in steps each shard can answer alone: each half of the listing (one version index)
//! as one scatter that vtgate merges in order, the halves merged here, the rooms' newest
//! messages read by their keys, and the member's newest version and the line asked apart.
//!
//! Each shard cuts its half at its own clock's line. Versions that a shard writes later are at
//! least its line, and a cursor handed out is at most the highest line; so shard primaries'
//! clocks may differ by as much as the margin the line is moved back by (one more settle
//! time) without a later version falling below a cursor (docs/scaling.md).

use std::collections::HashMap;

use futures::future::BoxFuture;
use im_domain::{Direction, InboxRequest};
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::listing::{EntryRow, HalfRow, Newest};
use super::page::MessageRow;
use super::reader::Query;
use super::versions::NOW_US;

/// The listing of `req`, its line `settle_us` behind each shard's clock.
pub(super) fn fetch<'c>(
    conn: &'c mut MySqlConnection,
    req: &'c InboxRequest,
    settle_us: i64,
) -> BoxFuture<'c, Result<Vec<EntryRow>, sqlx::Error>> {
    Box::pin(async move {
        let window = req.window();
        let (from, order) = match window.direction() {
            Direction::Forward => (">=", "ASC"),
            Direction::Backward => ("<=", "DESC"),
        };
        let member = req.member().as_str().as_bytes();
        let rows = window.rows_to_fetch();
        let mut halves: Vec<HalfRow> = Vec::with_capacity(2 * rows);
        for (index, mine, theirs) in [("a", "a", "b"), ("b", "b", "a")] {
            let sql = format!(
                "SELECT room, version_{index} AS version, newest_send_time, \
                 read_{mine} AS read_up_to, read_{theirs} AS peer_read_up_to, \
                 IF(unread_at <=> newest_send_time, unread_{mine}, NULL) AS unread \
                 FROM rooms FORCE INDEX (rooms_by_version_{index}) \
                 WHERE member_{index} = ? AND version_{index} {from} ? \
                 AND version_{index} < 2 * ({NOW_US} - ?) \
                 ORDER BY version_{index} {order} LIMIT ? LOCK IN SHARE MODE"
            );
            let half: Vec<HalfRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(member)
                .bind(window.bound())
                .bind(settle_us)
                .bind(rows as u64)
                .fetch_all(&mut *conn)
                .await?;
            halves.extend(half);
        }
        halves.sort_by_key(|row| row.version);
        if window.direction() == Direction::Backward {
            halves.reverse();
        }
        halves.truncate(rows);
        let mut newest = newest_messages(conn, &halves).await?;
        let member = req.member().as_str();
        let (newest_version, line) = Newest { member, settle_us }.fetch(conn).await?;
        Ok(halves
            .into_iter()
            .filter_map(|half| {
                // A room whose newest message is not there yet is left out, as a join would.
                let message = newest.remove(&(half.room.clone(), half.newest_send_time?))?;
                Some(half.into_entry(message, newest_version, line))
            })
            .collect())
    })
}

/// The newest message of each room of `halves`, by room and send_time.
async fn newest_messages(
    conn: &mut MySqlConnection,
    halves: &[HalfRow],
) -> Result<HashMap<(Vec<u8>, i64), MessageRow>, sqlx::Error> {
    let keys: Vec<(&[u8], i64)> = halves
        .iter()
        .filter_map(|half| Some((half.room.as_slice(), half.newest_send_time?)))
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut read: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT room, send_time, sender, text, client_msg_id FROM messages \
         WHERE (room, send_time) IN ",
    );
    read.push_tuples(&keys, |mut row, (room, send_time)| {
        row.push_bind(*room).push_bind(*send_time);
    });
    let rows: Vec<RoomMessage> = read.build_query_as().fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.room, row.message.send_time), row.message))
        .collect())
}

/// A message with its room.
#[derive(sqlx::FromRow)]
struct RoomMessage {
    room: Vec<u8>,
    #[sqlx(flatten)]
    message: MessageRow,
}
