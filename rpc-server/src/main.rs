use clap::Parser;
use rpc_server::{config::Config, startup, telemetry};

#[volo::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    startup::run(Config::parse()).await
}
