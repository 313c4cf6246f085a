//! The check vocabulary: small functions and builder types that read like the assertion they
//! make, e.g. `stage("install").test("test_serving").passed()`.

use std::sync::Arc;

use super::{Check, CiRun, IdentityField, Stream, TestExpectation, TestQualifier};
use crate::results::TierStatus;

/// The CI must exit with exactly this code.
pub fn exit_code(code: i32) -> Check {
    Check::ExitCode(code)
}

/// No tier may have status `fail`.
pub fn no_tier_failed() -> Check {
    Check::NoTierFailed
}

/// A tier, to be given a status with [`TierRef::is`].
pub fn tier(name: impl Into<String>) -> TierRef {
    TierRef { tier: name.into() }
}

/// A tier named in a check.
#[derive(Debug, Clone)]
pub struct TierRef {
    tier: String,
}

impl TierRef {
    /// The tier must have this status.
    pub fn is(self, status: TierStatus) -> Check {
        Check::Tier {
            tier: self.tier,
            status,
        }
    }
}

/// A flag that must be `true`; `.is(false)` asks for `false` instead.
pub fn flag(name: impl Into<String>) -> FlagCheck {
    FlagCheck { flag: name.into() }
}

/// A flag named in a check; converts into a check that the flag is `true`.
#[derive(Debug, Clone)]
pub struct FlagCheck {
    flag: String,
}

impl FlagCheck {
    /// The flag must have this value.
    pub fn is(self, value: bool) -> Check {
        Check::Flag {
            flag: self.flag,
            value,
        }
    }
}

impl From<FlagCheck> for Check {
    fn from(value: FlagCheck) -> Self {
        value.is(true)
    }
}

/// A stage, to name a test in with [`StageRef::test`].
pub fn stage(name: impl Into<String>) -> StageRef {
    StageRef { stage: name.into() }
}

/// A stage named in a check.
#[derive(Debug, Clone)]
pub struct StageRef {
    stage: String,
}

impl StageRef {
    /// A named test of this stage.
    pub fn test(self, name: impl Into<String>) -> StageTestRef {
        StageTestRef {
            stage: self.stage,
            test: name.into(),
            qualifier: TestQualifier::default(),
        }
    }
}

/// A named test in a named stage, to be asserted on. When several tests share the name (two
/// files defining `test_it`), [`file`](StageTestRef::file), [`classname`](StageTestRef::classname),
/// [`suite`](StageTestRef::suite) and [`variant`](StageTestRef::variant) name one of them;
/// several calls must all match.
#[derive(Debug, Clone)]
pub struct StageTestRef {
    stage: String,
    test: String,
    qualifier: TestQualifier,
}

impl StageTestRef {
    fn expect(self, expect: TestExpectation) -> Check {
        Check::StageTest {
            stage: self.stage,
            test: self.test,
            qualifier: self.qualifier,
            expect,
        }
    }

    fn with(mut self, field: IdentityField, value: impl Into<String>) -> StageTestRef {
        self.qualifier = self.qualifier.and(field, value);
        self
    }

    /// Only the test (of those with the name) from this source file, e.g. `"tests/test_a.py"`.
    pub fn file(self, file: impl Into<String>) -> StageTestRef {
        self.with(IdentityField::File, file)
    }

    /// Only the test of this class or module (JUnit `classname`), e.g. `"tests.test_a"`.
    pub fn classname(self, classname: impl Into<String>) -> StageTestRef {
        self.with(IdentityField::Classname, classname)
    }

    /// Only the test nested in exactly this suite path, outermost first, joined with `" > "`
    /// (`"pytest"`, `"api > v2"`), as reports print it.
    pub fn suite(self, path: impl Into<String>) -> StageTestRef {
        self.with(IdentityField::Suite, path)
    }

    /// Only the test with these parameters (the variant, as reports print it).
    pub fn variant(self, variant: impl Into<String>) -> StageTestRef {
        self.with(IdentityField::Variant, variant)
    }

