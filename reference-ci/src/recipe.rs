//! Recipes on disk: `<recipes>/<recipe>/<rev>/recipe.toml` plus the data files it refers to
//! (docroots, mime tables). This module validates names (so that a command-line argument can
//! never walk out of the recipes folder), lists what exists, and loads one revision into a
//! checked [`Recipe`]. All behaviour of a revision, good or broken, comes from this data.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::results::Tier;

/// The file describing one revision.
pub const RECIPE_FILE: &str = "recipe.toml";
/// Longest cold start a recipe may declare; keeps a typo from stalling a run for hours.
const MAX_COLD_START_MS: u64 = 60_000;

/// True if `name` may be used as a recipe or revision name: 1 to 64 characters from
/// `[A-Za-z0-9._-]`, not starting with a dot. This excludes path separators, `.` and `..`,
/// shell metacharacters and whitespace.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// True for a service name: lowercase letters, digits and `-`, starting with a letter. Service
/// names become URL segments (`/api/<service>/`) and file names.
fn is_valid_service_name(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// True for a secret name: lowercase letters, digits and `_`, starting with a letter.
fn is_valid_secret_name(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// True if `path` is relative and only has normal components (no `..`, no root, no `.`), so
/// that joining it to a base can never leave the base.
pub fn is_contained_path(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
}

/// `[recipe]`: identity and wiring of the revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Version the services report (informational; revisions are what tests compare).
    pub version: String,
    /// Free text, shown in the README table.
    #[serde(default)]
    pub description: String,
    /// The service tests talk to.
    pub entry: String,
    /// The revision an upgrade test deploys first and upgrades from.
    #[serde(default)]
    pub upgrade_from: Option<String>,
    /// Names of secrets the CI generates for each run and hands to services.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// `[services.<name>]`: one process serving HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDef {
    /// Folder of the revision served read-only at `/`.
    #[serde(default)]
    pub docroot: Option<String>,
    /// `mime.types` file of the revision; without it every file is `application/octet-stream`.
    #[serde(default)]
    pub mime_types: Option<String>,
    /// Folder inside the service's volume holding user data, served at `/data/`.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Secret whose value a client must send as `Authorization: Bearer` to write `/data/`.
    #[serde(default)]
    pub write_secret: Option<String>,
    /// Services this one talks to; they start first and are proxied at `/api/<name>/`.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How long the service needs to come back when it is restarted at a new revision and has
    /// to rebuild its state; happens on a random fraction of upgrades (see `race`).
    #[serde(default)]
    pub cold_start_ms: u64,
}

/// `[[migrations]]`: data migrations run on the volumes when upgrading *to* this revision
/// (never on a fresh install).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Migration {
    /// Move `from` to `to` inside the service's volume.
    Rename {
        /// Service whose volume is migrated.
        service: String,
        /// Existing path inside the volume.
        from: String,
        /// New path inside the volume.
        to: String,
    },
}

/// `[[backup.paths]]`: one path of a service's volume that backups copy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupPath {
    /// Service whose volume holds the path.
    pub service: String,
    /// Path inside the volume.
    pub path: String,
    /// Where restore puts it back inside the volume; defaults to `path`.
    #[serde(default)]
    pub restore_to: Option<String>,
}

impl BackupPath {
    /// The restore target inside the volume.
    pub fn restore_target(&self) -> &str {
        self.restore_to.as_deref().unwrap_or(&self.path)
    }
}

/// `[backup]`: the recipe's backup support.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// What to copy.
    pub paths: Vec<BackupPath>,
}

/// `[expect]`: what the recipe's tests expect from this revision.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Text `GET /` on the entry service must contain.
    #[serde(default)]
    pub index_contains: Option<String>,
    /// URL prefix on the entry service under which user data is written and read (`/data/`
    /// for a single service, `/api/<service>/data/` through a frontend).
    #[serde(default)]
    pub data_path: Option<String>,
    /// Secret that authorizes writes under `data_path`.
    #[serde(default)]
    pub write_secret: Option<String>,
    /// URL path -> media type the entry service must answer with.
    #[serde(default)]
    pub content_types: BTreeMap<String, String>,
}

/// `[stages]`: test names per tier; a tier without tests is not supported (`skip`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stages {
    /// Install tests.
    #[serde(default)]
    pub install: Vec<String>,
    /// Upgrade tests.
    #[serde(default)]
    pub upgrade: Vec<String>,
    /// Backup tests.
    #[serde(default)]
    pub backup: Vec<String>,
    /// Restore tests.
    #[serde(default)]
    pub restore: Vec<String>,
    /// Custom tests.
    #[serde(default)]
    pub custom: Vec<String>,
}

