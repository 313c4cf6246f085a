//! Placeholder for the junit adapter, being written; it reads nothing and says so.

use std::io::BufRead;

use crate::results::ResultsErrorKind;
use crate::results::adapter::Adapter;
use crate::results::model::TestCase;

/// The junit format.
#[derive(Debug, Clone, Copy)]
pub struct Junit;

impl Adapter for Junit {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn read(&self, _input: &mut dyn BufRead, _sink: &mut dyn FnMut(TestCase)) -> Result<(), ResultsErrorKind> {
        Err(ResultsErrorKind::Malformed {
            line: 1,
            column: 1,
            message: "the junit adapter is not written yet".to_owned(),
        })
    }
}
