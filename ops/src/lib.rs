//! What both servers share for operations: logs on stderr, Prometheus metrics, the `/healthz`,
//! `/readyz` and `/metrics` endpoints, the registry settings, the listening sockets, the limit
//! on open files, and the runtime.

mod admin;
mod files;
mod listener;
mod registry_args;
mod runtime;
mod telemetry;

pub use admin::{ReadinessCheck, admin_router};
pub use files::{connections_within, raise_open_file_limit};
pub use listener::{Socket, listen};
pub use registry_args::RegistryArgs;
pub use runtime::runtime;
pub use telemetry::{Telemetry, init};
