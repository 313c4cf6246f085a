//! Placeholder for the go-test-json adapter, being written; it reads nothing and says so.

use std::io::BufRead;

use crate::results::ResultsErrorKind;
use crate::results::adapter::Adapter;
use crate::results::model::TestCase;

/// The go-test-json format.
#[derive(Debug, Clone, Copy)]
pub struct GoTestJson;

impl Adapter for GoTestJson {
    fn name(&self) -> &'static str {
        "go-test-json"
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn read(&self, _input: &mut dyn BufRead, _sink: &mut dyn FnMut(TestCase)) -> Result<(), ResultsErrorKind> {
        Err(ResultsErrorKind::Malformed {
            line: 1,
            column: 1,
            message: "the go-test-json adapter is not written yet".to_owned(),
        })
    }
}
