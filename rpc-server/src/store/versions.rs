//! Where a room's inbox versions come from (SPEC *Chats*; the argument is in docs/design.md,
//! "Inbox versions").
//!
//! Every version is `2 t + p`: `t` is a time in microseconds on the database's clock, or a
//! counter that leaps ahead of it, and `p` is 0 in the index of a room's first member
//! (`version_a`) and 1 in its second's (`version_b`), so a member's versions in the two
//! indexes never meet and each index's uniqueness makes them unique per member.
//!
//! - [`InboxVersions::Counter`]: from each member's counter row (`members`), under its lock, as
//!   the release before did. The counter leaps to twice the database's clock, so it follows
//!   on from versions taken from the clock.
//! - [`InboxVersions::Clock`]: from the database's clock, written in the room's own row by the
//!   statement that locks it: a send touches only its room's rows.
//!
//! Either way, a version `v` is written no later than `v / 2 + settle` (microseconds on the
//! database's clock): a commit that took longer from taking its versions (the counters, or the
//! statement's clock) to writing them writes fresh ones before it commits ([`restamp`], and
//! `writer::recount` for counters). A listing answers only versions below
//! `2 (now - settle)`, read with shared locks: every version that can still commit below that
//! line is already written, and the listing waits for its transaction to end. So a version
//! below a cursor handed out can never appear later.

use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::STATEMENT_ROWS;
use super::shards::keyspace_id;

/// How a commit gives its rooms their new inbox versions, and how listings read them. A switch
/// goes through `Mixed`: replicas of two neighbouring settings serve one database safely, any
/// other pair does not (docs/operations.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InboxVersions {
    /// From the members' counter rows, under their locks, and listings read plainly: the way
    /// of the release before (beside which it runs), and of a Galera cluster, whose nodes each
    /// have a clock.
    Counter,
    /// From the counters, timed as clock versions are, and listings with a line: beside
    /// replicas of either other setting, while a switch is under way.
    Mixed,
    /// From the database's clock, in the room's row; listings with a line.
    Clock,
}

impl InboxVersions {
    /// Whether versions are timed and listings answer below a line (see the module comment).
    pub(super) fn settled(self) -> bool {
        self != Self::Counter
    }
}

/// Rounds of fresh versions one attempt writes at most before it gives up (and is tried again
/// later): a database slower than the settle time cannot take clock versions.
pub(super) const MAX_RESTAMPS: usize = 3;

/// The error of an attempt whose versions kept taking longer than the settle time: the
/// connection is closed (rolling the transaction back) and the group tried again.
pub(super) fn written_too_late() -> sqlx::Error {
    sqlx::Error::Protocol("inbox versions kept taking longer than IM_INBOX_SETTLE_MS".into())
}

/// The database's clock in microseconds since the epoch, at the statement's start (a literal,
/// for `concat!`).
macro_rules! now_us {
    () => {
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6))"
    };
}
pub(super) use now_us;

/// [`now_us!`] as a constant.
pub(super) const NOW_US: &str = now_us!();

/// Where the clock part `t` of a room's versions lies, beside the statement's clock: one
/// database's unique version indexes keep a member's versions apart, but a keyspace's shards
/// each have their own, so there `t` also tells the shards apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClockSpread {
    /// `t` = the statement's clock + the room's place in the statement, or the room's `t` + 1
    /// where that is higher.
    OneDatabase,
    /// Through vtgate, `t` always ends in the first byte of the room's keyspace id: the
    /// statement's clock rounded down to a multiple of 256, + 256 (so above the clock), + 256 ×
    /// the number of rooms before it in the statement with the same byte, or the 256-window
    /// after the room's `t` where that is higher; + the byte. Rooms on different shards differ
    /// in that byte while shard boundaries are whole bytes (at most 256 shards, as Vitess's
    /// usual splits are), so their versions never meet; `t` stays above the clock by less than
    /// 512 µs and 256 µs more for each earlier room of the statement with the same byte (or a
    /// window more than the room's last).
    Shards,
}

/// Which part of a room's offset (see [`ClockSpread::offsets`]) a statement binds.
#[derive(Clone, Copy)]
pub(super) enum OffsetPart {
    Whole,
    /// Its multiple of 256.
    Window,
    /// Its lowest byte.
    Byte,
}

impl OffsetPart {
    pub(super) fn of(self, offset: i64) -> i64 {
        match self {
            Self::Whole => offset,
            Self::Window => offset - offset.rem_euclid(256),
            Self::Byte => offset.rem_euclid(256),
        }
    }
}

impl ClockSpread {
    pub(super) fn new(vitess: bool) -> Self {
        if vitess {
            Self::Shards
        } else {
            Self::OneDatabase
        }
    }

