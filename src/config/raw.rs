//! The serde shape of harness.toml, with spans kept on every value that is validated after
//! parsing (durations, templates, numbers), and the validation into [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::template::{Placeholder, Template};
use super::{
    CiConfig, Config, ConfigError, ConfigErrorKind, FlakyPolicy, HistoryConfig, OnSecretLeak,
    ReportConfig, RunConfig, SourceKind, SourcesConfig, defaults,
};
use crate::history::RunKind;
use crate::quarantine::{Owners, Policy, QuarantineConfig, QuarantineEntry};
use crate::results::{Format, StageField, Staging};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    ci: Option<RawCi>,
    #[serde(default)]
    run: RawRun,
    #[serde(default)]
    profiles: BTreeMap<String, RawCi>,
    #[serde(default)]
    history: RawHistory,
    policy: Option<Spanned<Policy>>,
    #[serde(default)]
    owners: Owners,
    #[serde(default)]
    quarantine: Vec<QuarantineEntry>,
    #[serde(default)]
    report: RawReport,
    #[serde(default)]
    sources: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: Spanned<String>,
    paths: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    tests: Vec<Spanned<String>>,
    decorators_import: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReport {
    junit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    #[serde(default = "yes")]
    record: bool,
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    #[serde(default = "local_lane")]
    lane: String,
    #[serde(default = "local_kind")]
    kind: RunKind,
}

impl Default for RawHistory {
    fn default() -> Self {
        RawHistory {
            record: true,
            path: None,
            url: None,
            lane: local_lane(),
            kind: local_kind(),
        }
    }
}

fn yes() -> bool {
    true
}

fn local_lane() -> String {
    "local".to_owned()
}

