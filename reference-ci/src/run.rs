//! The `run` command end to end: load and check the recipe, prepare the artifacts dir, run
//! the tiers, tear down, check the teardown and scan for leaked secrets, and write
//! `results.json` last.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::checks::{self, Ctx};
use crate::cli::RunArgs;
use crate::deploy::RunEnv;
use crate::error::Error;
use crate::race::Race;
use crate::recipe::RecipeRepo;
use crate::results::{self, Flags, Results, Tier};
use crate::secrets::Secrets;
use crate::service::Ledger;
use crate::stages::{self, progress};
use crate::volumes;

/// Name of the results file inside the artifacts dir.
pub const RESULTS_FILE: &str = "results.json";
/// Marks an artifacts dir as written by reference-ci, so a later run may clear it.
const MARKER_FILE: &str = ".reference-ci";
/// What a run writes into the artifacts dir besides the marker and results. Only these are
/// cleared at the start of a run and scanned for secrets: other files in the dir (say, the
/// caller's capture of our stdout) are not ours.
const OWNED_DIRS: &[&str] = &["services", "deployments", "backup"];
/// Results files of an earlier run.
const OWNED_FILES: &[&str] = &[RESULTS_FILE, "results.json.partial"];

/// Runs the CI. Returns whether a tier failed; errors mean no verdict (and no results.json).
pub fn run(args: &RunArgs) -> Result<bool, Error> {
    let started = Instant::now();
    // Read before anything is deployed: a bad value is a usage error, not a test failure.
    let race = Race::from_env()?;
    let recipes = std::path::absolute(&args.recipes)
        .map_err(|error| Error::io(format!("resolving {}", args.recipes.display()), error))?;
    let repo = RecipeRepo::new(recipes);
    let recipe = repo.load(&args.recipe, &args.rev)?;
    checks::validate(&recipe)?;
    let artifacts = prepare_artifacts(&args.artifacts)?;

    let env = RunEnv {
        artifacts,
        secrets: Secrets::generate(&recipe.meta.secrets),
        ledger: Ledger::default(),
    };
    let mut ctx = Ctx {
        recipe: &recipe,
        repo: &repo,
        env: &env,
        race,
        main: None,
        backup: None,
    };
    let report = stages::run_all(&mut ctx);
    progress("==> teardown");
    if let Some(main) = ctx.main.take() {
        main.teardown();
    }
    drop(ctx);

    let problems = env.ledger.teardown_problems();
    for problem in &problems {
        eprintln!("reference-ci: unclean teardown: {problem}");
    }
    let owned: Vec<PathBuf> = OWNED_DIRS
        .iter()
        .map(|dir| env.artifacts.join(dir))
        .collect();
    let leaks = env.secrets.scan(&owned)?;
    for leak in &leaks {
        eprintln!(
            "reference-ci: secret {:?} leaked into {}",
            leak.secret,
            leak.file.display()
        );
    }
    let results = Results {
        recipe: recipe.name.clone(),
        rev: recipe.rev.clone(),
        run_id: args.run_id.clone(),
        level: results::level(&report.statuses),
        results: report.statuses,
        flags: Flags {
            clean_teardown: problems.is_empty(),
            no_secret_leak: leaks.is_empty(),
        },
        stages: report.records,
    };
    results.write(&env.artifacts.join(RESULTS_FILE))?;
    let summary: Vec<String> = Tier::ALL
        .iter()
        .map(|tier| format!("{} {}", tier.name(), results.results.get(*tier).name()))
        .collect();
    progress(&format!(
        "==> {}: {}; level {}; clean_teardown {}; no_secret_leak {} ({} ms)",
        recipe.label(),
        summary.join(", "),
        results.level,
        results.flags.clean_teardown,
        results.flags.no_secret_leak,
        started.elapsed().as_millis()
    ));
    Ok(results.any_failed())
}

/// Creates the artifacts dir and returns its absolute path (services run in other working
/// directories, and absolute paths make logs unambiguous). Files of an earlier run are
/// cleared so that results, logs and the secret scan only concern this run; to never delete
/// someone else's files, that only happens in a dir carrying our marker, and a dir holding
/// such names without the marker is refused.
fn prepare_artifacts(dir: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(dir)
        .map_err(|error| Error::io(format!("creating {}", dir.display()), error))?;
    let dir = std::path::absolute(dir)
        .map_err(|error| Error::io(format!("resolving {}", dir.display()), error))?;
    let marker = dir.join(MARKER_FILE);
    let ours = OWNED_DIRS
        .iter()
        .chain(OWNED_FILES)
        .map(|name| dir.join(name));
    if marker.is_file() {
        for path in ours {
            volumes::remove_if_exists(&path)?;
        }
    } else if let Some(path) = ours.into_iter().find(|path| path.exists()) {
        return Err(Error::ForeignArtifacts { path });
    }
    fs::write(&marker, "artifacts of a reference-ci run\n")
        .map_err(|error| Error::io(format!("writing {}", marker.display()), error))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_cleared_only_when_marked_ours() {
        let dir =
            std::env::temp_dir().join(format!("reference-ci-artifacts-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("services")).unwrap();
        fs::write(dir.join("stdout.txt"), "caller's file").unwrap();
        assert!(
            prepare_artifacts(&dir).is_err(),
            "unmarked services/ must be refused"
        );

        fs::remove_dir_all(dir.join("services")).unwrap();
        assert_eq!(prepare_artifacts(&dir).unwrap(), dir);
        fs::create_dir_all(dir.join("services")).unwrap();
        fs::write(dir.join(RESULTS_FILE), "{}").unwrap();
        prepare_artifacts(&dir).unwrap();
        assert!(!dir.join("services").exists() && !dir.join(RESULTS_FILE).exists());
        assert!(dir.join("stdout.txt").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
