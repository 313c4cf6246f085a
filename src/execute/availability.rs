//! Whether a canary's recipe CI can run here: a CI marked `optional` in harness.toml whose
//! program is not installed makes its canaries skipped rather than failed (unless
//! `COALMINE_REQUIRE_ALL=1`).
//!
//! Running a canary asks [`unavailable`] once. Listing asks [`Availability`], which looks each
//! distinct program up once (one PATH lookup per CI whose program has no placeholder) and
//! builds no canary when no optional CI is missing, so that `--list --ignored`, which nextest
//! runs before every run, stays cheap.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::canary::{Canary, ValidCanary};
use crate::config::{CiConfig, Config, Placeholder, Vars};

/// The variable that turns every skip of an unavailable optional CI into a failure.
pub const REQUIRE_ALL_ENV: &str = "COALMINE_REQUIRE_ALL";

/// Whether `COALMINE_REQUIRE_ALL=1`: no canary may be skipped for a missing CI.
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL_ENV).is_ok_and(|value| value == "1")
}

/// For a canary whose recipe CI is `optional` in harness.toml: why it cannot run here (its
/// program is not installed), so that the harness reports it as skipped rather than failed.
/// `None` when the CI is not optional or its program is found.
pub fn unavailable(canary: &ValidCanary<'_>, config: &Config) -> Option<String> {
    let ci = config.ci_for(canary.canary().ci_profile()).ok()?;
    if !ci.optional {
        return None;
    }
    let (program, workdir) = locate(ci, config, &vars_of(canary.canary()));
    (!found(&program, &workdir)).then(|| skipped(&program, config))
}

/// The reason a canary of an optional CI whose `program` is missing is skipped.
fn skipped(program: &str, config: &Config) -> String {
    format!(
        "SKIPPED: the recipe CI program {program:?} is not installed (not found in PATH), and this CI is \
         optional in {}; install it to run this canary (set {REQUIRE_ALL_ENV}=1 to fail instead of skip)",
        config.path.display()
    )
}

/// The placeholders' values known before a run (the run's own id and folder are not: a program
/// or working directory naming them is looked up with those empty).
fn vars_of(canary: &Canary) -> Vars<'_> {
    Vars {
        recipe: canary.recipe_name().unwrap_or_default(),
        rev: canary.revision().unwrap_or_default(),
        canary: canary.name(),
        run_id: "",
        artifacts: "",
    }
}

/// The CI's program as expanded, and the folder a relative program is relative to.
fn locate(ci: &CiConfig, config: &Config, vars: &Vars<'_>) -> (String, PathBuf) {
    let program = ci
        .command
        .first()
        .map(|program| program.expand(vars))
        .unwrap_or_default();
    (program, config.root().join(ci.workdir.expand(vars)))
}

/// Whether the program is found as the harness would find it to run it (PATH, or relative to
/// the working directory when it holds a `/`).
fn found(program: &str, workdir: &Path) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    which::which_in(program, Some(&path), workdir).is_ok()
}

/// Whether a CI's program and working directory are the same for every canary.
fn same_for_every_canary(ci: &CiConfig) -> bool {
    let placeholders = [
        Placeholder::Recipe,
        Placeholder::Rev,
        Placeholder::Canary,
        Placeholder::RunId,
        Placeholder::Artifacts,
    ];
    let program_uses = |placeholder| ci.command.first().is_some_and(|p| p.uses(placeholder));
    !placeholders
        .into_iter()
        .any(|placeholder| program_uses(placeholder) || ci.workdir.uses(placeholder))
}

/// Which canaries cannot run here, for listing them as ignored: each distinct program is
/// looked up once.
#[derive(Debug)]
pub struct Availability<'a> {
    config: &'a Config,
    found: HashMap<(String, PathBuf), bool>,
}

