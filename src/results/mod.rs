//! Reading the results file a recipe CI writes, in whatever format it uses, into the normalised
//! [`RunResults`] model. Each format is a leaf module that knows nothing of the others.

pub mod adapter;
mod cc_ci;
pub mod formats;
mod json_stream;
mod model;
pub mod staging;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use model::{Outcome, RunResults, Stage, TestCase, TierStatus};
pub use staging::{StageField, Staging};

/// A results format a recipe CI can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// cc-ci's `results.json`: tiers, level, flags and stages with named tests.
    CcCi,
    /// JUnit XML, in all its dialects.
    Junit,
    /// CTRF JSON.
    Ctrf,
    /// TAP 13 and 14.
    Tap,
    /// libtest's JSON event stream.
    LibtestJson,
    /// `go test -json`.
    GoTestJson,
    /// Whichever of these the content looks like.
    Auto,
}

/// How many bytes of a file format detection looks at.
const SNIFF_BYTES: usize = 4096;

impl Format {
    /// Every format's name, as written in harness.toml.
    pub const NAMES: &'static [&'static str] = &[
        "cc-ci",
        "junit",
        "ctrf",
        "tap",
        "libtest-json",
        "go-test-json",
        "auto",
    ];

    /// The name used in harness.toml.
    pub fn name(self) -> &'static str {
        match self {
            Format::CcCi => "cc-ci",
            Format::Junit => "junit",
            Format::Ctrf => "ctrf",
            Format::Tap => "tap",
            Format::LibtestJson => "libtest-json",
            Format::GoTestJson => "go-test-json",
            Format::Auto => "auto",
        }
    }

    fn adapter(self) -> Option<&'static dyn adapter::Adapter> {
        Some(match self {
            Format::Junit => &formats::Junit,
            Format::Ctrf => &formats::Ctrf,
            Format::Tap => &formats::Tap,
            Format::LibtestJson => &formats::LibtestJson,
            Format::GoTestJson => &formats::GoTestJson,
            Format::CcCi | Format::Auto => return None,
        })
    }

    /// The concrete formats `auto` tries, in order.
    const DETECTABLE: [Format; 6] = [
        Format::CcCi,
        Format::Junit,
        Format::Ctrf,
        Format::LibtestJson,
        Format::GoTestJson,
        Format::Tap,
    ];

    fn sniff(self, head: &[u8]) -> bool {
        match self {
            Format::CcCi => cc_ci::sniff(head),
            Format::Auto => false,
            other => other.adapter().is_some_and(|adapter| adapter.sniff(head)),
        }
    }

    /// Parses results from a reader (grouping streamed tests with the default staging).
    /// `auto` is detected from the first bytes.
    pub fn parse(self, input: &mut dyn io::BufRead) -> Result<RunResults, ResultsErrorKind> {
        let format = match self {
            Format::Auto => detect(input)?,
            concrete => concrete,
        };
        match format.adapter() {
            None => cc_ci::parse(input),
            Some(adapter) => {
                let mut tests = Vec::new();
                adapter.read(input, &mut |test| {
                    tests.push((test, format.name().to_owned()))
                })?;
                Ok(staging::group(tests, &Staging::Default))
            }
        }
    }

    /// Reads and parses one results file (with the default staging).
    pub fn read(self, path: &Path) -> Result<RunResults, ResultsError> {
        self.read_all(&[path.to_owned()], &Staging::Default)
    }

    /// Reads several results files of one run (a CI may write one per tier) and merges them:
    /// tests are grouped into stages by `staging` (cc-ci files carry their own stages), and a
    /// tier reported twice takes the worse status.
    pub fn read_all(
        self,
        paths: &[PathBuf],
        staging: &Staging,
    ) -> Result<RunResults, ResultsError> {
        let mut native: Vec<RunResults> = Vec::new();
        let mut streamed: Vec<(TestCase, String)> = Vec::new();
        for path in paths {
            let error = |format: Format, kind: ResultsErrorKind| ResultsError {
                path: path.clone(),
                format,
                kind,
            };
            if std::fs::metadata(path).is_ok_and(|metadata| metadata.is_dir()) {
                return Err(error(self, ResultsErrorKind::Folder));
            }
            let file = std::fs::File::open(path).map_err(|source| {
                error(
                    self,
                    if source.kind() == io::ErrorKind::NotFound {
                        ResultsErrorKind::Missing
                    } else {
                        ResultsErrorKind::Read(source)
                    },
                )
            })?;
            let mut reader = io::BufReader::with_capacity(64 * 1024, file);
            let format = match self {
                Format::Auto => detect(&mut reader).map_err(|kind| error(self, kind))?,
                concrete => concrete,
            };
            match format.adapter() {
                None => native.push(cc_ci::parse(reader).map_err(|kind| error(format, kind))?),
                Some(adapter) => {
                    let fallback = path.file_stem().map_or_else(
                        || format.name().to_owned(),
                        |stem| stem.to_string_lossy().into_owned(),
                    );
                    adapter
                        .read(&mut reader, &mut |test| {
                            streamed.push((test, fallback.clone()))
                        })
                        .map_err(|kind| error(format, kind))?;
                }
            }
        }
        let mut merged = if streamed.is_empty() {
            RunResults::default()
        } else {
            staging::group(streamed, staging)
        };
        for results in native {
            merge(&mut merged, results);
        }
        Ok(merged)
    }
}

