use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` picks the level (default `info`).
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}
