//! Fair use: a token bucket per member for sends and one for calls that do not wait, and a cap
//! on each authenticated member's waiting calls, so that one member at its limit changes nothing
//! for the others. They live in this process: behind N http-servers a member gets up to N times
//! the rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AccessArgs;
use crate::error::ApiError;

/// How often buckets that have refilled are forgotten, so that members who called once do
/// not stay in memory.
const FORGET_FULL_BUCKETS_EVERY: Duration = Duration::from_secs(10);

/// Most calls one member (with a token) may have waiting at once, so that one member's long
/// polls cannot take the places all members share (`IM_HTTP_MAX_WAITING_PULLS`). A page open
/// in a browser holds two.
pub const WAITING_PER_MEMBER: usize = 64;

pub struct FairUse {
    sends: Option<Buckets>,
    reads: Option<Buckets>,
    waiting: Arc<Mutex<HashMap<String, usize>>>,
}

/// A member's place among its waiting calls, given back when dropped.
pub struct WaitingPlace {
    waiting: Arc<Mutex<HashMap<String, usize>>>,
    member: String,
}

impl Drop for WaitingPlace {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = waiting.get_mut(&self.member) {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&self.member);
            }
        }
    }
}

impl FairUse {
    pub fn new(args: &AccessArgs) -> Self {
        Self {
            sends: Buckets::new(args.rate_send, args.rate_send_burst),
            reads: Buckets::new(args.rate_read, args.rate_read_burst),
            waiting: Arc::default(),
        }
    }

    /// A place for one more waiting call of `member` (a token's), or 429 when it has
    /// [`WAITING_PER_MEMBER`] waiting already.
    pub fn wait(&self, member: &str) -> Result<WaitingPlace, ApiError> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let count = waiting.entry(member.to_owned()).or_default();
        if *count >= WAITING_PER_MEMBER {
            return Err(ApiError::rate_limited(
                "waiting calls",
                Duration::from_secs(1),
            ));
        }
        *count += 1;
        Ok(WaitingPlace {
            waiting: self.waiting.clone(),
            member: member.to_owned(),
        })
    }

    /// A send charged to `member` (none: a send the rpc-server will refuse).
    pub fn send(&self, member: Option<&str>) -> Result<(), ApiError> {
        Buckets::take(self.sends.as_ref(), member, "sends")
    }

    /// A pull or listing that does not wait, charged to `member`.
    pub fn read(&self, member: Option<&str>) -> Result<(), ApiError> {
        Buckets::take(self.reads.as_ref(), member, "reads")
    }
}

struct Buckets {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl Buckets {
    /// None for rate 0: no limit.
    fn new(rate: f64, burst: u32) -> Option<Self> {
        if rate <= 0.0 {
            return None;
        }
        let burst = if burst > 0 { burst } else { rate.ceil() as u32 };
        let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))?
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let limiter = Arc::new(RateLimiter::keyed(quota));
        tokio::spawn(forget_full_buckets(Arc::downgrade(&limiter)));
        Some(Self {
            limiter,
            clock: DefaultClock::default(),
        })
    }

    fn take(buckets: Option<&Self>, member: Option<&str>, what: &str) -> Result<(), ApiError> {
        let (Some(buckets), Some(member)) = (buckets, member) else {
            return Ok(());
        };
        buckets
            .limiter
            .check_key(&member.to_owned())
            .map_err(|not_until| {
                metrics::counter!("im_http_rate_limited_total", "kind" => what.to_owned())
                    .increment(1);
                ApiError::rate_limited(what, not_until.wait_time_from(buckets.clock.now()))
            })
    }
}

async fn forget_full_buckets(limiter: std::sync::Weak<DefaultKeyedRateLimiter<String>>) {
    let mut tick = tokio::time::interval(FORGET_FULL_BUCKETS_EVERY);
    loop {
        tick.tick().await;
        let Some(limiter) = limiter.upgrade() else {
            return;
        };
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}
