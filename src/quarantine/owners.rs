//! The `[owners]` table of harness.toml: test name patterns mapped to owning teams.
//!
//! ```toml
//! [owners]
//! "canary::good-simple" = "sig-storage"     # an exact name
//! "canary::good-*" = "sig-compute"          # a glob: `*` any run of characters, `?` one
//! "re:^custom-html::.*_tls$" = "sig-network" # a regex (unanchored unless you anchor it)
//! ```
//!
//! A TOML table has no order, so the pattern that applies is the **most specific** one, not the
//! first written: an exact name wins over any glob, a glob over any regex; among globs, the one
//! with the most literal characters wins (`canary::good-*` over `canary::*`); remaining ties,
//! and regexes, are tried in the byte order of the pattern text. A test's own `[sig-*]` tag
//! wins over this table (see [`super::owner_of`]).

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Ordered owner rules, most specific first.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    team: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    Glob(Vec<char>),
    Regex(Regex),
}

impl Matcher {
    /// Sorting key: kind first (exact, glob, regex), then more literal characters first.
    fn rank(&self) -> (u8, std::cmp::Reverse<usize>) {
        match self {
            Matcher::Exact => (0, std::cmp::Reverse(0)),
            Matcher::Glob(chars) => (
                1,
                std::cmp::Reverse(chars.iter().filter(|c| !matches!(c, '*' | '?')).count()),
            ),
            Matcher::Regex(_) => (2, std::cmp::Reverse(0)),
        }
    }
}

/// A pattern of the `[owners]` table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("in [owners], pattern `{pattern}`: {message}")]
pub struct OwnersError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub message: String,
}

impl Owners {
    /// No patterns.
    pub const EMPTY: Owners = Owners { rules: Vec::new() };

    /// Builds the rules from `(pattern, team)` pairs; the order of the pairs does not matter.
    pub fn new<I, P, T>(pairs: I) -> Result<Owners, OwnersError>
    where
        I: IntoIterator<Item = (P, T)>,
        P: Into<String>,
        T: Into<String>,
    {
        let mut rules = Vec::new();
        for (pattern, team) in pairs {
            let (pattern, team) = (pattern.into(), team.into());
            let error = |message: &str| OwnersError {
                pattern: pattern.clone(),
                message: message.to_owned(),
            };
            if team.trim().is_empty() {
                return Err(error("the team cannot be empty"));
            }
            let matcher = if let Some(regex) = pattern.strip_prefix("re:") {
                Matcher::Regex(Regex::new(regex).map_err(|source| OwnersError {
                    pattern: pattern.clone(),
                    message: format!("invalid regex: {source}"),
                })?)
            } else if pattern.is_empty() {
                return Err(error(
                    "the pattern cannot be empty (use \"*\" to match every test)",
                ));
            } else if pattern.contains(['*', '?']) {
                Matcher::Glob(pattern.chars().collect())
            } else {
                Matcher::Exact
            };
            rules.push(Rule {
                pattern,
                team,
                matcher,
            });
        }
        rules.sort_by(|a, b| (a.matcher.rank(), &a.pattern).cmp(&(b.matcher.rank(), &b.pattern)));
        Ok(Owners { rules })
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The team owning this test name by the table, if a pattern matches.
    pub fn owner_of(&self, test: &str) -> Option<&str> {
        self.rule_for(test).map(|rule| rule.team.as_str())
    }

    /// The pattern that gives this test its owner, if one matches.
    pub fn pattern_for(&self, test: &str) -> Option<&str> {
        self.rule_for(test).map(|rule| rule.pattern.as_str())
    }

    fn rule_for(&self, test: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| match &rule.matcher {
            Matcher::Exact => rule.pattern == test,
            Matcher::Glob(pattern) => glob_matches(pattern, test),
            Matcher::Regex(regex) => regex.is_match(test),
        })
    }
}

/// Whether `text` matches a glob where `*` is any run of characters (including none) and `?`
/// exactly one character. Linear-time backtracking over the last `*`.
fn glob_matches(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

impl<'de> Deserialize<'de> for Owners {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = BTreeMap::<String, String>::deserialize(deserializer)?;
        Owners::new(table).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Owners {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let table: BTreeMap<&str, &str> = self
            .rules
            .iter()
            .map(|rule| (rule.pattern.as_str(), rule.team.as_str()))
            .collect();
        table.serialize(serializer)
    }
}

impl PartialEq for Owners {
    fn eq(&self, other: &Owners) -> bool {
        self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.pattern == b.pattern && a.team == b.team)
    }
}

impl fmt::Display for Owners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rule in &self.rules {
            writeln!(f, "{:?} = {:?}", rule.pattern, rule.team)?;
        }
        Ok(())
    }
}
