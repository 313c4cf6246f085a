//! Config errors: where (file, line, column, with the offending line shown), what was expected,
//! and what to do. A missing file shows a minimal harness.toml to start from.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A minimal harness.toml, shown when none is found.
pub const MINIMAL_EXAMPLE: &str = r#"[ci]
command = ["my-recipe-ci", "{recipe}", "--ref", "{rev}", "--out", "{artifacts}"]
results = "{artifacts}/results.json"
format = "cc-ci"
timeout = "20m"

[run]
artifacts = "target/coalmine/runs"
max_parallel = 2"#;

/// harness.toml could not be found, read or understood.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file concerned (for a missing file, where one was expected).
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub kind: ConfigErrorKind,
}

/// What is wrong with the config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    /// No harness.toml in the folder or any parent.
    #[error("no harness.toml found")]
    NotFound {
        /// Where the search started.
        searched_from: PathBuf,
    },
    /// `COALMINE_CONFIG` names a file that does not exist.
    #[error("COALMINE_CONFIG names a file that does not exist")]
    EnvNotFound,
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] io::Error),
    /// The content is invalid at a position.
    #[error("{message}")]
    Invalid {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What was expected, what was found, and the valid choices.
        message: String,
        /// The offending line with a caret under the column.
        snippet: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ConfigErrorKind::NotFound { searched_from } => write!(
                f,
                "no harness.toml found in {} or any parent folder\n\
                 help: run `coalmine init` in your crate, or write a harness.toml such as:\n\n{MINIMAL_EXAMPLE}\n\n\
                 help: set COALMINE_CONFIG=path/to/harness.toml to use a file elsewhere",
                searched_from.display()
            ),
            ConfigErrorKind::EnvNotFound => write!(
                f,
                "{path}: no such file (named by COALMINE_CONFIG)\n\
                 help: point COALMINE_CONFIG at an existing harness.toml, or unset it to search upwards from the working directory"
            ),
            ConfigErrorKind::Read(error) => write!(f, "{path}: cannot read the file: {error}"),
            ConfigErrorKind::Invalid {
                line,
                column,
                message,
                snippet,
            } => write!(f, "{path}:{line}:{column}: {message}\n{snippet}"),
        }
    }
}
