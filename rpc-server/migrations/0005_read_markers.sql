-- Read markers live in the room's own row, one per member (a send_time; NULL: none yet), so a
-- marker write locks the same rows a send does, in the same order, and a listing reads them
-- with the versions. Beside them, each member's unread count (the other member's messages after
-- its marker, at most 100), kept by every send and marker write in the same row, and the
-- newest send_time the counts are of: a count whose unread_at is not the room's
-- newest_send_time (a send of the release before moved the room) is counted again from the
-- messages when listed. Only adds: the release before neither reads nor writes them.
ALTER TABLE rooms
    ADD COLUMN read_a BIGINT NULL,
    ADD COLUMN read_b BIGINT NULL,
    ADD COLUMN unread_a INT NULL,
    ADD COLUMN unread_b INT NULL,
    ADD COLUMN unread_at BIGINT NULL;

-- The rooms that already have messages: nothing is marked read yet, so a member's count is the
-- other member's messages (a self-chat counts 0).
UPDATE rooms AS r
SET r.unread_a = IF(r.member_a = r.member_b, 0, LEAST(100,
        (SELECT COUNT(*) FROM messages AS m WHERE m.room = r.room AND m.sender = r.member_b))),
    r.unread_b = IF(r.member_a = r.member_b, 0, LEAST(100,
        (SELECT COUNT(*) FROM messages AS m WHERE m.room = r.room AND m.sender = r.member_a))),
    r.unread_at = r.newest_send_time
WHERE r.newest_send_time IS NOT NULL;
