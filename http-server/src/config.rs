use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, ValueEnum};
use im_ops::RegistryArgs;

/// The HTTP front end of the IM service. Every flag falls back to the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "http-server", version, about)]
pub struct Config {
    /// Address the HTTP server listens on (the API, /healthz, /readyz and /metrics); unused
    /// when the socket is handed over (`LISTEN_FDS`, systemd's socket activation).
    #[arg(long, env = "IM_HTTP_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Fixed rpc-server addresses, comma-separated (host:port). When set, etcd is not used.
    #[arg(long, env = "IM_RPC_ADDRS", value_delimiter = ',')]
    pub rpc_addrs: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// How long to wait for an rpc-server's answer before replying 504, in milliseconds.
    #[arg(long, env = "IM_RPC_TIMEOUT_MS", default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub rpc_timeout_ms: u64,

    /// Most single calls in flight to one rpc-server, one that does not know the batch methods
    /// (or all, with IM_RPC_EXCHANGES_PER_REPLICA=0); more wait. Calls that may wait aside.
    #[arg(long, env = "IM_RPC_MAX_CALLS_PER_REPLICA", default_value_t = 256,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub rpc_max_calls_per_replica: usize,

    /// Most exchanges under way to one rpc-server, each carrying the sends (or the pulls) that
    /// gathered while the others were under way; a call leaves at once while fewer are (sends:
    /// or while the oldest has been away 20 ms, up to 16 times as many). 0: no batches, every
    /// call an exchange of its own.
    #[arg(long, env = "IM_RPC_EXCHANGES_PER_REPLICA", default_value_t = 2,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1024))]
    pub rpc_exchanges_per_replica: usize,

    /// Most API requests in progress at once; beyond it requests get 503 with Retry-After at
    /// once instead of queueing.
    #[arg(long, env = "IM_HTTP_MAX_IN_FLIGHT", default_value_t = 4096,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_in_flight: usize,

    /// Most pulls waiting for messages at once (`wait_ms`); they hold no in-flight permit. One
    /// more is answered 503 with Retry-After. Each holds only its caller's socket (they share
    /// their calls to the replicas), so the default leaves room under a 20,000 file limit.
    #[arg(long, env = "IM_HTTP_MAX_WAITING_PULLS", default_value_t = 16_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_waiting_pulls: usize,

    /// The longest a pull may wait for messages, in milliseconds: a larger `wait_ms` is clamped
    /// to it. Keep it at most the rpc-servers' IM_PULL_MAX_WAIT_MS.
    #[arg(long, env = "IM_HTTP_MAX_WAIT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub max_wait_ms: u64,

    /// The longest a request body may take to arrive, in milliseconds; then 408 and the
    /// connection is closed. A body being read holds no in-flight permit.
    #[arg(long, env = "IM_HTTP_BODY_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub body_timeout_ms: u64,

    /// The longest a client may take to send a request's headers, in milliseconds, counted
    /// from when its connection is ready for a request: it also closes keep-alive connections
    /// idle that long.
    #[arg(long, env = "IM_HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub header_timeout_ms: u64,

    /// Most client connections open at once; one accepted beyond it is answered 503 with
    /// Retry-After and closed. Lowered to what the open-file limit allows (the server raises
    /// its soft limit to the hard one at start), less 1,024 for its own files (a quarter of a
    /// limit below 4,096).
    #[arg(long, env = "IM_HTTP_MAX_CONNECTIONS", default_value_t = 16_384,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Serve the web messenger at `/`.
    #[arg(long, env = "IM_WEB", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub web: bool,
}

/// Who may call the API (docs/api.md, "Access").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessMode {
    /// Anyone may act as any member, as in the reference assignment.
    None,
    /// Every /api call carries a JWT whose `sub` is the member it acts as.
    Jwt,
}

