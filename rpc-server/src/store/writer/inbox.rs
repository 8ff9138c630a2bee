//! The inbox half of a group's transaction: every room that got a message gets a new version in
//! the inbox of each of its members. Runs after the messages are inserted, under the room locks,
//! and takes the member locks (step 2 of the order in [`super`]).

use std::collections::{BTreeMap, HashMap};

use im_domain::{NewMessage, Room};
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::transaction::STATEMENT_ROWS;

/// One room's new entry in one member's inbox.
struct Entry<'a> {
    member: &'a str,
    room: &'a str,
    version: i64,
    newest_send_time: i64,
}

/// Moves the version counter of every member of a room in `stored` (messages this group stores,
/// with their send_times) and writes each such room's entry in its members' inboxes.
pub(super) async fn advance_inboxes(
    tx: &mut MySqlConnection,
    stored: &[(&NewMessage, i64)],
) -> Result<(), sqlx::Error> {
    // Each room's newest message of the group.
    let mut newest: BTreeMap<&str, (&Room, i64)> = BTreeMap::new();
    for (msg, send_time) in stored {
        let room = newest
            .entry(msg.room().key())
            .or_insert((msg.room(), *send_time));
        room.1 = room.1.max(*send_time);
    }
    // Ascending member order is the lock order.
    let mut by_member: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for (key, (room, send_time)) in &newest {
        for member in room.members() {
            by_member
                .entry(member.as_str())
                .or_default()
                .push((key, *send_time));
        }
    }
    let counters: Vec<(&str, i64)> = by_member
        .iter()
        .map(|(member, rooms)| (*member, rooms.len() as i64))
        .collect();
    for chunk in counters.chunks(STATEMENT_ROWS) {
        let mut advance: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO members (member, last_version) ");
        advance.push_values(chunk, |mut row, (member, rooms)| {
            row.push_bind(member.as_bytes()).push_bind(*rooms);
        });
        advance.push(" ON DUPLICATE KEY UPDATE last_version = last_version + VALUES(last_version)");
        advance.build().execute(&mut *tx).await?;
    }

    // The counters just moved are ours until commit, so these are the values just written.
    let mut last_versions: HashMap<Vec<u8>, i64> = HashMap::new();
    for chunk in counters.chunks(STATEMENT_ROWS) {
        let mut read: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT member, last_version FROM members WHERE member IN ");
        read.push_tuples(chunk, |mut row, (member, _)| {
            row.push_bind(member.as_bytes());
        });
        let rows: Vec<(Vec<u8>, i64)> = read.build_query_as().fetch_all(&mut *tx).await?;
        last_versions.extend(rows);
    }

    let mut entries = Vec::new();
    for (member, rooms) in &by_member {
        let Some(&last) = last_versions.get(member.as_bytes()) else {
            // Cannot happen: every member of the group was just written.
            return Err(sqlx::Error::RowNotFound);
        };
        // A member with `k` rooms in the group gets versions `last - k + 1 ..= last`.
        for (behind, (room, newest)) in (0..).zip(rooms.iter().rev()) {
            entries.push(Entry {
                member,
                room,
                version: last - behind,
                newest_send_time: *newest,
            });
        }
    }
    for chunk in entries.chunks(STATEMENT_ROWS) {
        let mut write: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO inbox (member, room, version, last_send_time) ");
        write.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.member.as_bytes())
                .push_bind(entry.room.as_bytes())
                .push_bind(entry.version)
                .push_bind(entry.newest_send_time);
        });
        write.push(
            " ON DUPLICATE KEY UPDATE version = VALUES(version), \
             last_send_time = VALUES(last_send_time)",
        );
        write.build().execute(&mut *tx).await?;
    }
    Ok(())
}
