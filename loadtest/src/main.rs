//! `im-load`: load and integrity checks for the IM service. See `im-load --help`.

mod api;
mod cli;
mod inbox;
mod plot;
mod poll;
mod received;
mod run;
mod stats;
mod tokens;
mod verify;

use std::time::Duration;

use clap::Parser;
use cli::{Cli, Command, SlowLinkArgs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let passed = match Cli::parse().command {
        Command::Run(args) => run::run(args).await?,
        Command::Poll(args) => poll::run(args).await?,
        Command::Plot(args) => plot::run(args)?,
        Command::Tokens(args) => tokens::print(&args)?,
        Command::SlowLink(args) => slow_link(args).await,
    };
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Prints the address it listens on, then forwards until killed.
async fn slow_link(args: SlowLinkArgs) -> bool {
    let link = im_testkit::Proxy::start(args.target).await;
    link.delay(Duration::from_millis(args.delay_ms));
    println!("{}", link.addr);
    std::future::pending().await
}
