//! Collections of some useful `Layer`s.

mod body_limit;
mod filter;
mod timeout;

pub use body_limit::BodyLimitLayer;
pub use filter::FilterLayer;
pub use timeout::TimeoutLayer;
