//! Known-answer tables for harness.toml: good files load with the right values, and each bad
//! file gives one specific message at the right line and column.

use super::*;

const GOOD: &str = r#"
[ci]
command = ["cc-ci-run", "{recipe}", "--ref", "{rev}", "--run-id", "{run_id}"]
results = "{artifacts}/results.json"
format = "cc-ci"
timeout = "20m"
grace = "0s"
slow = "90s"
workdir = "ci"
env = { TOKEN_FILE = "{artifacts}/token", PLAIN = "x" }

[run]
artifacts = "out/runs"
max_parallel = 3
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/project/harness.toml"))
}

#[test]
fn a_full_config_loads() {
    let config = parse(GOOD).unwrap();
    let ci = config.ci_for(None).unwrap();
    assert_eq!(ci.command.len(), 6);
    assert_eq!(ci.command[1].to_string(), "{recipe}");
    assert_eq!(ci.timeout, Duration::from_secs(20 * 60));
    assert_eq!(ci.grace, Duration::ZERO);
    assert_eq!(ci.slow, Duration::from_secs(90));
    assert_eq!(ci.workdir.to_string(), "ci");
    assert_eq!(ci.env.len(), 2);
    assert_eq!(config.run.artifacts, Path::new("/project/out/runs"));
    assert_eq!(config.run.max_parallel, 3);
    assert_eq!(config.root(), Path::new("/project"));
}

#[test]
fn defaults_apply() {
    let config = parse("[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r.json\"\n").unwrap();
    let ci = config.ci_for(None).unwrap();
    assert_eq!(ci.format, Format::CcCi);
    assert_eq!(ci.timeout, defaults::TIMEOUT);
    assert_eq!(ci.grace, defaults::GRACE);
    assert_eq!(ci.slow, defaults::SLOW);
    assert_eq!(
        config.run.artifacts,
        Path::new("/project/target/coalmine/runs")
    );
    assert!(config.run.max_parallel >= 1);
    assert_eq!(ci.on_secret_leak, OnSecretLeak::Fail);
    assert_eq!(config.run.max_log_bytes, 64 << 20);
}

#[test]
fn secret_leaks_and_log_sizes() {
    let config = parse(
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\non_secret_leak = \"warn\"\n\
         [profiles.strict]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\non_secret_leak = \"fail\"\n\
         [run]\nmax_log_bytes = 4096\n",
    )
    .unwrap();
    assert_eq!(
        config.ci_for(None).unwrap().on_secret_leak,
        OnSecretLeak::Warn
    );
    assert_eq!(
        config.ci_for(Some("strict")).unwrap().on_secret_leak,
        OnSecretLeak::Fail
    );
    assert_eq!(config.run.max_log_bytes, 4096);
}

#[test]
fn a_file_without_ci_serves_the_history_and_quarantine_commands() {
    // What a team that only ingests JUnit reports and quarantines flaky tests writes.
    let config =
        parse("[history]\npath = \"h.db\"\n[owners]\n\"storage::*\" = \"sig-storage\"\n").unwrap();
    assert!(config.ci.is_none());
    assert_eq!(
        config.history.path.as_deref(),
        Some(Path::new("/project/h.db"))
    );
    // Canaries cannot run without it, and are told what to add.
    let problem = config.ci_for(None).unwrap_err();
    assert!(
        problem.contains("/project/harness.toml has no [ci] table"),
        "{problem}"
    );
    assert!(
        problem.contains("results = \"{artifacts}/results.json\""),
        "{problem}"
    );
    // A profile still works without [ci].
    let config = parse(
        "[profiles.py]\ncommand = [\"pytest\"]\nresults = \"{artifacts}/junit.xml\"\nformat = \"junit\"\n",
    )
    .unwrap();
    assert!(config.ci_for(Some("py")).is_ok());
    assert!(config.ci_for(None).is_err());
}

