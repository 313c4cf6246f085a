//! The cc-ci `results.json` format: top-level `results` (tier -> `pass`/`fail`/`skip`/`unver`),
//! `level`, `flags` (booleans), and `stages` either as a map `{stage: {tests: [...]}}` or as a
//! list `[{name, tests: [...]}]`, each test `{name, outcome}`. Unknown fields are ignored.
//!
//! Status and outcome words are accepted exactly as documented, in lower case: cc-ci writes
//! them so, and guessing at another spelling could turn a failure into a pass. Any other word
//! (`PASS`, `passed`, `ok`) is an error that names the word it most likely means.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::ResultsErrorKind;
use super::json_stream::json_message;
use super::model::{Outcome, RunResults, Stage, TestCase, TierStatus};
use crate::suggest::{closest_first, edit_distance};

/// Whether a file starting with `head` looks like cc-ci results: a JSON object whose
/// `"results"` is an object of strings (tier statuses), not CTRF's `{"tool": ...}`.
pub(super) fn sniff(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.starts_with('{') {
        return false;
    }
    let Some(at) = text.find("\"results\"") else {
        return false;
    };
    let rest = text[at + "\"results\"".len()..].trim_start();
    let Some(rest) = rest.strip_prefix(':').map(str::trim_start) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('{').map(str::trim_start) else {
        return false;
    };
    // `{}` or `{"tier": "status"`.
    if rest.starts_with('}') {
        return true;
    }
    let Some(rest) = rest.strip_prefix('"') else {
        return false;
    };
    let Some(end) = rest.find('"') else {
        return false;
    };
    let after = rest[end + 1..].trim_start();
    after
        .strip_prefix(':')
        .is_some_and(|value| value.trim_start().starts_with('"'))
}

/// Parses a cc-ci results document.
pub(super) fn parse(reader: impl Read) -> Result<RunResults, ResultsErrorKind> {
    let raw: RawResults =
        serde_json::from_reader(reader).map_err(|error| ResultsErrorKind::Malformed {
            line: error.line(),
            column: error.column(),
            message: json_message(&error),
        })?;
    Ok(RunResults {
        recipe: raw.recipe,
        rev: raw.rev,
        tiers: raw.results.0,
        level: raw.level,
        flags: raw.flags,
        stages: raw.stages.map(|stages| stages.0).unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct RawResults {
    #[serde(default)]
    recipe: Option<String>,
    #[serde(default)]
    rev: Option<String>,
    results: RawTiers,
    #[serde(default)]
    level: Option<i64>,
    #[serde(default)]
    flags: BTreeMap<String, bool>,
    #[serde(default)]
    stages: Option<RawStages>,
}

/// The tiers, an object read into a list of entries in document order, each status checked
/// with its tier's name at hand for the error.
struct RawTiers(Vec<(String, TierStatus)>);

impl<'de> Deserialize<'de> for RawTiers {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TiersVisitor;
        impl<'de> Visitor<'de> for TiersVisitor {
            type Value = RawTiers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, TierStatus)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(existing, _)| *existing == key) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let word: String = map.next_value()?;
                    let status = tier_status(&key, &word).map_err(de::Error::custom)?;
                    entries.push((key, status));
                }
                Ok(RawTiers(entries))
            }
        }
        deserializer.deserialize_map(TiersVisitor)
    }
}

/// The tier statuses, exactly as cc-ci writes them.
const TIER_WORDS: [&str; 4] = ["pass", "fail", "skip", "unver"];

/// The test outcomes, exactly as cc-ci writes them (`unver` and `not-run` are one outcome).
const OUTCOME_WORDS: [&str; 9] = [
    "pass",
    "fail",
    "error",
    "skip",
    "xfail",
    "xpass",
    "flaky-pass",
    "unver",
    "not-run",
];

/// A tier's status word: exactly one of [`TIER_WORDS`], else an error naming the word meant.
fn tier_status(tier: &str, word: &str) -> Result<TierStatus, String> {
    TierStatus::parse(word).ok_or_else(|| {
        let meant = meant(word, &TIER_WORDS, |lower| match lower {
            "passed" | "ok" | "success" | "succeeded" => Some("pass"),
            "failed" | "failure" | "error" | "errored" => Some("fail"),
            "skipped" => Some("skip"),
            "unverified" | "not-run" | "notrun" | "not_run" => Some("unver"),
            _ => None,
        });
        unknown_word(
            "status",
            &format!("tier {tier:?}"),
            word,
            meant,
            "tier statuses",
            &TIER_WORDS,
        )
    })
}

