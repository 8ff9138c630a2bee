//! What keeps a member's inbox versions apart across shards: each shard's unique version
//! indexes cover only its own rows, so the clock part of a room's versions (a version is
//! `2 t + p`) ends in the first byte of the room's keyspace id, which the shard's range holds.

use sqlx::MySqlPool;

/// The bytes that the ranges of `scripts/test-vitess`'s shards (-80, 80-) start their
/// keyspace ids with, by shard.
const FIRST_BYTES: [(i64, i64); 2] = [(0x00, 0x7f), (0x80, 0xff)];

/// Asserts that every version on each shard of `shards` (-80, 80-) has a clock part whose
/// lowest byte is in the shard's range, so that no two shards can write one version.
pub async fn assert_versions_carry_their_shards_byte(shards: &[MySqlPool]) {
    for (shard, (low, high)) in shards.iter().zip(FIRST_BYTES) {
        let (versions, outside): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(version_a) + COUNT(version_b) AS SIGNED), \
             CAST(COALESCE(SUM((version_a DIV 2) MOD 256 NOT BETWEEN ? AND ?), 0) \
             + COALESCE(SUM((version_b DIV 2) MOD 256 NOT BETWEEN ? AND ?), 0) AS SIGNED) \
             FROM rooms",
        )
        .bind(low)
        .bind(high)
        .bind(low)
        .bind(high)
        .fetch_one(shard)
        .await
        .unwrap();
        assert!(
            versions > 0,
            "the shard of {low:#x}..={high:#x} has versions"
        );
        assert_eq!(
            outside, 0,
            "versions outside the shard of {low:#x}..={high:#x}"
        );
    }
}
