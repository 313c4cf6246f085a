//! The cc-ci `results.json` format: top-level `results` (tier -> `pass`/`fail`/`skip`/`unver`),
//! `level`, `flags` (booleans), and `stages` either as a map `{stage: {tests: [...]}}` or as a
//! list `[{name, tests: [...]}]`, each test `{name, outcome}`. Unknown fields are ignored;
//! unknown status words are errors, since guessing a status could turn a failure into a pass.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::ResultsErrorKind;
use super::json_stream::json_message;
use super::model::{Outcome, RunResults, Stage, TestCase, TierStatus};

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
        tiers: raw
            .results
            .0
            .into_iter()
            .map(|(tier, status)| (tier, status.0))
            .collect(),
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
    results: Ordered<RawTierStatus>,
    #[serde(default)]
    level: Option<i64>,
    #[serde(default)]
    flags: BTreeMap<String, bool>,
    #[serde(default)]
    stages: Option<RawStages>,
}

/// A JSON object read into a list of entries in document order.
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.iter().any(|(existing, _)| *existing == key) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}

struct RawTierStatus(TierStatus);

impl<'de> Deserialize<'de> for RawTierStatus {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TierStatus::parse(&text).map(RawTierStatus).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown tier status {text:?}, expected one of \"pass\", \"fail\", \"skip\", \"unver\""
            ))
        })
    }
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

fn test_case<E: de::Error>(raw: RawTest) -> Result<TestCase, E> {
    let outcome = parse_outcome(&raw.outcome).ok_or_else(|| {
        E::custom(format!(
            "test {:?} has unknown outcome {:?}, expected one of \"pass\", \"fail\", \"error\", \"skip\", \"xfail\", \"xpass\", \"unver\"",
            raw.name, raw.outcome
        ))
    })?;
    Ok(TestCase {
        duration_secs: raw.duration.or(raw.duration_ms.map(|ms| ms / 1000.0)),
        message: raw.message,
        ..TestCase::new(raw.name, outcome, raw.outcome)
    })
}

fn stage<E: de::Error>(name: String, tests: Vec<RawTest>) -> Result<Stage, E> {
    Ok(Stage {
        name,
        tests: tests.into_iter().map(test_case).collect::<Result<_, E>>()?,
    })
}

fn parse_outcome(text: &str) -> Option<Outcome> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "pass" | "passed" | "ok" | "success" => Outcome::Pass,
        "fail" | "failed" | "failure" => Outcome::Fail,
        "error" | "errored" => Outcome::Error,
        "skip" | "skipped" => Outcome::Skip,
        "xfail" => Outcome::Xfail,
        "xpass" => Outcome::Xpass,
        "flaky" | "flaky-pass" => Outcome::FlakyPass,
        "unver" | "unverified" | "not-run" | "notrun" => Outcome::NotRun,
        _ => return None,
    })
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
                                                 {"name": "t2", "outcome": "FAIL", "message": "boom"}]}},
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
        assert_eq!(custom.tests[1].raw_status, "FAIL");
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
            message.contains("unknown tier status \"passs\""),
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
        assert!(message.contains("unknown outcome \"meh\""), "{message}");

        let (_, _, message) = malformed("{\"results\": {\"a\": \"pass\", \"a\": \"fail\"}}");
        assert!(message.contains("duplicate key \"a\""), "{message}");
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
