//! Secrets the recipe CI leaked. Everything in a run's artifact folder after the CI exits was
//! written by the CI (the harness writes `canary.json` later), so each secret that redaction
//! replaced there is one the CI leaked: its output held the value of a `[ci] secrets` variable
//! (or one of its encoded forms) or a match of a `[ci] secret_patterns` regex.
//!
//! [`leaks`] turns what redaction counted, file by file, into one [`SecretLeak`] per variable
//! and per pattern (recorded in canary.json: names, counts and files, never a value);
//! [`headline`] and [`contradiction`] are the lines that say so:
//!
//! ```text
//! SECRET LEAK: the value of CI_SECRET_TOKEN appeared 3 times (stdout.log, stderr.log, results.json): ...
//! CONTRADICTION: the results say no_secret_leak is true, but the value of CI_SECRET_TOKEN appeared 3 times in the run's files
//! ```
//!
//! With `[ci] on_secret_leak = "fail"` (the default) they fail the canary; with `"warn"` they
//! are warnings, and the canary is judged on its checks alone.

use std::path::Path;

use crate::config::OnSecretLeak;
use crate::execute::redact::Counts;

/// How many files a line names before "and N more files".
const FILES_SHOWN: usize = 5;

/// One secret the recipe CI leaked, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretLeak {
    /// The variable whose value leaked, or the pattern that matched.
    pub secret: String,
    /// Which of the two `secret` is.
    pub kind: LeakKind,
    /// How many times it appeared in all.
    pub count: u64,
    /// The files it appeared in (relative to the artifact folder when inside it), and how
    /// many times in each.
    pub files: Vec<FileCount>,
}

/// What a [`SecretLeak`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakKind {
    /// A variable of `[ci] secrets`, whose value appeared.
    Variable,
    /// A regex of `[ci] secret_patterns`, which matched.
    Pattern,
}

/// How many times a secret appeared in one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileCount {
    /// The file.
    pub file: String,
    /// How many times.
    pub count: u64,
}

/// The leaks in what redaction found: `found` holds each file's name and counts, in the order
/// the files are to be named; `variables` names the values by their index (as given to the
/// redactor), `patterns` the patterns. Variables first, in that order, then patterns; a name
/// given twice is one leak.
pub fn leaks(
    variables: &[String],
    patterns: &[String],
    found: &[(String, Counts)],
) -> Vec<SecretLeak> {
    let mut leaks: Vec<SecretLeak> = Vec::new();
    let mut add = |kind: LeakKind, secret: &str, file: &str, count: u64| {
        let index = match leaks
            .iter()
            .position(|leak| leak.kind == kind && leak.secret == secret)
        {
            Some(index) => index,
            None => {
                leaks.push(SecretLeak {
                    secret: secret.to_owned(),
                    kind,
                    count: 0,
                    files: Vec::new(),
                });
                leaks.len() - 1
            }
        };
        let leak = &mut leaks[index];
        leak.count += count;
        match leak.files.iter_mut().find(|entry| entry.file == file) {
            Some(entry) => entry.count += count,
            None => leak.files.push(FileCount {
                file: file.to_owned(),
                count,
            }),
        }
    };
    for (index, name) in variables.iter().enumerate() {
        for (file, counts) in found {
            if let Some(count) = counts.values.get(&index).filter(|count| **count > 0) {
                add(LeakKind::Variable, name, file, *count);
            }
        }
    }
    for (index, pattern) in patterns.iter().enumerate() {
        for (file, counts) in found {
            if let Some(count) = counts.patterns.get(&index).filter(|count| **count > 0) {
                add(LeakKind::Pattern, pattern, file, *count);
            }
        }
    }
    leaks
}

/// The `SECRET LEAK` line: each secret with its count and files, and what to do about it.
/// `section` is the table the CI's settings are in (`[ci]`, `[profiles.<name>]`), `config` the
/// file.
pub fn headline(
    leaks: &[SecretLeak],
    policy: OnSecretLeak,
    section: &str,
    config: &Path,
) -> String {
    let what: Vec<String> = leaks
        .iter()
        .map(|leak| format!("{} ({})", appeared(leak), files(leak)))
        .collect();
    let (secret, it) = if leaks.len() == 1 {
        ("a secret", "it")
    } else {
        ("secrets", "them")
    };
    let advice = match policy {
        OnSecretLeak::Fail => format!(
            "if it prints {it} on purpose, set `on_secret_leak = \"warn\"` in {section} of {}",
            config.display()
        ),
        OnSecretLeak::Warn => allowed(section, config),
    };
    format!(
        "SECRET LEAK: {}: the recipe CI leaked {secret} into its output (coalmine redacted {it}); {advice}",
        what.join("; ")
    )
}

