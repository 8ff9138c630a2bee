//! The HTTP field binding: any query string, Content-Type and body give fields or a 4xx error,
//! never a panic, and every typed read of the fields does too.

#![no_main]

use http_server::fields::Fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Option<&[u8]>, Option<&[u8]>, &[u8])| {
    let (query, content_type, body) = input;
    match Fields::parse(query, content_type, body) {
        Ok(fields) => {
            for name in ["chat", "text", "sender", "cursor", "limit", "reverse", "wait_ms"] {
                let _ = fields.string(name);
                let _ = fields.integer::<i64>(name);
                let _ = fields.integer::<i32>(name);
                let _ = fields.boolean(name);
            }
        }
        Err(err) => assert!(err.status().is_client_error(), "{err:?}"),
    }
});
