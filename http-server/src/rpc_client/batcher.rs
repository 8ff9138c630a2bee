//! One replica's calls of one kind, carried together: the one batcher behind sends, pulls,
//! waiting calls and single calls alike. What travels, and how, is its [`Exchange`]'s business.
//!
//! No timer. While fewer than `places` exchanges are under way, a call leaves at once with
//! whatever else is waiting; otherwise it waits for the next one to leave. At one connection a
//! call goes alone and at once; under load each exchange carries what gathered during the
//! previous ones, as the commit lanes do with sends.
//!
//! Calls that the replica gathers again ([`Exchange::GATHERED_AGAIN`]: sends, into its commit
//! lanes' groups) need not wait while the exchanges under way are slow (the oldest away for
//! [`SLOW_EXCHANGE`], as over a slow database link): then a call leaves at once in a place more,
//! up to [`SLOW_PLACES`] times `places`. Waiting would only add the length of an exchange to its
//! time, since the replica's lanes group it with the others anyway; and exchanges that slow are
//! too few for their own cost to matter.
//!
//! Two kinds of exchange. A plain one ([`Exchange::HOLDS`] false) answers what it carried, and
//! a caller that leaves after its call left just drops its answer. One that holds (the waiting
//! calls) hands calls over to the replica, which answers each in whichever exchange it is ready
//! by; so exchanges go on while any call is unanswered, a caller that leaves is named to the
//! replica as gone, and a failed exchange fails every call the replica held (it forgets them).
//!
//! Each place is a guard, given back when its exchange task ends, however it ends: a task that
//! panics drops the answers of what it carried (their callers get an error) and its place, and
//! the place's guard starts the next exchange when calls are still waiting.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::retry::Failed;

/// Names a call within its batcher, and to the replica for the calls it holds.
pub(super) type CallId = i64;

/// How calls of one kind travel to one replica.
pub(super) trait Exchange: Send + Sync + 'static {
    type Item: Send + 'static;
    type Reply: Send + 'static;
    /// The `method` label of the client metrics.
    const METHOD: &'static str;
    /// The most calls one exchange carries.
    const MAX_ITEMS: usize;
    /// Whether the replica holds what it is handed until it has an answer (see the module).
    const HOLDS: bool;
    /// Whether the replica gathers these calls again, so that a call need not wait for slow
    /// exchanges (see the module).
    const GATHERED_AGAIN: bool;

    /// Whether `item`, queued at `queued` and about to leave, goes to another replica instead
    /// (answered [`Failed::Withheld`]; plain exchanges only).
    fn withholds(&self, _item: &Self::Item, _queued: Instant) -> bool {
        false
    }

    /// Carries `carried` and returns the answers it brought back (of some calls it carried;
    /// of a holding exchange, of any call handed over before, too).
    fn exchange(
        &self,
        carried: Carried<Self::Item>,
    ) -> impl Future<Output = Result<Vec<(CallId, Self::Reply)>, Failed>> + Send;
}

/// What one exchange carries.
pub(super) struct Carried<Item> {
    /// The session of a holding exchange: a new one after each failure, so that the replica
    /// tells it from the one it forgot, and a late failure of an old one fails nothing new.
    pub session: u64,
    /// Each call, with its deadline.
    pub items: Vec<(CallId, Item, Instant)>,
    /// Calls handed over earlier whose callers left (holding exchanges only).
    pub gone: Vec<CallId>,
    /// Whether calls are still unanswered, so the replica should hold on for answers.
    pub hold: bool,
}

/// How long the oldest exchange under way must have been away for a gathered-again call not
/// to wait: well above an exchange's time on a busy machine next to its database (a few ms).
pub(super) const SLOW_EXCHANGE: Duration = Duration::from_millis(20);

/// How many times `places` exchanges may be under way while they are slow.
pub(super) const SLOW_PLACES: usize = 16;

type Answer<Reply> = oneshot::Sender<Result<Reply, Failed>>;

pub(super) struct Batcher<E: Exchange> {
    exchange: E,
    places: usize,
    state: Mutex<State<E::Item, E::Reply>>,
}

struct State<Item, Reply> {
    /// Calls not yet carried, in order, with their deadlines and when they were queued.
    pending: Vec<(CallId, Item, Instant, Instant)>,
    /// The answers owed: of pending calls, and of calls the replica holds.
    owed: HashMap<CallId, Answer<Reply>>,
    gone: Vec<CallId>,
    places_taken: usize,
    /// When each exchange under way left (on tokio's clock, which tests can pause and move), by
    /// its number: the first is the oldest.
    under_way: BTreeMap<u64, tokio::time::Instant>,
    next_exchange: u64,
    next_id: CallId,
    session: u64,
}

