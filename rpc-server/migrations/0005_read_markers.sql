-- Read markers live in the room's own row, one per member (a send_time; NULL: none yet), so a
-- marker write locks the same rows a send does, in the same order, and a listing reads them
-- with the versions. Only adds: the release before neither reads nor writes them.
ALTER TABLE rooms
    ADD COLUMN read_a BIGINT NULL,
    ADD COLUMN read_b BIGINT NULL;
