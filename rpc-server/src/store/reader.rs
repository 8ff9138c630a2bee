//! Page reads. A fixed set of reader tasks, each holding its own connection (see
//! [`super::connection`]), take reads from one queue, so a read costs one round trip to the
//! database and the number of reads running at once is bounded by the number of readers.

use std::time::Instant;

use im_domain::{Direction, PageRequest};
use sqlx::mysql::MySqlPool;
use tokio::sync::oneshot;

use super::StoreError;
use super::connection::{HeldConnection, is_connection_error};

/// Most reads waiting for a reader; beyond it a pull is refused at once as overloaded.
const QUEUE_CAPACITY: usize = 8192;

/// A row of a page read.
#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub(super) send_time: i64,
    pub(super) sender: Vec<u8>,
    pub(super) text: String,
    pub(super) client_msg_id: Option<Vec<u8>>,
}

struct Read {
    room: String,
    direction: Direction,
    bound: i64,
    rows: u64,
    deadline: Instant,
    reply: oneshot::Sender<Result<Vec<MessageRow>, StoreError>>,
}

#[derive(Clone)]
pub(super) struct Reader {
    queue: flume::Sender<Read>,
}

impl Reader {
    /// Starts `readers` reader tasks; they end when the last `Reader` clone is dropped.
    pub(super) fn start(pool: &MySqlPool, readers: usize) -> Self {
        let (queue, waiting) = flume::bounded(QUEUE_CAPACITY);
        for _ in 0..readers.max(1) {
            tokio::spawn(read_loop(
                waiting.clone(),
                HeldConnection::autocommit(pool.clone()),
            ));
        }
        Self { queue }
    }

    /// The rows of `req`'s page, read before `deadline`.
    pub(super) async fn read(
        &self,
        req: &PageRequest,
        deadline: Instant,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Read {
                room: req.room.key().to_owned(),
                direction: req.direction,
                bound: req.bound(),
                rows: req.rows_to_fetch() as u64,
                deadline,
                reply,
            })
            .map_err(|_| StoreError::Overloaded)?;
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(_)) => Err(StoreError::Internal("the reader stopped".to_owned())),
            Err(_) => Err(StoreError::timed_out()),
        }
    }
}

async fn read_loop(waiting: flume::Receiver<Read>, mut connection: HeldConnection) {
    while let Ok(read) = waiting.recv_async().await {
        // Its caller gave up: not worth a round trip.
        if read.reply.is_closed() || Instant::now() >= read.deadline {
            continue;
        }
        let mut result = read_once(&mut connection, &read).await;
        if let Err(Some(err)) = &result
            && is_connection_error(err)
        {
            // A connection that broke while idle (the database restarted): once more on a
            // fresh one.
            result = read_once(&mut connection, &read).await;
        }
        let _ = read.reply.send(result.map_err(|err| match err {
            Some(err) => StoreError::from(err),
            None => StoreError::timed_out(),
        }));
    }
}

/// One attempt; `Err(None)` when the deadline passed first.
async fn read_once(
    connection: &mut HeldConnection,
    read: &Read,
) -> Result<Vec<MessageRow>, Option<sqlx::Error>> {
    let sql = match read.direction {
        Direction::Forward => {
            "SELECT send_time, sender, text, client_msg_id FROM messages \
             WHERE room = ? AND send_time >= ? ORDER BY send_time ASC LIMIT ?"
        }
        Direction::Backward => {
            "SELECT send_time, sender, text, client_msg_id FROM messages \
             WHERE room = ? AND send_time <= ? ORDER BY send_time DESC LIMIT ?"
        }
    };
    let attempt = async {
        let conn = connection.get().await?;
        sqlx::query_as::<_, MessageRow>(sql)
            .bind(read.room.as_str())
            .bind(read.bound)
            .bind(read.rows)
            .fetch_all(conn)
            .await
    };
    let result = tokio::time::timeout_at(read.deadline.into(), attempt)
        .await
        .map_err(|_| None)
        .and_then(|rows| rows.map_err(Some));
    if let Err(err) = &result {
        connection.after_error(err.as_ref()).await;
    }
    result
}
