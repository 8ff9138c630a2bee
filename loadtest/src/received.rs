//! What a receiver of `im-load poll` got, and where it stands: shared by the receivers that
//! follow rooms (`poll`) and those that follow inboxes (`inbox`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::watch;

/// How long receivers may take to catch up once the senders stopped.
const CATCH_UP: Duration = Duration::from_secs(30);

/// When each acknowledged message was acknowledged, by text (unique in the run).
pub(crate) type Acks = Arc<Mutex<HashMap<String, Instant>>>;

/// Set once the senders are done: how many sends each room acknowledged.
pub(crate) type Finishing = watch::Receiver<Option<Arc<HashMap<usize, usize>>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Sending,
    /// Waiting could only delay the end now.
    CatchingUp,
    Done,
}

pub(crate) struct Received {
    /// What the receiver got of each room it follows, in order.
    pub(crate) rooms: HashMap<usize, Vec<(i64, String)>>,
    pub(crate) latency: Histogram<u64>,
    /// Failed calls, by kind.
    pub(crate) errors: BTreeMap<String, u64>,
}

impl Received {
    pub(crate) fn new(rooms: impl IntoIterator<Item = usize>) -> Self {
        Self {
            rooms: rooms.into_iter().map(|room| (room, Vec::new())).collect(),
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            errors: BTreeMap::new(),
        }
    }

    /// Counts a failed call; the caller backs off before the next.
    pub(crate) fn failed(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Where the receiver stands: the senders still send; or they are done and it catches up
    /// until it holds all they acknowledged in its rooms, or for [`CATCH_UP`] at most.
    pub(crate) fn phase(
        &self,
        finishing: &Finishing,
        catch_up_until: &mut Option<Instant>,
    ) -> Phase {
        let Some(acked) = finishing.borrow().clone() else {
            return Phase::Sending;
        };
        let until = *catch_up_until.get_or_insert_with(|| Instant::now() + CATCH_UP);
        let has_all = self
            .rooms
            .iter()
            .all(|(room, got)| got.len() >= acked.get(room).copied().unwrap_or(0));
        if has_all || Instant::now() > until {
            Phase::Done
        } else {
            Phase::CatchingUp
        }
    }

    /// Takes `messages` of `room`, each with its delay since its sender's acknowledgement.
    pub(crate) fn take(&mut self, acks: &Acks, room: usize, messages: Vec<(i64, String)>) {
        let now = Instant::now();
        let acks = acks.lock().expect("acks lock");
        for (send_time, text) in messages {
            // Received before its sender saw the acknowledgement: no delay.
            let delay = acks.get(&text).map_or(Duration::ZERO, |acked| now - *acked);
            let _ = self.latency.record((delay.as_micros() as u64).max(1));
            self.rooms.entry(room).or_default().push((send_time, text));
        }
    }
}
