//! The outcome history: every canary execution and every ingested test result, kept in a
//! SQLite database so that flaky tests can be found and quarantined.

pub mod model;
