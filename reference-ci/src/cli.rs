//! Command-line parsing for both faces of the binary: the public
//! `run <recipe> --rev <rev> --run-id <id> --artifacts <dir> [--recipes <dir>]`, and the hidden
//! `serve ...` that the CI itself uses to start a service process. Keeping both directions of
//! the `serve` command line here ([`ServeArgs::to_args`] and its parser) keeps them in sync.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::Error;

/// Env var naming the default recipes folder.
pub const RECIPES_VAR: &str = "REFERENCE_CI_RECIPES";
/// Recipes folder used when neither `--recipes` nor [`RECIPES_VAR`] is given.
pub const DEFAULT_RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/recipes");

/// Usage text printed with `--help` and with every usage error.
pub const USAGE: &str = "\
usage: reference-ci run <recipe> --rev <rev> --run-id <id> --artifacts <dir> [--recipes <dir>]

Deploys <recipe> at <rev> as local processes, runs the install, upgrade, backup, restore and
custom tiers against it over HTTP, tears it down and writes <dir>/results.json.

  --recipes <dir>   recipes folder (default: $REFERENCE_CI_RECIPES, else the bundled recipes)

environment:
  REFERENCE_CI_RACE_PROBABILITY   probability (0..1) that a cold-starting service is slow to
                                  come back after an upgrade (default 0)
  REFERENCE_CI_SEED               u64 seed for that draw (default: clock)

exit status: 0 no tier failed, 1 a tier failed, 2 usage error / unknown recipe or revision /
invalid recipe or environment (no results.json written)";

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print usage and exit 0.
    Help,
    /// Run a recipe through the CI.
    Run(RunArgs),
    /// Be a service (internal).
    Serve(ServeArgs),
}

/// Arguments of `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// Recipe name (validated against the recipes folder later).
    pub recipe: String,
    /// Revision.
    pub rev: String,
    /// Caller's run id, echoed into results.
    pub run_id: String,
    /// Where logs, state, backups and results go.
    pub artifacts: PathBuf,
    /// The recipes folder.
    pub recipes: PathBuf,
}

/// Arguments of the internal `serve` command: everything a service process needs to know.
/// Secrets are not here: they travel in the environment so they never show up in `ps`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServeArgs {
    /// Service name.
    pub name: String,
    /// Deployment label for log lines, e.g. `install@435df8fc`.
    pub label: String,
    /// Revision the service runs.
    pub rev: String,
    /// Version the service reports.
    pub version: String,
    /// Read-only docroot served at `/`.
    pub docroot: Option<PathBuf>,
    /// `mime.types` file.
    pub mime_types: Option<PathBuf>,
    /// Data folder served at `/data/`.
    pub data: Option<PathBuf>,
    /// Dependencies and where they listen, proxied at `/api/<name>/`.
    pub upstreams: Vec<(String, SocketAddr)>,
    /// Answer 503 for this long after binding (a cold start).
    pub warmup_ms: u64,
    /// The CI's pid: the service exits if its parent is no longer that process.
    pub parent_pid: Option<u32>,
}

impl ServeArgs {
    /// The argument list (after the program name) that [`parse`] turns back into `self`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["serve".into()];
        let mut push = |flag: &str, value: OsString| {
            args.push(flag.into());
            args.push(value);
        };
        push("--name", self.name.clone().into());
        push("--label", self.label.clone().into());
        push("--rev", self.rev.clone().into());
        push("--version", self.version.clone().into());
        for (flag, path) in [
            ("--docroot", &self.docroot),
            ("--mime-types", &self.mime_types),
            ("--data", &self.data),
        ] {
            if let Some(path) = path {
                push(flag, path.clone().into());
            }
        }
        for (name, addr) in &self.upstreams {
            push("--upstream", format!("{name}={addr}").into());
        }
        if self.warmup_ms > 0 {
            push("--warmup-ms", self.warmup_ms.to_string().into());
        }
        if let Some(pid) = self.parent_pid {
            push("--parent-pid", pid.to_string().into());
        }
        args
    }
}