fn local_kind() -> RunKind {
    RunKind::Local
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCi {
    command: Spanned<Vec<Spanned<String>>>,
    results: Spanned<String>,
    #[serde(default = "default_format")]
    format: Format,
    stages: Option<Spanned<toml::Value>>,
    #[serde(default)]
    optional: bool,
    timeout: Option<Spanned<String>>,
    grace: Option<Spanned<String>>,
    slow: Option<Spanned<String>>,
    workdir: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    secret_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    on_secret_leak: OnSecretLeak,
}

fn default_format() -> Format {
    Format::CcCi
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRun {
    artifacts: Option<Spanned<String>>,
    max_parallel: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    #[serde(default)]
    flaky: FlakyPolicy,
    keep: Option<Spanned<i64>>,
    max_log_bytes: Option<Spanned<i64>>,
}

/// Every `[[quarantine]]` entry needs an owning team; a missing one gets a message naming the
/// entry's test (serde alone would only say "missing field `owner`"). Other problems are left
/// to the full parse, which reports them with their positions.
pub(super) fn check_quarantine_owners(source: &Source<'_>) -> Result<(), ConfigError> {
    #[derive(Deserialize)]
    struct Entries {
        #[serde(default)]
        quarantine: Vec<Spanned<toml::Table>>,
    }
    let Ok(entries) = toml::from_str::<Entries>(source.text) else {
        return Ok(());
    };
    for entry in &entries.quarantine {
        if !entry.get_ref().contains_key("owner") {
            let test = entry
                .get_ref()
                .get("test")
                .and_then(toml::Value::as_str)
                .unwrap_or("?");
            return Err(source.error_at(
                entry.span().start,
                format!(
                    "the [[quarantine]] entry for `{test}` has no owner: every quarantined test has an owning \
                     team; add e.g. owner = \"sig-compute\""
                ),
            ));
        }
    }
    Ok(())
}

/// The text being parsed and its path, to turn byte offsets into errors.
pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Source<'_> {
    /// An error at a byte offset, with line, column and the offending line underlined.
    pub(super) fn error_at(&self, offset: usize, message: String) -> ConfigError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        let column = self.text[line_start..offset].chars().count() + 1;
        let line_text = masked_urls(self.text[line_start..].lines().next().unwrap_or_default());
        let gutter = line.to_string().len();
        let snippet = format!(
            "{:gutter$} |\n{line} | {line_text}\n{:gutter$} | {:>column$}",
            "", "", "^"
        );
        ConfigError {
            path: self.path.to_owned(),
            kind: ConfigErrorKind::Invalid {
                line,
                column,
                message,
                snippet,
            },
        }
    }

    /// The byte offset of `inner` within a spanned string token: exact when the token is a
    /// string without escapes, else the token's start.
    fn offset_in_string(&self, span: &std::ops::Range<usize>, value: &str, inner: usize) -> usize {
        let token = self.text.get(span.clone()).unwrap_or_default();
        let quote = token.chars().next().filter(|c| *c == '"' || *c == '\'');
        match quote {
            Some(quote) if token.len() >= value.len() + 2 && &token[1..=value.len()] == value => {
                let _ = quote;
                span.start + 1 + inner
            }
            _ => span.start,
        }
    }

    fn template(&self, key: &str, value: &Spanned<String>) -> Result<Template, ConfigError> {
        Template::parse(value.get_ref()).map_err(|error| {
            let offset = self.offset_in_string(&value.span(), value.get_ref(), error.offset);
            self.error_at(offset, format!("in `{key}`: {}", error.message))
        })
    }

    fn duration(
        &self,
        key: &str,
        value: Option<&Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        let duration = humantime::parse_duration(value.get_ref()).map_err(|error| {
            self.error_at(
                value.span().start,
                format!(
                    "`{key}` = {:?} is not a duration: {error}; write it like \"90s\", \"20m\" or \"1h 30m\"",
                    value.get_ref()
                ),
            )
        })?;
        if duration.is_zero() && !key.ends_with(".grace") {
            return Err(self.error_at(
                value.span().start,
                format!("`{key}` must be longer than zero, e.g. \"20m\""),
            ));
        }
        Ok(duration)
    }

    /// `[ci] stages`: `"suite"`, `"root"`, `"classname"`, `"file"`, or
    /// `{ field = "classname", pattern = "regex with one (capture)" }`.
    fn staging(&self, key: &str, value: &Spanned<toml::Value>) -> Result<Staging, ConfigError> {
        const EXPECTED: &str = "expected \"suite\", \"root\", \"classname\", \"file\", or a table \
                                { field = \"classname\", pattern = \"^tests\\\\.test_(\\\\w+)\" }";
        let at = value.span().start;
        let field = |text: &str| -> Result<StageField, ConfigError> {
            match text {
                "suite" => Ok(StageField::Suite),
                "root" => Ok(StageField::Root),
                "classname" => Ok(StageField::Classname),
                "file" => Ok(StageField::File),
                other => Err(self.error_at(
                    at,
                    format!("`{key}.stages`: unknown field {other:?}; {EXPECTED}"),
                )),
            }
        };
        match value.get_ref() {
            toml::Value::String(text) => Ok(Staging::Field(field(text)?)),
            toml::Value::Table(table) => {
                if let Some(unknown) = table
                    .keys()
                    .find(|key| *key != "field" && *key != "pattern")
                {
                    return Err(self.error_at(
                        at,
                        format!("`{key}.stages`: unknown key `{unknown}`; {EXPECTED}"),
                    ));
                }
                let which = match table.get("field") {
                    Some(toml::Value::String(text)) => field(text)?,
                    None => StageField::Suite,
                    Some(_) => {
                        return Err(self.error_at(
                            at,
                            format!("`{key}.stages.field` must be a string; {EXPECTED}"),
                        ));
                    }
                };
                let Some(toml::Value::String(pattern)) = table.get("pattern") else {
                    return Err(self.error_at(
                        at,
                        format!("`{key}.stages` needs a `pattern` string; {EXPECTED}"),
                    ));
                };
                let regex = regex::Regex::new(pattern).map_err(|error| {
                    self.error_at(
                        at,
                        format!("`{key}.stages.pattern` is not a valid regex: {error}"),
                    )
                })?;
                if regex.captures_len() < 2 {
                    return Err(self.error_at(
                        at,
                        format!("`{key}.stages.pattern` {pattern:?} has no capture group: put the stage name in parentheses"),
                    ));
                }
                Ok(Staging::Pattern {
                    field: which,
                    regex,
                })
            }
            _ => Err(self.error_at(at, format!("`{key}.stages` has the wrong type; {EXPECTED}"))),
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let root = self.path.parent().unwrap_or(Path::new("."));
        root.join(path)
    }
}

impl RawConfig {
    pub(super) fn validate(self, source: &Source<'_>) -> Result<Config, ConfigError> {
        let ci = self
            .ci
            .as_ref()
            .map(|ci| ci.validate("ci", source))
            .transpose()?;
        let mut profiles = BTreeMap::new();
        for (name, profile) in &self.profiles {
            if crate::canary::validate_name(name).is_err() {
                return Err(source.error_at(
                    profile.command.span().start,
                    format!("profile name {name:?} must match [a-z0-9][a-z0-9._-]*"),
                ));
            }
            profiles.insert(
                name.clone(),
                profile.validate(&format!("profiles.{name}"), source)?,
            );
        }
        let artifacts = match &self.run.artifacts {
            Some(path) if path.get_ref().trim().is_empty() => {
                return Err(source.error_at(
                    path.span().start,
                    "`run.artifacts` is empty: give a folder such as \"target/coalmine/runs\""
                        .to_owned(),
                ));
            }
            Some(path) => source.resolve(path.get_ref()),
            None => source.resolve(defaults::ARTIFACTS),
        };
        let max_parallel = match &self.run.max_parallel {
            Some(value) if *value.get_ref() < 1 => {
                return Err(source.error_at(
                    value.span().start,
                    format!(
                        "`run.max_parallel` is {}: it must be at least 1",
                        value.get_ref()
                    ),
                ));
            }
            Some(value) => usize::try_from(*value.get_ref()).unwrap_or(usize::MAX),
            None => std::thread::available_parallelism().map_or(1, Into::into),
        };
        let retries = match &self.run.retries {
            Some(value) if !(0..=100).contains(value.get_ref()) => {
                return Err(source.error_at(
                    value.span().start,
                    format!(
                        "`run.retries` is {}: give a number of retries from 0 to 100",
                        value.get_ref()
                    ),
                ));
            }
            Some(value) => u32::try_from(*value.get_ref()).unwrap_or(0),
            None => 0,
        };
        let keep = match &self.run.keep {
            Some(value) if *value.get_ref() < 1 => {
                return Err(source.error_at(
                    value.span().start,
                    format!(
                        "`run.keep` is {}: keep at least the newest run folder of each canary \
                         (1 or more; the default is {})",
                        value.get_ref(),
                        defaults::KEEP
                    ),
                ));
            }
            Some(value) => usize::try_from(*value.get_ref()).unwrap_or(usize::MAX),
            None => defaults::KEEP,
        };
        let max_log_bytes = match &self.run.max_log_bytes {
            Some(value) if *value.get_ref() < defaults::MIN_LOG_BYTES as i64 => {
                return Err(source.error_at(
                    value.span().start,
                    format!(
                        "`run.max_log_bytes` is {}: keep at least {} bytes of each log (the default is {}, 64 MiB)",
                        value.get_ref(),
                        defaults::MIN_LOG_BYTES,
                        defaults::MAX_LOG_BYTES
                    ),
                ));
            }
            Some(value) => u64::try_from(*value.get_ref()).unwrap_or(u64::MAX),
            None => defaults::MAX_LOG_BYTES,
        };
        let history = HistoryConfig {
            record: self.history.record,
            path: match &self.history.path {
                Some(path) if path.get_ref().trim().is_empty() => {
                    return Err(source.error_at(
                        path.span().start,
                        "`history.path` is empty: give a file such as \".coalmine/history.db\", or remove the key".to_owned(),
                    ));
                }
                Some(_) if self.history.url.is_some() => {
                    let url = self.history.url.as_ref().map_or(0, |url| url.span().start);
                    return Err(source.error_at(
                        url,
                        "`history.path` and `history.url` are both set: keep the history in a file (path) or on a PostgreSQL server (url), not both".to_owned(),
                    ));
                }
                Some(path) => Some(source.resolve(path.get_ref())),
                None => match &self.history.url {
                    Some(url)
                        if !url.get_ref().starts_with("postgres://")
                            && !url.get_ref().starts_with("postgresql://") =>
                    {
                        return Err(source.error_at(
                            url.span().start,
                            format!(
                                "`history.url` is {:?}: give a PostgreSQL URL such as \"postgres://coalmine@db.example:5432/coalmine\"",
                                crate::history::store::mask_url(url.get_ref())
                            ),
                        ));
                    }
                    Some(url) => match crate::history::pg::check_url(url.get_ref()) {
                        Ok(()) => Some(PathBuf::from(url.get_ref())),
                        Err(reason) => {
                            return Err(source.error_at(
                                url.span().start,
                                format!(
                                    "`history.url` is {:?}: {reason}",
                                    crate::history::store::mask_url(url.get_ref())
                                ),
                            ));
                        }
                    },
                    None => None,
                },
            },
            lane: self.history.lane,
            kind: self.history.kind,
        };
        let policy = match self.policy {
            Some(policy) => {
                let span = policy.span();
                let policy = policy.into_inner();
                if let Err(error) = policy.validate() {
                    return Err(source.error_at(span.start, format!("in [policy]: {error}")));
                }
                policy
            }
            None => Policy::default(),
        };
        let sources = self
            .sources
            .iter()
            .map(|raw| raw.validate(source))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            path: source.path.to_owned(),
            sources,
            history,
            report: ReportConfig {
                junit: match &self.report.junit {
                    Some(path) if path.get_ref().trim().is_empty() => {
                        return Err(source.error_at(
                            path.span().start,
                            "`report.junit` is empty: give a file such as \"target/coalmine/junit.xml\"".to_owned(),
                        ));
                    }
                    Some(path) => Some(source.resolve(path.get_ref())),
                    None => None,
                },
            },
            quarantine: QuarantineConfig {
                policy,
                owners: self.owners,
                quarantine: self.quarantine,
            },
            ci,
            profiles,
            run: RunConfig {
                artifacts,
                max_parallel,
                retries,
                flaky: self.run.flaky,
                keep,
                max_log_bytes,
            },
        })
    }
}

