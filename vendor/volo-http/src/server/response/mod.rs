//! Response related utilities

mod into_response;
mod redirect;
pub mod sse;

pub use self::{into_response::IntoResponse, redirect::Redirect};
