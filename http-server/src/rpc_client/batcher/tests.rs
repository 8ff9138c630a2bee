//! The batcher against a fake exchange that shows each exchange to the test and waits for the
//! test to say how it ends: with answers, failed, or in a panic.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::*;

/// How the test ends an exchange.
enum Outcome {
    Answer(Vec<(CallId, u32)>),
    Fail(Failed),
    Panic,
}

/// An exchange as the fake saw it.
struct Seen {
    session: u64,
    items: Vec<CallId>,
    gone: Vec<CallId>,
    hold: bool,
    end: oneshot::Sender<Outcome>,
}

impl Seen {
    fn answer(self, replies: &[(CallId, u32)]) {
        let _ = self.end.send(Outcome::Answer(replies.to_vec()));
    }

    /// Answers every call it carried with its id times ten.
    fn answer_all(self) {
        let replies: Vec<_> = self.items.iter().map(|&id| (id, id as u32 * 10)).collect();
        self.answer(&replies);
    }

    fn fail(self, failed: Failed) {
        let _ = self.end.send(Outcome::Fail(failed));
    }
}

struct Fake<const HOLDS: bool, const GATHERED_AGAIN: bool = false> {
    seen: mpsc::UnboundedSender<Seen>,
    /// Whether every call about to leave is kept back.
    withhold: std::sync::atomic::AtomicBool,
}

impl<const HOLDS: bool, const GATHERED_AGAIN: bool> Exchange for Fake<HOLDS, GATHERED_AGAIN> {
    type Item = ();
    type Reply = u32;
    const METHOD: &'static str = "test";
    const MAX_ITEMS: usize = 3;
    const HOLDS: bool = HOLDS;
    const GATHERED_AGAIN: bool = GATHERED_AGAIN;

    fn withholds(&self, _item: &(), _queued: Instant) -> bool {
        self.withhold.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn exchange(&self, carried: Carried<()>) -> Result<Vec<(CallId, u32)>, Failed> {
        let (end, ended) = oneshot::channel();
        let items = carried.items.iter().map(|(id, ..)| *id).collect();
        let (session, gone, hold) = (carried.session, carried.gone, carried.hold);
        self.seen
            .send(Seen {
                session,
                items,
                gone,
                hold,
                end,
            })
            .expect("the test watches");
        match ended.await.expect("the test ends every exchange") {
            Outcome::Answer(replies) => Ok(replies),
            Outcome::Fail(failed) => Err(failed),
            Outcome::Panic => panic!("the fake exchange panics, as a bug would"),
        }
    }
}

type Exchanges = mpsc::UnboundedReceiver<Seen>;

fn batcher<const HOLDS: bool>(places: usize) -> (Arc<Batcher<Fake<HOLDS>>>, Exchanges) {
    fake_batcher(places)
}

/// A batcher of calls the replica holds or not, and gathers again or not.
fn fake_batcher<const HOLDS: bool, const GATHERED_AGAIN: bool>(
    places: usize,
) -> (Arc<Batcher<Fake<HOLDS, GATHERED_AGAIN>>>, Exchanges) {
    let (seen, exchanges) = mpsc::unbounded_channel();
    let withhold = Default::default();
    (Batcher::new(Fake { seen, withhold }, places), exchanges)
}

/// A caller, as a task the test can also abort (a caller that goes away).
fn call<E: Exchange<Item = ()>>(batcher: &Arc<Batcher<E>>) -> JoinHandle<Result<E::Reply, Failed>> {
    let batcher = batcher.clone();
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(60);
        batcher.call((), deadline).await
    })
}

/// Runs other tasks until `fact` holds (a bounded number of turns, never a sleep).
async fn until(what: &str, fact: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if fact() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never came true: {what}");
}

async fn next(exchanges: &mut Exchanges) -> Seen {
    let seen = tokio::time::timeout(Duration::from_secs(10), exchanges.recv());
    seen.await
        .expect("an exchange leaves")
        .expect("the batcher lives")
}

impl<E: Exchange> Batcher<E> {
    fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    fn places_taken(&self) -> usize {
        self.lock().places_taken
    }
}

async fn reply<T>(caller: JoinHandle<Result<T, Failed>>) -> Result<T, Failed> {
    let answered = tokio::time::timeout(Duration::from_secs(10), caller);
    answered
        .await
        .expect("the caller is answered")
        .expect("the caller ends")
}