    /// The rooms' parts of `t` for `rooms` (distinct, in the order written), each apart from
    /// the others' at the statement's clock (a room's own later window may still meet another
    /// of the statement's on its shard's unique index: the attempt is tried again).
    pub(super) fn offsets<'r>(self, rooms: impl IntoIterator<Item = &'r str>) -> Vec<i64> {
        let mut earlier = [0_i64; 256];
        (rooms.into_iter().zip(0..))
            .map(|(room, place)| match self {
                Self::OneDatabase => place,
                Self::Shards => {
                    let byte = usize::from(keyspace_id(room)[0]);
                    earlier[byte] += 1;
                    256 * (earlier[byte] - 1) + i64::try_from(byte).unwrap_or(0)
                }
            })
            .collect()
    }

    /// Pushes the new version of `column` (`version_a`, even, or `version_b`, odd) from the
    /// clock, above the column's own; `offset` pushes SQL giving that part of the room's
    /// offset (NULL leaves the column NULL).
    pub(super) fn push_version(
        self,
        sql: &mut QueryBuilder<MySql>,
        column: &str,
        mut offset: impl FnMut(&mut QueryBuilder<MySql>, OffsetPart),
    ) {
        let odd = column == "version_b";
        match self {
            Self::OneDatabase => {
                let next = if odd {
                    next_odd(column)
                } else {
                    next_even(column)
                };
                sql.push(format_args!("GREATEST({next}, 2 * ({NOW_US} + "));
                offset(sql, OffsetPart::Whole);
                sql.push(if odd { ") + 1)" } else { "))" });
            }
            Self::Shards => {
                sql.push(concat!(
                    "2 * (GREATEST(",
                    now_us!(),
                    " DIV 256 * 256 + 256 + "
                ));
                offset(sql, OffsetPart::Window);
                sql.push(format_args!(
                    ", COALESCE({column} DIV 512 * 256 + 256, 0)) + "
                ));
                offset(sql, OffsetPart::Byte);
                sql.push(if odd { ") + 1" } else { ")" });
            }
        }
    }
}

/// The lowest version of a room's first member that is above `column` (even).
pub(super) fn next_even(column: &str) -> String {
    format!("COALESCE({column} + 2 - MOD({column}, 2), 0)")
}

/// The lowest version of a room's second member that is above `column` (odd).
pub(super) fn next_odd(column: &str) -> String {
    format!("COALESCE({column} + 1 + MOD({column}, 2), 0)")
}

/// `CASE room WHEN … THEN … END`: each room its value (NULL: none).
pub(super) fn push_case<'q>(
    sql: &mut QueryBuilder<MySql>,
    values: impl Iterator<Item = (&'q str, Option<i64>)>,
) {
    sql.push("CASE room");
    for (room, value) in values {
        sql.push(" WHEN ").push_bind(room);
        sql.push(" THEN ").push_bind(value);
    }
    sql.push(" END");
}

/// Writes fresh clock versions of `rooms` (a group's, in its order) when the statement that
/// wrote them took longer than `settle`, so that none of them can be below a listing's line by
/// the time it is written: one statement for each [`STATEMENT_ROWS`] rooms, again while it
/// takes longer. A room's offset in the group (see [`ClockSpread::offsets`]) keeps its
/// versions apart from the group's other rooms'.
pub(super) async fn restamp(
    tx: &mut MySqlConnection,
    rooms: &[&str],
    spread: ClockSpread,
    took: Duration,
    settle: Duration,
) -> Result<(), sqlx::Error> {
    if took <= settle {
        return Ok(());
    }
    let offsets = spread.offsets(rooms.iter().copied());
    for (chunk, offsets) in rooms
        .chunks(STATEMENT_ROWS)
        .zip(offsets.chunks(STATEMENT_ROWS))
    {
        for round in 1.. {
            if round > MAX_RESTAMPS {
                return Err(written_too_late());
            }
            metrics::counter!("im_inbox_restamps_total").increment(1);
            let mut update: QueryBuilder<MySql> = QueryBuilder::new("UPDATE rooms SET ");
            for column in ["version_a", "version_b"] {
                if column == "version_b" {
                    update.push(", ");
                }
                update.push(format_args!("{column} = IF({column} IS NULL, NULL, "));
                spread.push_version(&mut update, column, |sql, part| {
                    let values = chunk.iter().zip(offsets);
                    push_case(sql, values.map(|(room, o)| (*room, Some(part.of(*o)))));
                });
                update.push(")");
            }
            update
                .push(" WHERE room IN ")
                .push_tuples(chunk, |mut row, room| {
                    row.push_bind(*room);
                });
            let started = Instant::now();
            update.build().execute(&mut *tx).await?;
            if started.elapsed() <= settle {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn through_vtgate_rooms_of_two_shards_never_share_a_clock_part() {
        // The base is a multiple of 256, so a clock part ends in its offset's lowest byte: the
        // room's first keyspace id byte. wa105:wb105 is on -80, wa0:wb0 on 80- (shards.rs).
        let rooms: Vec<String> = (0..3000).map(|i| format!("wa{i}:wb{i}")).collect();
        let offsets = ClockSpread::Shards.offsets(rooms.iter().map(String::as_str));
        for (room, offset) in rooms.iter().zip(&offsets) {
            assert_eq!(offset % 256, i64::from(keyspace_id(room)[0]), "{room}");
        }
        let apart: std::collections::HashSet<&i64> = offsets.iter().collect();
        assert_eq!(apart.len(), rooms.len(), "a statement's rooms stay apart");
        // Ahead of the clock by 256 for each earlier room with the same byte, not by place.
        assert!(
            offsets.iter().all(|offset| *offset < 256 * 40),
            "{offsets:?}"
        );
        assert!(keyspace_id("wa105:wb105")[0] < 0x80 && keyspace_id("wa0:wb0")[0] >= 0x80);
        assert_eq!(ClockSpread::OneDatabase.offsets(["a:b", "c:d"]), [0, 1]);
    }
}
