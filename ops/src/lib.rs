//! What both servers share for operations: logs on stderr, Prometheus metrics, the `/healthz`,
//! `/readyz` and `/metrics` endpoints, and the registry settings.

mod admin;
mod registry_args;
mod telemetry;

pub use admin::{ReadinessCheck, admin_router};
pub use registry_args::RegistryArgs;
pub use telemetry::{Telemetry, init};
