//! The statements of one group's transaction: move the members' inbox counters (unless versions
//! come from the clock), leave out duplicates, reserve send_times (and write the rooms' new
//! versions) under the room locks, insert the messages, commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use im_domain::{NewMessage, Room};
use sqlx::{Executor, MySql, QueryBuilder};

use super::dedup::{Outcome, Verdict, deduplicate};
use super::inbox::{advance_counters, recount};
use super::reserve::{InboxWrites, NewVersions, reserve_times, unread_added};
use crate::clock::Clock;
use crate::store::STATEMENT_ROWS;
use crate::store::connection::HeldConnection;
use crate::store::versions::{ClockSpread, InboxVersions, restamp};

/// How a group learns the values its upserts wrote (rooms' last send_times, members' counters).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadBack {
    /// From the upsert itself (MariaDB 10.5 and later): one statement less.
    Returning,
    /// From a second statement (MySQL has no `INSERT … RETURNING`).
    Select,
}

impl ReadBack {
    /// What a server answering `SELECT VERSION()` with `version` allows.
    pub fn for_server(version: &str) -> Self {
        let mut numbers = version
            .split(['.', '-'])
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        if version.contains("MariaDB") && (major, minor) >= (10, 5) {
            Self::Returning
        } else {
            Self::Select
        }
    }
}

/// How a lane's groups are committed.
#[derive(Clone, Copy)]
pub(super) struct CommitSettings {
    /// Where the rooms' inbox versions come from; `None`: commits leave the inboxes alone (only
    /// to measure what the inbox costs).
    pub(super) inbox: Option<InboxVersions>,
    /// The longest the statement writing clock versions may take (see `versions`).
    pub(super) settle: Duration,
    pub(super) spread: ClockSpread,
    pub(super) read_back: ReadBack,
}

/// Commits `msgs` in one transaction; returns what became of each, in order. Looks up their
/// client_msg_ids first only with `look_up_ids` (see [`deduplicate`]). Sets `commit_sent` just
/// before COMMIT.
pub(super) async fn commit(
    connection: &mut HeldConnection,
    clock: &dyn Clock,
    msgs: &[&NewMessage],
    how: &CommitSettings,
    look_up_ids: bool,
    commit_sent: &AtomicBool,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let CommitSettings {
        inbox,
        settle,
        spread,
        read_back,
    } = *how;
    // Every time reserved below is at least 1 and at least the clock.
    let now = clock.now_micros().max(1);
    // The connection has autocommit off: the first statement opens the transaction.
    let tx = connection.get().await?;
    let (verdicts, times) = match inbox {
        Some(InboxVersions::Clock) => {
            // The ids first, without a lock: a message that another replica stores meanwhile
            // with one of them meets the unique index at the insert (1062), and the group is
            // tried again and finds it. Only rooms that get a message are locked.
            let verdicts = deduplicate(tx, msgs, look_up_ids).await?;
            let new = rooms_of(msgs, |i| matches!(verdicts[i], Verdict::New));
            let offsets = spread.offsets(new.keys().copied());
            let offsets: HashMap<&str, i64> = new.keys().copied().zip(offsets).collect();
            let inbox = InboxWrites {
                versions: NewVersions::Clock(&offsets, spread),
                unread: unread_added(msgs, &new),
            };
            let started = Instant::now();
            let times = reserve_times(tx, &new, msgs.len(), now, Some(&inbox), read_back).await?;
            let rooms: Vec<&str> = new.keys().copied().collect();
            restamp(tx, &rooms, spread, started.elapsed(), settle).await?;
            (verdicts, times)
        }
        Some(taken @ (InboxVersions::Counter | InboxVersions::Mixed)) => {
            // The members' rows first, then the ids (the unique index backs the look-up up), and
            // only rooms that get a message are locked. Mixed, from the counters to the rooms'
            // versions is timed: one written too late is written again from fresh counters.
            let rooms: Vec<_> = msgs.iter().map(|msg| msg.room()).collect();
            let started = Instant::now();
            let versions = advance_counters(tx, &rooms, read_back).await?;
            let verdicts = deduplicate(tx, msgs, look_up_ids).await?;
            let new = rooms_of(msgs, |i| matches!(verdicts[i], Verdict::New));
            let inbox = InboxWrites {
                versions: NewVersions::Counted(&versions),
                unread: unread_added(msgs, &new),
            };
            let times = reserve_times(tx, &new, msgs.len(), now, Some(&inbox), read_back).await?;
            let mut written: Vec<&Room> = Vec::new();
            for positions in new.values() {
                written.push(msgs[positions[0]].room());
            }
            if taken.settled() {
                recount(tx, &written, read_back, started.elapsed(), settle).await?;
            }
            (verdicts, times)
        }
        None => {
            // The rooms' rows first, and the ids looked up under them.
            let times = reserve_times(
                tx,
                &rooms_of(msgs, |_| true),
                msgs.len(),
                now,
                None,
                read_back,
            )
            .await?;
            (deduplicate(tx, msgs, look_up_ids).await?, times)
        }
    };
    let outcomes: Vec<Outcome> = (0..msgs.len())
        .map(|i| verdicts[i].outcome(i, &times))
        .collect();
    let new: Vec<(&NewMessage, i64)> = msgs
        .iter()
        .zip(&outcomes)
        .filter_map(|(msg, outcome)| match outcome {
            Outcome::Stored { send_time } => Some((*msg, *send_time)),
            _ => None,
        })
        .collect();
    for chunk in new.chunks(STATEMENT_ROWS) {
        let mut insert: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO messages (room, send_time, sender, text, client_msg_id) ",
        );
        insert.push_values(chunk, |mut row, (msg, send_time)| {
            row.push_bind(msg.room().key())
                .push_bind(*send_time)
                .push_bind(msg.sender().as_str())
                .push_bind(msg.text().as_str())
                .push_bind(msg.client_msg_id().map(|id| id.as_str()));
        });
        insert.build().execute(&mut *tx).await?;
    }
    commit_sent.store(true, Ordering::Relaxed);
    tx.execute("COMMIT").await?;
    Ok(outcomes)
}

/// The positions in `msgs` of the messages `keep` picks, by room key.
fn rooms_of<'a>(
    msgs: &[&'a NewMessage],
    keep: impl Fn(usize) -> bool,
) -> BTreeMap<&'a str, Vec<usize>> {
    let mut by_room: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, msg) in msgs.iter().enumerate() {
        if keep(i) {
            by_room.entry(msg.room().key()).or_default().push(i);
        }
    }
    by_room
}

#[cfg(test)]
mod tests {
    use super::ReadBack;

    #[test]
    fn only_mariadb_from_10_5_reads_written_values_back_with_returning() {
        for (version, expected) in [
            ("10.11.19-MariaDB-0+deb12u1", ReadBack::Returning),
            ("11.4.2-MariaDB-ubu2404", ReadBack::Returning),
            ("10.5.0-MariaDB", ReadBack::Returning),
            ("10.4.32-MariaDB", ReadBack::Select),
            ("8.4.3", ReadBack::Select),
            ("", ReadBack::Select),
        ] {
            assert_eq!(ReadBack::for_server(version), expected, "{version}");
        }
    }
}
