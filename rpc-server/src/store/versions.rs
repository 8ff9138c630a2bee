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

/// The lowest version of a room's first member that is above `column` (even).
pub(super) fn next_even(column: &str) -> String {
    format!("COALESCE({column} + 2 - MOD({column}, 2), 0)")
}

/// The lowest version of a room's second member that is above `column` (odd).
pub(super) fn next_odd(column: &str) -> String {
    format!("COALESCE({column} + 1 + MOD({column}, 2), 0)")
}

/// Writes fresh clock versions of `rooms` (a group's, in its order) when the statement that
/// wrote them took longer than `settle`, so that none of them can be below a listing's line by
/// the time it is written: one statement for each [`STATEMENT_ROWS`] rooms, again while it
/// takes longer. A room's place in the group (FIELD, from 1, past the earlier statements')
/// keeps its versions apart from the group's other rooms'.
pub(super) async fn restamp(
    tx: &mut MySqlConnection,
    rooms: &[&str],
    took: Duration,
    settle: Duration,
) -> Result<(), sqlx::Error> {
    if took <= settle {
        return Ok(());
    }
    for (chunk, offset) in rooms
        .chunks(STATEMENT_ROWS)
        .zip((0..).step_by(STATEMENT_ROWS))
    {
        for round in 1.. {
            if round > MAX_RESTAMPS {
                return Err(written_too_late());
            }
            metrics::counter!("im_inbox_restamps_total").increment(1);
            let mut update: QueryBuilder<MySql> = QueryBuilder::new("");
            for (column, next, parity) in [
                ("version_a", next_even("version_a"), ""),
                ("version_b", next_odd("version_b"), " + 1"),
            ] {
                update.push(if parity.is_empty() {
                    "UPDATE rooms SET "
                } else {
                    ", "
                });
                update.push(format_args!(
                    "{column} = IF({column} IS NULL, NULL, GREATEST({next}, 2 * ({NOW_US} + "
                ));
                update.push_bind(offset as i64).push(" + FIELD(room");
                for room in chunk {
                    update.push(", ").push_bind(*room);
                }
                update.push(format_args!(")){parity}))"));
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
