//! The domain parsers from raw bytes: whatever the bytes, parsing returns a value or an error,
//! never panics, and what it accepts keeps the invariants the rest of the code relies on.

#![no_main]

use im_domain::{MessageText, NewMessage, PageRequest, Room};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &[u8], &[u8], i64, i64, bool)| {
    let (chat, sender, text, cursor, limit, reverse) = input;
    // The servers hand the parsers `str`s only after checking UTF-8; so does this.
    let (Ok(chat), Ok(sender), Ok(text)) = (
        std::str::from_utf8(chat),
        std::str::from_utf8(sender),
        std::str::from_utf8(text),
    ) else {
        return;
    };
    if let Ok(room) = Room::parse(chat) {
        // The room form is canonical: it parses to itself.
        assert_eq!(Room::parse(room.key()).unwrap().key(), room.key());
    }
    if let Ok(parsed) = MessageText::parse(text) {
        assert_eq!(parsed.as_str(), text);
    }
    if let Ok(msg) = NewMessage::parse(chat, sender, text) {
        assert!(msg.room.has_member(&msg.sender));
    }
    if let Ok(page) = PageRequest::parse(chat, cursor, limit, reverse) {
        assert!((1..=101).contains(&page.rows_to_fetch()));
        let _ = page.bound();
    }
});
