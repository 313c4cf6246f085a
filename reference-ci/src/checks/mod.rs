//! The catalogue of named tests a recipe can list in its `[stages]`. Each test is generic
//! code that takes its expectations from the revision's data (`[expect]`, docroot, backup
//! paths, `upgrade_from`) and decides pass/fail only from real HTTP exchanges with the
//! deployed services or from comparing files, so a broken revision fails because of what it
//! contains. This module holds what tests share (context, verdicts, the catalogue); the tests
//! themselves live in one submodule per tier, with HTTP helpers in `probe`.

mod backup;
mod custom;
mod install;
mod probe;
mod upgrade;

use std::path::PathBuf;

use crate::deploy::{Deployment, RunEnv};
use crate::error::Error;
use crate::race::Race;
use crate::recipe::{Recipe, RecipeRepo};
use crate::results::Tier;

/// Why a test failed: a message for humans and results.json (never containing secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure(error.to_string())
    }
}

/// A test's non-failing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// The recipe gives the test nothing to check; the reason says what is missing.
    Skip(String),
}

/// What a test returns.
pub type Checked = Result<Verdict, Failure>;

/// State shared by the tests of one run.
#[derive(Debug)]
pub struct Ctx<'e> {
    /// The revision under test.
    pub recipe: &'e Recipe,
    /// Where to find `upgrade_from`.
    pub repo: &'e RecipeRepo,
    /// Artifacts, secrets, ledger.
    pub env: &'e RunEnv,
    /// The cold-start draw for upgrades.
    pub race: Race,
    /// The install deployment, which backup, restore and custom tests also use.
    pub main: Option<Deployment<'e>>,
    /// Left by a passing backup test for the restore test.
    pub backup: Option<BackupRecord>,
}

/// A backup that verifiably contains a probe file.
#[derive(Debug, Clone)]
pub struct BackupRecord {
    /// The archive folder.
    pub archive: PathBuf,
    /// URL path (on the entry service) of the probe.
    pub url: String,
    /// The probe's content.
    pub body: String,
}

impl<'e> Ctx<'e> {
    fn main(&self) -> Result<&Deployment<'e>, Failure> {
        self.main
            .as_ref()
            .ok_or_else(|| Failure("no install deployment is running".to_owned()))
    }

    fn main_mut(&mut self) -> Result<&mut Deployment<'e>, Failure> {
        self.main
            .as_mut()
            .ok_or_else(|| Failure("no install deployment is running".to_owned()))
    }

    fn upgrade_from(&self) -> Result<Recipe, Failure> {
        let from = self.recipe.meta.upgrade_from.as_deref().ok_or_else(|| {
            Failure("recipe lists upgrade tests but declares no upgrade_from".to_owned())
        })?;
        Ok(self.repo.load(&self.recipe.name, from)?)
    }

    fn token(&self, recipe: &Recipe) -> Option<String> {
        let name = recipe.expect.write_secret.as_deref()?;
        self.env.secrets.get(name).map(str::to_owned)
    }
}

/// A named test and the tiers it may be listed in.
pub struct TestDef {
    /// The name recipes list and results report.
    pub name: &'static str,
    /// Tiers the test makes sense in.
    pub tiers: &'static [Tier],
    /// The test itself.
    pub run: fn(&mut Ctx<'_>) -> Checked,
}

/// Every test this CI knows.
pub const CATALOGUE: &[TestDef] = &[
    TestDef {
        name: "test_serving",
        tiers: &[Tier::Install, Tier::Custom],
        run: install::test_serving,
    },
    TestDef {
        name: "test_serving_and_frontend",
        tiers: &[Tier::Install, Tier::Custom],
        run: install::test_serving_and_frontend,
    },
    TestDef {
        name: "test_serving_after_upgrade",
        tiers: &[Tier::Upgrade],
        run: upgrade::test_serving_after_upgrade,
    },
    TestDef {
        name: "test_upgrade_reconverges",
        tiers: &[Tier::Upgrade],
        run: upgrade::test_upgrade_reconverges,
    },
    TestDef {
        name: "test_backup_contains_data",
        tiers: &[Tier::Backup],
        run: backup::test_backup_contains_data,
    },
    TestDef {
        name: "test_restore_roundtrip",
        tiers: &[Tier::Restore],
        run: backup::test_restore_roundtrip,
    },
    TestDef {
        name: "test_content_roundtrip",
        tiers: &[Tier::Custom],
        run: custom::test_content_roundtrip,
    },
    TestDef {
        name: "test_document_roundtrip",
        tiers: &[Tier::Custom],
        run: custom::test_document_roundtrip,
    },
    TestDef {
        name: "test_content_type_html_and_txt",
        tiers: &[Tier::Custom],
        run: custom::test_content_type_html_and_txt,
    },
    TestDef {
        name: "test_custom_html_returns_200",
        tiers: &[Tier::Custom],
        run: custom::test_custom_html_returns_200,
    },
];

/// The test called `name`.
pub fn find(name: &str) -> Option<&'static TestDef> {
    CATALOGUE.iter().find(|test| test.name == name)
}

/// Checks that every test the recipe lists exists and is listed in a tier it fits.
pub fn validate(recipe: &Recipe) -> Result<(), Error> {
    for tier in Tier::ALL {
        for name in recipe.stages.tests(tier) {
            let test = find(name).ok_or_else(|| {
                let known: Vec<&str> = CATALOGUE.iter().map(|test| test.name).collect();
                Error::recipe(
                    recipe.dir.join(crate::recipe::RECIPE_FILE),
                    format!(
                        "stages.{} lists unknown test {name:?} (known: {})",
                        tier.name(),
                        known.join(", ")
                    ),
                )
            })?;
            if !test.tiers.contains(&tier) {
                return Err(Error::recipe(
                    recipe.dir.join(crate::recipe::RECIPE_FILE),
                    format!("{name} cannot run in the {} stage", tier.name()),
                ));
            }
        }
    }
    Ok(())
}

/// A skip verdict with `reason`.
fn skip(reason: &str) -> Checked {
    Ok(Verdict::Skip(reason.to_owned()))
}

/// Pass if no problems were collected, else one failure listing them all.
fn all_ok(problems: Vec<String>) -> Checked {
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(Failure(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique_and_findable() {
        for test in CATALOGUE {
            assert_eq!(find(test.name).map(|t| t.name), Some(test.name));
            assert!(!test.tiers.is_empty());
        }
        let mut names: Vec<&str> = CATALOGUE.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        assert!(find("test_nonexistent").is_none());
    }

    fn recipe_with_stages(stages: &str) -> Recipe {
        let text = format!(
            "[recipe]\nversion = \"1\"\nentry = \"web\"\n[services.web]\n[stages]\n{stages}\n"
        );
        Recipe::parse("r", "a1", std::path::Path::new("/x"), &text).unwrap()
    }

    #[test]
    fn validate_rejects_unknown_and_misplaced_tests() {
        assert!(validate(&recipe_with_stages("install = [\"test_serving\"]")).is_ok());
        let unknown = validate(&recipe_with_stages("install = [\"test_flying\"]")).unwrap_err();
        assert!(unknown.to_string().contains("unknown test \"test_flying\""));
        let misplaced = validate(&recipe_with_stages(
            "install = [\"test_restore_roundtrip\"]",
        ))
        .unwrap_err();
        assert!(
            misplaced
                .to_string()
                .contains("cannot run in the install stage")
        );
    }
}
