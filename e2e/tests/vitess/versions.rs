//! What keeps a member's inbox versions apart across shards: each shard's unique version
//! indexes cover only its own rows, so the clock part of a room's versions (a version is
//! `2 t + p`) ends in the first byte of the room's keyspace id (XXH64 of the room, its bytes
//! little-endian), which no room of another shard has.

use sqlx::MySqlPool;

/// Asserts that on every shard of `shards` each room's versions end their clock part in the
/// room's first keyspace id byte, and that there are versions to check.
pub async fn assert_versions_carry_their_rooms_byte(shards: &[MySqlPool]) {
    for shard in shards {
        let rows: Vec<(Vec<u8>, Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT room, version_a, version_b FROM rooms")
                .fetch_all(shard)
                .await
                .unwrap();
        let mut checked = 0;
        for (room, version_a, version_b) in rows {
            let byte = xxhash_rust::xxh64::xxh64(&room, 0).to_le_bytes()[0];
            for version in [version_a, version_b].into_iter().flatten() {
                let room = String::from_utf8_lossy(&room);
                assert_eq!((version / 2) % 256, i64::from(byte), "{room}: {version}");
                checked += 1;
            }
        }
        assert!(checked > 0, "every shard has versions");
    }
}
