-- Each member's inbox version counter. Its row lock orders the inbox changes of one member
-- across every rpc-server replica, as a room's row orders the room's sends.
CREATE TABLE IF NOT EXISTS members (
    member VARBINARY(64) NOT NULL,
    last_version BIGINT NOT NULL,
    PRIMARY KEY (member)
) ENGINE = InnoDB;

-- A member's inbox: one row per room, with the version of the room's latest commit and the
-- send_time of its newest message. A listing walks (member, version): its cost grows with the
-- page, not with the member's number of rooms.
CREATE TABLE IF NOT EXISTS inbox (
    member VARBINARY(64) NOT NULL,
    room VARBINARY(129) NOT NULL,
    version BIGINT NOT NULL,
    last_send_time BIGINT NOT NULL,
    PRIMARY KEY (member, room),
    UNIQUE KEY inbox_by_version (member, version)
) ENGINE = InnoDB;

-- Only adds: every room that already has messages enters the inboxes of its members (a
-- self-chat once), versions in the order of the rooms' newest send_time.
INSERT INTO inbox (member, room, version, last_send_time)
SELECT member, room,
       ROW_NUMBER() OVER (PARTITION BY member ORDER BY newest, room),
       newest
FROM (
    SELECT SUBSTRING_INDEX(room, ':', 1) AS member, room, MAX(send_time) AS newest
    FROM messages GROUP BY room
    UNION
    SELECT SUBSTRING_INDEX(room, ':', -1), room, MAX(send_time)
    FROM messages GROUP BY room
) AS room_members;

INSERT INTO members (member, last_version)
SELECT member, MAX(version) FROM inbox GROUP BY member;
