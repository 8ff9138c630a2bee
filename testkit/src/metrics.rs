//! A server's Prometheus metrics, read from its admin endpoint: the facts tests wait on instead
//! of sleeping ("the pull is waiting" is `im_pull_waiting 1`).

use std::net::SocketAddr;

/// The whole `/metrics` text; empty while the server does not answer.
pub async fn metrics_text(admin: SocketAddr) -> String {
    match reqwest::get(format!("http://{admin}/metrics")).await {
        Ok(resp) => resp.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The sum of the samples of `series`: a metric's name (`im_pull_waiting`), its name and whole
/// labels (`im_store_duration_seconds_count{op="read_page"}`), or its name and `{` for every
/// label set (`im_rpc_requests_total{`). 0 when there is none.
pub async fn metric(admin: SocketAddr, series: &str) -> f64 {
    metrics_text(admin)
        .await
        .lines()
        .filter_map(|line| line.strip_prefix(series))
        .filter(|rest| series.ends_with('{') || rest.starts_with([' ', '{']))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
