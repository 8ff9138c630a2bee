//! The Thrift types and the `IMService` client/server of `idl_rpc.thrift`, generated at build
//! time. Both servers use these; nothing generated is committed.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/im_rpc.rs"));
}

pub use generated::im_rpc::rpc::*;
