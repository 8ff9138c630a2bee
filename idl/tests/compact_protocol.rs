//! The compact protocol's synchronous decoder (framed transport) reads structs with bool fields.
//! Fails with pilota 0.13.1 as published: see vendor/pilota/PATCHED.md.

use im_idl::PullRequest;
use pilota::thrift::Message;
use pilota::thrift::compact::{TCompactInputProtocol, TCompactOutputProtocol};
use pilota::{Bytes, BytesMut};

#[test]
fn a_pull_with_reverse_decodes_from_compact_bytes() {
    let pull = PullRequest {
        chat: "al:bob".into(),
        cursor: 7,
        limit: 3,
        reverse: Some(true),
        wait_ms: Some(250),
    };
    let mut encoded = BytesMut::new();
    pull.encode(&mut TCompactOutputProtocol::new(&mut encoded, false))
        .unwrap();
    let mut bytes: Bytes = encoded.freeze();
    let decoded = PullRequest::decode(&mut TCompactInputProtocol::new(&mut bytes)).unwrap();
    assert_eq!(decoded, pull);
}
