//! Outlier ejection: a replica that etcd still lists but this http-server cannot reach (its
//! packets dropped, a link cut) is passed over, instead of every call whose room hashes there
//! paying an attempt's timeout before going to the next replica on the ring.
//!
//! [`EJECT_AFTER`] attempts in a row that got no connection or no answer eject a replica for a
//! while; then one call, the probe, may try it again: an answer ends the ejection, another
//! failure ejects it again for twice as long, up to [`LONGEST`]. While a replica is ejected its
//! rooms go to the next replica on the ring (the retry loop passes over it), and come back
//! when the probe gets its answer. A replica that is the only one left is tried anyway.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Attempts in a row that found the replica unreachable before it is ejected.
const EJECT_AFTER: u32 = 3;
/// The first ejection's length; each failed probe doubles it, up to `LONGEST`.
const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(10);

pub(super) struct Ejection {
    /// The replica's address, as the metrics name it.
    replica: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Attempts in a row that found the replica unreachable.
    failures: u32,
    /// Ejected until then; `None`: not ejected.
    until: Option<Instant>,
    /// The last ejection's length.
    length: Duration,
    /// A probe is under way.
    probing: bool,
}

/// What an attempt found of its replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    Reachable,
    Unreachable,
}

impl Ejection {
    pub(super) fn new(replica: String) -> Self {
        Self {
            replica,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call may try the replica now, and if so its attempt, to report what it
    /// found. An ejected replica admits only its probe, once its ejection has run out, and only
    /// a call that `may_probe`: one that is harmless to run again elsewhere should the probe
    /// fail (never a send without an id, whose failure would be "outcome unknown").
    pub(super) fn admit(self: &Arc<Self>, now: Instant, may_probe: bool) -> Option<Attempt> {
        let mut state = self.lock();
        let probe = match state.until {
            None => false,
            Some(until) if may_probe && now >= until && !state.probing => true,
            Some(_) => return None,
        };
        state.probing |= probe;
        Some(Attempt {
            ejection: self.clone(),
            probe,
        })
    }

    /// An attempt for a call that has no other replica left: it tries this one anyway.
    pub(super) fn force(self: &Arc<Self>) -> Attempt {
        Attempt {
            ejection: self.clone(),
            probe: false,
        }
    }

    #[cfg(test)]
    fn ejected(&self) -> bool {
        self.lock().until.is_some()
    }

    fn found(&self, found: Found, probe: bool, now: Instant) {
        let mut state = self.lock();
        state.probing &= !probe;
        let was_ejected = state.until.is_some();
        match found {
            Found::Reachable => *state = State::default(),
            Found::Unreachable => {
                state.failures += 1;
                let eject = if was_ejected {
                    probe
                } else {
                    state.failures >= EJECT_AFTER
                };
                if eject {
                    state.length = (state.length * 2).clamp(FIRST, LONGEST);
                    state.until = Some(now + state.length);
                    let replica = self.replica.clone();
                    tracing::warn!(%replica, for_ms = state.length.as_millis() as u64, "replica unreachable: passed over");
                    metrics::counter!("im_rpc_client_ejections_total", "replica" => replica)
                        .increment(1);
                }
            }
        }
        let ejected = state.until.is_some();
        if ejected != was_ejected {
            metrics::gauge!("im_rpc_client_ejected", "replica" => self.replica.clone())
                .set(if ejected { 1.0 } else { 0.0 });
            if !ejected {
                tracing::info!(replica = %self.replica, "replica reachable again");
            }
        }
    }
}

/// One attempt at a replica: reports what it found, or, dropped unreported (its caller went
/// away), gives the probe's turn back.
pub(super) struct Attempt {
    ejection: Arc<Ejection>,
    probe: bool,
}

impl Attempt {
    pub(super) fn found(self, found: Found) {
        self.found_at(found, Instant::now());
    }

    fn found_at(mut self, found: Found, now: Instant) {
        let probe = std::mem::take(&mut self.probe);
        self.ejection.found(found, probe, now);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.probe {
            self.ejection.lock().probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ejection() -> Arc<Ejection> {
        Arc::new(Ejection::new("127.0.0.1:1".to_owned()))
    }

    fn fail(ejection: &Arc<Ejection>, now: Instant) {
        let attempt = ejection.admit(now, true).expect("admitted");
        attempt.found_at(Found::Unreachable, now);
    }

    #[test]
    fn a_replica_found_unreachable_three_times_in_a_row_is_passed_over_for_a_while() {
        let ejection = ejection();
        let now = Instant::now();
        fail(&ejection, now);
        ejection
            .admit(now, true)
            .unwrap()
            .found_at(Found::Reachable, now);
        fail(&ejection, now);
        fail(&ejection, now);
        assert!(!ejection.ejected(), "two in a row");
        fail(&ejection, now);
        assert!(ejection.ejected(), "the third in a row ejects");
        assert!(ejection.admit(now + FIRST / 2, true).is_none());
        // Once it runs out, one call probes; the others still pass over it.
        assert!(
            ejection.admit(now + FIRST, false).is_none(),
            "a send without an id"
        );
        let probe = ejection.admit(now + FIRST, true).expect("the probe");
        assert!(ejection.admit(now + FIRST, true).is_none());
        probe.found_at(Found::Reachable, now + FIRST);
        assert!(!ejection.ejected());
        assert!(ejection.admit(now + FIRST, false).is_some());
    }

    #[test]
    fn each_failed_probe_doubles_the_ejection_up_to_the_longest() {
        let ejection = ejection();
        let mut now = Instant::now();
        for _ in 0..EJECT_AFTER {
            fail(&ejection, now);
        }
        let mut lengths = Vec::new();
        for _ in 0..8 {
            let until = ejection.lock().until.unwrap();
            lengths.push(until - now);
            now = until;
            fail(&ejection, now);
        }
        assert_eq!(lengths[..3], [FIRST, FIRST * 2, FIRST * 4]);
        assert_eq!(*lengths.last().unwrap(), LONGEST);
    }

    #[test]
    fn a_probe_whose_caller_left_gives_its_turn_back() {
        let ejection = ejection();
        let now = Instant::now();
        for _ in 0..EJECT_AFTER {
            fail(&ejection, now);
        }
        drop(ejection.admit(now + FIRST, true).expect("the probe"));
        let next = ejection.admit(now + FIRST, true).expect("another probe");
        next.found_at(Found::Reachable, now + FIRST);
        assert!(!ejection.ejected());
    }
}
