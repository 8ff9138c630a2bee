//! Reserving a group's send_times under its rooms' row locks, and writing the rooms' new inbox
//! versions, newest send_times and unread counts in the same statement.

use std::collections::{BTreeMap, HashMap};

use im_domain::{MAX_UNREAD, NewMessage};
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::inbox::RoomVersions;
use super::transaction::ReadBack;
use crate::store::STATEMENT_ROWS;
use crate::store::versions::{ClockSpread, next_even, next_odd, push_case};

/// What a group writes into its rooms' rows for the inbox: each room's new versions, and how
/// many messages each member of it has more to read (by room key: for its first member, for its
/// second).
pub(super) struct InboxWrites<'a> {
    pub(super) versions: NewVersions<'a>,
    pub(super) unread: HashMap<&'a str, (i64, i64)>,
}

/// Where the rooms' new versions come from.
pub(super) enum NewVersions<'a> {
    /// The members' counters gave them.
    Counted(&'a HashMap<&'a str, RoomVersions>),
    /// The database's clock, in the rooms' upsert, spread so; each room's offset (from its
    /// place in the group) keeps its versions apart from the group's other rooms'.
    Clock(&'a HashMap<&'a str, i64>, ClockSpread),
}

/// The messages of `new` (positions by room) that each member of their room has not read: the
/// other member's.
pub(super) fn unread_added<'a>(
    msgs: &[&NewMessage],
    new: &BTreeMap<&'a str, Vec<usize>>,
) -> HashMap<&'a str, (i64, i64)> {
    new.iter()
        .map(|(room, positions)| {
            let mut added = (0, 0);
            for &i in positions {
                let mut members = msgs[i].room().members();
                let first = members.next();
                // A self-chat has one member, who reads its own messages.
                let Some(second) = members.next() else {
                    continue;
                };
                if Some(msgs[i].sender()) == first {
                    added.1 += 1;
                } else if msgs[i].sender() == second {
                    added.0 += 1;
                }
            }
            (*room, added)
        })
        .collect()
}

/// A room's row after the upsert: its new last send_time, and whether the upsert created it.
#[derive(Clone, Copy)]
struct Reserved {
    last: i64,
    created: bool,
}

/// Takes the row lock of every room of the group, in ascending key order, and returns one
/// send_time per message (by position in the group). With `inbox`, writes the rooms' new
/// versions too: in the upsert for rooms that have a row, and in one statement more for the
/// rows it created.
pub(super) async fn reserve_times(
    tx: &mut MySqlConnection,
    by_room: &BTreeMap<&str, Vec<usize>>,
    messages: usize,
    now: i64,
    inbox: Option<&InboxWrites<'_>>,
    read_back: ReadBack,
) -> Result<Vec<i64>, sqlx::Error> {
    let rooms: Vec<(&str, &[usize])> = by_room.iter().map(|(r, p)| (*r, p.as_slice())).collect();
    let mut reserved = Vec::with_capacity(rooms.len());
    for chunk in rooms.chunks(STATEMENT_ROWS) {
        reserved.extend(reserve(&mut *tx, chunk, now, inbox, read_back).await?);
    }
    let mut times = vec![0; messages];
    let mut created: Vec<&str> = Vec::new();
    let mut unread: Vec<&str> = Vec::new();
    for ((room, positions), reserved) in rooms.iter().zip(reserved) {
        match reserved {
            Some(Reserved { last, created: new }) => {
                assign_times(&mut times, positions, last);
                if new {
                    created.push(room);
                }
            }
            None => unread.push(room),
        }
    }
    // The locks are ours until commit, so these are the values just written.
    for chunk in unread.chunks(STATEMENT_ROWS) {
        let mut read: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT room, last_send_time, version_a FROM rooms WHERE room IN ");
        read.push_tuples(chunk, |mut row, room| {
            row.push_bind(*room);
        });
        let read: Vec<(Vec<u8>, i64, Option<i64>)> =
            read.build_query_as().fetch_all(&mut *tx).await?;
        for (room, last, version) in read {
            let room = std::str::from_utf8(&room).ok();
            if let Some((room, positions)) = room.and_then(|room| by_room.get_key_value(room)) {
                assign_times(&mut times, positions, last);
                if version.is_none() {
                    created.push(room);
                }
            }
        }
    }
    if by_room.values().flatten().any(|&i| times[i] == 0) {
        // Cannot happen: every room of the group was just written.
        return Err(sqlx::Error::RowNotFound);
    }
    if let Some(inbox) = inbox {
        write_first_versions(tx, &created, inbox).await?;
    }
    Ok(times)
}

