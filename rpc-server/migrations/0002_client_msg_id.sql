-- The id a client gives a message, scoped to (room, sender): a resend with the same id finds the
-- stored message instead of storing it again. Messages sent without one keep NULL, which the
-- unique index allows any number of times. Only adds: messages stored before pull as they did.
ALTER TABLE messages ADD COLUMN client_msg_id VARBINARY(64) NULL;
CREATE UNIQUE INDEX messages_by_client_msg_id ON messages (room, sender, client_msg_id);
