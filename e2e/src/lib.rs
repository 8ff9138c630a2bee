//! Only tests live here (`tests/e2e/`, one binary); they start the servers, which the harness
//! builds first.
