//! Placeholder for the tap adapter, being written; it reads nothing and says so.

use std::io::BufRead;

use crate::results::ResultsErrorKind;
use crate::results::adapter::Adapter;
use crate::results::model::TestCase;

/// The tap format.
#[derive(Debug, Clone, Copy)]
pub struct Tap;

impl Adapter for Tap {
    fn name(&self) -> &'static str {
        "tap"
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn read(&self, _input: &mut dyn BufRead, _sink: &mut dyn FnMut(TestCase)) -> Result<(), ResultsErrorKind> {
        Err(ResultsErrorKind::Malformed {
            line: 1,
            column: 1,
            message: "the tap adapter is not written yet".to_owned(),
        })
    }
}
