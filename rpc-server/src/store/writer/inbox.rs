//! The inbox half of a group's transaction: every room of the group gets a new version in the
//! inbox of each of its members. This takes the member locks (step 1 of the order in
//! [`super`]); the versions are then written into the rooms' own rows with their send_times.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use im_domain::{Member, Room};
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::transaction::ReadBack;
use crate::store::STATEMENT_ROWS;
use crate::store::versions::{MAX_RESTAMPS, NOW_US, next_even, next_odd, written_too_late};

/// A room's new version in the inbox of its first member and of its second (none for a
/// self-chat).
pub(in crate::store) struct RoomVersions {
    pub(in crate::store) first: i64,
    pub(in crate::store) second: Option<i64>,
}

/// Moves the version counter of every member of `rooms` (those of a group's messages, or the
/// room of a read marker) and returns each room's new versions, by room key. A room whose
/// messages all turn out to be duplicates leaves its versions unused: versions increase, they
/// need not be dense.
pub(in crate::store) async fn advance_counters<'a>(
    tx: &mut MySqlConnection,
    rooms: &[&'a Room],
    read_back: ReadBack,
) -> Result<HashMap<&'a str, RoomVersions>, sqlx::Error> {
    // Ascending member order is the lock order; each member's rooms in ascending key order.
    let mut by_member: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for room in rooms {
        for member in room.members() {
            by_member
                .entry(member.as_str())
                .or_default()
                .insert(room.key());
        }
    }
    // Each room takes two values of its member's counter: one of them even (for the room's
    // first member), one odd (for its second); see `versions`.
    let counters: Vec<(&str, i64)> = by_member
        .iter()
        .map(|(member, rooms)| (*member, 2 * rooms.len() as i64))
        .collect();
    let mut last_versions: HashMap<Vec<u8>, i64> = HashMap::new();
    for chunk in counters.chunks(STATEMENT_ROWS) {
        let mut advance: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO members (member, last_version) ");
        advance.push_values(chunk, |mut row, (member, taken)| {
            row.push_bind(member.as_bytes())
                .push(format_args!("2 * {NOW_US} + "))
                .push_bind_unseparated(*taken);
        });
        // The counter moves on by what it takes, and leaps to twice the clock when that is
        // ahead (VALUES(last_version) is twice the clock plus what it takes).
        advance.push(format_args!(
            " ON DUPLICATE KEY UPDATE last_version = \
             GREATEST(last_version + VALUES(last_version) - 2 * {NOW_US}, VALUES(last_version))"
        ));
        if read_back == ReadBack::Returning {
            advance.push(" RETURNING member, last_version");
            last_versions.extend(advance.build_query_as().fetch_all(&mut *tx).await?);
            continue;
        }
        advance.build().execute(&mut *tx).await?;
        // The counters just moved are ours until commit, so these are the values just written.
        let mut read: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT member, last_version FROM members WHERE member IN ");
        read.push_tuples(chunk, |mut row, (member, _)| {
            row.push_bind(member.as_bytes());
        });
        last_versions.extend(read.build_query_as().fetch_all(&mut *tx).await?);
    }

    // A member with `k` rooms in the group took `last - 2k + 1 ..= last`: its i-th room the
    // pair `last - 2k + 2i + 1` and the next, of which the one of the member's parity there.
    let mut versions: HashMap<(&str, &str), i64> = HashMap::new();
    for (member, rooms) in &by_member {
        let Some(&last) = last_versions.get(member.as_bytes()) else {
            // Cannot happen: every member of the group was just written.
            return Err(sqlx::Error::RowNotFound);
        };
        let first = last - 2 * rooms.len() as i64 + 1;
        for (i, room) in (0..).zip(rooms) {
            let pair = first + 2 * i;
            let parity = i64::from(!room.starts_with(&format!("{member}:")));
            let version = if pair.rem_euclid(2) == parity {
                pair
            } else {
                pair + 1
            };
            versions.insert((*member, *room), version);
        }
    }
    let mut by_room = HashMap::new();
    for room in rooms {
        let mut members = room.members();
        let version_of = |member: Option<&Member>| {
            member.and_then(|member| versions.get(&(member.as_str(), room.key())).copied())
        };
        let (Some(first), second) = (version_of(members.next()), version_of(members.next())) else {
            return Err(sqlx::Error::RowNotFound);
        };
        by_room.insert(room.key(), RoomVersions { first, second });
    }
    Ok(by_room)
}

/// Takes the counters of the members of `rooms` again and writes the rooms' versions from them,
/// while the versions written took longer than `settle` to write since their counters were taken
/// (`took`), and then while doing so again does: a counter leaps to the database's clock, and
/// beside replicas taking versions from the clock a version must be written within the settle
/// time of the clock it leapt to (see `versions`). The members' rows are this transaction's
/// already, so the counters move at once.
pub(in crate::store) async fn recount(
    tx: &mut MySqlConnection,
    rooms: &[&Room],
    read_back: ReadBack,
    mut took: Duration,
    settle: Duration,
) -> Result<(), sqlx::Error> {
    for round in 1.. {
        if took <= settle {
            break;
        }
        if round > MAX_RESTAMPS {
            return Err(written_too_late());
        }
        metrics::counter!("im_inbox_restamps_total").increment(1);
        let started = Instant::now();
        let versions = advance_counters(tx, rooms, read_back).await?;
        for chunk in rooms.chunks(STATEMENT_ROWS) {
            let mut update: QueryBuilder<MySql> = QueryBuilder::new("UPDATE rooms SET ");
            for (column, second) in [("version_a", false), ("version_b", true)] {
                update.push(if second { ", " } else { "" });
                // Never below the room's own version (NULL stays NULL: a self-chat's second).
                let next = if second {
                    next_odd(column)
                } else {
                    next_even(column)
                };
                update.push(format_args!("{column} = GREATEST({next}, CASE room"));
                for room in chunk {
                    let of_room = versions.get(room.key());
                    let version =
                        of_room.and_then(|v| if second { v.second } else { Some(v.first) });
                    update.push(" WHEN ").push_bind(room.key());
                    update.push(" THEN ").push_bind(version);
                }
                update.push(" END)");
            }
            update
                .push(" WHERE room IN ")
                .push_tuples(chunk, |mut row, room| {
                    row.push_bind(room.key());
                });
            update.build().execute(&mut *tx).await?;
        }
        took = started.elapsed();
    }
    Ok(())
}
