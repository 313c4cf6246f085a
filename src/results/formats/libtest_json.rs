//! Placeholder for the libtest-json adapter, being written; it reads nothing and says so.

use std::io::BufRead;

use crate::results::ResultsErrorKind;
use crate::results::adapter::Adapter;
use crate::results::model::TestCase;

/// The libtest-json format.
#[derive(Debug, Clone, Copy)]
pub struct LibtestJson;

impl Adapter for LibtestJson {
    fn name(&self) -> &'static str {
        "libtest-json"
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn read(&self, _input: &mut dyn BufRead, _sink: &mut dyn FnMut(TestCase)) -> Result<(), ResultsErrorKind> {
        Err(ResultsErrorKind::Malformed {
            line: 1,
            column: 1,
            message: "the libtest-json adapter is not written yet".to_owned(),
        })
    }
}
