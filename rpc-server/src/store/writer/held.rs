//! What a lane holds between its queue and its commits: the sends it took and has not
//! committed yet, and the rooms (and members) its commits under way hold, so that a commit
//! beside a slow one takes only sends that no commit under way holds up (see [`super::lane`]).

use std::collections::{HashMap, VecDeque};

use im_domain::Room;
use tokio::sync::mpsc;

use super::{MAX_BATCH, Pending};

/// Most sends a lane takes from its queue to look past those that must wait.
pub(super) const MOST_HELD: usize = 2 * MAX_BATCH;

/// The sends a lane took from its queue and has not committed yet, and what its commits under
/// way hold.
pub(super) struct Held {
    pub(super) waiting: VecDeque<Pending>,
    /// Whether commits under way are followed at all: only a lane that commits beside a slow
    /// commit needs them, and following them costs every send a few allocations.
    pub(super) tracks: bool,
    /// Rooms, and members with counter versions, of the commits under way: how many hold each.
    rooms: HashMap<String, usize>,
    members: HashMap<String, usize>,
}

impl Held {
    pub(super) fn new(tracks: bool) -> Self {
        Self {
            waiting: VecDeque::new(),
            tracks,
            rooms: HashMap::new(),
            members: HashMap::new(),
        }
    }

    /// Takes what is queued, up to [`MOST_HELD`] held.
    pub(super) fn take_from(&mut self, queue: &mut mpsc::Receiver<Pending>, closed: &mut bool) {
        while self.waiting.len() < MOST_HELD {
            match queue.try_recv() {
                Ok(pending) => self.waiting.push_back(pending),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    *closed = true;
                    break;
                }
            }
        }
    }

    fn is_free(&self, pending: &Pending, members_too: bool) -> bool {
        let room = pending.msg.room();
        let held_room = self.rooms.contains_key(room.key());
        let held_member = members_too
            && room
                .members()
                .any(|m| self.members.contains_key(m.as_str()));
        !(held_room || held_member)
    }

    pub(super) fn any_free(&self, members_too: bool) -> bool {
        self.waiting.iter().any(|p| self.is_free(p, members_too))
    }

    /// Up to [`MAX_BATCH`] sends that no commit under way holds up, in order, now held by them.
    pub(super) fn free_batch(&mut self, members_too: bool) -> Vec<Pending> {
        let mut batch = Vec::new();
        let mut rest = VecDeque::with_capacity(self.waiting.len());
        while let Some(pending) = self.waiting.pop_front() {
            if batch.len() < MAX_BATCH && self.is_free(&pending, members_too) {
                batch.push(pending);
            } else {
                rest.push_back(pending);
            }
        }
        self.waiting = rest;
        for pending in batch.iter().filter(|_| self.tracks) {
            let room = pending.msg.room();
            *self.rooms.entry(room.key().to_owned()).or_default() += 1;
            if members_too {
                for member in room.members() {
                    *self.members.entry(member.as_str().to_owned()).or_default() += 1;
                }
            }
        }
        batch
    }

    /// A commit of sends to `rooms` ended.
    pub(super) fn release(&mut self, rooms: &[Room], members_too: bool) {
        for room in rooms {
            release(&mut self.rooms, room.key());
            if members_too {
                for member in room.members() {
                    release(&mut self.members, member.as_str());
                }
            }
        }
    }
}

fn release(holders: &mut HashMap<String, usize>, key: &str) {
    if let Some(count) = holders.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            holders.remove(key);
        }
    }
}
