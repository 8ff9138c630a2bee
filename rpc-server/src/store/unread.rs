//! Unread counts of a listing's rooms: the other member's messages after the member's marker, up
//! to the room's newest message as listed, at most [`MAX_UNREAD`]. One statement for the page:
//! a `UNION ALL` of one count per room, each a range read of the room's (room, send_time) key
//! from the marker on that stops at the cap, so a count costs at most the cap's rows plus the
//! member's own messages among them. Its text depends only on the number of parts, rounded up to
//! a power of two (as in [`super::pages`]), so a connection prepares a handful of shapes.

use im_domain::MAX_UNREAD;
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::listing::EntryRow;

/// Fills in `unread` of each entry of `member`'s listing. Rooms where nothing is after the
/// marker, and self-chats, count 0 without a read.
pub(super) async fn count_unread(
    conn: &mut MySqlConnection,
    member: &str,
    entries: &mut [EntryRow],
) -> Result<(), sqlx::Error> {
    let counted: Vec<usize> = (0..entries.len())
        .filter(|&i| may_have_unread(&entries[i]))
        .collect();
    if counted.is_empty() {
        return Ok(());
    }
    let mut query: QueryBuilder<MySql> = QueryBuilder::new("");
    for part in 0..counted.len().next_power_of_two() {
        if part > 0 {
            query.push(" UNION ALL ");
        }
        query.push(format_args!(
            "(SELECT CAST({part} AS SIGNED) AS entry, COUNT(*) AS unread FROM \
             (SELECT 1 FROM messages WHERE room = "
        ));
        // A part beyond the entries reads no room and no row.
        let (room, after, newest): (&[u8], i64, i64) = match counted.get(part) {
            Some(&i) => (
                &entries[i].room,
                entries[i].read_up_to.unwrap_or(0),
                entries[i].last_message.send_time,
            ),
            None => (b"", 0, 0),
        };
        query.push_bind(room);
        query.push(" AND send_time > ");
        query.push_bind(after);
        query.push(" AND send_time <= ");
        query.push_bind(newest);
        query.push(" AND sender <> ");
        query.push_bind(member.as_bytes());
        query.push(format_args!(
            " ORDER BY send_time LIMIT {MAX_UNREAD}) AS unread_{part})"
        ));
    }
    let counts: Vec<(i64, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
    for (part, unread) in counts {
        let entry = usize::try_from(part).ok().and_then(|p| counted.get(p));
        if let Some(&i) = entry {
            entries[i].unread = i32::try_from(unread).unwrap_or(MAX_UNREAD);
        }
    }
    Ok(())
}

/// Whether anything of the other member may lie after the member's marker.
fn may_have_unread(entry: &EntryRow) -> bool {
    let self_chat = std::str::from_utf8(&entry.room)
        .ok()
        .and_then(|room| room.split_once(':'))
        .is_some_and(|(a, b)| a == b);
    let marker = entry.read_up_to.unwrap_or(0);
    !self_chat && entry.last_message.send_time > marker
}
