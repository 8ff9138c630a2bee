//! Exchanges that are slow: calls the replica gathers again leave in places more, others wait.

use super::*;

/// A plain batcher, of calls the replica gathers again or not.
fn plain<const GATHERED_AGAIN: bool>(
    places: usize,
) -> (Arc<Batcher<Fake<false, GATHERED_AGAIN>>>, Exchanges) {
    fake_batcher(places)
}

/// With one exchange under way for `SLOW_EXCHANGE` (on a paused clock), a third call comes:
/// returns the batcher and what the exchanges under way carry.
async fn third_call_after_a_slow_exchange<const GATHERED_AGAIN: bool>()
-> (Arc<Batcher<Fake<false, GATHERED_AGAIN>>>, Vec<Seen>) {
    let (batcher, mut exchanges) = plain::<GATHERED_AGAIN>(1);
    let first = next_after(call(&batcher), &mut exchanges).await;
    assert_eq!(first.items, [0]);
    let _second = call(&batcher);
    until("the second call waits", || batcher.pending() == 1).await;
    tokio::time::advance(SLOW_EXCHANGE).await;
    let _third = call(&batcher);
    until("the third call waits or leaves", || batcher.pending() != 1).await;
    let mut seen = vec![first];
    while let Ok(more) = exchanges.try_recv() {
        seen.push(more);
    }
    (batcher, seen)
}

async fn next_after<T>(_caller: JoinHandle<T>, exchanges: &mut Exchanges) -> Seen {
    next(exchanges).await
}

#[tokio::test(start_paused = true)]
async fn gathered_calls_leave_in_a_place_more_while_the_exchanges_under_way_are_slow() {
    let (batcher, seen) = third_call_after_a_slow_exchange::<true>().await;
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].items,
        [1, 2],
        "the waiting call leaves with the new one"
    );
    assert_eq!((batcher.places_taken(), batcher.pending()), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn other_calls_wait_for_a_place_however_slow_the_exchanges() {
    let (batcher, seen) = third_call_after_a_slow_exchange::<false>().await;
    assert_eq!(seen.len(), 1);
    assert_eq!((batcher.places_taken(), batcher.pending()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn slow_exchanges_take_at_most_slow_places_times_places() {
    let (batcher, mut exchanges) = plain::<true>(2);
    let mut under_way = Vec::new();
    for _ in 0..2 * SLOW_PLACES {
        under_way.push(next_after(call(&batcher), &mut exchanges).await);
        tokio::time::advance(SLOW_EXCHANGE).await;
    }
    let last = call(&batcher);
    until("the last call waits", || batcher.pending() == 1).await;
    under_way.pop().expect("exchanges").answer_all();
    let seen = next(&mut exchanges).await;
    assert_eq!(seen.items, [2 * SLOW_PLACES as CallId]);
    seen.answer_all();
    assert_eq!(reply(last).await.ok(), Some(20 * SLOW_PLACES as u32));
}