/// A test's outcome word: exactly one of [`OUTCOME_WORDS`], else an error naming the word meant.
fn outcome(test: &str, stage: &str, word: &str) -> Result<Outcome, String> {
    Ok(match word {
        "pass" => Outcome::Pass,
        "fail" => Outcome::Fail,
        "error" => Outcome::Error,
        "skip" => Outcome::Skip,
        "xfail" => Outcome::Xfail,
        "xpass" => Outcome::Xpass,
        "flaky-pass" => Outcome::FlakyPass,
        "unver" | "not-run" => Outcome::NotRun,
        _ => {
            let meant = meant(word, &OUTCOME_WORDS, |lower| match lower {
                "passed" | "ok" | "success" | "succeeded" => Some("pass"),
                "failed" | "failure" => Some("fail"),
                "errored" => Some("error"),
                "skipped" => Some("skip"),
                "flaky" | "flakypass" | "flaky_pass" => Some("flaky-pass"),
                "unverified" => Some("unver"),
                "notrun" | "not_run" => Some("not-run"),
                _ => None,
            });
            return Err(unknown_word(
                "outcome",
                &format!("test {test:?} in stage {stage:?}"),
                word,
                meant,
                "test outcomes",
                &OUTCOME_WORDS,
            ));
        }
    })
}

/// The valid word a wrong one most likely means: the same word in another case or with spaces,
/// a known synonym, or a valid word at most two edits away; `None` when nothing is close.
fn meant(
    word: &str,
    valid: &[&'static str],
    synonym: impl Fn(&str) -> Option<&'static str>,
) -> Option<&'static str> {
    let lower = word.trim().to_ascii_lowercase();
    if let Some(same) = valid.iter().find(|valid| **valid == lower) {
        return Some(same);
    }
    synonym(&lower).or_else(|| {
        closest_first(&lower, valid.iter().copied())
            .into_iter()
            .find(|candidate| edit_distance(&lower, candidate) <= 2)
    })
}

/// `unknown <kind> "<word>" for <owner>; did you mean "<meant>"? (<plural> are exactly ...)`.
fn unknown_word(
    kind: &str,
    owner: &str,
    word: &str,
    meant: Option<&str>,
    plural: &str,
    valid: &[&str],
) -> String {
    let guess = meant.map_or_else(String::new, |meant| format!("; did you mean {meant:?}?"));
    let valid: Vec<String> = valid.iter().map(|word| format!("{word:?}")).collect();
    format!(
        "unknown {kind} {word:?} for {owner}{guess} ({plural} are exactly {}, in lower case)",
        valid.join(", ")
    )
}

/// Stages as a map `{name: {tests}}` or as a list `[{name, tests}]`.
struct RawStages(Vec<Stage>);

#[derive(Deserialize)]
struct RawStageBody {
    #[serde(default)]
    tests: Vec<RawTest>,
}

#[derive(Deserialize)]
struct RawNamedStage {
    name: String,
    #[serde(default)]
    tests: Vec<RawTest>,
}

#[derive(Deserialize)]
struct RawTest {
    name: String,
    outcome: String,
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    message: Option<String>,
}

fn test_case<E: de::Error>(stage: &str, raw: RawTest) -> Result<TestCase, E> {
    let outcome = outcome(&raw.name, stage, &raw.outcome).map_err(E::custom)?;
    Ok(TestCase {
        duration_secs: raw.duration.or(raw.duration_ms.map(|ms| ms / 1000.0)),
        message: raw.message,
        ..TestCase::new(raw.name, outcome, raw.outcome)
    })
}

fn stage<E: de::Error>(name: String, tests: Vec<RawTest>) -> Result<Stage, E> {
    let tests = tests
        .into_iter()
        .map(|test| test_case(&name, test))
        .collect::<Result<_, E>>()?;
    Ok(Stage { name, tests })
}

