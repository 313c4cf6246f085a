//! The one error type of the CI. Every failure that stops a run before a verdict exists (bad
//! command line, unknown recipe, malformed recipe data, unusable environment, I/O on the
//! artifacts dir) is an [`Error`]; test failures are not errors but outcomes (see `checks`).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong outside of a test's own verdict.
#[derive(Debug)]
pub enum Error {
    /// The command line does not match the usage.
    Usage(String),
    /// No recipe of that name exists (or the name is not a valid recipe name at all).
    UnknownRecipe {
        /// The name as given on the command line.
        name: String,
        /// The recipes folder that was searched.
        root: PathBuf,
        /// The recipes that do exist, sorted.
        known: Vec<String>,
    },
    /// The recipe exists but not at that revision.
    UnknownRevision {
        /// Recipe name.
        recipe: String,
        /// The revision as given on the command line.
        rev: String,
        /// The revisions of this recipe that do exist, sorted.
        known: Vec<String>,
    },
    /// A `recipe.toml` that cannot be parsed or is inconsistent.
    InvalidRecipe {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An environment variable the CI reads has a value it cannot use.
    InvalidEnv {
        /// Variable name.
        var: &'static str,
        /// The offending value.
        value: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A file-system or process operation failed.
    Io {
        /// What the CI was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The artifacts dir holds files of ours by name that a reference-ci run did not write;
    /// clearing them could destroy someone else's data.
    ForeignArtifacts {
        /// The first such file or folder.
        path: PathBuf,
    },
    /// A service process could not be brought up.
    Service {
        /// Service name.
        service: String,
        /// What went wrong, including where its log is.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with a description of what was being attempted.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Builds an [`Error::InvalidRecipe`].
    pub fn recipe(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::InvalidRecipe {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message}"),
            Error::UnknownRecipe { name, root, known } => write!(
                f,
                "unknown recipe {name:?}; known recipes in {}: {}",
                root.display(),
                list_or_none(known)
            ),
            Error::UnknownRevision { recipe, rev, known } => write!(
                f,
                "recipe {recipe:?} has no revision {rev:?}; known revisions: {}",
                list_or_none(known)
            ),
            Error::InvalidRecipe { path, message } => {
                write!(f, "invalid recipe {}: {message}", path.display())
            }
            Error::InvalidEnv {
                var,
                value,
                expected,
            } => write!(f, "invalid {var}={value:?}: expected {expected}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::ForeignArtifacts { path } => write!(
                f,
                "{} exists but was not written by reference-ci; use an empty artifacts dir",
                path.display()
            ),
            Error::Service { service, message } => write!(f, "service {service}: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_recipe_lists_the_known_ones() {
        let error = Error::UnknownRecipe {
            name: "../etc".into(),
            root: "/r".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            error.to_string(),
            "unknown recipe \"../etc\"; known recipes in /r: a, b"
        );
    }

    #[test]
    fn empty_lists_say_none() {
        let error = Error::UnknownRevision {
            recipe: "a".into(),
            rev: "x".into(),
            known: vec![],
        };
        assert!(error.to_string().ends_with("known revisions: (none)"));
    }
}