/// Parses the arguments after the program name. `env` looks up environment variables (for the
/// recipes default).
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<String>) -> Result<Command, Error> {
    let args: Vec<String> = args
        .iter()
        .map(|arg| {
            arg.to_str()
                .map(str::to_owned)
                .ok_or_else(|| usage(format!("argument {arg:?} is not valid UTF-8")))
        })
        .collect::<Result<_, _>>()?;
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        return Ok(Command::Help);
    }
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("missing command"));
    };
    let parsed = Parsed::split(rest)?;
    match command.as_str() {
        "run" => parse_run(parsed, env).map(Command::Run),
        "serve" => parse_serve(parsed).map(Command::Serve),
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn usage(message: impl Into<String>) -> Error {
    Error::Usage(format!("{}\n\n{USAGE}", message.into()))
}

/// Positional arguments and `--flag value` / `--flag=value` options.
struct Parsed {
    positionals: Vec<String>,
    options: Vec<(String, String)>,
}

impl Parsed {
    fn split(args: &[String]) -> Result<Parsed, Error> {
        let mut parsed = Parsed {
            positionals: Vec::new(),
            options: Vec::new(),
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(flag) = arg.strip_prefix("--") {
                let (flag, value) = match flag.split_once('=') {
                    Some((flag, value)) => (flag.to_owned(), value.to_owned()),
                    None => {
                        let value = iter
                            .next()
                            .ok_or_else(|| usage(format!("--{flag} needs a value")))?;
                        (flag.to_owned(), value.clone())
                    }
                };
                parsed.options.push((flag, value));
            } else {
                parsed.positionals.push(arg.clone());
            }
        }
        Ok(parsed)
    }

    /// Rejects options not in `known`.
    fn only(&self, known: &[&str]) -> Result<(), Error> {
        match self
            .options
            .iter()
            .find(|(flag, _)| !known.contains(&flag.as_str()))
        {
            Some((flag, _)) => Err(usage(format!("unknown option --{flag}"))),
            None => Ok(()),
        }
    }

    /// The value of an option given at most once.
    fn single(&self, flag: &str) -> Result<Option<String>, Error> {
        let mut values = self.many(flag);
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(usage(format!("--{flag} given more than once"))),
            (value, None) => Ok(value.map(str::to_owned)),
        }
    }

    /// The value of an option that must be given exactly once.
    fn required(&self, flag: &str) -> Result<String, Error> {
        self.single(flag)?
            .filter(|value| !value.is_empty())
            .ok_or_else(|| usage(format!("missing --{flag}")))
    }

    fn many<'a>(&'a self, flag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.options
            .iter()
            .filter(move |(name, _)| name == flag)
            .map(|(_, value)| value.as_str())
    }
}

fn parse_run(parsed: Parsed, env: impl Fn(&str) -> Option<String>) -> Result<RunArgs, Error> {
    parsed.only(&["rev", "run-id", "artifacts", "recipes"])?;
    let recipe = match parsed.positionals.as_slice() {
        [recipe] => recipe.clone(),
        [] => return Err(usage("missing <recipe>")),
        [_, extra, ..] => return Err(usage(format!("unexpected argument {extra:?}"))),
    };
    let recipes = match parsed.single("recipes")? {
        Some(dir) => dir,
        None => env(RECIPES_VAR)
            .filter(|dir| !dir.is_empty())
            .unwrap_or_else(|| DEFAULT_RECIPES.to_owned()),
    };
    Ok(RunArgs {
        recipe,
        rev: parsed.required("rev")?,
        run_id: parsed.required("run-id")?,
        artifacts: PathBuf::from(parsed.required("artifacts")?),
        recipes: PathBuf::from(recipes),
    })
}

