//! Exactly-once sends: which messages of a group are new. The unique index on (room, sender,
//! client_msg_id) decides; a look-up saves a retry (see the module comment of [`super`]).

use std::collections::HashMap;

use im_domain::NewMessage;
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use crate::store::STATEMENT_ROWS;

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

/// What the look-up says of one message of a group, before its send_time is known.
#[derive(Clone, Copy)]
pub(super) enum Verdict {
    New,
    Stored {
        send_time: i64,
    },
    /// The same id and text as the earlier new message at this position of the group.
    SameAs(usize),
    Conflict,
}

impl Verdict {
    /// What the message came to, given the send_times reserved for the new messages.
    pub(super) fn outcome(&self, position: usize, times: &[i64]) -> Outcome {
        match *self {
            Verdict::New => Outcome::Stored {
                send_time: times[position],
            },
            Verdict::Stored { send_time } => Outcome::AlreadyStored { send_time },
            Verdict::SameAs(earlier) => Outcome::AlreadyStored {
                send_time: times[earlier],
            },
            Verdict::Conflict => Outcome::IdConflict,
        }
    }
}

/// Which messages of the group are new: with `look_up`, one look-up of every client_msg_id of
/// the group (none when it carries none); without, only the same id twice in the group is
/// found, and an id stored before meets the unique index at the insert (1062), after which
/// the group is tried again with the look-up.
pub(super) async fn deduplicate(
    conn: &mut MySqlConnection,
    msgs: &[&NewMessage],
    look_up: bool,
) -> Result<Vec<Verdict>, sqlx::Error> {
    let with_ids: Vec<&NewMessage> = msgs
        .iter()
        .copied()
        .filter(|msg| look_up && msg.client_msg_id().is_some())
        .collect();
    // Every id known so far: what a send with it and the same text comes to, and that text.
    let mut known: HashMap<IdKey, (Verdict, String)> = HashMap::new();
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
            let stored = Verdict::Stored {
                send_time: row.send_time,
            };
            known.insert(
                (row.room, row.sender, row.client_msg_id),
                (stored, row.text),
            );
        }
    }
    Ok(msgs
        .iter()
        .enumerate()
        .map(|(position, msg)| {
            let Some(id) = msg.client_msg_id() else {
                return Verdict::New;
            };
            let key = (
                msg.room().key().as_bytes().to_vec(),
                msg.sender().as_str().as_bytes().to_vec(),
                id.as_str().as_bytes().to_vec(),
            );
            match known.get(&key) {
                Some((verdict, text)) if text == msg.text().as_str() => *verdict,
                Some(_) => Verdict::Conflict,
                None => {
                    // A later send of the group with the same id is a duplicate of this one.
                    let text = msg.text().as_str().to_owned();
                    known.insert(key, (Verdict::SameAs(position), text));
                    Verdict::New
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
