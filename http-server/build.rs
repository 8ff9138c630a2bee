//! The page's files are compiled in (`web.rs`): rebuild when any of them changes or is added.
fn main() {
    println!("cargo:rerun-if-changed=../web");
}
