fn main() {
    println!("cargo:rerun-if-changed=../idl_rpc.thrift");
    volo_build::ConfigBuilder::default().write().unwrap();
}
