//! Which of the tests that share a name a check means: the parts of a test's identity beside
//! its name (classname, file, suite path, variant) that a check can name it by, as in
//! `stage("pytest").test("test_it").file("tests/test_b.py").failed()`, and how the occurrences
//! of a name group into distinct tests.

use std::fmt;

use crate::results::TestCase;

/// A part of a test's identity beside its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    /// The source file (JUnit `file`, CTRF `filePath`, ...).
    File,
    /// The class or module (JUnit `classname`).
    Classname,
    /// The suites the test is nested in, outermost first, joined with `" > "`.
    Suite,
    /// The parameters or variant (CTRF `parameters`, ...).
    Variant,
}

impl IdentityField {
    /// Every field, in the order reports try them to tell tests apart.
    pub const ALL: [IdentityField; 4] = [
        IdentityField::File,
        IdentityField::Classname,
        IdentityField::Suite,
        IdentityField::Variant,
    ];

    /// The field's name, which is also the name of the method that names it in a check.
    pub fn name(self) -> &'static str {
        match self {
            IdentityField::File => "file",
            IdentityField::Classname => "classname",
            IdentityField::Suite => "suite",
            IdentityField::Variant => "variant",
        }
    }

    /// The test's value of this field, `None` when the format gave none (an empty value counts
    /// as none). The suite path is joined with `" > "`, outermost first.
    pub fn of(self, test: &TestCase) -> Option<String> {
        match self {
            IdentityField::File => test.file.clone(),
            IdentityField::Classname => test.classname.clone(),
            IdentityField::Suite => (!test.suite.is_empty()).then(|| test.suite.join(" > ")),
            IdentityField::Variant => test.variant.clone(),
        }
        .filter(|value| !value.is_empty())
    }

    /// Sets the field on a test (the inverse of [`IdentityField::of`]).
    pub fn set(self, test: &mut TestCase, value: &str) {
        match self {
            IdentityField::File => test.file = Some(value.to_owned()),
            IdentityField::Classname => test.classname = Some(value.to_owned()),
            IdentityField::Suite => {
                test.suite = value.split(" > ").map(str::to_owned).collect();
            }
            IdentityField::Variant => test.variant = Some(value.to_owned()),
        }
    }
}

/// What a check names a test by beside its name: every `(field, value)` pair must match,
/// in the order written. Empty: every test with the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestQualifier(Vec<(IdentityField, String)>);

impl TestQualifier {
    /// A qualifier that also requires `field` to be `value`.
    pub fn and(mut self, field: IdentityField, value: impl Into<String>) -> TestQualifier {
        self.0.push((field, value.into()));
        self
    }

    /// Whether it names nothing beside the test's name.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `(field, value)` pairs, in the order written.
    pub fn pairs(&self) -> &[(IdentityField, String)] {
        &self.0
    }

    /// Whether the test has every value the qualifier names.
    pub fn matches(&self, test: &TestCase) -> bool {
        self.0
            .iter()
            .all(|(field, value)| field.of(test).as_deref() == Some(value.as_str()))
    }

    /// The qualifier in words, after a test's name: ` with file "a.py" and classname "a"`, or
    /// nothing.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, value)| format!("{} {value:?}", field.name()))
            .collect();
        format!(" with {}", parts.join(" and "))
    }

    /// A qualifier naming every part of the test's identity that it has.
    pub fn of(test: &TestCase) -> TestQualifier {
        IdentityField::ALL.into_iter().fold(
            TestQualifier::default(),
            |qualifier, field| match field.of(test) {
                Some(value) => qualifier.and(field, value),
                None => qualifier,
            },
        )
    }
}

/// Prints as the calls that build it: `.file("a.py").classname("a")`.
impl fmt::Display for TestQualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (field, value) in &self.0 {
            write!(f, ".{}({value:?})", field.name())?;
        }
        Ok(())
    }
}

/// Whether two reports are of the same test: the same name and the same identity (every field
/// equal, absent ones included). Reports of one test are retries or duplicates; reports of
/// different tests that share a name are distinct tests.
pub fn same_test(a: &TestCase, b: &TestCase) -> bool {
    a.name == b.name
        && IdentityField::ALL
            .into_iter()
            .all(|field| field.of(a) == field.of(b))
}

/// The reports grouped by test (by [`same_test`]), each group in report order, the groups in
/// order of first appearance.
pub fn by_test<'a>(reports: impl IntoIterator<Item = &'a TestCase>) -> Vec<Vec<&'a TestCase>> {
    let mut groups: Vec<Vec<&TestCase>> = Vec::new();
    for report in reports {
        match groups.iter_mut().find(|group| same_test(group[0], report)) {
            Some(group) => group.push(report),
            None => groups.push(vec![report]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Outcome;

    fn test(file: Option<&str>, suite: &[&str]) -> TestCase {
        TestCase {
            file: file.map(str::to_owned),
            suite: suite.iter().map(|s| (*s).to_owned()).collect(),
            ..TestCase::new("t", Outcome::Pass, "pass")
        }
    }

    #[test]
    fn qualifiers_match_print_and_describe() {
        let qualifier = TestQualifier::default()
            .and(IdentityField::File, "a.py")
            .and(IdentityField::Suite, "outer > inner");
        assert!(qualifier.matches(&test(Some("a.py"), &["outer", "inner"])));
        assert!(!qualifier.matches(&test(Some("a.py"), &["inner"])));
        assert!(!qualifier.matches(&test(None, &["outer", "inner"])));
        assert!(TestQualifier::default().matches(&test(None, &[])));
        assert_eq!(
            qualifier.to_string(),
            ".file(\"a.py\").suite(\"outer > inner\")"
        );
        assert_eq!(
            qualifier.describe(),
            " with file \"a.py\" and suite \"outer > inner\""
        );
        let mut built = TestCase::new("t", Outcome::Pass, "pass");
        for (field, value) in qualifier.pairs() {
            field.set(&mut built, value);
        }
        assert!(qualifier.matches(&built));
        assert_eq!(TestQualifier::of(&built), qualifier);
    }

    #[test]
    fn reports_group_by_identity() {
        let a = test(Some("a.py"), &[]);
        let b = test(Some("b.py"), &[]);
        let empty_file = test(Some(""), &[]);
        let none = test(None, &[]);
        let groups = by_test([&a, &b, &a, &none, &empty_file]);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1, 2], "an empty file is no file");
    }
}