impl<Item, Reply> State<Item, Reply> {
    /// Whether an exchange should leave now that `places_taken` are under way.
    fn work_for_another(&self) -> bool {
        !self.pending.is_empty()
            || !self.gone.is_empty()
            || (self.places_taken == 0 && !self.owed.is_empty())
    }
}

impl<E: Exchange> Batcher<E> {
    /// At most `places` exchanges of this batcher are under way at once (at least one), or
    /// [`SLOW_PLACES`] times as many while they are slow (see the module).
    pub(super) fn new(exchange: E, places: usize) -> Arc<Self> {
        Arc::new(Self {
            exchange,
            places: places.max(1),
            state: Mutex::new(State {
                pending: Vec::new(),
                owed: HashMap::new(),
                gone: Vec::new(),
                places_taken: 0,
                under_way: BTreeMap::new(),
                next_exchange: 0,
                next_id: 0,
                session: 0,
            }),
        })
    }

    /// `item`'s answer, carried by one of the next exchanges.
    pub(super) async fn call(
        self: &Arc<Self>,
        item: E::Item,
        deadline: Instant,
    ) -> Result<E::Reply, Failed> {
        let (answer, answered) = oneshot::channel();
        let (id, place) = {
            let mut state = self.lock();
            let id = state.next_id;
            state.next_id += 1;
            state.pending.push((id, item, deadline, Instant::now()));
            state.owed.insert(id, answer);
            (id, self.take_place(&mut state))
        };
        metrics::gauge!("im_rpc_client_calls_waiting", "method" => E::METHOD).increment(1.0);
        if let Some(place) = place {
            tokio::spawn(place.carry_while_owed());
        }
        // Once answered, the call is owed nothing, and this does nothing.
        let _leaving = Leaving { batcher: self, id };
        answered
            .await
            .unwrap_or_else(|_| Err(Failed::internal("the exchange ended without an answer")))
    }

    /// The exchange itself, for a call that goes alone past the batcher.
    pub(super) fn exchange(&self) -> &E {
        &self.exchange
    }

    fn lock(&self) -> MutexGuard<'_, State<E::Item, E::Reply>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more exchange, when one is free, or the exchanges under way are slow
    /// and the calls are gathered again (see the module).
    fn take_place(self: &Arc<Self>, state: &mut State<E::Item, E::Reply>) -> Option<Place<E>> {
        let free = state.places_taken < self.places;
        let slow = || state.places_taken < self.places * SLOW_PLACES && Self::slow(state);
        (free || slow()).then(|| {
            if !free {
                metrics::counter!("im_rpc_client_slow_exchange_places_total", "method" => E::METHOD)
                    .increment(1);
            }
            state.places_taken += 1;
            Place {
                batcher: self.clone(),
                exchange: None,
            }
        })
    }

    /// Whether the calls are gathered again and the oldest exchange under way is slow.
    fn slow(state: &State<E::Item, E::Reply>) -> bool {
        E::GATHERED_AGAIN
            && state
                .under_way
                .first_key_value()
                .is_some_and(|(_, left)| left.elapsed() >= SLOW_EXCHANGE)
    }

    /// `id`'s caller went away: its call is left out, or, held by the replica, named as gone.
    fn leave(self: &Arc<Self>, id: CallId) {
        let place = {
            let mut state = self.lock();
            if state.owed.remove(&id).is_none() {
                return;
            }
            let pending = state.pending.len();
            state.pending.retain(|(pending_id, ..)| *pending_id != id);
            if state.pending.len() < pending {
                metrics::gauge!("im_rpc_client_calls_waiting", "method" => E::METHOD)
                    .decrement(1.0);
                return;
            }
            state.gone.push(id);
            self.take_place(&mut state)
        };
        if let Some(place) = place {
            tokio::spawn(place.carry_while_owed());
        }
    }
}

/// One exchange task's right to run: given back when dropped.
struct Place<E: Exchange> {
    batcher: Arc<Batcher<E>>,
    /// The number of its exchange under way, if one is.
    exchange: Option<u64>,
}