#[tokio::test]
async fn calls_that_gather_leave_together_and_each_gets_its_own_answer() {
    let (batcher, mut exchanges) = batcher::<false>(1);
    let first = call(&batcher);
    let carrying_first = next(&mut exchanges).await;
    assert_eq!(carrying_first.items, [0]);
    let later: Vec<_> = (0..4).map(|_| call(&batcher)).collect();
    until("four calls wait", || batcher.pending() == 4).await;
    carrying_first.answer_all();
    assert_eq!(reply(first).await.unwrap(), 0);
    // At most three to an exchange, in order.
    let second = next(&mut exchanges).await;
    assert_eq!(second.items, [1, 2, 3]);
    second.answer(&[(3, 33), (1, 11), (2, 22)]);
    let third = next(&mut exchanges).await;
    assert_eq!(third.items, [4]);
    third.answer_all();
    let answers: Vec<u32> = futures_answers(later).await;
    assert_eq!(answers, [11, 22, 33, 40]);
    until("the place is given back", || batcher.places_taken() == 0).await;
}

async fn futures_answers(callers: Vec<JoinHandle<Result<u32, Failed>>>) -> Vec<u32> {
    let mut answers = Vec::new();
    for caller in callers {
        answers.push(reply(caller).await.expect("answered"));
    }
    answers
}

#[tokio::test]
async fn no_more_exchanges_than_places_are_under_way() {
    let (batcher, mut exchanges) = batcher::<false>(2);
    let mut callers = vec![call(&batcher)];
    let first = next(&mut exchanges).await;
    callers.push(call(&batcher));
    let second = next(&mut exchanges).await;
    let third = call(&batcher);
    until("the third call waits", || batcher.pending() == 1).await;
    assert!(exchanges.try_recv().is_err(), "a third exchange left");
    first.answer_all();
    next(&mut exchanges).await.answer_all();
    second.answer_all();
    assert_eq!(futures_answers(callers).await.len(), 2);
    assert_eq!(reply(third).await.unwrap(), 20);
}

#[tokio::test]
async fn a_caller_that_leaves_before_its_call_left_is_left_out() {
    let (batcher, mut exchanges) = batcher::<false>(1);
    let first = call(&batcher);
    let carrying_first = next(&mut exchanges).await;
    let leaving = call(&batcher);
    let staying = call(&batcher);
    until("two calls wait", || batcher.pending() == 2).await;
    leaving.abort();
    until("the one that left is left out", || batcher.pending() == 1).await;
    carrying_first.answer_all();
    let second = next(&mut exchanges).await;
    assert_eq!(second.items, [2]);
    second.answer_all();
    assert_eq!(reply(first).await.unwrap(), 0);
    assert_eq!(reply(staying).await.unwrap(), 20);
}

#[tokio::test]
async fn a_failed_exchange_fails_the_calls_it_carried_only() {
    let (batcher, mut exchanges) = batcher::<false>(2);
    let carried = call(&batcher);
    let failing = next(&mut exchanges).await;
    let other = call(&batcher);
    let answering = next(&mut exchanges).await;
    failing.fail(Failed::Silent(Duration::from_secs(1)));
    assert!(matches!(reply(carried).await, Err(Failed::Silent(_))));
    answering.answer_all();
    assert_eq!(reply(other).await.unwrap(), 10);
}

#[tokio::test]
async fn a_replica_without_the_method_answers_each_caller_so_and_is_asked_again_later() {
    let (batcher, mut exchanges) = batcher::<false>(1);
    let first = call(&batcher);
    let carrying_first = next(&mut exchanges).await;
    let gathered: Vec<_> = (0..2).map(|_| call(&batcher)).collect();
    until("two calls wait", || batcher.pending() == 2).await;
    carrying_first.fail(Failed::NoBatches);
    next(&mut exchanges).await.fail(Failed::NoBatches);
    // Each caller makes its call alone: none is failed for it.
    assert!(matches!(reply(first).await, Err(Failed::NoBatches)));
    for caller in gathered {
        assert!(matches!(reply(caller).await, Err(Failed::NoBatches)));
    }
    let later = call(&batcher);
    next(&mut exchanges).await.answer_all();
    assert_eq!(reply(later).await.unwrap(), 30);
}

#[tokio::test]
async fn a_panicking_exchange_fails_its_calls_and_gives_its_place_back() {
    let (batcher, mut exchanges) = batcher::<false>(1);
    let carried = call(&batcher);
    let panicking = next(&mut exchanges).await;
    let waiting = call(&batcher);
    until("a call waits", || batcher.pending() == 1).await;
    let _ = panicking.end.send(Outcome::Panic);
    assert!(matches!(reply(carried).await, Err(Failed::Error(_))));
    // The one place came back, and carries what waited, then what comes.
    next(&mut exchanges).await.answer_all();
    assert_eq!(reply(waiting).await.unwrap(), 10);
    let later = call(&batcher);
    next(&mut exchanges).await.answer_all();
    assert_eq!(reply(later).await.unwrap(), 20);
    until("the place is given back", || batcher.places_taken() == 0).await;
}

