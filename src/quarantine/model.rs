//! The inputs of the policy besides the history: what harness.toml holds (`[[quarantine]]`
//! entries, `[owners]`, `[policy]`), recorded fixes, and what is known about each test (its
//! tags).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::dates;
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
    #[serde(deserialize_with = "dates::date")]
    pub since: Date,
    /// The date by which its team expects it stable; release is counted from it. Without one,
    /// the test stays quarantined.
    #[serde(
        default,
        deserialize_with = "dates::optional_date",
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
