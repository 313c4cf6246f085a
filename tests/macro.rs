//! `canary!` registers canaries whose fields match the declaration, in any order after `name`.

use std::collections::BTreeMap;

coalmine::canary! {
    /// First line.
    /// Second line.
    name: "every-field",
    rev: "435df8fc",
    recipe: "custom-html-tiny",
    expect: Red,
    checks: [
        exit_code(1),
        tier("install").is(Fail),
        tier("restore").is(Unver),
        tier("backup").is(Skip),
        flag("clean_teardown"),
        flag("no_secret_leak").is(false),
        stage("install").test("test_serving").failed(),
        output_matches("RED"),
        custom("always", |_| Ok(())),
    ],
    timeout: "90s",
    env: { "A": "1", "B": "{run_id}" },
    owner: "sig-ci",
}

coalmine::canary! {
    name: "minimal",
    recipe: "r",
    rev: "1",
    expect: coalmine::Expect::Green,
}

fn registered(name: &str) -> coalmine::Canary {
    let registration = coalmine::canary::registry::registered()
        .find(|registration| registration.name == name)
        .unwrap_or_else(|| panic!("{name} is not registered"));
    (registration.build)()
}

#[test]
fn every_field_reaches_the_canary() {
    let canary = registered("every-field");
    assert_eq!(canary.name(), "every-field");
    assert_eq!(canary.recipe_name(), Some("custom-html-tiny"));
    assert_eq!(canary.revision(), Some("435df8fc"));
    assert_eq!(canary.expected(), Some(coalmine::Expect::Red));
    assert_eq!(canary.description_text(), Some("First line.\nSecond line."));
    assert_eq!(canary.owner_name(), Some("sig-ci"));
    let env: BTreeMap<&str, &str> = canary
        .env_vars()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, BTreeMap::from([("A", "1"), ("B", "{run_id}")]));
    let checks: Vec<String> = canary
        .declared_checks()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        checks,
        [
            "exit_code(1)",
            "tier(\"install\").is(Fail)",
            "tier(\"restore\").is(Unver)",
            "tier(\"backup\").is(Skip)",
            "flag(\"clean_teardown\")",
            "flag(\"no_secret_leak\").is(false)",
            "stage(\"install\").test(\"test_serving\").failed()",
            "output_matches(\"RED\")",
            "custom(\"always\")",
        ]
    );
    let valid = canary.validate().unwrap();
    assert_eq!(valid.timeout(), Some(std::time::Duration::from_secs(90)));
    assert!(canary.location().file.ends_with("macro.rs"));
    assert_eq!(canary.location().line, 5);
}

#[test]
fn the_minimal_form_is_valid() {
    let canary = registered("minimal");
    assert!(canary.validate().is_ok());
    assert!(canary.declared_checks().is_empty());
}