#[tokio::test]
async fn a_holding_exchange_holds_on_until_every_call_is_answered() {
    let (batcher, mut exchanges) = batcher::<true>(2);
    let first = call(&batcher);
    let handing_over = next(&mut exchanges).await;
    assert!(handing_over.hold);
    handing_over.answer(&[]);
    // Nothing new, an answer owed: it holds on with nothing to hand over.
    let holding = next(&mut exchanges).await;
    assert_eq!((holding.items.len(), holding.hold), (0, true));
    holding.answer(&[(0, 7)]);
    assert_eq!(reply(first).await.unwrap(), 7);
    until("the place is given back", || batcher.places_taken() == 0).await;
}

#[tokio::test]
async fn a_caller_that_leaves_a_holding_exchange_is_named_gone() {
    let (batcher, mut exchanges) = batcher::<true>(2);
    let leaving = call(&batcher);
    let holding = next(&mut exchanges).await;
    leaving.abort();
    let naming = next(&mut exchanges).await;
    assert_eq!((naming.gone.clone(), naming.hold), (vec![0], false));
    naming.answer(&[]);
    holding.answer(&[]);
    until("both places are given back", || batcher.places_taken() == 0).await;
    assert!(
        exchanges.try_recv().is_err(),
        "an exchange left with nothing owed"
    );
}

#[tokio::test]
async fn a_lost_holding_exchange_fails_every_call_the_replica_held() {
    let (batcher, mut exchanges) = batcher::<true>(2);
    let first = call(&batcher);
    let holding_first = next(&mut exchanges).await;
    let second = call(&batcher);
    let handing_second = next(&mut exchanges).await;
    assert_eq!(handing_second.items, [1]);
    handing_second.fail(Failed::Silent(Duration::from_secs(12)));
    assert!(matches!(reply(first).await, Err(Failed::Silent(_))));
    assert!(matches!(reply(second).await, Err(Failed::Silent(_))));
    // A late answer of the lost session goes nowhere.
    holding_first.answer(&[(0, 1)]);
    until("both places are given back", || batcher.places_taken() == 0).await;
}

#[tokio::test]
async fn a_panicking_holding_exchange_is_followed_by_one_that_brings_the_answers() {
    let (batcher, mut exchanges) = batcher::<true>(1);
    let held = call(&batcher);
    let panicking = next(&mut exchanges).await;
    let _ = panicking.end.send(Outcome::Panic);
    // The replica still holds the call: the next exchange of the session brings its answer.
    let successor = next(&mut exchanges).await;
    assert!(successor.hold);
    successor.answer(&[(0, 5)]);
    assert_eq!(reply(held).await.unwrap(), 5);
}

#[tokio::test]
async fn a_late_failure_of_an_ended_session_fails_nothing_of_the_next() {
    let (batcher, mut exchanges) = batcher::<true>(2);
    let first = call(&batcher);
    let stale = next(&mut exchanges).await;
    let second = call(&batcher);
    let failing = next(&mut exchanges).await;
    failing.fail(Failed::internal("reset"));
    assert!(reply(first).await.is_err() && reply(second).await.is_err());
    // A new session, under way next to the old one's last exchange.
    let third = call(&batcher);
    let fresh = next(&mut exchanges).await;
    assert_eq!((stale.session, fresh.session), (0, 1));
    stale.fail(Failed::Silent(Duration::from_secs(12)));
    fresh.answer(&[(2, 9)]);
    assert_eq!(reply(third).await.unwrap(), 9);
}

/// A runtime shutting down drops every task, a successor's too: the places given back then must
/// not start successors over and over (a stack overflow).
#[test]
fn a_runtime_shutting_down_with_calls_owed_ends() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (batcher, mut exchanges) = runtime.block_on(async { batcher::<true>(1) });
    let (caller, under_way) = runtime.block_on(async {
        let caller = call(&batcher);
        (caller, next(&mut exchanges).await)
    });
    drop(runtime);
    assert_eq!(batcher.places_taken(), 0, "a place was kept");
    drop((caller, under_way));
}

#[tokio::test]
async fn a_call_withheld_as_it_would_leave_is_answered_so_and_nothing_leaves() {
    let (batcher, mut exchanges) = batcher::<false>(1);
    let first = call(&batcher);
    let carried = next(&mut exchanges).await;
    let second = call(&batcher);
    until("the second call waits", || batcher.pending() == 1).await;
    batcher
        .exchange()
        .withhold
        .store(true, std::sync::atomic::Ordering::Relaxed);
    carried.answer_all();
    assert_eq!(reply(first).await.ok(), Some(0));
    assert!(matches!(reply(second).await, Err(Failed::Withheld)));
    until("the place is given back", || batcher.places_taken() == 0).await;
    assert!(exchanges.try_recv().is_err(), "no exchange left");
}

mod slow;
