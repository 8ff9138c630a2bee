//! The Apache Thrift Python client, with code generated from idl_rpc.thrift by the `thrift`
//! compiler, calls the rpc-server directly in all four combinations of framed or buffered
//! transport and binary or compact protocol, with valid requests, strings that are not UTF-8 and
//! requests missing required fields.

use std::path::{Path, PathBuf};
use std::process::Command;

use im_testkit::{fresh_database_url, start_rpc_server};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Generates the Python bindings into a fresh folder and returns it.
fn generate_python_bindings(tag: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("im-thrift-py-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("thrift")
        .args(["--gen", "py", "-out"])
        .arg(&out)
        .arg(workspace_root().join("idl_rpc.thrift"))
        .status()
        .expect("the thrift compiler (Debian: thrift-compiler) is installed");
    assert!(status.success(), "thrift --gen py failed");
    out
}

fn python_client_round_trip(transport: &str, protocol: &str) {
    let server = start_rpc_server(&fresh_database_url());
    let bindings = generate_python_bindings(&format!("{transport}-{protocol}"));
    let output = Command::new("python3")
        .arg(workspace_root().join("e2e/interop/thrift_client.py"))
        .arg(&bindings)
        .arg(server.addr.port().to_string())
        .arg(transport)
        .arg(protocol)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("interop ok: {transport} {protocol}")),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(bindings);
}

#[test]
fn apache_thrift_python_client_over_framed_binary() {
    python_client_round_trip("framed", "binary");
}

#[test]
fn apache_thrift_python_client_over_buffered_binary() {
    python_client_round_trip("buffered", "binary");
}

#[test]
fn apache_thrift_python_client_over_framed_compact() {
    python_client_round_trip("framed", "compact");
}

#[test]
fn apache_thrift_python_client_over_buffered_compact() {
    python_client_round_trip("buffered", "compact");
}