fn parse_serve(parsed: Parsed) -> Result<ServeArgs, Error> {
    parsed.only(&[
        "name",
        "label",
        "rev",
        "version",
        "docroot",
        "mime-types",
        "data",
        "upstream",
        "warmup-ms",
        "parent-pid",
    ])?;
    if let Some(extra) = parsed.positionals.first() {
        return Err(usage(format!("unexpected argument {extra:?}")));
    }
    let upstreams = parsed
        .many("upstream")
        .map(|spec| {
            spec.split_once('=')
                .and_then(|(name, addr)| Some((name.to_owned(), addr.parse().ok()?)))
                .ok_or_else(|| usage(format!("--upstream {spec:?} is not NAME=IP:PORT")))
        })
        .collect::<Result<_, _>>()?;
    let number = |flag: &str| -> Result<Option<u64>, Error> {
        parsed
            .single(flag)?
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| usage(format!("--{flag} {value:?} is not a number")))
            })
            .transpose()
    };
    Ok(ServeArgs {
        name: parsed.required("name")?,
        label: parsed.required("label")?,
        rev: parsed.required("rev")?,
        version: parsed.required("version")?,
        docroot: parsed.single("docroot")?.map(PathBuf::from),
        mime_types: parsed.single("mime-types")?.map(PathBuf::from),
        data: parsed.single("data")?.map(PathBuf::from),
        upstreams,
        warmup_ms: number("warmup-ms")?.unwrap_or(0),
        parent_pid: number("parent-pid")?
            .map(|pid| u32::try_from(pid).map_err(|_| usage("--parent-pid out of range")))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_run_with_both_option_styles() {
        let command = parse(
            &args(&[
                "run",
                "custom-html",
                "--rev",
                "71e7326a",
                "--run-id=r1",
                "--artifacts",
                "/tmp/a",
            ]),
            no_env,
        )
        .unwrap();
        assert_eq!(
            command,
            Command::Run(RunArgs {
                recipe: "custom-html".into(),
                rev: "71e7326a".into(),
                run_id: "r1".into(),
                artifacts: "/tmp/a".into(),
                recipes: DEFAULT_RECIPES.into(),
            })
        );
    }

    #[test]
    fn recipes_default_comes_from_env_then_option() {
        let env = |var: &str| (var == RECIPES_VAR).then(|| "/env/recipes".to_owned());
        let base = [
            "run",
            "r",
            "--rev",
            "1",
            "--run-id",
            "x",
            "--artifacts",
            "a",
        ];
        let Command::Run(run) = parse(&args(&base), env).unwrap() else {
            panic!("not run")
        };
        assert_eq!(run.recipes, PathBuf::from("/env/recipes"));
        let mut explicit = base.to_vec();
        explicit.extend(["--recipes", "/opt"]);
        let Command::Run(run) = parse(&args(&explicit), env).unwrap() else {
            panic!("not run")
        };
        assert_eq!(run.recipes, PathBuf::from("/opt"));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &[][..],
            &["deploy"],
            &["run", "--rev", "1", "--run-id", "x", "--artifacts", "a"],
            &["run", "r", "--run-id", "x", "--artifacts", "a"],
            &["run", "r", "--rev", "1", "--run-id", "x", "--artifacts"],
            &[
                "run",
                "r",
                "s",
                "--rev",
                "1",
                "--run-id",
                "x",
                "--artifacts",
                "a",
            ],
            &[
                "run",
                "r",
                "--rev",
                "1",
                "--rev",
                "2",
                "--run-id",
                "x",
                "--artifacts",
                "a",
            ],
            &[
                "run",
                "r",
                "--rev",
                "1",
                "--run-id",
                "x",
                "--artifacts",
                "a",
                "--force",
                "y",
            ],
        ] {
            let error = parse(&args(bad), no_env).unwrap_err();
            assert!(matches!(error, Error::Usage(_)), "{bad:?}");
            assert!(error.to_string().contains("usage: reference-ci run"));
        }
        assert_eq!(
            parse(&args(&["run", "--help"]), no_env).unwrap(),
            Command::Help
        );
    }

    #[test]
    fn serve_args_roundtrip() {
        let serve = ServeArgs {
            name: "frontend".into(),
            label: "install@290a8ad7".into(),
            rev: "290a8ad7".into(),
            version: "4.0.0".into(),
            docroot: Some("/r/docroot".into()),
            mime_types: Some("/r/mime.types".into()),
            data: Some("/a/volumes/frontend/data".into()),
            upstreams: vec![
                ("backend".into(), "127.0.0.1:4000".parse().unwrap()),
                ("collab".into(), "127.0.0.1:4001".parse().unwrap()),
            ],
            warmup_ms: 3000,
            parent_pid: Some(42),
        };
        assert_eq!(
            parse(&serve.to_args(), no_env).unwrap(),
            Command::Serve(serve)
        );
        let minimal = ServeArgs {
            name: "web".into(),
            label: "l".into(),
            rev: "r".into(),
            version: "v".into(),
            ..ServeArgs::default()
        };
        assert_eq!(
            parse(&minimal.to_args(), no_env).unwrap(),
            Command::Serve(minimal)
        );
    }

    #[test]
    fn serve_rejects_bad_upstreams() {
        let bad = args(&[
            "serve",
            "--name",
            "a",
            "--label",
            "l",
            "--rev",
            "r",
            "--version",
            "v",
            "--upstream",
            "b=nowhere",
        ]);
        assert!(parse(&bad, no_env).is_err());
    }
}
