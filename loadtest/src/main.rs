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

use clap::Parser;
use cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let passed = match Cli::parse().command {
        Command::Run(args) => run::run(args).await?,
        Command::Poll(args) => poll::run(args).await?,
        Command::Plot(args) => plot::run(args)?,
        Command::Tokens(args) => tokens::print(&args)?,
    };
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}
