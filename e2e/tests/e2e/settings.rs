//! Settings out of range stop a binary at start with clap's message naming the setting, never
//! a panic later.

use std::process::Command;

fn run(binary: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(im_testkit::binary_path(binary))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn out_of_range_settings_are_refused_with_a_clear_message() {
    for (binary, name, flag, value) in [
        (
            "rpc-server",
            "IM_DB_COMMIT_LANES",
            "--db-commit-lanes",
            "9000",
        ),
        ("rpc-server", "IM_DB_COMMIT_LANES", "--db-commit-lanes", "0"),
        (
            "rpc-server",
            "IM_REGISTRY_TTL_SECS",
            "--registry-ttl-secs",
            "0",
        ),
        ("rpc-server", "IM_DB_POOL_SIZE", "--db-pool-size", "-1"),
        (
            "rpc-server",
            "DATABASE_URL",
            "--database-url",
            "mysql://root@db1/im,mysql://root@db2:port/im",
        ),
        (
            "rpc-server",
            "IM_PULL_WATCH_INTERVAL_MS",
            "--pull-watch-interval-ms",
            "1",
        ),
        (
            "http-server",
            "IM_HTTP_MAX_IN_FLIGHT",
            "--max-in-flight",
            "0",
        ),
        (
            "http-server",
            "IM_HTTP_HEADER_TIMEOUT_MS",
            "--header-timeout-ms",
            "0",
        ),
        (
            "http-server",
            "IM_RPC_TIMEOUT_MS",
            "--rpc-timeout-ms",
            "abc",
        ),
    ] {
        let (code, stderr) = run(binary, &[(name, value)]);
        assert_eq!(code, Some(2), "{binary} {name}={value}: {stderr}");
        assert!(stderr.contains(flag), "{binary} {name}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn lanes_and_readers_that_would_take_the_whole_pool_are_refused_at_start() {
    let (code, stderr) = run(
        "rpc-server",
        &[("IM_DB_POOL_SIZE", "10"), ("IM_DB_READERS", "8")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("IM_DB_READERS") && stderr.contains("IM_DB_POOL_SIZE"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