impl Stages {
    /// The tests declared for `tier`, in order.
    pub fn tests(&self, tier: Tier) -> &[String] {
        match tier {
            Tier::Install => &self.install,
            Tier::Upgrade => &self.upgrade,
            Tier::Backup => &self.backup,
            Tier::Restore => &self.restore,
            Tier::Custom => &self.custom,
        }
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    recipe: Meta,
    services: BTreeMap<String, ServiceDef>,
    #[serde(default)]
    migrations: Vec<Migration>,
    #[serde(default)]
    backup: Option<Backup>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    stages: Stages,
}

/// One checked recipe revision.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Recipe name.
    pub name: String,
    /// Revision.
    pub rev: String,
    /// The revision folder; relative paths of the recipe resolve against it.
    pub dir: PathBuf,
    /// `[recipe]`.
    pub meta: Meta,
    /// `[services.*]` by name.
    pub services: BTreeMap<String, ServiceDef>,
    /// Service names, dependencies before dependents.
    pub start_order: Vec<String>,
    /// `[[migrations]]` in order.
    pub migrations: Vec<Migration>,
    /// `[backup]`, if the recipe supports backups.
    pub backup: Option<Backup>,
    /// `[expect]`.
    pub expect: Expect,
    /// `[stages]`.
    pub stages: Stages,
}

impl Recipe {
    /// Parses and checks a `recipe.toml` text; `dir` is the revision folder.
    pub fn parse(name: &str, rev: &str, dir: &Path, text: &str) -> Result<Recipe, Error> {
        let path = dir.join(RECIPE_FILE);
        let file: RecipeFile =
            toml::from_str(text).map_err(|error| Error::recipe(&path, error.to_string()))?;
        let start_order =
            start_order(&file.services).map_err(|message| Error::recipe(&path, message))?;
        let recipe = Recipe {
            name: name.to_owned(),
            rev: rev.to_owned(),
            dir: dir.to_owned(),
            meta: file.recipe,
            services: file.services,
            start_order,
            migrations: file.migrations,
            backup: file.backup,
            expect: file.expect,
            stages: file.stages,
        };
        recipe
            .check()
            .map_err(|message| Error::recipe(&path, message))?;
        Ok(recipe)
    }

    /// Label used in progress lines and logs: `name@rev`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.rev)
    }

    /// Resolves a revision-relative path (already checked to stay inside the folder).
    pub fn data_file(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// The entry service's definition (always present in a loaded recipe).
    pub fn entry(&self) -> Option<&ServiceDef> {
        self.services.get(&self.meta.entry)
    }

    fn check(&self) -> Result<(), String> {
        let secrets: BTreeSet<&str> = self.meta.secrets.iter().map(String::as_str).collect();
        let known_secret = |name: &Option<String>, what: &str| match name {
            Some(name) if !secrets.contains(name.as_str()) => Err(format!(
                "{what} refers to undeclared secret {name:?} (declared: {:?})",
                self.meta.secrets
            )),
            _ => Ok(()),
        };
        let known_service = |name: &str, what: &str| {
            if self.services.contains_key(name) {
                Ok(())
            } else {
                Err(format!("{what} refers to unknown service {name:?}"))
            }
        };
        let contained = |path: &str, what: &str| {
            if is_contained_path(path) {
                Ok(())
            } else {
                Err(format!(
                    "{what} {path:?} must be a relative path without '..'"
                ))
            }
        };

        for secret in &self.meta.secrets {
            if !is_valid_secret_name(secret) {
                return Err(format!("invalid secret name {secret:?}"));
            }
        }
        if let Some(from) = &self.meta.upgrade_from
            && (!is_valid_name(from) || *from == self.rev)
        {
            return Err(format!("invalid upgrade_from {from:?}"));
        }
        known_service(&self.meta.entry, "recipe.entry")?;
        for (name, service) in &self.services {
            let what = format!("services.{name}");
            if !is_valid_service_name(name) {
                return Err(format!("invalid service name {name:?}"));
            }
            for (field, value) in [
                ("docroot", &service.docroot),
                ("mime_types", &service.mime_types),
                ("data_dir", &service.data_dir),
            ] {
                if let Some(path) = value {
                    contained(path, &format!("{what}.{field}"))?;
                }
            }
            known_secret(&service.write_secret, &what)?;
            if service.cold_start_ms > MAX_COLD_START_MS {
                return Err(format!(
                    "{what}.cold_start_ms must be at most {MAX_COLD_START_MS}"
                ));
            }
        }
        for migration in &self.migrations {
            let Migration::Rename { service, from, to } = migration;
            known_service(service, "migration")?;
            contained(from, "migration.from")?;
            contained(to, "migration.to")?;
        }
        if let Some(backup) = &self.backup {
            if backup.paths.is_empty() {
                return Err("[backup] declares no paths".to_owned());
            }
            for path in &backup.paths {
                known_service(&path.service, "backup path")?;
                contained(&path.path, "backup.path")?;
                contained(path.restore_target(), "backup.restore_to")?;
            }
        }
        known_secret(&self.expect.write_secret, "expect.write_secret")?;
        if let Some(data_path) = &self.expect.data_path
            && (!data_path.starts_with('/') || !data_path.ends_with('/'))
        {
            return Err(format!(
                "expect.data_path {data_path:?} must start and end with '/'"
            ));
        }
        if let Some(path) = self
            .expect
            .content_types
            .keys()
            .find(|p| !p.starts_with('/'))
        {
            return Err(format!(
                "expect.content_types key {path:?} must start with '/'"
            ));
        }
        if self.stages.install.is_empty() {
            return Err("[stages] must declare at least one install test".to_owned());
        }
        Ok(())
    }
}

