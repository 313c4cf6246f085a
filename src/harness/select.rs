//! Which trials a command line selects. The first positional argument picks a kind of trial
//! when it names one; the remaining ones are name filters, OR-ed. A filter matches a trial's
//! full name (`canary::good-simple`) or its bare name (`good-simple`): as a substring, or
//! whole with `--exact`. `--skip` removes trials the same way.

use super::args::Args;

/// The kind of trial that runs a canary.
pub const CANARY: &str = "canary";

/// The kind of trial that proves, offline, that each check of a canary can fail.
pub const TEETH: &str = "teeth";

/// Every kind of trial the harness knows, in the order their trials run and list.
pub const KINDS: &[&str] = &[CANARY, TEETH];

/// The selection a command line makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The kind asked for, if the first positional named one.
    pub kind: Option<String>,
    /// Name filters (any may match).
    pub filters: Vec<String>,
    /// Skip filters (none may match).
    pub skip: Vec<String>,
    /// Whole-name matching.
    pub exact: bool,
}

impl Selection {
    /// Reads the selection from parsed arguments.
    pub fn from_args(args: &Args) -> Selection {
        let mut filters = args.filters.clone();
        let kind = match filters.first() {
            Some(first) if KINDS.contains(&first.as_str()) => Some(filters.remove(0)),
            _ => None,
        };
        Selection {
            kind,
            filters,
            skip: args.skip.clone(),
            exact: args.exact,
        }
    }

    /// Whether the canary with this bare name is selected (as a trial of kind `canary`).
    pub fn matches(&self, name: &str) -> bool {
        self.matches_trial(CANARY, name)
    }

    /// Whether the trial `<kind>::<name>` is selected.
    pub fn matches_trial(&self, kind: &str, name: &str) -> bool {
        if self.kind.as_deref().is_some_and(|wanted| wanted != kind) {
            return false;
        }
        let hit = |filter: &String| {
            let full_len = kind.len() + 2 + name.len();
            if self.exact {
                filter == name
                    || (filter.len() == full_len
                        && filter.starts_with(kind)
                        && filter[kind.len()..].starts_with("::")
                        && filter.ends_with(name))
            } else {
                name.contains(filter.as_str())
                    || format!("{kind}::{name}").contains(filter.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit)) && !self.skip.iter().any(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(line: &str) -> Selection {
        let args = match super::super::args::parse(line.split_whitespace().map(Into::into)) {
            super::super::args::Parsed::Args(args) => args,
            other => panic!("{other:?}"),
        };
        Selection::from_args(&args)
    }

    const NAMES: &[&str] = &[
        "good-simple",
        "good-significant",
        "bad-false-green",
        "bad-install",
        "good-simple-2",
    ];

    fn chosen(line: &str) -> Vec<&'static str> {
        let selection = selection(line);
        NAMES
            .iter()
            .copied()
            .filter(|name| selection.matches(name))
            .collect()
    }

    #[test]
    fn kind_then_filters() {
        assert_eq!(
            chosen("canary good-simple"),
            ["good-simple", "good-simple-2"]
        );
        assert_eq!(chosen("canary good-simple --exact"), ["good-simple"]);
        assert_eq!(chosen("canary"), NAMES);
        assert_eq!(chosen(""), NAMES);
        assert_eq!(
            chosen("good-simple bad-false-green --exact"),
            ["good-simple", "bad-false-green"]
        );
        assert_eq!(chosen("bad"), ["bad-false-green", "bad-install"]);
        assert_eq!(chosen("canary::bad-"), ["bad-false-green", "bad-install"]);
        assert!(
            chosen("teeth").is_empty(),
            "an unknown kind is a plain filter"
        );
    }

    #[test]
    fn exact_full_names_and_skips() {
        assert_eq!(chosen("--exact canary::good-simple"), ["good-simple"]);
        assert!(chosen("--exact canary::good").is_empty());
        assert!(chosen("--exact xcanary::good-simple").is_empty());
        assert_eq!(
            chosen("canary --skip good"),
            ["bad-false-green", "bad-install"]
        );
        assert_eq!(
            chosen("--skip good-simple --exact"),
            [
                "good-significant",
                "bad-false-green",
                "bad-install",
                "good-simple-2"
            ]
        );
        assert_eq!(chosen("good --skip canary::good-si"), Vec::<&str>::new());
    }

    #[test]
    fn kinds_select_their_trials_only() {
        let canaries = selection("canary");
        assert!(!canaries.matches_trial(TEETH, "good-simple"));
        assert!(canaries.matches_trial(CANARY, "good-simple"));
        let teeth = selection("teeth good-simple");
        assert!(teeth.matches_trial(TEETH, "good-simple"));
        assert!(!teeth.matches_trial(CANARY, "good-simple"));
        let all = selection("good-simple");
        assert!(
            all.matches_trial(TEETH, "good-simple") && all.matches_trial(CANARY, "good-simple")
        );
        let exact = selection("--exact teeth::good-simple");
        assert!(
            exact.matches_trial(TEETH, "good-simple")
                && !exact.matches_trial(CANARY, "good-simple")
        );
    }
}