/// Takes the row lock of each of `rooms` (in the given, ascending, key order) and reserves one
/// time per message in each, after max(now, last + 1); with `inbox`, also writes each room's
/// new versions, its newest message's send_time (its new last time) and its members' unread
/// counts, moved by the group's messages (at most 100) where they were of the room's newest
/// message, and left unknown (NULL: counted when listed) where a release before them moved it.
/// A new room's row starts at now + extra, without versions (see [`write_first_versions`]); an
/// existing one moves to max(last + 1, now) + extra, where extra = VALUES(last_send_time) - now
/// because all rows share `now`. Returns each room's new last time where the answer tells it,
/// which saves reading it: for a single room LAST_INSERT_ID carries it back, for several
/// RETURNING does where the server has it; `None` means it must be read.
async fn reserve(
    tx: &mut MySqlConnection,
    rooms: &[(&str, &[usize])],
    now: i64,
    inbox: Option<&InboxWrites<'_>>,
    read_back: ReadBack,
) -> Result<Vec<Option<Reserved>>, sqlx::Error> {
    let single = rooms.len() == 1;
    let mut reserve: QueryBuilder<MySql> = QueryBuilder::new(match inbox {
        Some(_) => {
            "INSERT INTO rooms (room, last_send_time, newest_send_time, \
             unread_a, unread_b, unread_at) "
        }
        None => "INSERT INTO rooms (room, last_send_time) ",
    });
    reserve.push_values(rooms, |mut row, (room, positions)| {
        let last = now + extra(positions);
        row.push_bind(*room).push_bind(last);
        if let Some(inbox) = inbox {
            let (unread_a, unread_b) = inbox.unread.get(room).copied().unwrap_or_default();
            row.push_bind(last)
                .push_bind(unread_a.min(MAX_UNREAD.into()))
                .push_bind(unread_b.min(MAX_UNREAD.into()))
                .push_bind(last);
        }
    });
    reserve.push(if single {
        " ON DUPLICATE KEY UPDATE last_send_time = LAST_INSERT_ID(\
         GREATEST(last_send_time + 1 + VALUES(last_send_time) - "
    } else {
        " ON DUPLICATE KEY UPDATE last_send_time = \
         GREATEST(last_send_time + 1 + VALUES(last_send_time) - "
    });
    reserve.push_bind(now).push(", VALUES(last_send_time))");
    if single {
        reserve.push(")");
    }
    if let Some(inbox) = inbox {
        reserve.push(", ");
        push_versions(&mut reserve, rooms.iter().map(|(room, _)| *room), inbox);
        // Assignments take effect from left to right: last_send_time is the new one here, and
        // newest_send_time the old one until its own assignment, last.
        reserve.push(
            ", \
             unread_a = IF(unread_at <=> newest_send_time, \
                 LEAST(unread_a + VALUES(unread_a), 100), NULL), \
             unread_b = IF(unread_at <=> newest_send_time, \
                 LEAST(unread_b + VALUES(unread_b), 100), NULL), \
             unread_at = IF(unread_at <=> newest_send_time, last_send_time, NULL), \
             newest_send_time = last_send_time",
        );
    }
    if !single && read_back == ReadBack::Returning {
        reserve.push(" RETURNING room, last_send_time, version_a");
        let rows: Vec<(Vec<u8>, i64, Option<i64>)> =
            reserve.build_query_as().fetch_all(&mut *tx).await?;
        let by_room: HashMap<Vec<u8>, Reserved> = rows
            .into_iter()
            .map(|(room, last, version)| {
                let created = inbox.is_some() && version.is_none();
                (room, Reserved { last, created })
            })
            .collect();
        return Ok(rooms
            .iter()
            .map(|(room, _)| by_room.get(room.as_bytes()).copied())
            .collect());
    }
    let done = reserve.build().execute(&mut *tx).await?;
    if !single {
        return Ok(vec![None; rooms.len()]);
    }
    // One row affected: inserted with the value given; two: updated to LAST_INSERT_ID.
    let reserved = match (done.rows_affected(), i64::try_from(done.last_insert_id())) {
        (1, _) => Some(Reserved {
            last: now + extra(rooms[0].1),
            created: inbox.is_some(),
        }),
        (2, Ok(last)) if last > 0 => Some(Reserved {
            last,
            created: false,
        }),
        _ => None,
    };
    Ok(vec![reserved])
}