/// Orders services so that each comes after everything it depends on; ties are broken by
/// name so the order is stable. Fails on unknown dependencies and cycles.
fn start_order(services: &BTreeMap<String, ServiceDef>) -> Result<Vec<String>, String> {
    if services.is_empty() {
        return Err("recipe declares no services".to_owned());
    }
    for (name, service) in services {
        if let Some(missing) = service
            .depends_on
            .iter()
            .find(|dep| !services.contains_key(dep.as_str()))
        {
            return Err(format!(
                "services.{name}.depends_on refers to unknown service {missing:?}"
            ));
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(services.len());
    while order.len() < services.len() {
        let ready = services.iter().find(|(name, service)| {
            !order.contains(name) && service.depends_on.iter().all(|dep| order.contains(dep))
        });
        match ready {
            Some((name, _)) => order.push(name.clone()),
            None => {
                let stuck: Vec<&str> = services
                    .keys()
                    .filter(|name| !order.contains(name))
                    .map(String::as_str)
                    .collect();
                return Err(format!("dependency cycle among services {stuck:?}"));
            }
        }
    }
    Ok(order)
}

/// The folder of recipes.
#[derive(Debug, Clone)]
pub struct RecipeRepo {
    root: PathBuf,
}

impl RecipeRepo {
    /// A repository rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RecipeRepo { root: root.into() }
    }

    /// Names of recipes that have at least one revision, sorted.
    pub fn recipes(&self) -> Vec<String> {
        list_dirs(&self.root)
            .into_iter()
            .filter(|name| !self.revisions(name).is_empty())
            .collect()
    }

    /// Revisions of `recipe` (folders holding a `recipe.toml`), sorted. Empty for invalid
    /// names.
    pub fn revisions(&self, recipe: &str) -> Vec<String> {
        if !is_valid_name(recipe) {
            return Vec::new();
        }
        let dir = self.root.join(recipe);
        list_dirs(&dir)
            .into_iter()
            .filter(|rev| dir.join(rev).join(RECIPE_FILE).is_file())
            .collect()
    }

    /// Loads and checks `recipe` at `rev`.
    pub fn load(&self, recipe: &str, rev: &str) -> Result<Recipe, Error> {
        let revisions = self.revisions(recipe);
        if revisions.is_empty() {
            return Err(Error::UnknownRecipe {
                name: recipe.to_owned(),
                root: self.root.clone(),
                known: self.recipes(),
            });
        }
        if !revisions.iter().any(|known| known == rev) {
            return Err(Error::UnknownRevision {
                recipe: recipe.to_owned(),
                rev: rev.to_owned(),
                known: revisions,
            });
        }
        let dir = self.root.join(recipe).join(rev);
        let path = dir.join(RECIPE_FILE);
        let text = fs::read_to_string(&path)
            .map_err(|error| Error::io(format!("reading {}", path.display()), error))?;
        Recipe::parse(recipe, rev, &dir, &text)
    }
}

/// Sub-folders of `dir` with valid names, sorted; empty if `dir` cannot be read.
fn list_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| is_valid_name(name))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [recipe]
        version = "1"
        entry = "web"
        [services.web]
        docroot = "docroot"
        [stages]
        install = ["test_serving"]
    "#;

    fn parse(text: &str) -> Result<Recipe, Error> {
        Recipe::parse("r", "abc", Path::new("/recipes/r/abc"), text)
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn names_cannot_escape_or_inject() {
        for bad in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "x; rm -rf /",
            ".hidden",
            "a b",
            "a\\b",
        ] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        for good in ["custom-html", "435df8fc", "lasuite_docs.v2"] {
            assert!(is_valid_name(good), "{good:?}");
        }
    }

    #[test]
    fn contained_paths_are_relative_and_plain() {
        assert!(is_contained_path("docroot/sub"));
        for bad in ["", "/etc", "../x", "a/../b", "./a"] {
            assert!(!is_contained_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn parses_a_minimal_recipe() {
        let recipe = parse(MINIMAL).unwrap();
        assert_eq!(recipe.start_order, ["web"]);
        assert_eq!(recipe.label(), "r@abc");
        assert_eq!(recipe.stages.tests(Tier::Install), ["test_serving"]);
        assert!(recipe.stages.tests(Tier::Backup).is_empty());
        assert_eq!(
            recipe.data_file("docroot"),
            Path::new("/recipes/r/abc/docroot")
        );
    }

    #[test]
    fn orders_dependencies_first() {
        let recipe = parse(
            r#"
            [recipe]
            version = "1"
            entry = "frontend"
            [services.frontend]
            depends_on = ["backend", "collab"]
            [services.collab]
            depends_on = ["backend"]
            [services.backend]
            [stages]
            install = ["test_serving"]
            "#,
        )
        .unwrap();
        assert_eq!(recipe.start_order, ["backend", "collab", "frontend"]);
    }

    #[test]
    fn rejects_inconsistent_recipes() {
        let cycle = MINIMAL.replace("docroot = \"docroot\"", "depends_on = [\"web\"]");
        assert!(error_of(&cycle).contains("dependency cycle"));
        let escape = MINIMAL.replace("\"docroot\"", "\"../../etc\"");
        assert!(error_of(&escape).contains("without '..'"));
        let entry = MINIMAL.replace("entry = \"web\"", "entry = \"api\"");
        assert!(error_of(&entry).contains("unknown service \"api\""));
        let secret = MINIMAL.replace("docroot = \"docroot\"", "write_secret = \"token\"");
        assert!(error_of(&secret).contains("undeclared secret"));
        let unknown_field = MINIMAL.replace("docroot =", "doc_root =");
        assert!(error_of(&unknown_field).contains("doc_root"));
        let no_install = MINIMAL.replace("install = [\"test_serving\"]", "");
        assert!(error_of(&no_install).contains("install test"));
        assert!(error_of("not toml [").contains("recipe.toml"));
    }

    #[test]
    fn parses_migrations_and_backups() {
        let text = format!(
            "{MINIMAL}\n[[migrations]]\nop = \"rename\"\nservice = \"web\"\nfrom = \"a\"\nto = \"b\"\n\
             [backup]\npaths = [{{ service = \"web\", path = \"b\", restore_to = \"c\" }}]\n"
        );
        let recipe = parse(&text).unwrap();
        assert_eq!(
            recipe.migrations,
            [Migration::Rename {
                service: "web".into(),
                from: "a".into(),
                to: "b".into()
            }]
        );
        let backup = recipe.backup.unwrap();
        assert_eq!(backup.paths[0].restore_target(), "c");
    }

    #[test]
    fn repo_lists_and_rejects_unknown_names() {
        let root = std::env::temp_dir().join(format!("reference-ci-recipe-{}", std::process::id()));
        let rev_dir = root.join("site").join("aa11");
        fs::create_dir_all(&rev_dir).unwrap();
        fs::write(rev_dir.join(RECIPE_FILE), MINIMAL).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        let repo = RecipeRepo::new(&root);
        assert_eq!(repo.recipes(), ["site"]);
        assert_eq!(repo.revisions("site"), ["aa11"]);
        assert!(repo.load("site", "aa11").is_ok());
        assert!(matches!(
            repo.load("../site", "aa11"),
            Err(Error::UnknownRecipe { known, .. }) if known == ["site"]
        ));
        assert!(matches!(
            repo.load("site", "../aa11"),
            Err(Error::UnknownRevision { known, .. }) if known == ["aa11"]
        ));
        fs::remove_dir_all(&root).unwrap();
    }
}
