//! coalmine's own regression canaries. Each spawns the reference recipe CI (`reference-ci/`,
//! configured in the repository's `harness.toml`) on a pinned recipe revision and checks the
//! verdict and the results it writes.
//!
//!     cargo test --test regression -- canary good-simple   # one canary
//!     cargo test --test regression -- canary               # every canary
//!     cargo nextest run --test regression                  # through nextest

coalmine::canary! {
    /// The smallest recipe: one static site, install and upgrade only.
    name: "good-simple",
    recipe: "custom-html-tiny",
    rev: "435df8fc",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        no_tier_failed(),
        flag("clean_teardown"),
        flag("no_secret_leak"),
        stage("install").test("test_serving").passed(),
    ],
}

coalmine::canary! {
    /// Three cooperating services, every tier, and an upgrade that must reconverge.
    name: "good-significant",
    recipe: "lasuite-docs",
    rev: "290a8ad7",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        no_tier_failed(),
        flag("clean_teardown"),
        flag("no_secret_leak"),
        stage("install").test("test_serving_and_frontend").passed(),
        stage("upgrade").test("test_upgrade_reconverges").passed(),
    ],
}

coalmine::canary! {
    /// A stale docroot serves .txt as application/octet-stream: the CI must say RED, and say
    /// it because of the content-type test, not because of anything else.
    name: "bad-false-green",
    recipe: "custom-html",
    rev: "71e7326a",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Pass),
        tier("custom").is(Fail),
        stage("custom").test("test_content_type_html_and_txt").failed(),
    ],
}

coalmine::canary! {
    /// The docroot lacks index.html: install must fail.
    name: "bad-install",
    recipe: "custom-html-tiny",
    rev: "0e1f2a3b",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Fail),
        stage("install").test("test_serving").failed(),
    ],
}

coalmine::canary! {
    /// A data migration that only runs on upgrade breaks the site: upgrade must fail, install
    /// must pass.
    name: "bad-upgrade",
    recipe: "custom-html-tiny",
    rev: "5c6d7e8f",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Pass),
        tier("upgrade").is(Fail),
        stage("upgrade").test("test_serving_after_upgrade").failed(),
    ],
}

coalmine::canary! {
    /// Backup paths point at the wrong folder: backup must fail, restore is unverified.
    name: "bad-backup",
    recipe: "custom-html",
    rev: "9a8b7c6d",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Pass),
        tier("backup").is(Fail),
        tier("restore").is(Unver),
        stage("backup").test("test_backup_contains_data").failed(),
    ],
}

coalmine::canary! {
    /// Restore writes to the wrong place: backup passes, restore must fail.
    name: "bad-restore",
    recipe: "custom-html",
    rev: "3f2e1d0c",
    expect: Red,
    checks: [
        exit_code(1),
        tier("backup").is(Pass),
        tier("restore").is(Fail),
        stage("restore").test("test_restore_roundtrip").failed(),
    ],
}

coalmine::canary! {
    /// cargo-nextest on a fixture crate, read from its JUnit report: every stage passes.
    name: "nextest-green",
    recipe: "nextest-project",
    rev: "green",
    ci: "nextest",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        tier("custom").is(Pass),
        stage("install").test("test_serving").passed(),
        stage("custom").test("test_content_type_html_and_txt").passed(),
    ],
}

coalmine::canary! {
    /// The `red` feature breaks the content type of .txt: nextest fails (exit 100) because of
    /// that test, and only that one.
    name: "nextest-red",
    recipe: "nextest-project",
    rev: "red",
    ci: "nextest",
    expect: Red,
    checks: [
        exit_code(100),
        tier("install").is(Pass),
        tier("custom").is(Fail),
        stage("custom").test("test_content_type_html_and_txt").failed(),
        stage("custom").test("test_missing_page_is_404").passed(),
    ],
}

coalmine::canary! {
    /// pytest --junitxml on a fixture project: every stage passes (an expected failure is not
    /// a failure).
    name: "pytest-green",
    recipe: "pytest-project",
    rev: "green",
    ci: "pytest",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        tier("custom").is(Pass),
        stage("install").test("test_serving").passed(),
        stage("custom").test("test_content_type_html_and_txt").passed(),
    ],
}

coalmine::canary! {
    /// FIXTURE_REV=red serves .txt as a download: pytest fails (exit 1) because of that test.
    name: "pytest-red",
    recipe: "pytest-project",
    rev: "red",
    ci: "pytest",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Pass),
        tier("custom").is(Fail),
        stage("custom").test("test_content_type_html_and_txt").failed(),
        stage("install").test("test_serving").passed(),
    ],
}

coalmine::main!();
