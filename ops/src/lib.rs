//! What both servers share for operations: logs on stderr, Prometheus metrics, the `/healthz`,
//! `/readyz` and `/metrics` endpoints, the registry settings, and the listening sockets.

mod admin;
mod listener;
mod registry_args;
mod telemetry;

pub use admin::{ReadinessCheck, admin_router};
pub use listener::{Socket, listen};
pub use registry_args::RegistryArgs;
pub use telemetry::{Telemetry, init};
