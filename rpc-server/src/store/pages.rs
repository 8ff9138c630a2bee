//! Many pages in one statement: the pulls of a batch read with one round trip per direction,
//! each page still one range read of the (room, send_time) key.
//!
//! The statement is a `UNION ALL` of one parenthesised range read per page, each tagged with
//! its page's place. Its text depends only on the number of parts, which is rounded up to a
//! power of two (the extra parts read nothing), so each connection prepares a handful of
//! statements once and reuses them.

use futures::future::BoxFuture;
use im_domain::{Direction, PageRequest};
use sqlx::mysql::MySqlConnection;
use sqlx::{MySql, QueryBuilder};

use super::page::MessageRow;
use super::reader::Query;

/// Pages of one direction, read together.
pub(super) struct PageBatch<'a> {
    pub(super) pages: Vec<&'a PageRequest>,
    pub(super) direction: Direction,
}

/// A row of a batch read: the place of its page in the batch, and the message.
#[derive(sqlx::FromRow)]
pub(super) struct BatchRow {
    pub(super) page: i64,
    #[sqlx(flatten)]
    pub(super) row: MessageRow,
}

impl Query for PageBatch<'_> {
    type Rows = Vec<BatchRow>;

    fn fetch<'c>(
        &'c self,
        conn: &'c mut MySqlConnection,
    ) -> BoxFuture<'c, Result<Self::Rows, sqlx::Error>> {
        let (compare, order) = match self.direction {
            Direction::Forward => (">=", "ASC"),
            Direction::Backward => ("<=", "DESC"),
        };
        Box::pin(async move {
            let mut query: QueryBuilder<MySql> = QueryBuilder::new("");
            for part in 0..self.pages.len().next_power_of_two() {
                if part > 0 {
                    query.push(" UNION ALL ");
                }
                query.push(format_args!(
                    "(SELECT CAST({part} AS SIGNED) AS page, send_time, sender, text, \
                     client_msg_id FROM messages WHERE room = "
                ));
                // A part beyond the pages reads no room and no row.
                let (room, bound, rows) = match self.pages.get(part) {
                    Some(page) => {
                        let window = page.window();
                        (page.room().key(), window.bound(), window.rows_to_fetch())
                    }
                    None => ("", 0, 0),
                };
                query.push_bind(room);
                query.push(format_args!(" AND send_time {compare} "));
                query.push_bind(bound);
                query.push(format_args!(" ORDER BY send_time {order} LIMIT "));
                query.push_bind(rows as u64);
                query.push(")");
            }
            query.build_query_as::<BatchRow>().fetch_all(conn).await
        })
    }
}