/// Looks at the start of a file and names its format, or says what was tried.
fn detect(reader: &mut dyn io::BufRead) -> Result<Format, ResultsErrorKind> {
    let head = reader.fill_buf().map_err(ResultsErrorKind::Read)?;
    let head = &head[..head.len().min(SNIFF_BYTES)];
    Format::DETECTABLE
        .into_iter()
        .find(|format| format.sniff(head))
        .ok_or_else(|| undetected(head))
}

/// The error for a file no format recognises: the formats tried and how the file starts.
fn undetected(head: &[u8]) -> ResultsErrorKind {
    let tried: Vec<&str> = Format::DETECTABLE
        .iter()
        .map(|format| format.name())
        .collect();
    let start: String = String::from_utf8_lossy(&head[..head.len().min(60)])
        .chars()
        .collect();
    ResultsErrorKind::Undetected {
        tried: tried.join(", "),
        start: format!("{start:?}"),
    }
}

/// Adds `other` to `into`: tiers reported twice take the worse status, flags reported twice
/// are true only if both are, stages with the same name pool their tests.
fn merge(into: &mut RunResults, other: RunResults) {
    into.recipe = into.recipe.take().or(other.recipe);
    into.rev = into.rev.take().or(other.rev);
    into.level = match (into.level, other.level) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    for (tier, status) in other.tiers {
        match into.tiers.iter_mut().find(|(name, _)| *name == tier) {
            Some((_, current)) => *current = worse(*current, status),
            None => into.tiers.push((tier, status)),
        }
    }
    for (flag, value) in other.flags {
        let entry = into.flags.entry(flag).or_insert(value);
        *entry = *entry && value;
    }
    for stage in other.stages {
        match into
            .stages
            .iter_mut()
            .find(|found| found.name == stage.name)
        {
            Some(found) => found.tests.extend(stage.tests),
            None => into.stages.push(stage),
        }
    }
}

fn worse(a: TierStatus, b: TierStatus) -> TierStatus {
    let rank = |status: TierStatus| match status {
        TierStatus::Fail => 3,
        TierStatus::Unver => 2,
        TierStatus::Skip => 1,
        TierStatus::Pass => 0,
    };
    if rank(a) >= rank(b) { a } else { b }
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

/// Where a recipe CI's results are configured, for the hints of [`ResultsError::explain`].
#[derive(Debug, Clone, Copy)]
pub struct ResultsKey<'a> {
    /// The table of the CI: `[ci]`, or `[profiles.<name>]`.
    pub table: &'a str,
    /// The config file that was read (the one `COALMINE_CONFIG` names, or the one found).
    pub config: &'a Path,
}