impl<'de> Deserialize<'de> for RawStages {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StagesVisitor;
        impl<'de> Visitor<'de> for StagesVisitor {
            type Value = RawStages;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("stages as an object {\"install\": {\"tests\": [...]}} or a list [{\"name\": \"install\", \"tests\": [...]}]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut stages: Vec<Stage> = Vec::new();
                while let Some((name, body)) = map.next_entry::<String, RawStageBody>()? {
                    if stages.iter().any(|existing| existing.name == name) {
                        return Err(de::Error::custom(format!("duplicate stage {name:?}")));
                    }
                    stages.push(stage(name, body.tests)?);
                }
                Ok(RawStages(stages))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut stages: Vec<Stage> = Vec::new();
                while let Some(item) = seq.next_element::<RawNamedStage>()? {
                    if stages.iter().any(|existing| existing.name == item.name) {
                        return Err(de::Error::custom(format!(
                            "duplicate stage {:?}",
                            item.name
                        )));
                    }
                    stages.push(stage(item.name, item.tests)?);
                }
                Ok(RawStages(stages))
            }
        }
        deserializer.deserialize_any(StagesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<RunResults, ResultsErrorKind> {
        parse(text.as_bytes())
    }

    fn malformed(text: &str) -> (usize, usize, String) {
        match parse_str(text) {
            Err(ResultsErrorKind::Malformed {
                line,
                column,
                message,
            }) => (line, column, message),
            other => panic!("expected a malformed error, got {other:?}"),
        }
    }

    #[test]
    fn stages_as_a_map() {
        let results = parse_str(
            r#"{"recipe": "custom-html", "rev": "71e7326a",
                "results": {"install": "pass", "custom": "fail", "backup": "skip"},
                "level": 3, "flags": {"clean_teardown": true, "no_secret_leak": false},
                "stages": {"custom": {"tests": [{"name": "t1", "outcome": "pass", "duration_ms": 1500},
                                                 {"name": "t2", "outcome": "fail", "message": "boom"}]}},
                "extra": {"ignored": [1, 2]}}"#,
        )
        .unwrap();
        assert_eq!(results.recipe.as_deref(), Some("custom-html"));
        assert_eq!(
            results.tiers,
            vec![
                ("install".to_owned(), TierStatus::Pass),
                ("custom".to_owned(), TierStatus::Fail),
                ("backup".to_owned(), TierStatus::Skip),
            ]
        );
        assert_eq!(results.level, Some(3));
        assert_eq!(results.flag("no_secret_leak"), Some(false));
        let custom = results.stage("custom").unwrap();
        assert_eq!(custom.tests[0].duration_secs, Some(1.5));
        assert_eq!(custom.tests[1].outcome, Outcome::Fail);
        assert_eq!(custom.tests[1].raw_status, "fail");
        assert_eq!(custom.tests[1].message.as_deref(), Some("boom"));
    }

    #[test]
    fn stages_as_a_list() {
        let results = parse_str(
            r#"{"results": {"install": "pass"},
                "stages": [{"name": "install", "tests": [{"name": "test_serving", "outcome": "pass"}]},
                           {"name": "upgrade"}]}"#,
        )
        .unwrap();
        assert_eq!(results.stages.len(), 2);
        assert_eq!(results.stages[1].name, "upgrade");
        assert!(results.stages[1].tests.is_empty());
        assert!(results.flags.is_empty());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let (line, column, message) = malformed("{\n  \"results\": {\"install\": \"passs\"}\n}");
        assert_eq!(line, 2);
        assert!(column > 20, "column {column}");
        assert!(
            message.starts_with(
                "unknown status \"passs\" for tier \"install\"; did you mean \"pass\"?"
            ),
            "{message}"
        );

        let (line, _, message) =
            malformed("{\"results\": {}, \"flags\": {\"clean_teardown\": \"yes\"}}");
        assert_eq!(line, 1);
        assert!(message.contains("expected a boolean"), "{message}");

        let (_, _, message) = malformed("{\"flags\": {}}");
        assert!(message.contains("missing field `results`"), "{message}");

        let (_, _, message) = malformed("{\"results\": {}, \"stages\": 3}");
        assert!(message.contains("stages as an object"), "{message}");

        let (_, _, message) = malformed(
            "{\"results\": {}, \"stages\": {\"a\": {\"tests\": [{\"name\": \"t\", \"outcome\": \"meh\"}]}}}",
        );
        assert!(
            message.starts_with("unknown outcome \"meh\" for test \"t\" in stage \"a\""),
            "{message}"
        );

