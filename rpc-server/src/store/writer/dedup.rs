//! Exactly-once sends: which messages of a group are new, given the room locks the transaction
//! holds (see the module comment of [`super`]).

use std::collections::HashMap;

use im_domain::NewMessage;
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::transaction::STATEMENT_ROWS;

/// What one message of a committed group comes to.
pub(super) enum Outcome {
    Stored {
        send_time: i64,
    },
    /// Its client_msg_id names a message stored before, with the same text.
    AlreadyStored {
        send_time: i64,
    },
    /// Its client_msg_id names a message stored before, with another text.
    IdConflict,
}

/// One look-up of every client_msg_id of the group (none when it carries none); `times` are
/// the send_times reserved for the messages.
pub(super) async fn deduplicate(
    conn: &mut MySqlConnection,
    msgs: &[&NewMessage],
    times: &[i64],
) -> Result<Vec<Outcome>, sqlx::Error> {
    let with_ids: Vec<&NewMessage> = msgs
        .iter()
        .copied()
        .filter(|msg| msg.client_msg_id().is_some())
        .collect();
    // Every id already stored, with its message's send_time and text.
    let mut known: HashMap<IdKey, (i64, String)> = HashMap::new();
    for chunk in with_ids.chunks(STATEMENT_ROWS) {
        let mut lookup: QueryBuilder<MySql> = QueryBuilder::new(
            "SELECT room, sender, client_msg_id, send_time, text FROM messages \
             WHERE (room, sender, client_msg_id) IN ",
        );
        lookup.push_tuples(chunk, |mut row, msg| {
            row.push_bind(msg.room().key())
                .push_bind(msg.sender().as_str())
                .push_bind(msg.client_msg_id().map(|id| id.as_str()));
        });
        let rows: Vec<StoredIdRow> = lookup.build_query_as().fetch_all(&mut *conn).await?;
        for row in rows {
            known.insert(
                (row.room, row.sender, row.client_msg_id),
                (row.send_time, row.text),
            );
        }
    }
    Ok(msgs
        .iter()
        .zip(times)
        .map(|(msg, &send_time)| {
            let Some(id) = msg.client_msg_id() else {
                return Outcome::Stored { send_time };
            };
            let key = (
                msg.room().key().as_bytes().to_vec(),
                msg.sender().as_str().as_bytes().to_vec(),
                id.as_str().as_bytes().to_vec(),
            );
            match known.get(&key) {
                Some((stored_time, text)) if text == msg.text().as_str() => {
                    Outcome::AlreadyStored {
                        send_time: *stored_time,
                    }
                }
                Some(_) => Outcome::IdConflict,
                None => {
                    // A later send of the group with the same id is a duplicate of this one.
                    known.insert(key, (send_time, msg.text().as_str().to_owned()));
                    Outcome::Stored { send_time }
                }
            }
        })
        .collect())
}

/// (room, sender, client_msg_id) as stored: the bytes of validated UTF-8, so they compare
/// equal as bytes.
type IdKey = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A stored message that a client_msg_id of the group names.
#[derive(sqlx::FromRow)]
struct StoredIdRow {
    room: Vec<u8>,
    sender: Vec<u8>,
    client_msg_id: Vec<u8>,
    send_time: i64,
    text: String,
}
