use clap::Parser;
use rpc_server::{config::Config, startup};

/// mimalloc: a server allocates and frees small buffers on every request, which glibc's
/// allocator does at a cost that showed in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    im_ops::runtime()?.block_on(async {
        let telemetry = im_ops::init();
        startup::run(config, telemetry).await
    })
}
