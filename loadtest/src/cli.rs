use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load tool for the IM service. Traffic goes to loopback addresses only; every run is bounded
/// by a duration and a request count.
#[derive(Debug, Parser)]
#[command(name = "im-load", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive the API, report throughput and latency, then verify integrity.
    Run(RunArgs),
    /// Receivers follow rooms with pulls while senders send: delivery latency from a send's
    /// acknowledgement to its receipt, and whether every receiver got every message once, in
    /// order.
    Poll(PollArgs),
    /// Draw the benchmark's figures (SVG) from a spec of series that scripts/bench-report writes.
    Plot(PlotArgs),
    /// Print a bearer token for each member `<prefix><i>`, one `member token` a line, for
    /// tools such as wrk (scripts/wrk/common.lua reads them).
    Tokens(TokensArgs),
    /// Forward TCP from a loopback port to `--target`, every byte delayed by `--delay-ms` each
    /// way, until stopped: a slow link, for instance between the rpc-servers and the database.
    SlowLink(SlowLinkArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SlowLinkArgs {
    /// Where to forward to.
    #[arg(long)]
    pub target: std::net::SocketAddr,

    /// Added each way, in milliseconds.
    #[arg(long)]
    pub delay_ms: u64,
}

/// How requests prove their member when the http-server's access mode is `jwt`: each carries a
/// token for its sender (or the member it reads as), signed here.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Sign with the HS256 secret in this file (trailing newline off, as the server reads it).
    #[arg(long)]
    pub token_secret_file: Option<std::path::PathBuf>,

    /// Or sign with the private key in this PEM (PKCS#8) file, naming `--token-kid`.
    #[arg(long, conflicts_with = "token_secret_file", requires = "token_kid")]
    pub token_key_file: Option<std::path::PathBuf>,

    /// The algorithm of `--token-key-file`.
    #[arg(long, value_enum, default_value_t = KeyAlgorithm::Eddsa)]
    pub token_alg: KeyAlgorithm,

    /// The `kid` of `--token-key-file` in the server's JWKS file.
    #[arg(long)]
    pub token_kid: Option<String>,

    /// The `aud` claim, when the server checks one.
    #[arg(long)]
    pub token_audience: Option<String>,

    /// The `iss` claim, when the server checks one.
    #[arg(long)]
    pub token_issuer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyAlgorithm {
    Rs256,
    Es256,
    Eddsa,
}

#[derive(Debug, Clone, Args)]
pub struct TokensArgs {
    /// Members are this prefix followed by 0, 1, ... (wrk's rooms are `wa<i>:wb<i>`).
    #[arg(long, default_value = "wa")]
    pub prefix: String,

    /// How many members.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,

    /// Also write the public half of `--token-key-file` to this file as a JWKS document, for
    /// the server's IM_AUTH_JWKS_FILE.
    #[arg(long, requires = "token_key_file")]
    pub jwks: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// JSON: a list of figures, each with its series of (x, y) points.
    #[arg(long)]
    pub spec: std::path::PathBuf,

    /// Where the SVG files go.
    #[arg(long)]
    pub out_dir: std::path::PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// Base URL of the http-server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub http: String,

    /// Call these rpc-servers (comma-separated) over Thrift instead of the HTTP API; receivers
    /// and senders take them in turn.
    #[arg(long, value_delimiter = ',')]
    pub thrift: Vec<String>,

    /// Receivers, spread over the rooms, each following its room from the start.
    #[arg(long, default_value_t = 1000)]
    pub receivers: usize,

    /// Senders, each sending into random rooms.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,

    /// Rooms.
    #[arg(long, default_value_t = 100)]
    pub rooms: usize,

    /// How long the senders send (e.g. 20s); the receivers then catch up.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Pause of each sender between its sends.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub think: Duration,

    /// How long a receiver's pull waits for the next message (long poll).
    #[arg(long, default_value_t = 10_000)]
    pub wait_ms: i32,

    /// Poll this often without waiting instead (e.g. 100ms): the short-poll loop to compare
    /// the long poll with.
    #[arg(long, value_parser = parse_duration)]
    pub short_poll: Option<Duration>,

    /// Each receiver is a member of several rooms and follows its inbox (`GET /api/chats`,
    /// waiting up to --wait-ms), pulling each room that changed: what an app does.
    #[arg(long, conflicts_with = "short_poll")]
    pub inbox: bool,

    #[command(flatten)]
    pub token: TokenArgs,

    /// Write the summary as JSON to this file too.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    Send,
    Pull,
    /// `--pull-percent` pulls, the rest sends.
    Mix,
}

#[derive(Debug, Clone, Args)]
pub struct Bounds {
    /// Concurrent clients, each waiting for its answer before the next request.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,

    /// Stop after this long (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Pause of each client between its requests (e.g. 100ms): a user who reads. 0 is a
    /// client that sends its next request the moment it gets an answer.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub think: Duration,

    /// Stop after this many requests in all.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,

    #[arg(long, value_enum, default_value_t = Workload::Mix)]
    pub workload: Workload,

    /// Share of pulls in the mix workload.
    #[arg(long, default_value_t = 80)]
    pub pull_percent: u8,

    /// Rooms to spread over; 1 is one hot room.
    #[arg(long, default_value_t = 100)]
    pub rooms: usize,

    /// Messages sent into each room before a pull-only run, so pulls read real pages.
    #[arg(long, default_value_t = 50)]
    pub seed_per_room: usize,

    /// Write the summary as JSON to this file too.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Base URL of the http-server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub http: String,

    /// Call this rpc-server over Thrift instead of the HTTP API.
    #[arg(long)]
    pub thrift: Option<String>,

    /// Send without client_msg_ids. By default every send carries one (its text, unique in the
    /// run) and a failed send is retried with it up to twice, which must store it once.
    #[arg(long)]
    pub no_ids: bool,

    #[command(flatten)]
    pub bounds: Bounds,

    #[command(flatten)]
    pub token: TokenArgs,
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {raw:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {raw:?}: use ms, s or m")),
    }
}