/// The access settings: the mode, the keys tokens are checked with, and the fair-use limits.
#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// Access mode: `none` (anyone acts as any member) or `jwt` (a bearer token names the member).
    #[arg(long = "auth", env = "IM_AUTH", value_enum, default_value_t = AccessMode::None)]
    pub mode: AccessMode,

    /// A file holding the HS256 secret (at least 32 bytes; trailing newlines are not part of
    /// it). Tokens without a `kid` are checked with it.
    #[arg(long = "auth-hs256-secret-file", env = "IM_AUTH_HS256_SECRET_FILE")]
    pub hs256_secret_file: Option<PathBuf>,

    /// A JWKS file of public keys (RS256, ES256, EdDSA), chosen by a token's `kid`; re-read
    /// when it changes (checked every second), so keys rotate without a restart.
    #[arg(long = "auth-jwks-file", env = "IM_AUTH_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// The `aud` a token must name; empty: not checked.
    #[arg(long = "auth-audience", env = "IM_AUTH_AUDIENCE", default_value = "")]
    pub audience: String,

    /// The `iss` a token must name; empty: not checked.
    #[arg(long = "auth-issuer", env = "IM_AUTH_ISSUER", default_value = "")]
    pub issuer: String,

    /// Clock skew allowed when checking `exp` and `nbf`, in seconds.
    #[arg(long = "auth-leeway-s", env = "IM_AUTH_LEEWAY_S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub leeway_s: u64,

    /// Serve `POST /api/demo/token`, which hands anyone a token for any member: for demos only.
    /// Needs the HS256 secret.
    #[arg(long = "auth-demo-issuer", env = "IM_AUTH_DEMO_ISSUER", default_value_t = false,
          action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo_issuer: bool,

    /// Sends per second allowed to one member (0: no limit), in both modes.
    #[arg(long = "rate-send", env = "IM_RATE_SEND", default_value_t = 0.0,
          value_parser = rate)]
    pub rate_send: f64,

    /// Sends one member may make at once after a pause (0: the rate, rounded up).
    #[arg(
        long = "rate-send-burst",
        env = "IM_RATE_SEND_BURST",
        default_value_t = 0
    )]
    pub rate_send_burst: u32,

    /// Pulls and listings that do not wait, per second and member (0: no limit).
    #[arg(long = "rate-read", env = "IM_RATE_READ", default_value_t = 0.0,
          value_parser = rate)]
    pub rate_read: f64,

    /// Pulls and listings that do not wait one member may make at once (0: the rate, rounded
    /// up).
    #[arg(
        long = "rate-read-burst",
        env = "IM_RATE_READ_BURST",
        default_value_t = 0
    )]
    pub rate_read_burst: u32,
}

/// A rate per second: 0 (no limit) or a positive, finite number up to a million.
fn rate(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(rate) if rate == 0.0 || (rate.is_finite() && (1e-3..=1e6).contains(&rate)) => Ok(rate),
        _ => Err(format!(
            "{raw:?} is not a rate: give 0 (no limit) or a number of calls per second from 0.001 \
             to 1000000"
        )),
    }
}

impl Config {
    /// The fixed rpc-server addresses, host names resolved; empty when none are set.
    pub async fn fixed_rpc_addrs(&self) -> anyhow::Result<Vec<SocketAddr>> {
        let mut addrs = Vec::new();
        for entry in self
            .rpc_addrs
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
        {
            let resolved = tokio::net::lookup_host(entry)
                .await
                .with_context(|| format!("IM_RPC_ADDRS: cannot resolve {entry:?}"))?;
            addrs.extend(resolved.take(1));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_issuer(value: &str) -> Result<bool, clap::Error> {
        Config::try_parse_from(["http-server", "--auth-demo-issuer", value])
            .map(|config| config.access.demo_issuer)
    }

    #[test]
    fn switches_take_the_usual_spellings_of_on_and_off() {
        for on in ["1", "true", "on", "yes", "TRUE", "Yes"] {
            assert!(demo_issuer(on).unwrap(), "{on}");
        }
        for off in ["0", "false", "off", "no", "OFF"] {
            assert!(!demo_issuer(off).unwrap(), "{off}");
        }
        assert!(demo_issuer("maybe").is_err());
    }
}