impl RawSource {
    /// Validates one `[[sources]]` table.
    fn validate(&self, source: &Source<'_>) -> Result<SourcesConfig, ConfigError> {
        let kind = match self.kind.get_ref().as_str() {
            "ginkgo" => SourceKind::Ginkgo,
            "rust" => SourceKind::Rust,
            other => {
                return Err(source.error_at(
                    self.kind.span().start,
                    format!(
                        "`sources.kind` = {other:?} is not a kind of test source: write \"ginkgo\" \
                         (Go files with Ginkgo v2 specs) or \"rust\" (#[test] functions)"
                    ),
                ));
            }
        };
        if self.paths.get_ref().is_empty() {
            return Err(source.error_at(
                self.paths.span().start,
                "`sources.paths` is empty: list the folders or files holding the tests, relative \
                 to harness.toml, e.g. [\"tests\"]"
                    .to_owned(),
            ));
        }
        let mut paths = Vec::new();
        for path in self.paths.get_ref() {
            if path.get_ref().trim().is_empty() {
                return Err(source.error_at(
                    path.span().start,
                    "a `sources.paths` entry is empty: give a folder or file relative to \
                     harness.toml, e.g. \"tests\""
                        .to_owned(),
                ));
            }
            paths.push(source.resolve(path.get_ref()));
        }
        let decorators_import = match (&self.decorators_import, kind) {
            (Some(import), SourceKind::Rust) => {
                return Err(source.error_at(
                    import.span().start,
                    "`sources.decorators_import` is for kind = \"ginkgo\" only: remove it from \
                     this kind = \"rust\" table"
                        .to_owned(),
                ));
            }
            (Some(import), SourceKind::Ginkgo) => {
                let valid = !import.get_ref().is_empty()
                    && !import.get_ref().chars().any(|c| {
                        c == '"' || c == '\\' || c == '`' || c.is_whitespace() || c.is_control()
                    });
                if !valid {
                    return Err(source.error_at(
                        import.span().start,
                        format!(
                            "`sources.decorators_import` = {:?} is not a Go import path: give the \
                             package that defines `Quarantine`, e.g. \"{}\"",
                            import.get_ref(),
                            defaults::DECORATORS_IMPORT
                        ),
                    ));
                }
                import.get_ref().clone()
            }
            (None, _) => defaults::DECORATORS_IMPORT.to_owned(),
        };
        for pattern in &self.tests {
            if pattern.get_ref().trim().is_empty() {
                return Err(source.error_at(
                    pattern.span().start,
                    "a `sources.tests` pattern is empty: give test ids or globs such as \
                     \"KubeVirt Suite::*\", or remove the key to claim every test"
                        .to_owned(),
                ));
            }
        }
        Ok(SourcesConfig {
            kind,
            paths,
            tests: self
                .tests
                .iter()
                .map(|pattern| pattern.get_ref().clone())
                .collect(),
            decorators_import,
        })
    }
}

