use clap::Parser;
use http_server::{config::Config, startup};

#[volo::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = im_ops::init();
    startup::run(config, telemetry).await
}
