use clap::Parser;
use http_server::{config::Config, startup};
use tracing_subscriber::EnvFilter;

#[volo::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    startup::run(Config::parse()).await
}
