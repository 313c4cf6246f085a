//! Reading the results file a recipe CI writes, in whatever format it uses, into the normalised
//! [`RunResults`] model. Each format is a leaf module that knows nothing of the others.

pub mod adapter;
mod cc_ci;
pub mod formats;
mod model;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use model::{Outcome, RunResults, Stage, TestCase, TierStatus};

/// A results format a recipe CI can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum Format {
    /// cc-ci's `results.json`: tiers, level, flags and stages with named tests.
    #[serde(rename = "cc-ci")]
    CcCi,
}

impl Format {
    /// Every supported format's name, for error messages.
    pub const NAMES: &'static [&'static str] = &["cc-ci"];

    /// The name used in harness.toml.
    pub fn name(self) -> &'static str {
        match self {
            Format::CcCi => "cc-ci",
        }
    }

    /// Reads and parses a results file.
    pub fn read(self, path: &Path) -> Result<RunResults, ResultsError> {
        let file = std::fs::File::open(path).map_err(|source| ResultsError {
            path: path.to_owned(),
            format: self,
            kind: if source.kind() == io::ErrorKind::NotFound {
                ResultsErrorKind::Missing
            } else {
                ResultsErrorKind::Read(source)
            },
        })?;
        let parsed = match self {
            Format::CcCi => cc_ci::parse(io::BufReader::new(file)),
        };
        parsed.map_err(|kind| ResultsError {
            path: path.to_owned(),
            format: self,
            kind,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A results file that could not be read: a canary with such results always fails.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct ResultsError {
    /// The results file.
    pub path: PathBuf,
    /// The format it was read as.
    pub format: Format,
    /// What went wrong.
    #[source]
    pub kind: ResultsErrorKind,
}

impl ResultsError {
    /// A one-paragraph explanation naming the file, the position and what to do.
    pub fn explain(&self) -> String {
        let path = self.path.display();
        match &self.kind {
            ResultsErrorKind::Missing => format!(
                "the recipe CI wrote no results file at {path} (format {}); check `[ci] results` in harness.toml \
                 and that the CI writes its results there",
                self.format
            ),
            ResultsErrorKind::Read(error) => {
                format!("cannot read the results file {path}: {error}")
            }
            ResultsErrorKind::Malformed {
                line,
                column,
                message,
            } => format!(
                "malformed {} results in {path}:{line}:{column}: {message}",
                self.format
            ),
        }
    }
}

/// What is wrong with a results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsErrorKind {
    /// The file does not exist.
    #[error("results file missing")]
    Missing,
    /// The file exists but could not be read.
    #[error("cannot read results: {0}")]
    Read(#[source] io::Error),
    /// The content does not follow the format.
    #[error("malformed results at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
}
