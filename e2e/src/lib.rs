//! Only tests live here (`tests/`); they start the servers that `cargo build --bins` built.
