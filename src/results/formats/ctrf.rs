//! Placeholder for the ctrf adapter, being written; it reads nothing and says so.

use std::io::BufRead;

use crate::results::ResultsErrorKind;
use crate::results::adapter::Adapter;
use crate::results::model::TestCase;

/// The ctrf format.
#[derive(Debug, Clone, Copy)]
pub struct Ctrf;

impl Adapter for Ctrf {
    fn name(&self) -> &'static str {
        "ctrf"
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn read(&self, _input: &mut dyn BufRead, _sink: &mut dyn FnMut(TestCase)) -> Result<(), ResultsErrorKind> {
        Err(ResultsErrorKind::Malformed {
            line: 1,
            column: 1,
            message: "the ctrf adapter is not written yet".to_owned(),
        })
    }
}
