use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Latency buckets, in seconds, from half a millisecond to five seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Handle on the process-wide metrics recorder, to render `/metrics`.
#[derive(Clone)]
pub struct Telemetry {
    pub metrics: PrometheusHandle,
}

/// Logs to stderr (`RUST_LOG` picks the level, `info` by default) and installs the Prometheus
/// recorder. Call once, at the start of `main`, inside the runtime.
pub fn init() -> Telemetry {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let metrics = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .expect("static buckets are valid")
        .install_recorder()
        .expect("the metrics recorder is installed once");
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Telemetry { metrics }
}
