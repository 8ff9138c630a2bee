-- One row per room: the last send_time handed out in it. Its row lock serialises the sends of
-- one room across every rpc-server replica, so send_time order is commit order.
CREATE TABLE IF NOT EXISTS rooms (
    room VARBINARY(129) NOT NULL,
    last_send_time BIGINT NOT NULL,
    PRIMARY KEY (room)
) ENGINE = InnoDB;

-- A room's history is one contiguous range of the primary key: every pull is one range read.
-- Ids are VARBINARY so they compare byte for byte (no case folding, no PAD SPACE).
CREATE TABLE IF NOT EXISTS messages (
    room VARBINARY(129) NOT NULL,
    send_time BIGINT NOT NULL,
    sender VARBINARY(64) NOT NULL,
    text TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (room, send_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