/// Gives the rows that the upsert created (`rooms`) their first versions. The upsert leaves
/// them out of a new row: an `INSERT … ON DUPLICATE KEY UPDATE` whose new row meets another
/// room's row on a unique version index updates that other row instead of failing. Here a
/// clash of versions fails the attempt (1062), which is tried again.
async fn write_first_versions(
    tx: &mut MySqlConnection,
    rooms: &[&str],
    inbox: &InboxWrites<'_>,
) -> Result<(), sqlx::Error> {
    for chunk in rooms.chunks(STATEMENT_ROWS) {
        let mut update: QueryBuilder<MySql> = QueryBuilder::new("UPDATE rooms SET ");
        push_versions(&mut update, chunk.iter().copied(), inbox);
        update
            .push(" WHERE room IN ")
            .push_tuples(chunk, |mut row, room| {
                row.push_bind(*room);
            });
        update.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// `version_a = …, version_b = …`: each of `rooms` its new versions, never below its own
/// (NULL: a self-chat's version_b, which stays NULL).
fn push_versions<'q>(
    sql: &mut QueryBuilder<MySql>,
    rooms: impl Iterator<Item = &'q str> + Clone,
    inbox: &InboxWrites<'q>,
) {
    for column in ["version_a", "version_b"] {
        let odd = column == "version_b";
        if odd {
            sql.push(", ");
        }
        sql.push(format_args!("{column} = "));
        match inbox.versions {
            NewVersions::Counted(counted) => {
                let next = if odd {
                    next_odd(column)
                } else {
                    next_even(column)
                };
                sql.push(format_args!("GREATEST({next}, "));
                push_case(
                    sql,
                    rooms.clone().map(|room| {
                        let versions = counted.get(room);
                        let version = if odd {
                            versions.and_then(|v| v.second)
                        } else {
                            versions.map(|v| v.first)
                        };
                        (room, version)
                    }),
                );
                sql.push(")");
            }
            NewVersions::Clock(offsets, spread) => {
                spread.push_version(sql, column, |sql, part| {
                    push_case(
                        sql,
                        rooms.clone().map(|room| {
                            let self_chat = room.split_once(':').is_some_and(|(a, b)| a == b);
                            // NULL for a self-chat's second member, who is its first.
                            let offset = offsets.get(room).filter(|_| !(odd && self_chat));
                            (room, offset.map(|offset| part.of(*offset)))
                        }),
                    );
                });
            }
        }
    }
}

/// The times of a room's messages (at `positions`), given the room's new last time.
fn assign_times(times: &mut [i64], positions: &[usize], last: i64) {
    for (offset, &i) in (0..).zip(positions) {
        times[i] = last - extra(positions) + offset;
    }
}

/// How many times beyond the first a room of the group reserves.
fn extra(positions: &[usize]) -> i64 {
    i64::try_from(positions.len() - 1).unwrap_or(i64::MAX)
}
