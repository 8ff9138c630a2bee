//! `im-load poll --inbox`: each receiver is a member of several rooms. It follows its inbox with
//! waiting listings and pulls every room that changed from where it left it, as an app with
//! many conversations would.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Api;
use crate::received::{Acks, Finishing, Phase, Received};
use crate::run::Room;

/// `members` members, each in about `2 * rooms / members` of `rooms` rooms; returns the rooms
/// and the members (receiver `i` is member `i`). Names carry the run id, so no earlier run's
/// messages are in them.
pub fn inbox_rooms(members: usize, rooms: usize) -> (Arc<Vec<Room>>, Vec<String>) {
    let run = fastrand::u32(..);
    let members: Vec<String> = (0..members.max(2))
        .map(|i| format!("i{run:x}m{i}"))
        .collect();
    let count = members.len();
    let rooms = (0..rooms.max(1))
        .map(|j| {
            // Pairs move apart as rooms outnumber members, so no pair repeats early.
            let (a, b) = (j % count, (j + 1 + j / count) % count);
            let pair = [members[a].clone(), members[b].clone()];
            let chat = if pair[0] <= pair[1] {
                format!("{}:{}", pair[0], pair[1])
            } else {
                format!("{}:{}", pair[1], pair[0])
            };
            Room {
                chat,
                members: pair,
            }
        })
        .collect();
    (Arc::new(rooms), members)
}

/// Follows `member`'s inbox until the senders are done and it has every message they sent in
/// its rooms (or catching up took too long).
pub async fn follow_inbox(
    api: Api,
    rooms: Arc<Vec<Room>>,
    member: String,
    acks: Acks,
    mut finishing: Finishing,
    wait_ms: i32,
) -> Received {
    let by_chat: HashMap<&str, usize> = rooms
        .iter()
        .enumerate()
        .filter(|(_, room)| room.members.contains(&member))
        .map(|(i, room)| (room.chat.as_str(), i))
        .collect();
    let mut received = Received::new(by_chat.values().copied());
    let mut room_cursors: HashMap<usize, i64> = HashMap::new();
    let (mut cursor, mut catch_up_until) = (0, None);
    loop {
        let phase = received.phase(&finishing, &mut catch_up_until);
        if phase == Phase::Done {
            break;
        }
        let sending = phase == Phase::Sending;
        let listed = tokio::select! {
            listed = api.chats(&member, cursor, if sending { wait_ms } else { 0 }) => listed,
            _ = finishing.changed(), if sending => continue,
        };
        let listing = match listed {
            Ok(listing) => listing,
            Err(kind) => {
                received.failed(kind);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        for chat in &listing.chats {
            let Some(&room) = by_chat.get(chat.as_str()) else {
                continue;
            };
            let room_cursor = room_cursors.entry(room).or_insert(0);
            // The listing names the room: its new messages are committed, so pull them all.
            loop {
                match api.pull(chat, *room_cursor, 100, false, 0).await {
                    Ok(page) => {
                        received.take(&acks, room, page.messages);
                        *room_cursor = page.next_cursor;
                        if !page.has_more {
                            break;
                        }
                    }
                    Err(kind) => {
                        received.failed(kind);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        cursor = listing.next_cursor;
    }
    received
}
