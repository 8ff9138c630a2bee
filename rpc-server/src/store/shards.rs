//! Which shard of a Vitess keyspace holds a room, so that a group's transaction stays on one
//! shard (vtgate runs with `transaction_mode` SINGLE and refuses one that would not). The
//! keyspace shards rooms by the `xxhash` vindex (deploy/vitess/vschema.json): a room's keyspace
//! id is the XXH64 of its key, its bytes little-endian, and a shard holds the keyspace ids from
//! its range's start up to, not including, its end. The ranges are read from vtgate (`SHOW
//! VITESS_SHARDS`) at start, every few seconds after, and at once after vtgate refused a
//! transaction as spanning shards (a reshard moved the ranges).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use std::str::FromStr;

use sqlx::MySqlPool;
use sqlx::mysql::MySqlConnectOptions;
use tokio::sync::Notify;

use super::{Internal, StoreError};

/// How often the ranges are read again when nothing is amiss.
const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// A shard's range of keyspace ids, (start, end); an empty bound is open.
type Range = (Vec<u8>, Vec<u8>);

#[derive(Clone, Default)]
pub(super) struct Shards {
    ranges: Arc<RwLock<Vec<Range>>>,
    stale: Arc<Notify>,
}

impl Shards {
    /// Reads the ranges of the keyspace that `url` names through `pool` now, and keeps them
    /// fresh while the pool is open.
    pub(super) async fn follow(pool: MySqlPool, url: &str) -> Result<Self, StoreError> {
        let options = MySqlConnectOptions::from_str(url)?;
        let Some(keyspace) = options.get_database().map(str::to_owned) else {
            let missing = "IM_DB_VITESS: the URL names no keyspace".to_owned();
            return Err(StoreError::Internal(Internal::DatabaseUrl(missing)));
        };
        let shards = Self::default();
        shards.refresh(&pool, &keyspace).await?;
        let following = shards.clone();
        tokio::spawn(async move {
            while !pool.is_closed() {
                let stale = following.stale.notified();
                let _ = tokio::time::timeout(REFRESH_INTERVAL, stale).await;
                if let Err(err) = following.refresh(&pool, &keyspace).await {
                    tracing::warn!(%err, "cannot read the keyspace's shards");
                }
            }
        });
        Ok(shards)
    }

    async fn refresh(&self, pool: &MySqlPool, keyspace: &str) -> Result<(), sqlx::Error> {
        let names: Vec<String> = sqlx::raw_sql("SHOW VITESS_SHARDS")
            .fetch_all(pool)
            .await?
            .iter()
            .filter_map(|row| sqlx::Row::try_get::<Vec<u8>, _>(row, 0).ok())
            .filter_map(|name| String::from_utf8(name).ok())
            .collect();
        let ranges = parse_ranges(&names, keyspace);
        if ranges.is_empty() {
            tracing::warn!(keyspace, ?names, "vtgate names no shard of the keyspace");
            return Ok(());
        }
        let mut known = self.ranges.write().unwrap_or_else(|e| e.into_inner());
        if *known != ranges && splits_within_a_byte(&ranges) {
            // A member's versions are kept apart across shards by that byte (versions.rs).
            tracing::error!(
                keyspace,
                ?names,
                "shards split within a keyspace id's first byte: two of them may give one \
                 member's rooms the same inbox version; split on whole bytes (docs/scaling.md)"
            );
        }
        *known = ranges;
        Ok(())
    }

    /// Has the ranges read again at once.
    pub(super) fn stale(&self) {
        self.stale.notify_one();
    }

    /// The index of the shard holding `room` among the ranges known now.
    pub(super) fn of(&self, room: &str) -> usize {
        let id = keyspace_id(room);
        let ranges = self.ranges.read().unwrap_or_else(|e| e.into_inner());
        ranges
            .iter()
            .position(|(start, end)| {
                start.as_slice() <= id.as_slice()
                    && (end.is_empty() || id.as_slice() < end.as_slice())
            })
            .unwrap_or(0)
    }
}

/// The keyspace id that the `xxhash` vindex gives `room`.
pub(super) fn keyspace_id(room: &str) -> [u8; 8] {
    xxhash_rust::xxh64::xxh64(room.as_bytes(), 0).to_le_bytes()
}

/// The ranges of `keyspace`'s shards named in `names` ("keyspace/start-end", hex bounds).
fn parse_ranges(names: &[String], keyspace: &str) -> Vec<Range> {
    let mut ranges: Vec<Range> = names
        .iter()
        .filter_map(|name| {
            let (space, shard) = name.split_once('/')?;
            let (start, end) = shard.split_once('-')?;
            (space == keyspace).then(|| Some((hex(start)?, hex(end)?)))?
        })
        .collect();
    ranges.sort();
    ranges
}

/// Whether a bound of `ranges` lies inside a first byte (`-4080`), not between two.
fn splits_within_a_byte(ranges: &[Range]) -> bool {
    let within = |bound: &Vec<u8>| bound.iter().skip(1).any(|byte| *byte != 0);
    ranges
        .iter()
        .any(|(start, end)| within(start) || within(end))
}

fn hex(bound: &str) -> Option<Vec<u8>> {
    (0..bound.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(bound.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_from_shard_names() {
        let names = ["im/80-", "im/-80", "other/-"].map(String::from);
        assert_eq!(
            parse_ranges(&names, "im"),
            vec![(vec![], vec![0x80]), (vec![0x80], vec![])]
        );
        let four = ["im/-40", "im/40-80", "im/80-c0", "im/c0-"].map(String::from);
        assert_eq!(parse_ranges(&four, "im").len(), 4);
        assert!(!splits_within_a_byte(&parse_ranges(&four, "im")));
        let padded = ["im/-4000", "im/4000-"].map(String::from);
        assert!(!splits_within_a_byte(&parse_ranges(&padded, "im")));
        let fine = ["im/-4080", "im/4080-"].map(String::from);
        assert!(splits_within_a_byte(&parse_ranges(&fine, "im")));
    }

    #[test]
    fn keyspace_ids_are_xxh64_little_endian() {
        // The reference value of XXH64 with seed 0 for "a".
        assert_eq!(keyspace_id("a"), 0xd24e_c4f1_a98c_6e5b_u64.to_le_bytes());
        // Rooms that vtgate placed on -80 and on 80-.
        for (room, shard) in [("wa105:wb105", 0), ("wa100:wb100", 0), ("wa0:wb0", 1)] {
            assert_eq!(keyspace_id(room)[0] >= 0x80, shard == 1, "{room}");
        }
    }
}