/// The `CONTRADICTION` line for results that claim `no_secret_leak: true` despite `leaks`.
pub fn contradiction(
    leaks: &[SecretLeak],
    policy: OnSecretLeak,
    section: &str,
    config: &Path,
) -> String {
    let what: Vec<String> = leaks.iter().map(appeared).collect();
    let mut line = format!(
        "CONTRADICTION: the results say no_secret_leak is true, but {} in the run's files",
        what.join(" and ")
    );
    if policy == OnSecretLeak::Warn {
        line.push_str("; ");
        line.push_str(&allowed(section, config));
    }
    line
}

fn allowed(section: &str, config: &Path) -> String {
    format!(
        "allowed by `on_secret_leak = \"warn\"` in {section} of {}",
        config.display()
    )
}

/// "the value of X appeared 3 times", "a match of secret pattern `p` appeared 1 time".
fn appeared(leak: &SecretLeak) -> String {
    let what = match leak.kind {
        LeakKind::Variable => format!("the value of {}", leak.secret),
        LeakKind::Pattern => format!("a match of secret pattern `{}`", leak.secret),
    };
    let times = if leak.count == 1 { "time" } else { "times" };
    format!("{what} appeared {} {times}", leak.count)
}

/// "stdout.log, stderr.log, results.json", at most [`FILES_SHOWN`] of them.
fn files(leak: &SecretLeak) -> String {
    let shown: Vec<&str> = leak
        .files
        .iter()
        .take(FILES_SHOWN)
        .map(|entry| entry.file.as_str())
        .collect();
    let more = leak.files.len().saturating_sub(FILES_SHOWN);
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(
            " and {more} more file{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[(usize, u64)], patterns: &[(usize, u64)]) -> Counts {
        Counts {
            total: values.iter().chain(patterns).map(|(_, n)| n).sum(),
            values: values.iter().copied().collect(),
            patterns: patterns.iter().copied().collect(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn one_leak_per_variable_and_pattern_with_its_files() {
        let found = [
            ("stdout.log".to_owned(), counts(&[(0, 1)], &[])),
            (
                "stderr.log".to_owned(),
                counts(&[(0, 1), (2, 1)], &[(0, 2)]),
            ),
            ("results.json".to_owned(), counts(&[(0, 1)], &[])),
        ];
        let leaks = leaks(
            &names(&["CI_SECRET_TOKEN", "UNUSED", "CI_SECRET_TOKEN"]),
            &names(&["tok_[a-z]+", "never"]),
            &found,
        );
        assert_eq!(leaks.len(), 2, "{leaks:?}");
        assert_eq!(leaks[0].secret, "CI_SECRET_TOKEN");
        assert_eq!(leaks[0].count, 4);
        assert_eq!(
            leaks[0].files,
            [
                FileCount {
                    file: "stdout.log".into(),
                    count: 1
                },
                FileCount {
                    file: "stderr.log".into(),
                    count: 2
                },
                FileCount {
                    file: "results.json".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(leaks[1].kind, LeakKind::Pattern);
        let config = Path::new("/p/harness.toml");
        assert_eq!(
            headline(&leaks, OnSecretLeak::Fail, "[ci]", config),
            "SECRET LEAK: the value of CI_SECRET_TOKEN appeared 4 times (stdout.log, stderr.log, \
             results.json); a match of secret pattern `tok_[a-z]+` appeared 2 times (stderr.log): the \
             recipe CI leaked secrets into its output (coalmine redacted them); if it prints them on \
             purpose, set `on_secret_leak = \"warn\"` in [ci] of /p/harness.toml"
        );
        assert_eq!(
            contradiction(&leaks[..1], OnSecretLeak::Warn, "[profiles.x]", config),
            "CONTRADICTION: the results say no_secret_leak is true, but the value of CI_SECRET_TOKEN \
             appeared 4 times in the run's files; allowed by `on_secret_leak = \"warn\"` in \
             [profiles.x] of /p/harness.toml"
        );
        assert!(
            headline(&leaks[..1], OnSecretLeak::Warn, "[ci]", config).ends_with(
                "the recipe CI leaked a secret into its output (coalmine redacted it); allowed by \
                 `on_secret_leak = \"warn\"` in [ci] of /p/harness.toml"
            )
        );
        assert!(super::leaks(&names(&["A"]), &[], &[]).is_empty());
    }

    #[test]
    fn many_files_are_counted_not_all_named() {
        let found: Vec<(String, Counts)> = (0..8)
            .map(|n| (format!("f{n}.log"), counts(&[(0, 1)], &[])))
            .collect();
        let leaks = leaks(&names(&["T"]), &[], &found);
        let line = headline(&leaks, OnSecretLeak::Fail, "[ci]", Path::new("h.toml"));
        assert!(
            line.starts_with(
                "SECRET LEAK: the value of T appeared 8 times (f0.log, f1.log, f2.log, f3.log, f4.log \
                 and 3 more files): "
            ),
            "{line}"
        );
    }
}
