//! The inputs of the policy besides the history: what harness.toml holds (`[[quarantine]]`
//! entries, `[owners]`, `[policy]`), recorded fixes, and what is known about each test (its
//! tags).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::owners::Owners;
use super::policy::Policy;

/// One `[[quarantine]]` entry of harness.toml: a test that no longer fails anyone's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineEntry {
    /// The test's stable id, as in the history.
    pub test: String,
    /// The owning team.
    pub owner: String,
    /// Why it was quarantined.
    #[serde(default)]
    pub reason: String,
    /// When it was quarantined.
    #[serde(deserialize_with = "date_serde::date")]
    pub since: Date,
    /// The date by which its team expects it stable; release is counted from it. Without one,
    /// the test stays quarantined.
    #[serde(
        default,
        deserialize_with = "date_serde::optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub stable_by: Option<Date>,
}

/// A fix recorded with `coalmine quarantine fixed TEST --commit SHA`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    /// The test's stable id.
    pub test: String,
    /// The commit with the fix (full or abbreviated, at least 7 characters to match runs).
    pub commit: String,
    /// When the fix was recorded. Runs started at or after it, or run at `commit`, have the fix.
    pub at: Timestamp,
}

impl Fix {
    /// Whether a run at `commit` started at `started_at` ran with this fix.
    pub fn covers(&self, commit: &str, started_at: Timestamp) -> bool {
        started_at >= self.at || same_commit(&self.commit, commit)
    }
}

/// Whether two commit ids name the same commit: equal, or one an abbreviation (at least 7
/// characters) of the other.
pub fn same_commit(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && !short.eq_ignore_ascii_case("unknown") && long.starts_with(short)
}

/// What the policy knows about a test beyond its history: its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestInfo {
    /// The test's stable id.
    pub name: String,
    /// Its tags, e.g. `sig-compute`, `release-blocker` (without brackets).
    pub tags: Vec<String>,
}

/// The tag that marks a test whose quarantine must block a release.
pub const RELEASE_BLOCKER_TAG: &str = "release-blocker";

impl TestInfo {
    /// A test whose tags are the `[...]` parts of its name, as in
    /// `[sig-compute] VM starts [release-blocker]`.
    pub fn from_name(name: impl Into<String>) -> TestInfo {
        let name = name.into();
        let tags = parse_tags(&name);
        TestInfo { name, tags }
    }

    /// The first `sig-*` tag, which names the owning team.
    pub fn owner_tag(&self) -> Option<&str> {
        self.tags.iter().map(String::as_str).find(|tag| {
            tag.len() > 4 && tag.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sig-"))
        })
    }

    /// Whether the test carries the `release-blocker` tag.
    pub fn is_release_blocker(&self) -> bool {
        self.tags
            .iter()
            .any(|tag| tag.eq_ignore_ascii_case(RELEASE_BLOCKER_TAG))
    }
}

/// The tags of a test name: the trimmed, non-empty contents of each `[...]` without nested
/// brackets, in order.
pub fn parse_tags(name: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after.find([']', '[']) {
            Some(close) if after.as_bytes()[close] == b']' => {
                let tag = after[..close].trim();
                if !tag.is_empty() {
                    tags.push(tag.to_owned());
                }
                rest = &after[close + 1..];
            }
            Some(close) => rest = &after[close..],
            None => break,
        }
    }
    tags
}

/// The owning team of a test: its own `sig-*` tag, else the `[owners]` table.
pub fn owner_of(test: &TestInfo, owners: &Owners) -> Option<String> {
    test.owner_tag()
        .or_else(|| owners.owner_of(&test.name))
        .map(str::to_owned)
}

/// The quarantine-related tables of harness.toml. It ignores every other table, so it can be
/// read from the whole file: `toml::from_str::<QuarantineConfig>(text)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuarantineConfig {
    /// `[policy]`.
    #[serde(default)]
    pub policy: Policy,
    /// `[owners]`.
    #[serde(default)]
    pub owners: Owners,
    /// `[[quarantine]]`.
    #[serde(default)]
    pub quarantine: Vec<QuarantineEntry>,
}

/// Dates written as strings (`"2026-06-01"`) or as bare TOML local dates (`2026-06-01`).
pub(crate) mod date_serde {
    use std::fmt;

    use jiff::civil::Date;
    use serde::Deserializer;
    use serde::de::{self, MapAccess, Visitor};

    /// The key under which the toml crate hands over a TOML datetime.
    const TOML_DATETIME_FIELD: &str = "$__toml_private_datetime";

    /// A date deserialized from either form.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct FlexDate(pub(crate) Date);

    impl<'de> serde::Deserialize<'de> for FlexDate {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(DateVisitor).map(FlexDate)
        }
    }

    struct DateVisitor;

    fn parse<E: de::Error>(text: &str) -> Result<Date, E> {
        text.parse::<Date>().map_err(|error| {
            E::custom(format!(
                "`{text}` is not a date (write a day such as 2026-06-15): {error}"
            ))
        })
    }

    impl<'de> Visitor<'de> for DateVisitor {
        type Value = Date;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a date such as 2026-06-15")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Date, E> {
            parse(text)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
            match map.next_key::<String>()? {
                Some(key) if key == TOML_DATETIME_FIELD => {
                    let text: String = map.next_value()?;
                    parse(&text)
                }
                _ => Err(de::Error::custom("expected a date such as 2026-06-15")),
            }
        }
    }

    /// For `#[serde(deserialize_with)]` on a `Date`.
    pub(crate) fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        deserializer.deserialize_any(DateVisitor)
    }

    /// For `#[serde(deserialize_with)]` on an `Option<Date>` (with `default`).
    pub(crate) fn optional_date<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        deserializer.deserialize_any(DateVisitor).map(Some)
    }
}
