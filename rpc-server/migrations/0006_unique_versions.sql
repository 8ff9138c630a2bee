-- A member's versions are unique: each index of the rooms' versions becomes unique, under the
-- same name (the release before forces these indexes by name). The versions stored so far are
-- unique already: they came from the members' counters. Versions taken from the database's
-- clock rely on it: two rooms of one member that take the same version meet here (1062), and
-- the later commit is tried again. (Only on an update: an INSERT ... ON DUPLICATE KEY UPDATE
-- whose new row met another row here would update that other row, so a room's first row is
-- created without versions first.)
ALTER TABLE rooms
    DROP INDEX rooms_by_version_a,
    ADD UNIQUE INDEX rooms_by_version_a (member_a, version_a),
    DROP INDEX rooms_by_version_b,
    ADD UNIQUE INDEX rooms_by_version_b (member_b, version_b);