impl ResultsError {
    /// A one-paragraph explanation naming the file, the position and what to do, with hints
    /// that name the key (`[profiles.pytest] results`) in the config file that was read.
    pub fn explain(&self, key: ResultsKey<'_>) -> String {
        let path = self.path.display();
        let (table, config) = (key.table, key.config.display());
        match &self.kind {
            ResultsErrorKind::Missing => format!(
                "the recipe CI wrote no results file at {path} (format {}); check `{table} results` in {config} \
                 and that the CI writes its results there",
                self.format
            ),
            ResultsErrorKind::Folder => format!(
                "the results path {path} is a folder, not a file (format {}); `{table} results` in {config} must \
                 name the file the CI writes, or a glob of files such as \"{{artifacts}}/junit/*.xml\"",
                self.format
            ),
            ResultsErrorKind::NoMatch { folders } => format!(
                "no file matches the results glob {path} (format {}){}; check `{table} results` in {config} \
                 and that the CI writes its results there",
                self.format,
                match folders {
                    0 => String::new(),
                    folders => format!(": it matches {folders} folder(s), and only files are read"),
                }
            ),
            ResultsErrorKind::Pattern(message) => format!(
                "the results glob {path} is not a valid pattern ({message}); fix `{table} results` in {config}"
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
            ResultsErrorKind::Undetected { tried, start } => format!(
                "cannot tell the format of the results file {path}: tried {tried}; it starts with {start}; \
                 set `{table} format` in {config}"
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
    /// The path is a folder, not a file.
    #[error("the results path is a folder")]
    Folder,
    /// A glob that matches no file.
    #[error("no file matches the results glob")]
    NoMatch {
        /// How many folders it matches (never read as results).
        folders: usize,
    },
    /// A glob that is not a valid pattern.
    #[error("invalid results glob: {0}")]
    Pattern(String),
    /// The file exists but could not be read.
    #[error("cannot read results: {0}")]
    Read(#[source] io::Error),
    /// `format = "auto"` recognised none of the formats.
    #[error("unrecognised results format (tried {tried})")]
    Undetected {
        /// The formats tried.
        tried: String,
        /// What the file starts with, quoted.
        start: String,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(format: Format, text: &str) -> Result<RunResults, ResultsErrorKind> {
        format.parse(&mut text.as_bytes())
    }

    #[test]
    fn auto_detects_each_format() {
        let cc_ci = parse(Format::Auto, r#"{"results": {"install": "pass"}}"#).unwrap();
        assert_eq!(cc_ci.tier("install"), Some(TierStatus::Pass));
        let junit = parse(
            Format::Auto,
            r#"<?xml version="1.0"?><testsuite name="install"><testcase name="t"><failure/></testcase></testsuite>"#,
        )
        .unwrap();
        assert_eq!(junit.tier("install"), Some(TierStatus::Fail));
        let tap = parse(Format::Auto, "TAP version 13\n1..1\nok 1 - works\n").unwrap();
        assert_eq!(tap.stages[0].tests[0].outcome, Outcome::Pass);
    }

    #[test]
    fn auto_names_what_it_tried() {
        match parse(Format::Auto, "hello, world") {
            Err(ResultsErrorKind::Undetected { tried, start }) => {
                assert_eq!(tried, "cc-ci, junit, ctrf, libtest-json, go-test-json, tap");
                assert_eq!(start, "\"hello, world\"");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_folder_is_not_a_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = Format::CcCi.read(dir.path()).unwrap_err();
        assert!(matches!(error.kind, ResultsErrorKind::Folder), "{error:?}");
        let key = ResultsKey {
            table: "[profiles.pytest]",
            config: Path::new("/project/canaries.toml"),
        };
        assert_eq!(
            error.explain(key),
            format!(
                "the results path {} is a folder, not a file (format cc-ci); `[profiles.pytest] results` in \
                 /project/canaries.toml must name the file the CI writes, or a glob of files such as \
                 \"{{artifacts}}/junit/*.xml\"",
                dir.path().display()
            )
        );
        let missing = Format::Junit
            .read(&dir.path().join("none.xml"))
            .unwrap_err();
        assert!(
            missing
                .explain(key)
                .ends_with("check `[profiles.pytest] results` in /project/canaries.toml and that the CI writes its results there"),
            "{}",
            missing.explain(key)
        );
    }

    #[test]
    fn merging_takes_the_worse_tier_and_the_false_flag() {
        let mut into = parse(
            Format::CcCi,
            r#"{"results": {"install": "pass"}, "flags": {"clean": true}}"#,
        )
        .unwrap();
        let other = parse(
            Format::CcCi,
            r#"{"results": {"install": "fail", "custom": "skip"}, "flags": {"clean": false}}"#,
        )
        .unwrap();
        merge(&mut into, other);
        assert_eq!(into.tier("install"), Some(TierStatus::Fail));
        assert_eq!(into.tier("custom"), Some(TierStatus::Skip));
        assert_eq!(into.flag("clean"), Some(false));
    }

    proptest::proptest! {
        #[test]
        fn cc_ci_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = Format::CcCi.parse(&mut bytes.as_slice());
            let _ = Format::Auto.parse(&mut bytes.as_slice());
        }

        #[test]
        fn cc_ci_reads_back_what_was_written(statuses in proptest::collection::vec(0usize..4, 0..8)) {
            let tiers: Vec<(String, TierStatus)> = statuses
                .iter()
                .enumerate()
                .map(|(index, status)| (format!("tier{index}"), TierStatus::ALL[*status]))
                .collect();
            let results = RunResults { tiers: tiers.clone(), ..RunResults::default() };
            let text = serde_json::json!({
                "results": tiers.iter().map(|(tier, status)| (tier.clone(), serde_json::Value::from(status.as_str()))).collect::<serde_json::Map<_, _>>(),
            });
            let read = Format::CcCi.parse(&mut text.to_string().as_bytes()).unwrap();
            let mut expected = results.tiers.clone();
            expected.sort();
            let mut got = read.tiers.clone();
            got.sort();
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