    /// The test must be present, whatever its outcome.
    pub fn present(self) -> Check {
        self.expect(TestExpectation::Present)
    }

    /// The test must be present and have passed every time it is reported (a retry that failed
    /// once did not pass). Of several tests sharing the name, each must have.
    pub fn passed(self) -> Check {
        self.expect(TestExpectation::Passed)
    }

    /// The test must be present and have failed at least one of the times it is reported. Of
    /// several tests sharing the name, each must have.
    pub fn failed(self) -> Check {
        self.expect(TestExpectation::Failed)
    }
}

fn output(stream: Stream, pattern: &str) -> Check {
    Check::Output {
        stream,
        pattern: pattern.to_owned(),
        regex: regex::Regex::new(pattern),
    }
}

/// A line of standard output or standard error must match the regular expression.
pub fn output_matches(pattern: &str) -> Check {
    output(Stream::Either, pattern)
}

/// A line of standard output must match the regular expression.
pub fn stdout_matches(pattern: &str) -> Check {
    output(Stream::Stdout, pattern)
}

/// A line of standard error must match the regular expression.
pub fn stderr_matches(pattern: &str) -> Check {
    output(Stream::Stderr, pattern)
}

/// A custom check: the closure returns `Err(explanation)` when the run does not satisfy it.
///
/// ```
/// use coalmine::check::custom;
/// let level_three = custom("level >= 3", |run| {
///     let level = run.results.and_then(|results| results.level).unwrap_or(0);
///     if level >= 3 { Ok(()) } else { Err(format!("level is {level}")) }
/// });
/// assert_eq!(level_three.to_string(), "custom(\"level >= 3\")");
/// ```
pub fn custom<F>(name: impl Into<String>, check: F) -> Check
where
    F: Fn(&CiRun<'_>) -> Result<(), String> + Send + Sync + 'static,
{
    Check::Custom {
        name: name.into(),
        check: Arc::new(check),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_print_as_written() {
        let printed: Vec<String> = [
            exit_code(0),
            tier("install").is(TierStatus::Pass),
            no_tier_failed(),
            flag("clean_teardown").into(),
            flag("no_secret_leak").is(false),
            stage("install").test("test_serving").passed(),
            stage("custom").test("t").failed(),
            stage("custom").test("t").present(),
            stage("pytest")
                .test("test_it")
                .file("tests/test_b.py")
                .classname("tests.test_b")
                .failed(),
            stage("s")
                .test("t")
                .suite("api > v2")
                .variant("n=1")
                .passed(),
            output_matches("GREEN$"),
            stderr_matches("x"),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            printed,
            [
                "exit_code(0)",
                "tier(\"install\").is(Pass)",
                "no_tier_failed()",
                "flag(\"clean_teardown\")",
                "flag(\"no_secret_leak\").is(false)",
                "stage(\"install\").test(\"test_serving\").passed()",
                "stage(\"custom\").test(\"t\").failed()",
                "stage(\"custom\").test(\"t\").present()",
                "stage(\"pytest\").test(\"test_it\").file(\"tests/test_b.py\").classname(\"tests.test_b\").failed()",
                "stage(\"s\").test(\"t\").suite(\"api > v2\").variant(\"n=1\").passed()",
                "output_matches(\"GREEN$\")",
                "stderr_matches(\"x\")",
            ]
        );
    }

    #[test]
    fn bad_regex_is_a_validation_error() {
        let problem = output_matches("a(").validate().unwrap_err();
        assert!(problem.contains("does not compile"), "{problem}");
        assert!(output_matches("a+").validate().is_ok());
        assert!(tier("").is(TierStatus::Pass).validate().is_err());
        let problem = stage("s")
            .test("t")
            .file("")
            .passed()
            .validate()
            .unwrap_err();
        assert!(
            problem.contains("names a test by an empty value"),
            "{problem}"
        );
    }
}