impl<'a> Availability<'a> {
    /// Availability under this config.
    pub fn new(config: &'a Config) -> Availability<'a> {
        Availability {
            config,
            found: HashMap::new(),
        }
    }

    /// Whether some canary may be unavailable, told without building any: `false` when
    /// `COALMINE_REQUIRE_ALL=1`, when no CI is optional, or when every optional CI's program is
    /// the same for every canary and is found.
    pub fn any_unavailable(&mut self) -> bool {
        if require_all() {
            return false;
        }
        let config: &'a Config = self.config;
        let optional: Vec<&'a CiConfig> = config
            .ci
            .iter()
            .chain(config.profiles.values())
            .filter(|ci| ci.optional)
            .collect();
        let no_canary = Vars {
            recipe: "",
            rev: "",
            canary: "",
            run_id: "",
            artifacts: "",
        };
        optional.into_iter().any(|ci| {
            !same_for_every_canary(ci) || {
                let (program, workdir) = locate(ci, config, &no_canary);
                !self.lookup(program, workdir)
            }
        })
    }

    /// Whether this canary's CI is optional and its program is not found (never when
    /// `COALMINE_REQUIRE_ALL=1`: then it must run, and fail).
    pub fn is_unavailable(&mut self, canary: &Canary) -> bool {
        if require_all() {
            return false;
        }
        let Ok(ci) = self.config.ci_for(canary.ci_profile()) else {
            return false; // no such CI: running the canary reports it
        };
        if !ci.optional {
            return false;
        }
        let (program, workdir) = locate(ci, self.config, &vars_of(canary));
        !self.lookup(program, workdir)
    }

    fn lookup(&mut self, program: String, workdir: PathBuf) -> bool {
        *self
            .found
            .entry((program, workdir))
            .or_insert_with_key(|(program, workdir)| found(program, workdir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expect;

    fn config(dir: &Path, profiles: &str) -> Config {
        let path = dir.join("harness.toml");
        std::fs::write(
            &path,
            format!(
                "[ci]\ncommand = [\"sh\"]\nresults = \"{{artifacts}}/r.json\"\n{profiles}\n[run]\nartifacts = \"runs\"\n"
            ),
        )
        .unwrap();
        Config::load(&path).unwrap()
    }

    fn canary(name: &str, profile: Option<&str>) -> Canary {
        let canary = Canary::new(name).recipe("r").rev("1").expect(Expect::Green);
        match profile {
            Some(profile) => canary.ci(profile),
            None => canary,
        }
    }

    #[test]
    fn only_a_missing_optional_program_makes_a_canary_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(
            dir.path(),
            "[profiles.missing]\ncommand = [\"coalmine-no-such-ci-xyz\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n\
             [profiles.required]\ncommand = [\"coalmine-no-such-ci-xyz\"]\nresults = \"{artifacts}/r.json\"\n\
             [profiles.installed]\ncommand = [\"sh\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n",
        );
        let mut availability = Availability::new(&config);
        if require_all() {
            assert!(!availability.any_unavailable());
            return;
        }
        assert!(availability.any_unavailable());
        assert!(availability.is_unavailable(&canary("a", Some("missing"))));
        assert!(!availability.is_unavailable(&canary("b", Some("required"))));
        assert!(!availability.is_unavailable(&canary("c", Some("installed"))));
        assert!(!availability.is_unavailable(&canary("d", None)));
        assert!(!availability.is_unavailable(&canary("e", Some("unknown"))));
        // One lookup per distinct program: `missing` and `installed`, each once.
        assert!(availability.is_unavailable(&canary("f", Some("missing"))));
        assert_eq!(availability.found.len(), 2);
    }

    #[test]
    fn nothing_is_built_when_every_optional_program_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let installed = config(
            dir.path(),
            "[profiles.installed]\ncommand = [\"sh\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n",
        );
        assert!(!Availability::new(&installed).any_unavailable());
        let none_optional = config(dir.path(), "");
        assert!(!Availability::new(&none_optional).any_unavailable());
        // A program that depends on the canary must be looked up per canary.
        let per_recipe = config(
            dir.path(),
            "[profiles.scripts]\ncommand = [\"ci/{recipe}.sh\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n",
        );
        assert_eq!(
            Availability::new(&per_recipe).any_unavailable(),
            !require_all()
        );
    }
}
