//! Exchanges that are slow: calls the replica gathers again leave in places more, others wait.

use super::*;

/// With one exchange under way for `SLOW_EXCHANGE` (on a paused clock) and a call waiting, a
/// third call comes: returns the batcher and what the exchanges under way carry.
async fn third_call_after_a_slow_exchange<const GATHERED_AGAIN: bool>()
-> (Arc<Batcher<Fake<false, GATHERED_AGAIN>>>, Vec<Seen>) {
    let (batcher, mut exchanges) = fake_batcher::<false, GATHERED_AGAIN>(1);
    let _first = call(&batcher);
    let first = next(&mut exchanges).await;
    assert_eq!(first.items, [0]);
    let _second = call(&batcher);
    until("the second call waits", || batcher.pending() == 1).await;
    tokio::time::advance(SLOW_EXCHANGE).await;
    let _third = call(&batcher);
    let expected = if GATHERED_AGAIN { 0 } else { 2 };
    until("the third call is where it belongs", || {
        batcher.pending() == expected
    })
    .await;
    let mut seen = vec![first];
    while let Ok(more) = exchanges.try_recv() {
        seen.push(more);
    }
    (batcher, seen)
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
    assert_eq!(batcher.places_taken(), 2);
}

#[tokio::test(start_paused = true)]
async fn other_calls_wait_for_a_place_however_slow_the_exchanges() {
    let (batcher, seen) = third_call_after_a_slow_exchange::<false>().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(batcher.places_taken(), 1);
}

#[tokio::test(start_paused = true)]
async fn once_the_slow_exchange_is_answered_calls_wait_again_for_a_place() {
    let (batcher, mut exchanges) = fake_batcher::<false, true>(1);
    let _first = call(&batcher);
    let slow = next(&mut exchanges).await;
    tokio::time::advance(SLOW_EXCHANGE).await;
    let _second = call(&batcher);
    let beside = next(&mut exchanges).await;
    assert_eq!(
        (slow.items.as_slice(), beside.items.as_slice()),
        (&[0][..], &[1][..])
    );
    slow.answer_all();
    until("the slow exchange's place is given back", || {
        batcher.places_taken() == 1
    })
    .await;
    // The one under way left just now: not slow.
    let _third = call(&batcher);
    until("the third call waits", || batcher.pending() == 1).await;
    assert_eq!(batcher.places_taken(), 1);
    beside.answer_all();
    assert_eq!(next(&mut exchanges).await.items, [2]);
}

#[tokio::test(start_paused = true)]
async fn slow_exchanges_take_at_most_slow_places_times_places() {
    let (batcher, mut exchanges) = fake_batcher::<false, true>(2);
    let mut under_way = Vec::new();
    for _ in 0..2 * SLOW_PLACES {
        let _caller = call(&batcher);
        under_way.push(next(&mut exchanges).await);
        tokio::time::advance(SLOW_EXCHANGE).await;
    }
    assert_eq!(batcher.places_taken(), 2 * SLOW_PLACES);
    let last = call(&batcher);
    until("the last call waits", || batcher.pending() == 1).await;
    under_way.pop().expect("exchanges").answer_all();
    let seen = next(&mut exchanges).await;
    assert_eq!(seen.items, [2 * SLOW_PLACES as CallId]);
    seen.answer_all();
    assert_eq!(reply(last).await.ok(), Some(20 * SLOW_PLACES as u32));
}