impl RawCi {
    /// Validates a `[ci]` table (or a `[profiles.<name>]` one, `key` naming it in messages).
    fn validate(&self, key: &str, source: &Source<'_>) -> Result<CiConfig, ConfigError> {
        if self.command.get_ref().is_empty() {
            return Err(source.error_at(
                self.command.span().start,
                format!(
                    "`{key}.command` is empty: give the program and its arguments, e.g. \
                     [\"my-recipe-ci\", \"{{recipe}}\", \"--ref\", \"{{rev}}\"]"
                ),
            ));
        }
        let program = &self.command.get_ref()[0];
        if program.get_ref().trim().is_empty() {
            return Err(source.error_at(
                program.span().start,
                format!("the program (first element of `{key}.command`) is empty: name the recipe CI's executable"),
            ));
        }
        let command = self
            .command
            .get_ref()
            .iter()
            .map(|arg| source.template(&format!("{key}.command"), arg))
            .collect::<Result<Vec<_>, _>>()?;
        let results = source.template(&format!("{key}.results"), &self.results)?;
        if self.results.get_ref().trim().is_empty() {
            return Err(source.error_at(
                self.results.span().start,
                format!("`{key}.results` is empty: give the path the CI writes its results to, e.g. \"{{artifacts}}/results.json\""),
            ));
        }
        if !results.uses(Placeholder::Artifacts) && !results.uses(Placeholder::RunId) {
            return Err(source.error_at(
                self.results.span().start,
                format!(
                    "`{key}.results` = {:?} is the same path for every run: a run could read the results a previous or \
                     concurrent run left there (a false green); put it in the run's own folder, e.g. \
                     \"{{artifacts}}/results.json\", or make it unique with {{run_id}}",
                    self.results.get_ref()
                ),
            ));
        }
        let stages = match &self.stages {
            Some(value) => source.staging(key, value)?,
            None => Staging::Default,
        };
        let workdir = match &self.workdir {
            Some(workdir) => source.template(&format!("{key}.workdir"), workdir)?,
            None => Template::literal("."),
        };
        let mut env = BTreeMap::new();
        for (name, value) in &self.env {
            if name.is_empty() || name.contains('=') {
                return Err(source.error_at(
                    value.span().start,
                    format!("`{key}.env` key {name:?} is not a valid environment variable name"),
                ));
            }
            env.insert(
                name.clone(),
                source.template(&format!("{key}.env.{name}"), value)?,
            );
        }
        for name in &self.secrets {
            let valid = !name.get_ref().is_empty()
                && name
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(source.error_at(
                    name.span().start,
                    format!(
                        "`{key}.secrets` entry {:?} is not an environment variable name: list the names of the \
                         variables holding secrets (e.g. \"CCCI_TOKEN\"), not their values",
                        name.get_ref()
                    ),
                ));
            }
        }
        for pattern in &self.secret_patterns {
            if let Err(error) = regex::bytes::Regex::new(pattern.get_ref()) {
                return Err(source.error_at(
                    pattern.span().start,
                    format!("`{key}.secret_patterns` entry is not a valid regex: {error}"),
                ));
            }
        }
        Ok(CiConfig {
            command,
            results,
            format: self.format,
            stages,
            timeout: source.duration(
                &format!("{key}.timeout"),
                self.timeout.as_ref(),
                defaults::TIMEOUT,
            )?,
            grace: source.duration(
                &format!("{key}.grace"),
                self.grace.as_ref(),
                defaults::GRACE,
            )?,
            slow: source.duration(&format!("{key}.slow"), self.slow.as_ref(), defaults::SLOW)?,
            workdir,
            env,
            secrets: self
                .secrets
                .iter()
                .map(|name| name.get_ref().clone())
                .collect(),
            secret_patterns: self
                .secret_patterns
                .iter()
                .map(|pattern| pattern.get_ref().clone())
                .collect(),
            optional: self.optional,
            on_secret_leak: self.on_secret_leak,
        })
    }
}

/// `line` with the password of every URL in it shown as `***` (a `[history] url` may hold one,
/// and an error quotes its line).
fn masked_urls(line: &str) -> String {
    if !line.contains("://") {
        return line.to_owned();
    }
    let boundary = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']');
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let start = rest[..at].rfind(boundary).map_or(0, |index| index + 1);
        let end = rest[at..]
            .find(boundary)
            .map_or(rest.len(), |index| at + index);
        out.push_str(&rest[..start]);
        out.push_str(&crate::history::store::mask_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
