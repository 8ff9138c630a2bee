use std::path::PathBuf;

/// The published IDL, for clients, and a lenient copy of it for the server: every `string`
/// read as `binary` (the same bytes on the wire, but not assumed to be UTF-8, which pilota
/// would not check) and every request field optional (so that a missing one reaches the service, which
/// answers `Code 1` naming it, instead of a decoding error). Field ids and types on the wire are
/// those of the published IDL, since the copy is made from it.
fn main() {
    println!("cargo:rerun-if-changed=../idl_rpc.thrift");
    println!("cargo:rerun-if-changed=volo.yml");
    volo_build::ConfigBuilder::default().write().unwrap();

    let published = std::fs::read_to_string("../idl_rpc.thrift").unwrap();
    let mut in_request = false;
    let lenient: String = published
        .lines()
        .map(|line| {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(name) = code.trim().strip_prefix("struct ") {
                in_request = name.trim_end_matches(['{', ' ']).ends_with("Request");
            }
            let mut lenient_code = code.replace(" string ", " binary ");
            if in_request {
                lenient_code = lenient_code.replace(" required ", " optional ");
            }
            line.replacen(code, &lenient_code, 1) + "\n"
        })
        .collect();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let lenient_idl = out_dir.join("idl_rpc_lenient.thrift");
    // Rewritten only when it changes: volo-build watches it, and a fresh mtime would rebuild
    // every crate that uses this one on every build.
    if std::fs::read_to_string(&lenient_idl).ok() != Some(lenient.clone()) {
        std::fs::write(&lenient_idl, lenient).unwrap();
    }
    volo_build::Builder::thrift()
        .add_service(lenient_idl)
        .filename("im_rpc_lenient.rs".into())
        .write()
        .unwrap();
}
