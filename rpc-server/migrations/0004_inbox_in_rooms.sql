-- The inbox moves into the rooms' rows: each room carries, for each of its two members, the
-- version of its latest commit in that member's inbox, and the send_time of its newest message.
-- A commit then moves the room's two index records instead of upserting two inbox rows: half
-- the database's work that the inbox added to every send. A self-chat has only version_a.
-- Listings walk (member_a, version_a) and (member_b, version_b) and merge the two.
ALTER TABLE rooms
    ADD COLUMN member_a VARBINARY(64) AS (SUBSTRING_INDEX(room, ':', 1)) STORED,
    ADD COLUMN member_b VARBINARY(64) AS (SUBSTRING_INDEX(room, ':', -1)) STORED,
    ADD COLUMN version_a BIGINT NULL,
    ADD COLUMN version_b BIGINT NULL,
    ADD COLUMN newest_send_time BIGINT NULL,
    ADD INDEX rooms_by_version_a (member_a, version_a),
    ADD INDEX rooms_by_version_b (member_b, version_b);

UPDATE rooms AS r JOIN inbox AS i ON i.room = r.room AND i.member = r.member_a
SET r.version_a = i.version, r.newest_send_time = i.last_send_time;

UPDATE rooms AS r JOIN inbox AS i ON i.room = r.room AND i.member = r.member_b
SET r.version_b = i.version
WHERE r.member_a <> r.member_b;

-- The inbox table stays for replicas of the release before while a rolling upgrade replaces
-- them; nothing of this release reads or writes it.