/// (name, file, line, column, a phrase the message must contain)
const BAD: &[(&str, &str, usize, usize, &str)] = &[
    (
        "unknown key",
        "[ci]\ncomand = [\"x\"]\nresults = \"{artifacts}/r\"\n",
        2,
        1,
        "unknown field `comand`, expected one of `command`, `results`, `format`",
    ),
    (
        "unknown table",
        "[ci]\ncommand = [\"x\"]\nresults = \"{artifacts}/r\"\n[runs]\n",
        4,
        2,
        "unknown field `runs`, expected one of `ci`, `run`, `profiles`, `history`",
    ),
    (
        "wrong type",
        "[ci]\ncommand = \"cc-ci-run {recipe}\"\nresults = \"{artifacts}/r\"\n",
        2,
        11,
        "invalid type: string \"cc-ci-run {recipe}\", expected a sequence",
    ),
    (
        "missing command",
        "[ci]\nresults = \"{artifacts}/r\"\n",
        1,
        1,
        "missing field `command`",
    ),
    (
        "empty command",
        "[ci]\ncommand = []\nresults = \"{artifacts}/r\"\n",
        2,
        11,
        "`ci.command` is empty",
    ),
    (
        "empty program",
        "[ci]\ncommand = [\"\"]\nresults = \"{artifacts}/r\"\n",
        2,
        12,
        "the program (first element of `ci.command`) is empty",
    ),
    (
        "unknown placeholder",
        "[ci]\ncommand = [\"ci\", \"--ref={revision}\"]\nresults = \"{artifacts}/r\"\n",
        2,
        25,
        "in `ci.command`: unknown placeholder `{revision}`; valid placeholders: {recipe}, {rev}, {canary}, {run_id}, {artifacts}",
    ),
    (
        "placeholder in results",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifact}/r.json\"\n",
        3,
        12,
        "in `ci.results`: unknown placeholder `{artifact}`",
    ),
    (
        "placeholder in env",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\n[ci.env]\nA = \"{nope}\"\n",
        5,
        6,
        "in `ci.env.A`: unknown placeholder `{nope}`",
    ),
    (
        "unclosed brace",
        "[ci]\ncommand = [\"ci\", \"{rev\"]\nresults = \"{artifacts}/r\"\n",
        2,
        19,
        "unclosed `{`",
    ),
    (
        "bad duration",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\ntimeout = \"20 minuts\"\n",
        4,
        11,
        "`ci.timeout` = \"20 minuts\" is not a duration: unknown time unit \"minuts\"",
    ),
    (
        "duration as number",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\ntimeout = 20\n",
        4,
        11,
        "invalid type: integer `20`, expected a string",
    ),
    (
        "zero timeout",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\ntimeout = \"0s\"\n",
        4,
        11,
        "`ci.timeout` must be longer than zero",
    ),
    (
        "unknown format",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\nformat = \"xunit\"\n",
        4,
        10,
        "unknown variant `xunit`, expected one of `cc-ci`, `junit`, `ctrf`, `tap`, `libtest-json`, `go-test-json`, `auto`",
    ),
    (
        "zero parallel",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\n[run]\nmax_parallel = 0\n",
        5,
        16,
        "`run.max_parallel` is 0: it must be at least 1",
    ),
    (
        "parallel as string",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\n[run]\nmax_parallel = \"2\"\n",
        5,
        16,
        "invalid type: string \"2\", expected i64",
    ),
    (
        "env not a string",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\nenv = { A = 1 }\n",
        4,
        13,
        "invalid type: integer `1`, expected a string",
    ),
    (
        "toml syntax",
        "[ci]\ncommand = [\"ci\"\nresults = \"{artifacts}/r\"\n",
        3,
        1,
        "expected",
    ),
    (
        "unknown on_secret_leak",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\non_secret_leak = \"ignore\"\n",
        4,
        18,
        "unknown variant `ignore`, expected `fail` or `warn`",
    ),
    (
        "tiny max_log_bytes",
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\n[run]\nmax_log_bytes = 100\n",
        5,
        17,
        "`run.max_log_bytes` is 100: keep at least 4096 bytes of each log",
    ),
    (
        "empty results",
        "[ci]\ncommand = [\"ci\"]\nresults = \"\"\n",
        3,
        11,
        "`ci.results` is empty",
    ),
    (
        "unknown source kind",
        "[[sources]]\nkind = \"go\"\npaths = [\"tests\"]\n",
        2,
        8,
        "`sources.kind` = \"go\" is not a kind of test source: write \"ginkgo\"",
    ),
    (
        "unknown source key",
        "[[sources]]\nkind = \"rust\"\npaths = [\"tests\"]\nfolder = \"x\"\n",
        4,
        1,
        "unknown field `folder`, expected one of `kind`, `paths`, `tests`, `decorators_import`",
    ),
    (
        "empty source paths",
        "[[sources]]\nkind = \"rust\"\npaths = []\n",
        3,
        9,
        "`sources.paths` is empty",
    ),
    (
        "decorators for rust",
        "[[sources]]\nkind = \"rust\"\npaths = [\".\"]\ndecorators_import = \"x/y\"\n",
        4,
        21,
        "is for kind = \"ginkgo\" only",
    ),
    (
        "empty tests pattern",
        "[[sources]]\nkind = \"rust\"\npaths = [\".\"]\ntests = [\"a::*\", \" \"]\n",
        4,
        18,
        "a `sources.tests` pattern is empty",
    ),
    (
        "bad decorators import",
        "[[sources]]\nkind = \"ginkgo\"\npaths = [\".\"]\ndecorators_import = \"a\\\"b\"\n",
        4,
        21,
        "is not a Go import path",
    ),
];