impl<E: Exchange> Place<E> {
    /// Carries what is waiting, again and again, while there is any (or, of a holding
    /// exchange, while answers are owed and no other exchange is under way to bring them).
    async fn carry_while_owed(mut self) {
        let batcher = self.batcher.clone();
        loop {
            let (carried, answers) = {
                let mut state = batcher.lock();
                let nothing_new = state.pending.is_empty() && state.gone.is_empty();
                if nothing_new && (state.owed.is_empty() || state.places_taken > 1) {
                    return;
                }
                // A place beyond `places` is given back once the exchanges are no longer slow.
                if state.places_taken > batcher.places && !Batcher::<E>::slow(&state) {
                    return;
                }
                let leaving = state.pending.len().min(E::MAX_ITEMS);
                let rest = state.pending.split_off(leaving);
                let taken = std::mem::replace(&mut state.pending, rest);
                metrics::gauge!("im_rpc_client_calls_waiting", "method" => E::METHOD)
                    .decrement(taken.len() as f64);
                let mut items = Vec::with_capacity(taken.len());
                for (id, item, deadline, queued) in taken {
                    if E::HOLDS || !batcher.exchange.withholds(&item, queued) {
                        items.push((id, item, deadline));
                    } else if let Some(answer) = state.owed.remove(&id) {
                        let _ = answer.send(Err(Failed::Withheld));
                    }
                }
                if items.is_empty() && !E::HOLDS {
                    continue;
                }
                // A plain exchange's answers travel with it: dropped with it, should it panic.
                let answers: HashMap<_, _> = if E::HOLDS {
                    HashMap::new()
                } else {
                    items
                        .iter()
                        .filter_map(|(id, ..)| state.owed.remove_entry(id))
                        .collect()
                };
                let gone = std::mem::take(&mut state.gone);
                let hold = E::HOLDS && !state.owed.is_empty();
                let session = state.session;
                let number = state.next_exchange;
                state.next_exchange += 1;
                state.under_way.insert(number, tokio::time::Instant::now());
                self.exchange = Some(number);
                let carried = Carried {
                    session,
                    items,
                    gone,
                    hold,
                };
                (carried, answers)
            };
            let session = carried.session;
            metrics::histogram!("im_rpc_client_batch_size", "method" => E::METHOD)
                .record(carried.items.len() as f64);
            let result = batcher.exchange.exchange(carried).await;
            self.hand_out(session, result, answers);
        }
    }

    fn hand_out(
        &mut self,
        session: u64,
        result: Result<Vec<(CallId, E::Reply)>, Failed>,
        mut answers: HashMap<CallId, Answer<E::Reply>>,
    ) {
        let mut state = self.batcher.lock();
        if let Some(number) = self.exchange.take() {
            state.under_way.remove(&number);
        }
        match result {
            Ok(replies) => {
                for (id, reply) in replies {
                    let answer = answers.remove(&id).or_else(|| state.owed.remove(&id));
                    if let Some(answer) = answer {
                        let _ = answer.send(Ok(reply));
                    }
                }
                // A plain exchange's calls left unanswered get "ended without an answer".
            }
            // A session ended before: its calls were failed then.
            Err(_) if E::HOLDS && session != state.session => {}
            Err(failed) if E::HOLDS => {
                // The replica forgot what it held; the next exchange starts a new session.
                state.session += 1;
                let waiting = state.pending.len();
                metrics::gauge!("im_rpc_client_calls_waiting", "method" => E::METHOD)
                    .decrement(waiting as f64);
                state.pending.clear();
                state.gone.clear();
                for (_, answer) in state.owed.drain() {
                    let _ = answer.send(Err(failed.clone()));
                }
            }
            Err(failed) => {
                for (_, answer) in answers {
                    let _ = answer.send(Err(failed.clone()));
                }
            }
        }
    }
}

thread_local! {
    /// Set while a place starts its successor: a runtime that is shutting down drops the new
    /// task unrun, and with it the successor's place, which must not start another in turn.
    static STARTING_SUCCESSOR: Cell<bool> = const { Cell::new(false) };
}

impl<E: Exchange> Drop for Place<E> {
    fn drop(&mut self) {
        let batcher = &self.batcher;
        let mut state = batcher.lock();
        state.places_taken -= 1;
        // Its exchange panicked, or its task was dropped with the runtime.
        if let Some(number) = self.exchange {
            state.under_way.remove(&number);
        }
        if STARTING_SUCCESSOR.get() {
            return;
        }
        // After a panic, or a call that came while this exchange was ending. Without a runtime
        // nothing can run, nor need to.
        let runtime = tokio::runtime::Handle::try_current();
        if let Ok(runtime) = runtime
            && state.work_for_another()
            && let Some(place) = batcher.take_place(&mut state)
        {
            drop(state);
            STARTING_SUCCESSOR.set(true);
            runtime.spawn(place.carry_while_owed());
            STARTING_SUCCESSOR.set(false);
        }
    }
}

/// Notes that a caller went away, when its call is dropped before its answer.
struct Leaving<'a, E: Exchange> {
    batcher: &'a Arc<Batcher<E>>,
    id: CallId,
}

impl<E: Exchange> Drop for Leaving<'_, E> {
    fn drop(&mut self) {
        self.batcher.leave(self.id);
    }
}

#[cfg(test)]
mod tests;
