use std::time::Duration;

use crate::error::InvalidInput;
use crate::message::StoredMessage;
use crate::room::Room;

pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Lowest position first, from `position >= cursor`.
    Forward,
    /// Highest position first, from `position <= cursor` (cursor 0: from the highest).
    Backward,
}

/// Where a walk over positions (a room's send_times, an inbox's versions) starts, how many rows
/// it returns and which way it goes. The cursor rules of pulls and of the inbox live here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    cursor: i64,
    limit: usize,
    direction: Direction,
}

impl Window {
    /// `limit` 0 means `default_limit`; a limit above [`MAX_LIMIT`] is clamped to it.
    pub fn parse(
        cursor: i64,
        limit: i64,
        reverse: bool,
        default_limit: usize,
    ) -> Result<Self, InvalidInput> {
        if cursor < 0 {
            return Err(InvalidInput::NegativeCursor(cursor));
        }
        let limit = match limit {
            ..0 => return Err(InvalidInput::NegativeLimit(limit)),
            0 => default_limit,
            n => usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)),
        };
        let direction = if reverse {
            Direction::Backward
        } else {
            Direction::Forward
        };
        Ok(Self {
            cursor,
            limit,
            direction,
        })
    }

    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The inclusive bound of the walk: the lowest position going forward, the highest going
    /// backward.
    pub fn bound(&self) -> i64 {
        match self.direction {
            Direction::Backward if self.cursor == 0 => i64::MAX,
            _ => self.cursor,
        }
    }

    /// How many rows to read: one more than the page, to learn whether more lie beyond it.
    pub fn rows_to_fetch(&self) -> usize {
        self.limit + 1
    }

    /// Cuts up to [`Self::rows_to_fetch`] rows, in walk order, to the page; returns it with
    /// `has_more` and `next_cursor`. `position` is a row's place in the walk.
    pub fn cut<T>(&self, mut rows: Vec<T>, position: impl Fn(&T) -> i64) -> (Vec<T>, bool, i64) {
        if rows.len() > self.limit {
            let next_cursor = position(&rows[self.limit]);
            rows.truncate(self.limit);
            return (rows, true, next_cursor);
        }
        let next_cursor = match self.direction {
            // A poller continues right after what it has seen; later commits get larger positions.
            Direction::Forward => rows
                .last()
                .map_or(self.cursor, |last| position(last).saturating_add(1)),
            Direction::Backward => 0,
        };
        (rows, false, next_cursor)
    }
}

/// One pull, checked: the room and the window over its send_times.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    room: Room,
    window: Window,
}

/// What a pull returns. `next_cursor` continues the walk with nothing repeated or skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub messages: Vec<StoredMessage>,
    pub has_more: bool,
    pub next_cursor: i64,
}

/// How long a forward call whose page is empty may wait for the next change: `wait_ms`
/// (0: not at all), at most `max`.
pub fn parse_wait(wait_ms: i64, max: Duration) -> Result<Duration, InvalidInput> {
    let wait_ms = u64::try_from(wait_ms).map_err(|_| InvalidInput::NegativeWait(wait_ms))?;
    Ok(Duration::from_millis(wait_ms).min(max))
}

impl PageRequest {
    /// `limit` 0 means the default; a limit above [`MAX_LIMIT`] is clamped to it.
    pub fn parse(chat: &str, cursor: i64, limit: i64, reverse: bool) -> Result<Self, InvalidInput> {
        let room = Room::parse(chat)?;
        let window = Window::parse(cursor, limit, reverse, DEFAULT_LIMIT)?;
        Ok(Self { room, window })
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Turns up to [`Window::rows_to_fetch`] rows, in walk order, into the page.
    pub fn page(&self, rows: Vec<StoredMessage>) -> Page {
        let (messages, has_more, next_cursor) = self.window.cut(rows, |m| m.send_time());
        Page {
            messages,
            has_more,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(times: &[i64]) -> Vec<StoredMessage> {
        times
            .iter()
            .map(|&send_time| {
                let room = crate::Room::parse("a:b").unwrap();
                StoredMessage::from_row(&room, b"a", "hi", send_time, None).unwrap()
            })
            .collect()
    }

    fn times(page: &Page) -> Vec<i64> {
        page.messages.iter().map(|m| m.send_time()).collect()
    }

    #[test]
    fn limit_defaults_to_10_and_is_clamped_to_100() {
        assert_eq!(
            PageRequest::parse("a:b", 0, 0, false).unwrap().window.limit,
            10
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, 7, false).unwrap().window.limit,
            7
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, 100, false)
                .unwrap()
                .window
                .limit,
            100
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, 101, false)
                .unwrap()
                .window
                .limit,
            100
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, i64::MAX, false)
                .unwrap()
                .window
                .limit,
            100
        );
    }

    #[test]
    fn negative_cursor_or_limit_is_invalid() {
        assert_eq!(
            PageRequest::parse("a:b", -1, 10, false),
            Err(InvalidInput::NegativeCursor(-1))
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, -1, false),
            Err(InvalidInput::NegativeLimit(-1))
        );
    }

    #[test]
    fn reverse_from_zero_starts_at_the_newest() {
        assert_eq!(
            PageRequest::parse("a:b", 0, 10, true)
                .unwrap()
                .window
                .bound(),
            i64::MAX
        );
        assert_eq!(
            PageRequest::parse("a:b", 5, 10, true)
                .unwrap()
                .window
                .bound(),
            5
        );
        assert_eq!(
            PageRequest::parse("a:b", 0, 10, false)
                .unwrap()
                .window
                .bound(),
            0
        );
    }

    #[test]
    fn a_full_page_points_at_the_next_message() {
        let req = PageRequest::parse("a:b", 0, 2, false).unwrap();
        assert_eq!(req.window.rows_to_fetch(), 3);
        let page = req.page(rows(&[10, 11, 12]));
        assert_eq!(times(&page), [10, 11]);
        assert!(page.has_more);
        assert_eq!(page.next_cursor, 12);

        let back = PageRequest::parse("a:b", 0, 2, true).unwrap();
        let page = back.page(rows(&[12, 11, 10]));
        assert_eq!(times(&page), [12, 11]);
        assert!(page.has_more);
        assert_eq!(page.next_cursor, 10);
    }

    #[test]
    fn the_last_forward_page_points_past_its_last_message() {
        let req = PageRequest::parse("a:b", 5, 2, false).unwrap();
        let page = req.page(rows(&[10, 11]));
        assert!(!page.has_more);
        assert_eq!(page.next_cursor, 12);
        let empty = req.page(vec![]);
        assert_eq!(empty.next_cursor, 5);
        assert!(!empty.has_more);
    }

    #[test]
    fn the_last_backward_page_points_nowhere() {
        let req = PageRequest::parse("a:b", 50, 5, true).unwrap();
        let page = req.page(rows(&[11, 10]));
        assert!(!page.has_more);
        assert_eq!(page.next_cursor, 0);
    }

    #[test]
    fn next_cursor_never_overflows() {
        let req = PageRequest::parse("a:b", 0, 5, false).unwrap();
        assert_eq!(req.page(rows(&[i64::MAX])).next_cursor, i64::MAX);
    }
}