#[test]
fn sources_resolve_against_the_file() {
    let config = parse(
        "[[sources]]\nkind = \"ginkgo\"\npaths = [\"tests\", \"e2e/vm_test.go\"]\n\n\
         [[sources]]\nkind = \"rust\"\npaths = [\".\"]\n",
    )
    .unwrap();
    assert_eq!(config.sources.len(), 2);
    assert_eq!(config.sources[0].kind, crate::config::SourceKind::Ginkgo);
    assert_eq!(
        config.sources[0].paths,
        [
            Path::new("/project/tests"),
            Path::new("/project/e2e/vm_test.go")
        ]
    );
    assert_eq!(
        config.sources[0].decorators_import,
        "kubevirt.io/kubevirt/tests/decorators"
    );
    assert_eq!(config.sources[1].kind, crate::config::SourceKind::Rust);
    assert!(config.sources[0].holds("anything::at all"));
    let held = parse(
        "[[sources]]\nkind = \"ginkgo\"\npaths = [\"tests\"]\ntests = [\"KubeVirt Suite::*\", \"x::t?\"]\n",
    )
    .unwrap();
    let source = &held.sources[0];
    assert!(source.holds("KubeVirt Suite::VM lifecycle should boot"));
    assert!(source.holds("x::t1") && !source.holds("x::t12") && !source.holds("pytest::x"));
}

#[test]
fn bad_configs_name_line_column_and_fix() {
    for (name, text, line, column, phrase) in BAD {
        let error = parse(text).expect_err(name);
        let ConfigErrorKind::Invalid {
            line: got_line,
            column: got_column,
            message,
            ..
        } = &error.kind
        else {
            panic!("{name}: expected an invalid-config error, got {error:?}");
        };
        assert!(
            message.contains(phrase),
            "{name}: {message:?} lacks {phrase:?}"
        );
        assert_eq!(
            (*got_line, *got_column),
            (*line, *column),
            "{name}: {message}"
        );
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("/project/harness.toml:{line}:{column}: ")),
            "{name}: {shown}"
        );
        assert!(
            shown.contains(" | "),
            "{name}: the snippet is missing in {shown}"
        );
    }
}

#[test]
fn the_snippet_underlines_the_column() {
    let error =
        parse("[ci]\ncommand = [\"ci\", \"{bad}\"]\nresults = \"{artifacts}/r\"\n").unwrap_err();
    let shown = error.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[2], "2 | command = [\"ci\", \"{bad}\"]");
    assert_eq!(lines[3], "  |                   ^");
}

#[test]
fn discovery_walks_up_and_explains_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    let error = find_upwards(&nested);
    assert!(error.is_none() || !error.unwrap().starts_with(dir.path()));
    std::fs::write(
        dir.path().join(FILE_NAME),
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\n",
    )
    .unwrap();
    assert_eq!(find_upwards(&nested).unwrap(), dir.path().join(FILE_NAME));

    let missing = ConfigError {
        path: nested.join(FILE_NAME),
        kind: ConfigErrorKind::NotFound {
            searched_from: nested.clone(),
        },
    };
    let text = missing.to_string();
    assert!(text.contains("coalmine init"), "{text}");
    assert!(text.contains(MINIMAL_EXAMPLE), "{text}");
}

#[test]
fn minimal_example_is_valid() {
    parse(MINIMAL_EXAMPLE).unwrap();
}

#[test]
fn a_history_url_names_a_server_and_excludes_a_path() {
    let config = parse("[history]\nurl = \"postgres://ci@db.example:5432/coalmine\"\n").unwrap();
    assert_eq!(
        config.history.path.as_deref(),
        Some(Path::new("postgres://ci@db.example:5432/coalmine")),
        "a URL is not joined to the config's folder"
    );
    let both = parse("[history]\npath = \"h.db\"\nurl = \"postgres://db/c\"\n").unwrap_err();
    assert!(
        both.to_string()
            .contains("`history.path` and `history.url` are both set"),
        "{both}"
    );
    let other = parse("[history]\nurl = \"mysql://u:secret@db/c\"\n").unwrap_err();
    assert!(
        other.to_string().contains("give a PostgreSQL URL"),
        "{other}"
    );
    assert!(!other.to_string().contains("secret"), "{other}");
    // What the URL's text gets wrong is said at its line, before any connection.
    for (url, expected) in [
        (
            "postgres://u:secret@db/c?sslmode=verify-fulll",
            "sslmode=verify-fulll is not a mode",
        ),
        (
            "postgres://u:secret@db/c?sslcrl=/x",
            "unknown option `sslcrl`",
        ),
        ("postgres://u:secret@db:port/c", "invalid"),
        (
            "postgres://u:secret@db/c?sslmode=require&sslrootcert=system",
            "needs sslmode=verify-full",
        ),
    ] {
        let error = parse(&format!("[history]\nurl = \"{url}\"\n")).unwrap_err();
        let said = error.to_string();
        assert!(said.contains(expected), "{url}: {said}");
        assert!(said.contains(":2:"), "{url}: the line: {said}");
        assert!(!said.contains("secret"), "{said}");
    }
    // A mode left to PGSSLMODE is not judged when the file is read.
    parse("[history]\nurl = \"postgres://db/c?sslrootcert=system\"\n").unwrap();
}
