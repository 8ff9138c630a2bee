//! The Thrift types and the `IMService` client/server of `idl_rpc.thrift`, generated at build
//! time. Nothing generated is committed.
//!
//! The top level is the published IDL, for clients. [`lenient`] is the same service as the
//! server decodes it: strings as raw bytes, every request field optional (see `build.rs`), so that the
//! service itself checks UTF-8 and missing fields and answers them with `Code 1`.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/im_rpc.rs"));
}

mod generated_lenient {
    include!(concat!(env!("OUT_DIR"), "/im_rpc_lenient.rs"));
}

pub use generated::im_rpc::rpc::*;

/// `IMService` with request strings as bytes and no required fields, for the server.
pub mod lenient {
    pub use super::generated_lenient::im_rpc_lenient::rpc::*;
}
