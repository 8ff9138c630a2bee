//! The Apache Thrift Python client, with code generated from idl_rpc.thrift by the `thrift`
//! compiler, calls the rpc-server directly over framed and over buffered binary transport.

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

fn python_client_round_trip(transport: &str) {
    let server = start_rpc_server(&fresh_database_url());
    let bindings = generate_python_bindings(transport);
    let output = Command::new("python3")
        .arg(workspace_root().join("e2e/interop/thrift_client.py"))
        .arg(&bindings)
        .arg(server.addr.port().to_string())
        .arg(transport)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("interop ok: {transport}")),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(bindings);
}

#[test]
fn apache_thrift_python_client_over_framed_binary() {
    python_client_round_trip("framed");
}

#[test]
fn apache_thrift_python_client_over_buffered_binary() {
    python_client_round_trip("buffered");
}