        let (_, _, message) = malformed("{\"results\": {\"a\": \"pass\", \"a\": \"fail\"}}");
        assert!(message.contains("duplicate key \"a\""), "{message}");
    }

    #[test]
    fn status_words_are_exactly_the_documented_ones() {
        let results = parse_str(
            r#"{"results": {"a": "pass", "b": "fail", "c": "skip", "d": "unver"},
                "stages": {"s": {"tests": [
                  {"name": "t1", "outcome": "pass"}, {"name": "t2", "outcome": "fail"},
                  {"name": "t3", "outcome": "error"}, {"name": "t4", "outcome": "skip"},
                  {"name": "t5", "outcome": "xfail"}, {"name": "t6", "outcome": "xpass"},
                  {"name": "t7", "outcome": "flaky-pass"}, {"name": "t8", "outcome": "unver"},
                  {"name": "t9", "outcome": "not-run"}]}}}"#,
        )
        .unwrap();
        let statuses: Vec<TierStatus> = results.tiers.iter().map(|(_, status)| *status).collect();
        assert_eq!(statuses, TierStatus::ALL);
        let outcomes: Vec<Outcome> = results.stages[0].tests.iter().map(|t| t.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Pass,
                Outcome::Fail,
                Outcome::Error,
                Outcome::Skip,
                Outcome::Xfail,
                Outcome::Xpass,
                Outcome::FlakyPass,
                Outcome::NotRun,
                Outcome::NotRun,
            ]
        );
    }

    #[test]
    fn another_spelling_of_a_status_is_refused_with_the_word_meant() {
        let (line, column, message) =
            malformed("{\n  \"recipe\": \"r\",\n  \"results\": {\"install\": \"PASS\"}\n}");
        assert_eq!((line, column), (3, 32), "just after the word");
        assert_eq!(
            message,
            "unknown status \"PASS\" for tier \"install\"; did you mean \"pass\"? \
             (tier statuses are exactly \"pass\", \"fail\", \"skip\", \"unver\", in lower case)"
        );
        for (word, meant) in [
            ("Fail", "fail"),
            (" pass", "pass"),
            ("passed", "pass"),
            ("ok", "pass"),
            ("success", "pass"),
            ("failed", "fail"),
            ("error", "fail"),
            ("skipped", "skip"),
            ("unverified", "unver"),
            ("not-run", "unver"),
            ("passs", "pass"),
            ("UNVER", "unver"),
        ] {
            let (_, _, message) = malformed(&format!("{{\"results\": {{\"t\": {word:?}}}}}"));
            assert!(
                message.starts_with(&format!(
                    "unknown status {word:?} for tier \"t\"; did you mean {meant:?}? "
                )),
                "{word}: {message}"
            );
        }
        // A word that is no status at all gets no guess, only the list.
        let (_, _, message) = malformed("{\"results\": {\"install\": \"green\"}}");
        assert_eq!(
            message,
            "unknown status \"green\" for tier \"install\" \
             (tier statuses are exactly \"pass\", \"fail\", \"skip\", \"unver\", in lower case)"
        );
    }

    #[test]
    fn another_spelling_of_an_outcome_is_refused_with_the_word_meant() {
        let (_, _, message) = malformed(
            r#"{"results": {}, "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "PASS"}]}}}"#,
        );
        assert_eq!(
            message,
            "unknown outcome \"PASS\" for test \"test_serving\" in stage \"install\"; did you mean \"pass\"? \
             (test outcomes are exactly \"pass\", \"fail\", \"error\", \"skip\", \"xfail\", \"xpass\", \
             \"flaky-pass\", \"unver\", \"not-run\", in lower case)"
        );
        for (word, meant) in [
            ("Failed", "fail"),
            ("passed", "pass"),
            ("errored", "error"),
            ("flaky", "flaky-pass"),
            ("skipped", "skip"),
            ("XFAIL", "xfail"),
            ("notrun", "not-run"),
        ] {
            let (_, _, message) = malformed(&format!(
                "{{\"results\": {{}}, \"stages\": [{{\"name\": \"s\", \"tests\": [{{\"name\": \"t\", \"outcome\": {word:?}}}]}}]}}"
            ));
            assert!(
                message.starts_with(&format!(
                    "unknown outcome {word:?} for test \"t\" in stage \"s\"; did you mean {meant:?}? "
                )),
                "{word}: {message}"
            );
        }
        let (_, _, message) = malformed(
            r#"{"results": {}, "stages": {"a": {"tests": [{"name": "t", "outcome": "meh"}]}}}"#,
        );
        assert!(
            message.starts_with(
                "unknown outcome \"meh\" for test \"t\" in stage \"a\" (test outcomes are exactly"
            ),
            "{message}"
        );
    }

    #[test]
    fn truncated_json_is_malformed() {
        let (line, _, message) = malformed("{\"results\": {\"install\": \"pa");
        assert_eq!(line, 1);
        assert!(message.contains("EOF"), "{message}");
        let (_, _, message) = malformed("");
        assert!(message.contains("EOF"), "{message}");
    }
}
