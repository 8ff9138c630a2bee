//! What both servers share for operations: logs on stderr, Prometheus metrics, the `/healthz`,
//! `/readyz` and `/metrics` endpoints, the registry settings, the listening sockets, and the
//! limit on open files.

mod admin;
mod files;
mod listener;
mod registry_args;
mod telemetry;

pub use admin::{ReadinessCheck, admin_router};
pub use files::{RESERVED_FILES, raise_open_file_limit};
pub use listener::{Socket, listen};
pub use registry_args::RegistryArgs;
pub use telemetry::{Telemetry, init};
