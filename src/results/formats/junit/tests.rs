//! The JUnit adapter's tests: every tool's dialect, the well-formedness rules with their
//! positions, the limits, and chunked reads.

use std::io::{BufReader, Cursor};

use proptest::prelude::*;

use super::*;
use crate::results::adapter::testing::{collect_partial, points_into};

/// A reader that hands out one byte per call, so that every token crosses a window edge.
struct Trickle<'b>(&'b [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), out.first_mut()) {
            (Some((first, rest)), Some(slot)) => {
                *slot = *first;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn read_with(input: &mut dyn BufRead) -> Result<Vec<TestCase>, ResultsErrorKind> {
    let mut tests = Vec::new();
    Junit
        .read(input, &mut |test| tests.push(test))
        .map(|()| tests)
}

fn describe(result: &Result<Vec<TestCase>, ResultsErrorKind>) -> String {
    match result {
        Ok(tests) => format!("{tests:?}"),
        Err(error) => format!("{error:?}"),
    }
}

/// Parses `bytes` whole and one byte at a time, which must agree (errors included).
pub(super) fn parse_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
    let whole = read_with(&mut Cursor::new(bytes));
    let trickled = read_with(&mut BufReader::with_capacity(1, Trickle(bytes)));
    assert_eq!(
        describe(&whole),
        describe(&trickled),
        "one byte at a time reads differently"
    );
    whole
}

fn parse(xml: &str) -> Vec<TestCase> {
    parse_bytes(xml.as_bytes()).unwrap_or_else(|error| panic!("{error}\n{xml}"))
}

fn error(xml: impl AsRef<[u8]>) -> (usize, usize, String) {
    match parse_bytes(xml.as_ref()) {
        Err(ResultsErrorKind::Malformed {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a malformed error, got {}", describe(&other)),
    }
}

fn outcomes(tests: &[TestCase]) -> Vec<(&str, Outcome, &str, u32)> {
    tests
        .iter()
        .map(|test| {
            (
                test.name.as_str(),
                test.outcome,
                test.raw_status.as_str(),
                test.attempts,
            )
        })
        .collect()
}

fn by_name<'t>(tests: &'t [TestCase], name: &str) -> &'t TestCase {
    tests
        .iter()
        .find(|test| test.name == name)
        .unwrap_or_else(|| panic!("no test {name}"))
}

// ---- sniff

#[test]
fn sniffs_junit_after_bom_declaration_and_comments() {
    for head in [
            &b"<testsuites>"[..],
            b"<testsuite name=\"x\">",
            b"<testsuites/>",
            b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- generated -->\n  <testsuite\n name=\"x\">",
            b"<?xml version=\"1.0\"?><?xml-stylesheet href=\"a\"?><!-- a --><!-- b --><testsuites",
        ] {
            assert!(Junit.sniff(head), "{}", String::from_utf8_lossy(head));
        }
    for head in [
        &b""[..],
        b"{\"results\":{}}",
        b"TAP version 14\n",
        b"<testsuitesx>",
        b"<test>",
        b"<html><testsuites>",
        b"<!-- never closed <testsuites>",
        b"<?xml version=\"1.0\"",
        b"text <testsuites>",
        b"<!DOCTYPE x><testsuites>",
    ] {
        assert!(!Junit.sniff(head), "{}", String::from_utf8_lossy(head));
    }
}

// ---- dialects

#[test]
fn jenkins_ant() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CalcTest" tests="4" failures="1" errors="1" skipped="1" time="1.5" hostname="ci">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.012"/>
  <testcase name="divides" classname="com.example.CalcTest" time="0.5">
    <failure message="expected:&lt;2&gt; but was:&lt;3&gt;" type="junit.framework.AssertionFailedError">at CalcTest.divides(CalcTest.java:12)</failure>
    <system-out>dividing...</system-out>
  </testcase>
  <testcase name="crashes" classname="com.example.CalcTest" time="0.001">
    <error type="java.lang.NullPointerException">java.lang.NullPointerException
	at CalcTest.crashes(CalcTest.java:20)</error>
  </testcase>
  <testcase name="later" classname="com.example.CalcTest"><skipped/></testcase>
  <system-out><![CDATA[suite output]]></system-out>
  <system-err/>
</testsuite>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("adds", Outcome::Pass, "passed", 1),
            ("divides", Outcome::Fail, "failure", 1),
            ("crashes", Outcome::Error, "error", 1),
            ("later", Outcome::Skip, "skipped", 1),
        ]
    );
    let divides = by_name(&tests, "divides");
    assert_eq!(divides.message.as_deref(), Some("expected:<2> but was:<3>"));
    assert_eq!(divides.duration_secs, Some(0.5));
    assert_eq!(divides.suite, ["com.example.CalcTest"]);
    assert_eq!(divides.classname.as_deref(), Some("com.example.CalcTest"));
    let crashes = by_name(&tests, "crashes");
    assert_eq!(
        crashes.message.as_deref(),
        Some("java.lang.NullPointerException\n\tat CalcTest.crashes(CalcTest.java:20)")
    );
    assert_eq!(by_name(&tests, "later").duration_secs, None);
    assert_eq!(by_name(&tests, "later").message, None);
}

#[test]
fn surefire_flaky_and_rerun() {
    // Surefire's counters include the flaky attempts; they are ignored.
    let tests = parse(
        r#"<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.FlakyTest" time="3" tests="3" errors="2" skipped="0" failures="4">
  <testcase name="flaky" classname="com.example.FlakyTest" time="0.2">
    <flakyFailure message="first try" type="java.lang.AssertionError">
      <stackTrace>java.lang.AssertionError: first try</stackTrace>
      <system-out>attempt 1</system-out>
    </flakyFailure>
    <flakyFailure message="second try" type="java.lang.AssertionError">
      <stackTrace><![CDATA[java.lang.AssertionError: second try]]></stackTrace>
    </flakyFailure>
    <system-out>attempt 3 passed</system-out>
  </testcase>
  <testcase name="flakyError" classname="com.example.FlakyTest" time="0.1">
    <flakyError type="java.io.IOException"><stackTrace>java.io.IOException</stackTrace></flakyError>
  </testcase>
  <testcase name="broken" classname="com.example.FlakyTest" time="0.3">
    <failure message="always" type="java.lang.AssertionError">trace 1</failure>
    <rerunFailure message="always" type="java.lang.AssertionError"><stackTrace>trace 2</stackTrace></rerunFailure>
    <rerunFailure message="always" type="java.lang.AssertionError"><stackTrace>trace 3</stackTrace></rerunFailure>
  </testcase>
  <testcase name="brokenError" classname="com.example.FlakyTest">
    <error message="boom" type="java.lang.IllegalStateException">trace</error>
    <rerunError message="boom again" type="java.lang.IllegalStateException"/>
  </testcase>
</testsuite>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("flaky", Outcome::FlakyPass, "flakyFailure", 3),
            ("flakyError", Outcome::FlakyPass, "flakyError", 2),
            ("broken", Outcome::Fail, "failure", 3),
            ("brokenError", Outcome::Error, "error", 2),
        ]
    );
    assert_eq!(
        by_name(&tests, "flaky").message.as_deref(),
        Some("first try")
    );
    // No message attribute: the element's own text, not its <stackTrace>'s.
    assert_eq!(by_name(&tests, "flakyError").message, None);
    assert_eq!(by_name(&tests, "broken").message.as_deref(), Some("always"));
    assert_eq!(
        by_name(&tests, "brokenError").message.as_deref(),
        Some("boom")
    );
}

#[test]
fn rerun_elements_alone_are_a_flaky_pass() {
    let tests = parse(
        r#"<testsuite name="s"><testcase name="t"><rerunFailure message="once"/></testcase></testsuite>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [("t", Outcome::FlakyPass, "rerunFailure", 2)]
    );
    assert_eq!(tests[0].message.as_deref(), Some("once"));
}

#[test]
fn pytest_xunit2() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="3" failures="1" skipped="2" tests="7" time="0.5" timestamp="2025-01-01T00:00:00" hostname="h">
    <testcase classname="tests.test_db" name="test_setup_fails" time="0.001">
      <error message="failed on setup with &quot;RuntimeError: no db&quot;">@pytest.fixture
def db():
&gt;   raise RuntimeError("no db")
E   RuntimeError: no db</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_teardown_fails" time="0.002">
      <error message="failed on teardown with &quot;OSError: busy&quot;">teardown trace</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_call_and_teardown" time="0.003">
      <failure message="assert 1 == 2">def test_call_and_teardown(db):
&gt;   assert 1 == 2
E   assert 1 == 2</failure>
      <error message="failed on teardown with &quot;OSError: busy&quot;">teardown trace</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_expected" time="0.000">
      <skipped type="pytest.xfail" message="known bug #12"/>
    </testcase>
    <testcase classname="tests.test_db" name="test_skipped" time="0.000">
      <skipped type="pytest.skip" message="no network">tests/test_db.py:30: no network</skipped>
    </testcase>
    <testcase classname="tests.test_db" name="test_param[a-1]" time="0.000">
      <properties><property name="owner" value="db-team"/></properties>
    </testcase>
    <testcase classname="tests.test_db" name="test_xpass_strict" time="0.000">
      <failure message="[XPASS(strict)] known bug"/>
    </testcase>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("test_setup_fails", Outcome::Error, "error", 1),
            ("test_teardown_fails", Outcome::Error, "error", 1),
            ("test_call_and_teardown", Outcome::Fail, "failure", 1),
            ("test_expected", Outcome::Xfail, "skipped", 1),
            ("test_skipped", Outcome::Skip, "skipped", 1),
            ("test_param[a-1]", Outcome::Pass, "passed", 1),
            ("test_xpass_strict", Outcome::Fail, "failure", 1),
        ]
    );
    assert_eq!(
        by_name(&tests, "test_setup_fails").message.as_deref(),
        Some("failed on setup with \"RuntimeError: no db\"")
    );
    assert_eq!(
        by_name(&tests, "test_call_and_teardown").message.as_deref(),
        Some("assert 1 == 2")
    );
    assert_eq!(
        by_name(&tests, "test_expected").message.as_deref(),
        Some("known bug #12")
    );
    // <testsuites name="pytest tests"> is the tool's name, not a suite.
    assert!(tests.iter().all(|test| test.suite == ["pytest"]));
    assert!(tests.iter().all(|test| test.variant.is_none()));
}

#[test]
fn pytest_xunit1_and_unittest_xfail_spellings() {
    let tests = parse(
        r#"<testsuite name="pytest" tests="3">
  <testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" line="3" time="0.1"/>
  <testcase classname="tests.test_a" name="test_two" file="tests/test_a.py" line="7" time="0.1">
    <skipped type="XFAIL" message="expected failure"/>
  </testcase>
  <testcase classname="tests.test_a" name="test_three" file="tests/test_a.py" line="9" time="0.1">
    <skipped type="Pytest.XFail"/>
  </testcase>
</testsuite>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("test_one", Outcome::Pass, "passed", 1),
            ("test_two", Outcome::Xfail, "skipped", 1),
            ("test_three", Outcome::Xfail, "skipped", 1),
        ]
    );
    assert_eq!(tests[0].file.as_deref(), Some("tests/test_a.py"));
}

#[test]
fn nextest_quick_junit() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="1" errors="0" uuid="0b6c9d7e" timestamp="2025-01-01T00:00:00.000+00:00" time="1.2">
    <testsuite name="fixture-crate" tests="3" disabled="0" errors="0" failures="1">
        <testcase name="tests::passes" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.004">
        </testcase>
        <testcase name="tests::flaky" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.010">
            <flakyFailure timestamp="2025-01-01T00:00:00.000+00:00" time="0.003" type="test failure">thread 'tests::flaky' panicked at src/lib.rs:9:9:
not yet
                <system-out></system-out>
                <system-err>thread 'tests::flaky' panicked</system-err>
            </flakyFailure>
        </testcase>
        <testcase name="tests::fails" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.020">
            <failure type="test failure">thread 'tests::fails' panicked at src/lib.rs:14:9:
assertion `left == right` failed</failure>
            <rerunFailure timestamp="2025-01-01T00:00:00.000+00:00" time="0.004" type="test failure">again</rerunFailure>
            <system-out></system-out>
            <system-err>thread 'tests::fails' panicked at src/lib.rs:14:9</system-err>
        </testcase>
    </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("tests::passes", Outcome::Pass, "passed", 1),
            ("tests::flaky", Outcome::FlakyPass, "flakyFailure", 2),
            ("tests::fails", Outcome::Fail, "failure", 2),
        ]
    );
    assert_eq!(
        by_name(&tests, "tests::flaky").message.as_deref(),
        Some("thread 'tests::flaky' panicked at src/lib.rs:9:9:\nnot yet")
    );
    assert_eq!(
        by_name(&tests, "tests::fails").message.as_deref(),
        Some(
            "thread 'tests::fails' panicked at src/lib.rs:14:9:\nassertion `left == right` failed"
        )
    );
    assert!(tests.iter().all(|test| test.suite == ["fixture-crate"]));
}

#[test]
fn go_junit_report_and_gotestsum() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" failures="2" errors="1" skipped="1">
	<testsuite name="example.com/pkg" tests="3" failures="1" errors="0" id="0" hostname="h" skipped="1" time="0.010" timestamp="2025-01-01T00:00:00Z">
		<properties>
			<property name="go.version" value="go1.22.0 linux/amd64"></property>
		</properties>
		<testcase name="TestAdd" classname="example.com/pkg" time="0.000"></testcase>
		<testcase name="TestSub" classname="example.com/pkg" time="0.001">
			<failure message="Failed"><![CDATA[    pkg_test.go:12: got 1, want 2]]></failure>
		</testcase>
		<testcase name="TestSkip" classname="example.com/pkg" time="0.000">
			<skipped message="pkg_test.go:20: not on linux"></skipped>
		</testcase>
	</testsuite>
	<testsuite name="example.com/broken" tests="1" failures="0" errors="1" id="1" hostname="h" time="0.000" timestamp="2025-01-01T00:00:00Z">
		<testcase name="[build failed]" classname="example.com/broken" time="0.000">
			<error message="Build error"><![CDATA[broken/x.go:3:1: syntax error]]></error>
		</testcase>
	</testsuite>
	<testsuite tests="1" failures="1" time="0.000000" name="example.com/timeout" timestamp="2025-01-01T00:00:00Z">
		<properties><property name="go.version" value="go1.22.0"></property></properties>
		<testcase classname="example.com/timeout" name="TestMain" time="0.000000">
			<failure message="Failed" type="">panic: test timed out after 10m0s</failure>
		</testcase>
	</testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("TestAdd", Outcome::Pass, "passed", 1),
            ("TestSub", Outcome::Fail, "failure", 1),
            ("TestSkip", Outcome::Skip, "skipped", 1),
            ("[build failed]", Outcome::Error, "error", 1),
            ("TestMain", Outcome::Fail, "failure", 1),
        ]
    );
    assert_eq!(
        by_name(&tests, "TestSkip").message.as_deref(),
        Some("pkg_test.go:20: not on linux")
    );
    assert_eq!(
        by_name(&tests, "[build failed]").suite,
        ["example.com/broken"]
    );
    assert_eq!(by_name(&tests, "TestMain").duration_secs, Some(0.0));
}

#[test]
fn ginkgo_v2() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="4" disabled="1" errors="1" failures="1" time="0.05">
      <testsuite name="Books Suite" package="/home/u/books" tests="4" disabled="1" skipped="0" errors="1" failures="1" time="0.05" timestamp="2025-01-01T00:00:00">
          <properties>
              <property name="SuiteSucceeded" value="false"></property>
              <property name="SpecialSuiteFailureReason" value=""></property>
          </properties>
          <testcase name="[BeforeSuite]" classname="Books Suite" status="passed" time="0.001"></testcase>
          <testcase name="[It] Books can be loaded [fast]" classname="Books Suite" status="failed" time="0.01">
              <failure message="Expected &lt;int&gt;: 1 to equal &lt;int&gt;: 2" type="failed">[FAILED] Expected
      &lt;int&gt;: 1
  to equal
      &lt;int&gt;: 2
  In [It] at: /home/u/books/books_test.go:20</failure>
              <system-err>&gt; Enter [It] Books can be loaded</system-err>
          </testcase>
          <testcase name="[It] Books panics" classname="Books Suite" status="panicked" time="0.001">
              <error message="runtime error: index out of range" type="panicked">[PANICKED] Test Panicked</error>
          </testcase>
          <testcase name="[It] Books pending" classname="Books Suite" status="pending" time="0">
              <skipped message="pending"></skipped>
          </testcase>
      </testsuite>
  </testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("[BeforeSuite]", Outcome::Pass, "passed", 1),
            (
                "[It] Books can be loaded [fast]",
                Outcome::Fail,
                "failure",
                1
            ),
            ("[It] Books panics", Outcome::Error, "error", 1),
            ("[It] Books pending", Outcome::Skip, "skipped", 1),
        ]
    );
    assert_eq!(
        tests[1].message.as_deref(),
        Some("Expected <int>: 1 to equal <int>: 2")
    );
    assert!(tests.iter().all(|test| test.suite == ["Books Suite"]));
}

#[test]
fn jest_karma_mocha() {
    let jest = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.2">
  <testsuite name="calc" errors="0" failures="1" skipped="1" timestamp="2025-01-01T00:00:00" time="0.5" tests="3">
    <testcase classname="calc adds" name="calc adds" time="0.002">
    </testcase>
    <testcase classname="calc divides" name="calc divides" time="0.003">
      <failure><![CDATA[Error: expect(received).toBe(expected)

Expected: 2
Received: 3]]></failure>
    </testcase>
    <testcase classname="calc later" name="calc later" time="0">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&jest),
        [
            ("calc adds", Outcome::Pass, "passed", 1),
            ("calc divides", Outcome::Fail, "failure", 1),
            ("calc later", Outcome::Skip, "skipped", 1),
        ]
    );
    assert_eq!(
        jest[1].message.as_deref(),
        Some("Error: expect(received).toBe(expected)\n\nExpected: 2\nReceived: 3")
    );

    let karma = parse(
        r#"<?xml version="1.0"?>
<testsuite name="Chrome Headless 120.0 (Linux x86_64)" package="" timestamp="2025-01-01T00:00:00" id="0" hostname="h" tests="2" errors="0" failures="1" time="0.02">
  <properties>
    <property name="browser.fullName" value="Mozilla/5.0 (X11; Linux x86_64)"/>
  </properties>
  <testcase name="App should create" time="0.01" classname="Chrome_Headless_120.0_(Linux_x86_64).App"/>
  <testcase name="App should render title" time="0.01" classname="Chrome_Headless_120.0_(Linux_x86_64).App">
    <failure type="">Expected 'a' to equal 'b'.
    at &lt;Jasmine&gt;</failure>
  </testcase>
  <system-out>
    <![CDATA[LOG: 'hello <testcase name="fake"/>'
]]>
  </system-out>
  <system-err/>
</testsuite>"#,
    );
    assert_eq!(
        outcomes(&karma),
        [
            ("App should create", Outcome::Pass, "passed", 1),
            ("App should render title", Outcome::Fail, "failure", 1),
        ]
    );
    assert_eq!(
        karma[1].message.as_deref(),
        Some("Expected 'a' to equal 'b'.\n    at <Jasmine>")
    );

    let mocha = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="Mocha Tests" time="0.01" tests="2" failures="1">
  <testsuite name="Root Suite" timestamp="2025-01-01T00:00:00" tests="0" file="test/a.spec.js" time="0.000" failures="0">
  </testsuite>
  <testsuite name="Array #indexOf()" timestamp="2025-01-01T00:00:00" tests="2" file="test/a.spec.js" time="0.01" failures="1">
    <testcase name="Array #indexOf() returns -1" time="0.001" classname="returns -1">
    </testcase>
    <testcase name="Array #indexOf() finds" time="0.002" classname="finds">
      <failure message="expected -1 to equal 0" type="AssertionError"><![CDATA[AssertionError: expected -1 to equal 0
    at Context.<anonymous> (test/a.spec.js:9:14)]]></failure>
    </testcase>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&mocha),
        [
            ("Array #indexOf() returns -1", Outcome::Pass, "passed", 1),
            ("Array #indexOf() finds", Outcome::Fail, "failure", 1),
        ]
    );
    assert_eq!(mocha[1].message.as_deref(), Some("expected -1 to equal 0"));
    // The suite's file is inherited.
    assert_eq!(mocha[1].file.as_deref(), Some("test/a.spec.js"));
}

#[test]
fn phpunit_nested_suites() {
    let tests = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="/app/phpunit.xml" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
    <testsuite name="Unit" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
      <testsuite name="App\Tests\MathTest" file="/app/tests/MathTest.php" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
        <testcase name="testAdd" file="/app/tests/MathTest.php" line="10" class="App\Tests\MathTest" classname="App.Tests.MathTest" assertions="1" time="0.01"/>
        <testsuite name="App\Tests\MathTest::testDivide" tests="2" assertions="2" errors="0" failures="1" skipped="0" time="0.02">
          <testcase name="testDivide with data set #0" class="App\Tests\MathTest" assertions="1" time="0.01"/>
          <testcase name="testDivide with data set #1" class="App\Tests\MathTest" assertions="1" time="0.01">
            <failure type="PHPUnit\Framework\ExpectationFailedException">App\Tests\MathTest::testDivide with data set #1
Failed asserting that 2 is identical to 3.

/app/tests/MathTest.php:22</failure>
          </testcase>
        </testsuite>
      </testsuite>
    </testsuite>
    <testsuite file="/app/tests/Nameless.php">
      <testcase name="nameless"/>
    </testsuite>
    <testsuite>
      <testcase name="bare"/>
    </testsuite>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("testAdd", Outcome::Pass, "passed", 1),
            ("testDivide with data set #0", Outcome::Pass, "passed", 1),
            ("testDivide with data set #1", Outcome::Fail, "failure", 1),
            ("nameless", Outcome::Pass, "passed", 1),
            ("bare", Outcome::Pass, "passed", 1),
        ]
    );
    assert_eq!(
        tests[0].suite,
        ["/app/phpunit.xml", "Unit", "App\\Tests\\MathTest"]
    );
    assert_eq!(tests[0].classname.as_deref(), Some("App.Tests.MathTest"));
    assert_eq!(
        tests[1].suite,
        [
            "/app/phpunit.xml",
            "Unit",
            "App\\Tests\\MathTest",
            "App\\Tests\\MathTest::testDivide"
        ]
    );
    // classname falls back to `class`; file to the nearest suite's.
    assert_eq!(tests[1].classname.as_deref(), Some("App\\Tests\\MathTest"));
    assert_eq!(tests[1].file.as_deref(), Some("/app/tests/MathTest.php"));
    // A nameless suite is named by its file, or contributes nothing.
    assert_eq!(
        tests[3].suite,
        ["/app/phpunit.xml", "/app/tests/Nameless.php"]
    );
    assert_eq!(tests[4].suite, ["/app/phpunit.xml"]);
}

#[test]
fn catch2_and_cunit() {
    let catch2 = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="tests" errors="0" failures="1" skipped="1" tests="3" hostname="tbd" time="0.002" timestamp="2025-01-01T00:00:00Z">
    <properties>
      <property name="random-seed" value="4021431869"/>
    </properties>
    <testcase classname="tests.global" name="Factorials are computed" time="0.001" status="run">
      <failure message="Factorial(0) == 1" type="REQUIRE">
FAILED:
  REQUIRE( Factorial(0) == 1 )
with expansion:
  0 == 1
at test.cpp:13
      </failure>
    </testcase>
    <testcase classname="tests.global" name="Vectors/resizing bigger" time="0" status="run"/>
    <testcase classname="tests.global" name="Skipped" time="0" status="run">
      <skipped message="SKIP(&quot;not today&quot;)" type="SKIP">at test.cpp:30</skipped>
    </testcase>
    <system-out/>
    <system-err/>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&catch2),
        [
            ("Factorials are computed", Outcome::Fail, "failure", 1),
            ("Vectors/resizing bigger", Outcome::Pass, "passed", 1),
            ("Skipped", Outcome::Skip, "skipped", 1),
        ]
    );
    assert_eq!(catch2[2].message.as_deref(), Some("SKIP(\"not today\")"));

    let cunit = parse(
        r#"<?xml version="1.0" ?>
<testsuites>
  <testsuite errors="0" failures="1" tests="2" name="Suite_1">
    <testcase classname="Suite_1" name="test_of_fprintf" time="0"/>
    <testcase classname="Suite_1" name="test_of_fread" time="0">
      <failure message="CU_ASSERT_EQUAL(9,fread(buffer, sizeof(unsigned char), 20, temp_file))" type="Failure">
        Condition: CU_ASSERT_EQUAL(9,fread(buffer, sizeof(unsigned char), 20, temp_file))
        File     : basic.c
        Line     : 85
      </failure>
    </testcase>
  </testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&cunit),
        [
            ("test_of_fprintf", Outcome::Pass, "passed", 1),
            ("test_of_fread", Outcome::Fail, "failure", 1),
        ]
    );
}

// ---- what decides the status

#[test]
fn only_direct_children_decide() {
    let tests = parse(
        r#"<testsuites><testsuite name="s">
  <testcase name="nested-in-custom">
    <custom-report><failure message="not mine"/><error>nor this</error></custom-report>
  </testcase>
  <testcase name="nested-in-output">
    <system-out>log <failure message="printed"/> &lt;failure/&gt; <![CDATA[<error/>]]></system-out>
  </testcase>
  <testcase name="unknown-children">
    <properties><property name="a" value="b"/></properties>
    <attachments><attachment>file.png</attachment></attachments>
    <testcase name="inner"><failure/></testcase>
    text between
  </testcase>
  <testcase name="with-everything">
    <system-out>x</system-out>
    <skipped message="later"/>
    <error message="error wins over skipped"/>
    <failure message="failure wins over error"/>
  </testcase>
</testsuite></testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("nested-in-custom", Outcome::Pass, "passed", 1),
            ("nested-in-output", Outcome::Pass, "passed", 1),
            ("unknown-children", Outcome::Pass, "passed", 1),
            ("with-everything", Outcome::Fail, "failure", 1),
        ]
    );
    assert_eq!(tests[3].message.as_deref(), Some("failure wins over error"));
}

#[test]
fn testcases_outside_suites_and_inside_wrappers() {
    let tests = parse(
        r#"<testsuites>
  <testcase name="top"/>
  <testsuite name="s"><group><testcase name="wrapped"><failure/></testcase></group></testsuite>
</testsuites>"#,
    );
    assert_eq!(
        outcomes(&tests),
        [
            ("top", Outcome::Pass, "passed", 1),
            ("wrapped", Outcome::Fail, "failure", 1)
        ]
    );
    assert!(tests[0].suite.is_empty());
    assert_eq!(tests[1].suite, ["s"]);
    assert_eq!(tests[1].message, None);
}

#[test]
fn only_references_to_characters_xml_allows_are_decoded() {
    let decoded = |text: &str| read_reference(text.as_bytes());
    assert_eq!(decoded("&#65;"), Ok(('A', 5)));
    assert_eq!(decoded("&#x41;"), Ok(('A', 6)));
    assert_eq!(decoded("&#x0000000041;tail"), Ok(('A', 14)));
    assert_eq!(decoded("&#x1F600;"), Ok(('😀', 9)));
    assert_eq!(decoded("&#9;"), Ok(('\t', 4)));
    assert_eq!(decoded("&quot;"), Ok(('"', 6)));
    assert_eq!(decoded("&apos;x"), Ok(('\'', 6)));
    // A sign, no digit, a digit of another base, a capital `X`, or a character XML forbids
    // (NUL, other control characters, a surrogate, U+FFFF, beyond U+10FFFF): refused, as
    // XML 1.0 refuses them.
    for (refused, why) in [
        ("&#x+41;", BadReference::MalformedChar(4)),
        ("&#+65;", BadReference::MalformedChar(3)),
        ("&#-65;", BadReference::MalformedChar(3)),
        ("&#;", BadReference::MalformedChar(3)),
        ("&#x;", BadReference::MalformedChar(4)),
        ("&#x4G;", BadReference::MalformedChar(5)),
        ("&#6a;", BadReference::MalformedChar(4)),
        ("&#X41;", BadReference::MalformedChar(3)),
        ("&#0;", BadReference::NotXmlChar(4, 0)),
        ("&#x0;", BadReference::NotXmlChar(5, 0)),
        ("&#1;", BadReference::NotXmlChar(4, 1)),
        ("&#x1F;", BadReference::NotXmlChar(6, 0x1F)),
        ("&#xD800;", BadReference::NotXmlChar(8, 0xD800)),
        ("&#xFFFF;", BadReference::NotXmlChar(8, 0xFFFF)),
        ("&#x110000;", BadReference::NotXmlChar(10, 0x11_0000)),
        ("&#99999999999;", BadReference::NotXmlChar(14, u32::MAX)),
        ("&#65", BadReference::Unterminated(4)),
        ("&", BadReference::Lone),
        ("& b", BadReference::Lone),
        ("&;", BadReference::Lone),
        ("&1;", BadReference::Lone),
        ("&amp", BadReference::Unterminated(4)),
        ("&amp b;", BadReference::Unterminated(4)),
        ("&nbsp;", BadReference::Undefined(6)),
        ("&AMP;", BadReference::Undefined(5)),
    ] {
        assert_eq!(decoded(refused), Err(why), "{refused}");
    }
    let long = format!("&#{};", "0".repeat(MAX_REFERENCE_BYTES));
    assert_eq!(decoded(&long), Err(BadReference::TooLong));
    let long = format!("&{};", "a".repeat(MAX_REFERENCE_BYTES));
    assert_eq!(decoded(&long), Err(BadReference::TooLong));

    let tests = parse(
        r#"<testsuite><testcase name="a&#x42;c&#65;"><failure message="&#x42;&#10;"/></testcase></testsuite>"#,
    );
    assert_eq!(tests[0].name, "aBcA");
    assert_eq!(tests[0].message.as_deref(), Some("B\n"));
    let (line, column, message) = error("<testsuite>\n<testcase name=\"a&#x+41;\"/></testsuite>");
    assert_eq!((line, column), (2, 18), "{message}");
    assert_eq!(
        message,
        "a malformed attribute in <testcase>: the character reference `&#x+` in the value of `name` \
             is malformed: `&#` takes decimal digits, `&#x` hexadecimal ones, then `;`"
    );
    let (line, column, message) =
        error("<testsuite><testcase><failure>\n  &#0;</failure></testcase></testsuite>");
    assert_eq!((line, column), (2, 3), "{message}");
    assert_eq!(
        message,
        "the character reference `&#0;` in the text of <failure> names U+0000, a character XML does not allow"
    );
}

#[test]
fn messages_from_cdata_entities_and_self_closing_elements() {
    let tests = parse(
        "<testsuite name=\"s\">\
<testcase name=\"cdata\"><failure><![CDATA[a < b && c]]> then &lt;d&gt; &#65;&#x42; ]] ]&gt;</failure></testcase>\
<testcase name=\"attribute\"><failure message=\"x &lt; y &amp;&amp; &quot;q&quot; &apos;s&apos; &#10;next&#x9;tab line\nbreak\"/></testcase>\
<testcase name=\"empty-message\"><failure message=\"\">the text</failure></testcase>\
<testcase name=\"self-closing\"><failure message=\"expected true\"/></testcase>\
<testcase name=\"nothing\"><failure/></testcase>\
<testcase name=\"whitespace\"><failure>   \n  </failure></testcase>\
<testcase name=\"split cdata\"><failure>one <![CDATA[two]]> <!-- no --> three<?pi x?></failure></testcase>\
</testsuite>",
    );
    let message = |name: &str| by_name(&tests, name).message.clone();
    assert_eq!(
        message("cdata").as_deref(),
        Some("a < b && c then <d> AB ]] ]>")
    );
    assert_eq!(
        message("attribute").as_deref(),
        Some("x < y && \"q\" 's' \nnext\ttab line break")
    );
    assert_eq!(message("empty-message").as_deref(), Some("the text"));
    assert_eq!(message("self-closing").as_deref(), Some("expected true"));
    assert_eq!(message("nothing"), None);
    assert_eq!(message("whitespace"), None);
    assert_eq!(message("split cdata").as_deref(), Some("one two  three"));
    assert!(tests.iter().all(|test| test.outcome == Outcome::Fail));
}

#[test]
fn entity_escaped_identity_attributes() {
    let tests = parse(
        r#"<testsuite name="a &amp; b"><testcase name="x &lt;y&gt;" classname="C&#246;de" file="d&quot;e"/></testsuite>"#,
    );
    assert_eq!(tests[0].name, "x <y>");
    assert_eq!(tests[0].classname.as_deref(), Some("Cöde"));
    assert_eq!(tests[0].file.as_deref(), Some("d\"e"));
    assert_eq!(tests[0].suite, ["a & b"]);
}

proptest::proptest! {
    #[test]
    fn the_scan_for_special_bytes_finds_them(
        bytes in proptest::collection::vec(
            proptest::prop_oneof![
                12 => 0x20u8..0x80,
                1 => proptest::strategy::Just(b'&'),
                1 => proptest::strategy::Just(b'<'),
                1 => proptest::strategy::Just(0xEF),
                1 => 0x1fu8..0x21,
                1 => proptest::num::u8::ANY,
            ],
            0..24,
        )
    ) {
        let expected = bytes.iter().any(|byte| matches!(byte, b'&' | b'<' | 0..0x20 | 0x80..));
        proptest::prop_assert_eq!(has_special_bytes(&bytes), expected);
    }
}

/// quick-xml's attribute iterator (its duplicate check on), as `attributes` used it before
/// scanning by itself, with the values decoded as `attributes` decodes them; `None` when it
/// refuses the tag.
fn attributes_by_quick_xml<const N: usize>(
    element: &BytesStart<'_>,
    keys: [&[u8]; N],
) -> Option<[Option<String>; N]> {
    let mut values = [const { None }; N];
    for attribute in element.attributes() {
        let attribute = attribute.ok()?;
        let key = attribute.key.local_name();
        if let Some(index) = keys
            .iter()
            .position(|wanted| *wanted == key.as_ref().as_bytes())
            && values[index].is_none()
        {
            let value = attribute_value(&attribute.value, "", true).ok()?;
            values[index] = Some(value.into_owned());
        }
    }
    Some(values)
}

proptest::proptest! {
    /// Whatever follows a tag's name, what the scan accepts quick-xml's iterator accepts
    /// too, with the same values (and so what the iterator refuses, the scan refuses). The
    /// scan refuses more: what XML 1.0 refuses and the iterator takes (`<` or a bad `&` in a
    /// value, no space between attributes, a name that is not an XML name).
    #[test]
    fn attributes_are_scanned_as_quick_xml_reads_them(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            " ", "  ", "\t", "\n", "\r", "=", " = ", "\"", "'", "name", "time", "ns:name",
            ":", "x", "é", "&amp;", "&", "\"v\"", "'w'", "name=\"a b\"", "time='1.5'",
            "<", ">", "/", " name='&lt;'", " x=\"&#10;\"",
        ]), 0..10)
    ) {
        let tag = format!("testcase{}", pieces.concat());
        let element = BytesStart::from_content(tag.as_str(), "testcase".len());
        let keys: [&[u8]; 3] = [b"name", b"time", b"x"];
        if let Ok(values) = attributes(element.attributes_raw(), keys) {
            let values = values.map(|value| value.map(Cow::into_owned));
            proptest::prop_assert_eq!(Some(values), attributes_by_quick_xml(&element, keys), "{:?}", tag);
        }
    }
}

/// The reader reuses one testcase's buffers for the next: nothing of a testcase may leak
/// into the one after it, through either way of reading.
#[test]
fn a_testcase_inherits_nothing_from_the_one_before() {
    let xml = r#"<testsuites><testsuite name="s" file="s.py">
            <testcase name="first" classname="C" file="f.py" time="2.5">
              <failure message="boom"/><flakyFailure/><rerunFailure/>
            </testcase>
            <testcase name="second"/>
            <testcase classname="" time="x"><skipped/></testcase>
          </testsuite></testsuites>"#;
    let tests = parse(xml);
    assert_eq!(tests.len(), 3);
    assert_eq!(
        (
            tests[0].outcome,
            tests[0].attempts,
            tests[0].message.as_deref()
        ),
        (Outcome::Fail, 3, Some("boom"))
    );
    let second = &tests[1];
    assert_eq!(second.name, "second");
    assert_eq!(second.outcome, Outcome::Pass);
    assert_eq!(second.raw_status, "passed");
    assert_eq!((second.attempts, second.message.as_deref()), (1, None));
    assert_eq!(second.classname, None);
    assert_eq!(second.file.as_deref(), Some("s.py"));
    assert_eq!(second.duration_secs, None);
    let third = &tests[2];
    assert_eq!((third.name.as_str(), third.outcome), ("", Outcome::Skip));
    assert_eq!(third.classname.as_deref(), Some(""));

    let mut borrowed = Vec::new();
    Junit
        .read_borrowed(&mut xml.as_bytes(), &mut |case| {
            borrowed.push(case.into_test_case())
        })
        .unwrap();
    assert_eq!(borrowed, tests);
}

#[test]
fn a_lone_ampersand_before_multibyte_text() {
    // Found by the round trip: looking for `;` after `&` must not cut a character.
    assert_eq!(attribute_value("&amp; P&lt;é", "k", true).unwrap(), "& P<é");
    let fault = attribute_value("a & éééééé; b", "k", true).unwrap_err();
    assert_eq!(fault.offset, 2);
    assert_eq!(
        fault.message,
        "a `&` that starts no reference in the value of `k` (`&amp;` writes a `&`)"
    );
    // `&éééééé;` is a reference, to an entity nobody defined: refused, the name shown whole.
    let (line, column, message) = error(
        "<testsuite><testcase name=\"x&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};\"/></testsuite>",
    );
    assert_eq!((line, column), (1, 29), "{message}");
    assert!(
        message.contains("the entity `&éééééé;` in the value of `name` is not defined"),
        "{message}"
    );
    let (line, column, message) = error(
        "<testsuite><testcase><failure>é&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};</failure></testcase></testsuite>",
    );
    assert_eq!((line, column), (1, 32), "{message}");
    assert!(
        message.contains("the entity `&ééééé;` in the text of <failure> is not defined"),
        "{message}"
    );
}

#[test]
fn messages_are_bounded() {
    let long = "y".repeat(3 * MAX_MESSAGE_BYTES);
    let xml = format!(
        "<testsuite><testcase name=\"text\"><failure>{long}</failure></testcase>\
             <testcase name=\"cdata\"><failure><![CDATA[{long}]]></failure></testcase>\
             <testcase name=\"attr\"><failure message=\"{long}\"/></testcase></testsuite>"
    );
    let tests = parse(&xml);
    for test in &tests {
        let message = test.message.as_deref().unwrap();
        assert!(message.len() < MAX_MESSAGE_BYTES + 40, "{}", test.name);
        assert!(
            message.ends_with(&format!("… [{} more bytes cut]", 2 * MAX_MESSAGE_BYTES)),
            "{}: {}",
            test.name,
            &message[message.len() - 40..]
        );
    }
}

#[test]
fn durations() {
    for (raw, seconds) in [
        ("1.5", Some(1.5)),
        (" 0.25 ", Some(0.25)),
        ("3", Some(3.0)),
        ("1e-3", Some(0.001)),
        ("1,234.5", Some(1234.5)),
        ("12,345,678", Some(12_345_678.0)),
        ("1,5", None),
        ("1,2345.0", None),
        (",123", None),
        ("", None),
        ("abc", None),
        ("NaN", None),
        ("inf", None),
        ("-1", None),
    ] {
        assert_eq!(parse_seconds(raw), seconds, "{raw:?}");
    }
    let tests = parse(
        r#"<testsuite><testcase name="a" time="soon"/><testcase name="b" time="1,234.5"/></testsuite>"#,
    );
    assert_eq!(tests[0].duration_secs, None);
    assert_eq!(tests[1].duration_secs, Some(1234.5));
}

#[test]
fn empty_reports() {
    for xml in [
        "<testsuites/>",
        "<testsuites></testsuites>",
        "<?xml version=\"1.0\"?>\n<testsuites>\n</testsuites>\n",
        "<testsuite/>",
        "<testsuite name=\"empty\" tests=\"0\"></testsuite>",
        "<testsuites name=\"jest tests\"><testsuite name=\"x\" tests=\"0\"/></testsuites>",
        "\u{FEFF}<testsuites/>",
        "<!-- before --><testsuites/><!-- after -->\n",
    ] {
        assert!(parse(xml).is_empty(), "{xml}");
    }
}

#[test]
fn a_doctype_without_entities_is_ignored() {
    let tests = parse(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE testsuites SYSTEM \"junit.dtd\">\n<testsuites><testcase name=\"a\"/></testsuites>",
    );
    assert_eq!(tests.len(), 1);
}

#[test]
fn billion_laughs_is_an_error_and_nothing_is_expanded() {
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        xml.push_str(&format!(
            " <!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    xml.push_str("]>\n<testsuites><testsuite name=\"&lol9;\"><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite></testsuites>\n");
    // Refused at the declaration, before any entity could be expanded: nothing reaches the
    // sink.
    let (line, column, message) = error(&xml);
    assert_eq!((line, column), (2, 1));
    assert!(message.contains("declares entities"), "{message}");
    let (tests, _) = collect_partial(&Junit, xml.as_bytes());
    assert!(tests.is_empty(), "{tests:?}");

    // Without the DOCTYPE, a reference to an entity nobody declared is refused, as XML 1.0
    // refuses it (before, it was kept as written).
    let (line, column, message) = error(
        "<testsuites><testsuite name=\"&lol9;\"><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite></testsuites>",
    );
    assert_eq!((line, column), (1, 30), "{message}");
    assert!(
        message.contains("the entity `&lol9;` in the value of `name` is not defined"),
        "{message}"
    );
    let (line, column, message) = error(
        "<testsuites><testsuite><testcase><failure>\n&lol9;</failure></testcase></testsuite></testsuites>",
    );
    assert_eq!((line, column), (2, 1), "{message}");
    assert!(
        message.contains("the entity `&lol9;` in the text of <failure> is not defined"),
        "{message}"
    );
}

// ---- malformed input, with positions

#[test]
fn malformed_inputs_name_line_and_column() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\">\n    </testsuite>\n</testsuites>",
            (4, 5),
            "expected `</testcase>`, but `</testsuite>` was found",
        ),
        (
            "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\">\n      <system-out>lots of output",
            (4, 33),
            "the file ends inside <system-out> opened at line 4, column 7",
        ),
        (
            "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\"/>\n",
            (4, 1),
            "the file ends inside <testsuite> opened at line 2, column 3",
        ),
        (
            "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a",
            (3, 5),
            "not closed",
        ),
        (
            "<testsuites>\n<testcase name=\"é\" classname=\"ü\"><failure>x</failur></testcase>",
            (2, 44),
            "expected `</failure>`",
        ),
        (
            "<testsuites><testcase name=\"a\"><system-out>\n  <b><i>x</b></i></system-out></testcase></testsuites>",
            (2, 10),
            "mismatched end tag in <system-out>: expected </i>, found </b>",
        ),
        (
            "<testsuites><testcase name=\"a\"><system-out>\n  <![CDATA[ never closed",
            (2, 25),
            "the file ends inside a CDATA section in <system-out>",
        ),
        (
            "<testsuites><testcase name=\"a\"><system-out><!DOCTYPE x></system-out></testcase></testsuites>",
            (1, 44),
            "unexpected `<!`",
        ),
        ("<html><body/></html>", (1, 1), "the root element is <html>"),
        (
            "<testsuites/>\n<testsuites/>",
            (2, 1),
            "after the root element ended",
        ),
        (
            "<testsuites/>\ntrailing",
            (2, 1),
            "text outside the root element",
        ),
        ("{\"tests\": []}", (1, 1), "text outside the root element"),
        ("", (1, 1), "no <testsuites> or <testsuite> element"),
        ("  \n", (2, 1), "no <testsuites> or <testsuite> element"),
        (
            "<?xml version=\"1.0\"?>\n",
            (2, 1),
            "no <testsuites> or <testsuite> element",
        ),
        (
            "<testsuites>\n<testcase name=a/>",
            (2, 16),
            "a malformed attribute in <testcase>: the value of `name` is not in quotes",
        ),
        (
            "<testsuites>\n</testsuite>",
            (2, 1),
            "expected `</testsuites>`, but `</testsuite>` was found",
        ),
    ];
    for (xml, position, fragment) in cases {
        let (line, column, message) = error(xml);
        assert_eq!((line, column), *position, "{xml:?}: {message}");
        assert!(
            message.contains(fragment),
            "{xml:?}: {message:?} lacks {fragment:?}"
        );
    }
}

// ---- well-formedness: what XML 1.0 refuses is refused, where it goes wrong

/// Two files of a public corpus of JUnit reports (a reporter's expected output, its
/// durations replaced by a placeholder) carry `time="<<computed>>"`: not XML, since a
/// value may not hold `<`. Refused at the first `<` of the value, on the testsuite and on
/// the testcase alike.
#[test]
fn computed_placeholders_of_a_public_corpus_are_refused_at_the_value() {
    let on_the_suite = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  \
            <testsuite name=\"Chrome_puppeteer\" id=\"0\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\" time=\"<<computed>>\">\n    \
            <testcase name=\"passes\" classname=\"test/simple.test.js\" file=\"test/simple.test.js\"/>\n  \
            </testsuite>\n</testsuites>\n";
    assert_eq!(
            error(on_the_suite),
            (
                3,
                97,
                "a malformed attribute in <testsuite>: a `<` in the value of `time`: XML does not allow one \
                 in an attribute value (`&lt;` writes it)"
                    .to_owned()
            )
        );
    let on_the_case = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  \
            <testsuite name=\"Chrome_puppeteer\" id=\"0\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\">\n  \
            <testcase name=\"passes\" classname=\"test/simple.test.js\" file=\"test/simple.test.js\" time=\"<<computed>>\"/>\n  \
            </testsuite>\n</testsuites>\n";
    assert_eq!(
            error(on_the_case),
            (
                4,
                92,
                "a malformed attribute in <testcase>: a `<` in the value of `time`: XML does not allow one \
                 in an attribute value (`&lt;` writes it)"
                    .to_owned()
            )
        );
    // As `coalmine ingest` and a canary name it.
    let explained = crate::results::ResultsError {
        path: "junit/report.xml".into(),
        format: crate::results::Format::Junit,
        kind: Junit
            .read(&mut on_the_case.as_bytes(), &mut |_| {})
            .unwrap_err(),
    }
    .explain(crate::results::ResultsKey {
        table: "[ci]",
        config: std::path::Path::new("harness.toml"),
    });
    assert!(
        explained.starts_with(
            "malformed junit results in junit/report.xml:4:92: a malformed attribute in <testcase>"
        ),
        "{explained}"
    );
}

#[test]
fn xml_that_is_not_well_formed_is_refused_where_it_goes_wrong() {
    let s = "<testsuite><testcase>";
    let cases: &[(&str, (usize, usize), &str)] = &[
        // Attributes of the elements coalmine reads.
        (
            "<testsuite><testcase name=\"a\" name=\"b\"/></testsuite>",
            (1, 31),
            "a malformed attribute in <testcase>: `name` appears twice: XML allows an attribute once per element",
        ),
        (
            "<testsuite><testcase name=\"a\"time=\"1\"/></testsuite>",
            (1, 30),
            "a malformed attribute in <testcase>: no space between `time` and what comes before it",
        ),
        (
            "<testsuite><testcase name=\"a & b\"/></testsuite>",
            (1, 30),
            "a malformed attribute in <testcase>: a `&` that starts no reference in the value of `name` (`&amp;` writes a `&`)",
        ),
        (
            "<testsuite>\n<testcase classname=\"x\" name=\"&nbsp;\"/></testsuite>",
            (2, 31),
            "a malformed attribute in <testcase>: the entity `&nbsp;` in the value of `name` is not defined: \
                 without a DTD (JUnit has none) XML defines only `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and character references",
        ),
        (
            "<testsuite><testcase name=\"a\u{1}\"/></testsuite>",
            (1, 29),
            "a malformed attribute in <testcase>: the control character U+0001 in the value of `name`: XML does not allow it",
        ),
        (
            "<testsuite><testcase 1name=\"x\"/></testsuite>",
            (1, 22),
            "a malformed attribute in <testcase>: `1name` is not an XML name",
        ),
        (
            "<testsuite><testcase name= /></testsuite>",
            (1, 28),
            "a malformed attribute in <testcase>: `name=` has no value",
        ),
        (
            "<testsuite><testcase name=x/></testsuite>",
            (1, 27),
            "a malformed attribute in <testcase>: the value of `name` is not in quotes",
        ),
        (
            "<testsuite><testcase name/></testsuite>",
            (1, 26),
            "a malformed attribute in <testcase>: `name` is not followed by `=`",
        ),
        // ... and of those it does not read: a bad value is refused whatever its name.
        (
            "<testsuites tests=\"<1>\"></testsuites>",
            (1, 20),
            "a malformed attribute in <testsuites>: a `<` in the value of `tests`",
        ),
        (
            "<testsuite><testcase><system-out a='&'/></testcase></testsuite>",
            (1, 37),
            "a malformed attribute in <system-out>: a `&` that starts no reference in the value of `a`",
        ),
        (
            "<testsuite><wrapper x=\"1\" x=\"1\"/></testsuite>",
            (1, 27),
            "a malformed attribute in <wrapper>: `x` appears twice",
        ),
        // Tags inside skipped content, which coalmine reads itself.
        (
            "<testsuite><testcase><system-out><a b=\"<\"/></system-out></testcase></testsuite>",
            (1, 40),
            "a malformed attribute in <a>: a `<` in the value of `b`",
        ),
        (
            "<testsuite><properties>\n  <property name=\"a\" value=\"1\" name=\"b\"/></properties></testsuite>",
            (2, 32),
            "a malformed attribute in <property>: `name` appears twice",
        ),
        (
            "<testsuite><testcase><failure><1a/></failure></testcase></testsuite>",
            (1, 32),
            "a malformed element name `1a` in <failure>: it is not an XML name",
        ),
        (
            "<testsuites><1testsuite/></testsuites>",
            (1, 14),
            "a malformed element name `1testsuite` in <testsuites>: it is not an XML name",
        ),
        (
            "<testsuite><testcase><failure>a < b</failure></testcase></testsuite>",
            (1, 34),
            "a `<` that starts no tag in <failure>",
        ),
        // Text: a `&` that starts no reference, and `]]>`, collected, skipped or between
        // elements.
        (
            "<testsuite><testcase><system-out>a && b</system-out></testcase></testsuite>",
            (1, 36),
            "a `&` that starts no reference in the text of <system-out> (`&amp;` writes a `&`)",
        ),
        (
            "<testsuite><testcase><failure>x ]]> y</failure></testcase></testsuite>",
            (1, 33),
            "`]]>` in the text of <failure>: XML allows it only as the end of a CDATA section (`]]&gt;` writes it)",
        ),
        (
            "<testsuite>\n]]></testsuite>",
            (2, 1),
            "`]]>` in the text of <testsuite>",
        ),
        (
            "<testsuites> & </testsuites>",
            (1, 14),
            "a `&` that starts no reference in the text of <testsuites>",
        ),
        (
            "<testsuite><testcase><system-out>&#x1B;[31m</system-out></testcase></testsuite>",
            (1, 34),
            "the character reference `&#x1B;` in the text of <system-out> names U+001B, a character XML does not allow",
        ),
        // Comments: no `--` inside, read by quick-xml or by coalmine.
        (
            "<testsuite><!-- a -- b --></testsuite>",
            (1, 19),
            "`--` inside a comment: XML allows it only in the `-->` that ends the comment",
        ),
        (
            "<testsuite><!-- a ---></testsuite>",
            (1, 19),
            "`--` inside a comment",
        ),
        (
            "<testsuite><testcase><system-out><!-- a -- b --></system-out></testcase></testsuite>",
            (1, 41),
            "`--` inside a comment",
        ),
        (
            "<testsuite><testcase><system-out><!-- a ---></system-out></testcase></testsuite>",
            (1, 41),
            "`--` inside a comment",
        ),
        // CDATA outside the root element.
        (
            "<testsuites/>\n<![CDATA[x]]>",
            (2, 1),
            "a CDATA section outside the root element",
        ),
        // The XML declaration: first, and as its grammar says.
        (
            " <?xml version=\"1.0\"?><testsuites/>",
            (1, 2),
            "an XML declaration (`<?xml ...?>`) that is not at the very start of the file",
        ),
        (
            "<testsuites/><?xml version=\"1.0\"?>",
            (1, 14),
            "an XML declaration (`<?xml ...?>`) that is not at the very start of the file",
        ),
        (
            "<?xml version=\"2.0\"?><testsuites/>",
            (1, 16),
            "a malformed XML declaration: `version` has a value its grammar does not allow: \"2.0\"",
        ),
        (
            "<?xml encoding=\"UTF-8\"?><testsuites/>",
            (1, 7),
            "a malformed XML declaration: it starts with `encoding`, not `version`",
        ),
        (
            "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><testsuites/>",
            (1, 38),
            "a malformed XML declaration: `encoding` where only `encoding`, then `standalone` may follow `version`",
        ),
        (
            "<?xml version=\"1.0\" encoding=\"UTF 8\"?><testsuites/>",
            (1, 31),
            "a malformed XML declaration: `encoding` has a value its grammar does not allow",
        ),
        (
            "<?xml version=\"1.0\" standalone=\"maybe\"?><testsuites/>",
            (1, 33),
            "a malformed XML declaration: `standalone` has a value its grammar does not allow",
        ),
        (
            "<?xml?><testsuites/>",
            (1, 6),
            "a malformed XML declaration: it has no `version`",
        ),
        // Processing instructions: a name for a target, and not `xml`.
        (
            "<?XML version=\"1.0\"?><testsuites/>",
            (1, 3),
            "a processing instruction named `XML`: XML reserves the name",
        ),
        (
            "<testsuites><testcase><system-out><?xml version=\"1.0\"?></system-out></testcase></testsuites>",
            (1, 37),
            "a processing instruction named `xml`",
        ),
        (
            "<testsuites><testcase><system-out><?1pi x?></system-out></testcase></testsuites>",
            (1, 37),
            "a processing instruction whose target `1pi` is not an XML name",
        ),
        (
            "<testsuites><??></testsuites>",
            (1, 15),
            "a processing instruction whose target `` is not an XML name",
        ),
        // A DOCTYPE: only one, before the root element, spelled in capitals.
        (
            "<testsuites><!DOCTYPE x></testsuites>",
            (1, 13),
            "a DOCTYPE inside or after the root element",
        ),
        (
            "<!DOCTYPE a>\n<!DOCTYPE a><testsuites/>",
            (2, 1),
            "a second DOCTYPE",
        ),
        (
            "<!doctype testsuites><testsuites/>",
            (1, 1),
            "a DOCTYPE not spelled `<!DOCTYPE`",
        ),
    ];
    for (xml, position, fragment) in cases {
        let (line, column, message) = error(xml);
        assert!(
            message.contains(fragment),
            "{xml:?}: {message:?} lacks {fragment:?}"
        );
        assert_eq!((line, column), *position, "{xml:?}: {message}");
    }
    // Invalid UTF-8 in a tag of skipped content, as in one coalmine reads.
    let (line, column, message) = error(
        [
            s.as_bytes(),
            b"<system-out>\n<a b=\"\xFF\"/></system-out></testcase></testsuite>",
        ]
        .concat(),
    );
    assert_eq!(
        (line, column, message.as_str()),
        (2, 7, "invalid UTF-8 in a tag in <system-out>")
    );
}

/// What XML allows stays accepted: markup characters escaped, `>` and `]]` in text, `]]>`
/// in a value, a declaration in any of its forms, processing instructions, namespaces
/// (XML 1.0 does not check their prefixes, nor does coalmine).
#[test]
fn xml_that_is_well_formed_is_still_read() {
    for xml in [
        "<testsuite><testcase name=\"a &lt;&amp;&gt; b &#60; &#x3C;\" classname=']]>'/></testsuite>",
        "<testsuite><testcase><failure>a &gt; b > c ]] ]&gt; ]]]</failure></testcase></testsuite>",
        "<testsuite><testcase><system-out>]]]] &#x10FFFF; &#1114111; &#x0000041;</system-out></testcase></testsuite>",
        "<?xml version=\"1.0\"?><testsuites/>",
        "<?xml version='1.1' encoding='ISO-8859-1' standalone='no' ?>\n<testsuites/>",
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites/>",
        "<?xml-stylesheet href=\"junit.xsl\"?><testsuites><?pi?><testcase><system-out><?pi data ?></system-out></testcase></testsuites>",
        "<!-- a - b --><testsuites><!----><testcase><system-out><!-- - --></system-out></testcase></testsuites>",
        "<testsuite xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:noNamespaceSchemaLocation=\"https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd\" \
             name=\"s\"><testcase name=\"t\" undeclared:prefix=\"1\"/></testsuite>",
        "<testsuite><testcase\n  name = 'a'\n  time\t=\t\"1\"\n/></testsuite >",
        "<testsuite><testcase><system-out><a\n b='1' c = \"2\" /><é/><_x.y-z/></system-out></testcase></testsuite>",
    ] {
        parse(xml);
    }
}

#[test]
fn positions_stay_exact_across_window_edges() {
    use crate::results::adapter::line_column;
    let filler = "line of output with ünïcödé\n".repeat(8_000);
    let long_name = "é".repeat(100_000);
    let cases = [
        // A mismatched tag in skipped content after more than a window of it.
        (
            format!(
                "<testsuites><testcase name=\"a\"><system-out>{filler}<b></c></system-out></testcase></testsuites>"
            ),
            "</c>",
        ),
        // quick-xml's mismatch after a tag longer than the window.
        (
            format!("<testsuites>\n<testsuite name=\"{long_name}\">\n</testsuites>"),
            "</testsuites>",
        ),
        // A malformed attribute in a tag longer than the window: reported where it is.
        (
            format!("<testsuites>\n{filler}<testcase name=\"{long_name}\" broken/></testsuites>"),
            "/></testsuites>",
        ),
        // The same in skipped content, where coalmine reads the tag itself.
        (
            format!(
                "<testsuites>\n<testcase><system-out>{filler}<a name=\"{long_name}\" broken/></system-out></testcase></testsuites>"
            ),
            "/></system-out>",
        ),
        // A bad reference in skipped text just past a window.
        (
            format!(
                "<testsuites>\n<testcase><system-out>{filler}&amp;&#0;</system-out></testcase></testsuites>"
            ),
            "&#0;",
        ),
        // A DOCTYPE without a name: quick-xml reports just before its `>`.
        (format!("<!--{filler}-->\n<!DOCTYPE>"), ">"),
        // The end of a truncated file.
        (
            format!("<testsuites><testcase name=\"a\"><failure>{filler}"),
            "",
        ),
    ];
    for (xml, at) in cases {
        let offset = if at.is_empty() {
            xml.len()
        } else {
            xml.rfind(at).unwrap()
        };
        let (line, column, message) = error(xml.as_bytes());
        assert_eq!(
            (line, column),
            line_column(xml.as_bytes(), offset),
            "{message}"
        );
    }
}

#[test]
fn invalid_utf8_in_markup_is_malformed_but_allowed_in_skipped_output() {
    let (line, column, _) = error(b"<testsuites>\n <testcase name=\"\xFF\"/></testsuites>");
    assert_eq!((line, column), (2, 2));
    let tests =
            parse_bytes(b"<testsuites><testcase name=\"a\"><system-out>\xFF\xFE binary</system-out><failure>\xFFx</failure></testcase></testsuites>")
                .unwrap();
    assert_eq!(tests[0].message.as_deref(), Some("\u{FFFD}x"));
}

#[test]
fn io_errors_are_read_errors() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"))
        }
    }
    let result = read_with(&mut BufReader::new(Broken));
    assert!(
        matches!(result, Err(ResultsErrorKind::Read(ref error)) if error.kind() == io::ErrorKind::PermissionDenied)
    );
    let result = read_with(&mut BufReader::new(
        Cursor::new(b"<testsuites><testcase name=\"a\">".to_vec()).chain(Broken),
    ));
    assert!(
        matches!(result, Err(ResultsErrorKind::Read(_))),
        "{}",
        describe(&result)
    );
}

// ---- bounded memory

/// A JUnit document made on the fly, never held whole: `cases` testcases, every 20th a
/// failure, every other one with output, each `output` bytes long.
struct Generated {
    cases: usize,
    output: usize,
    next: usize,
    chunk: Vec<u8>,
    offset: usize,
    finished: bool,
}

impl Generated {
    fn new(cases: usize, output: usize) -> Generated {
        Generated {
            cases,
            output,
            next: 0,
            chunk: b"<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"generated\">\n"
                .to_vec(),
            offset: 0,
            finished: false,
        }
    }

    fn refill(&mut self) {
        self.chunk.clear();
        self.offset = 0;
        if self.next == self.cases {
            if !self.finished {
                self.chunk
                    .extend_from_slice(b"</testsuite>\n</testsuites>\n");
                self.finished = true;
            }
            return;
        }
        let index = self.next;
        self.next += 1;
        let mut case = format!(
            "<testcase name=\"test_{index:07}\" classname=\"pkg.Class{}\" time=\"0.001\">",
            index % 97
        );
        if index.is_multiple_of(20) {
            case.push_str(
                "<failure message=\"assert 1 == 2\" type=\"AssertionError\">trace</failure>",
            );
        }
        if index.is_multiple_of(2) {
            case.push_str("<system-out>");
            case.push_str(&"log line &amp; more\n".repeat(self.output / 20));
            case.push_str("</system-out>");
        }
        case.push_str("</testcase>\n");
        self.chunk.extend_from_slice(case.as_bytes());
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.offset == self.chunk.len() {
            self.refill();
        }
        let count = out.len().min(self.chunk.len() - self.offset);
        out[..count].copy_from_slice(&self.chunk[self.offset..self.offset + count]);
        self.offset += count;
        Ok(count)
    }
}

#[test]
fn a_30_mb_document_streams_through_the_sink() {
    struct Counted<R> {
        inner: R,
        bytes: usize,
    }
    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let count = self.inner.read(out)?;
            self.bytes += count;
            Ok(count)
        }
    }
    let cases = 60_000;
    let mut input = BufReader::new(Counted {
        inner: Generated::new(cases, 1000),
        bytes: 0,
    });
    let (mut total, mut failed, mut names_ok) = (0usize, 0usize, true);
    Junit
        .read(&mut input, &mut |test| {
            names_ok &= test.name == format!("test_{total:07}");
            total += 1;
            failed += usize::from(test.outcome == Outcome::Fail);
        })
        .unwrap();
    assert!(
        input.get_ref().bytes > 30_000_000,
        "{} bytes",
        input.get_ref().bytes
    );
    assert_eq!(total, cases);
    assert_eq!(failed, cases / 20);
    assert!(names_ok);
}

#[test]
fn one_huge_output_is_skipped_not_buffered() {
    // 40 MB of output in one text node: more than a token may be, and it is fine.
    let mut input = BufReader::new(Generated::new(1, 40 * 1024 * 1024));
    let mut count = 0;
    Junit.read(&mut input, &mut |_| count += 1).unwrap();
    assert_eq!(count, 1);
}

#[test]
fn limits_are_errors_not_allocations() {
    let huge_name = format!(
        "<testsuites>\n<testcase name=\"{}\"/></testsuites>",
        "n".repeat(MAX_TOKEN_BYTES as usize + WINDOW)
    );
    let (line, column, message) = error(huge_name.as_bytes());
    assert_eq!((line, column), (2, 1));
    assert!(message.contains("longer than 16 MiB"), "{message}");

    let deep = format!(
        "<testsuites>{}",
        "<testsuite name=\"s\">".repeat(MAX_DEPTH + 10)
    );
    let (_, _, message) = error(deep.as_bytes());
    assert!(message.contains("nest deeper"), "{message}");

    let deep_output = format!(
        "<testsuites><testcase><system-out>{}",
        "<a>".repeat(MAX_DEPTH + 10)
    );
    let (_, _, message) = error(deep_output.as_bytes());
    assert!(message.contains("nest deeper"), "{message}");
}

// ---- properties

/// Pieces that make XML-ish text: tags of the format, broken ones, references, sections.
fn xmlish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<testsuites>",
        "</testsuites>",
        "<testsuites/>",
        "<testsuite name=\"s\">",
        "<testsuite>",
        "</testsuite>",
        "<testcase name=\"t\" time=\"1,0\">",
        "<testcase/>",
        "</testcase>",
        "<failure message=\"m\">",
        "<failure/>",
        "</failure>",
        "<error>",
        "</error>",
        "<skipped type=\"xfail\"/>",
        "<flakyFailure>",
        "</flakyFailure>",
        "<rerunError/>",
        "<system-out>",
        "</system-out>",
        "<properties>",
        "</properties>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?xml version=\"1.0\"?>",
        "<?pi",
        "?>",
        "<!DOCTYPE x>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>",
        "&amp;",
        "&",
        "&#x41;",
        "&#99999999;",
        "&lol;",
        "<",
        ">",
        "/>",
        "\"",
        "'",
        "=",
        " ",
        "\n",
        "text",
        "é",
        "\u{FEFF}",
        "<a b='>'>",
        "</a>",
        "<x:y/>",
        "\r\n",
    ]);
    prop::collection::vec(pieces, 0..120).prop_map(|pieces| pieces.concat())
}

/// The fewest bytes a testcase takes: `<testcase/>`. Bounds what any input can yield, and so
/// the work of reading it.
const TESTCASE_BYTES: usize = "<testcase/>".len();

/// What reading `bytes` hands to the sink (before an error too) is bounded by its size, and
/// an error points into it.
fn yields_in_bounds(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (cases, result) = collect_partial(&Junit, bytes);
    prop_assert!(cases.len() <= bytes.len() / TESTCASE_BYTES);
    if let Err(error) = result {
        prop_assert!(points_into(&error, bytes), "{:?}", error);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_bytes(&bytes);
        yields_in_bounds(&bytes)?;
        let _ = Junit.sniff(&bytes);
    }

    #[test]
    fn xmlish_text_never_panics_and_reads_the_same_in_any_chunking(text in xmlish()) {
        let _ = parse_bytes(text.as_bytes());
        yields_in_bounds(text.as_bytes())?;
        let _ = Junit.sniff(text.as_bytes());
    }

    #[test]
    fn a_truncated_report_is_an_error(tree in suite_tree(), cut in any::<prop::sample::Index>()) {
        let xml = serialize(&tree);
        let root_end = xml.trim_end().len();
        let cut = cut.index(root_end);
        prop_assert!(parse_bytes(&xml.as_bytes()[..cut]).is_err(), "{}", &xml[..cut]);
    }

    #[test]
    fn generated_reports_read_back(tree in suite_tree()) {
        let xml = serialize(&tree);
        let mut expected = Vec::new();
        expect(&tree, &mut Vec::new(), &mut expected);
        let tests = parse_bytes(xml.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}\n{xml}")))?;
        let actual: Vec<Expected> = tests
            .iter()
            .map(|test| Expected {
                name: test.name.clone(),
                classname: test.classname.clone(),
                suite: test.suite.clone(),
                outcome: test.outcome,
                attempts: test.attempts,
                message: test.message.clone(),
            })
            .collect();
        prop_assert_eq!(actual, expected, "{}", xml);
    }
}

// ---- the round trip's generator

#[derive(Debug, Clone)]
enum Made {
    Pass,
    Fail,
    Error,
    Skip,
    Xfail,
    Flaky(u32),
    FailRerun(u32),
}

#[derive(Debug, Clone, Copy)]
enum MessageAs {
    Attribute,
    Text,
    Cdata,
}

#[derive(Debug, Clone)]
struct MadeCase {
    name: String,
    classname: Option<String>,
    made: Made,
    message: String,
    message_as: MessageAs,
    output: Option<String>,
}

#[derive(Debug, Clone)]
struct MadeSuite {
    name: Option<String>,
    cases: Vec<MadeCase>,
    children: Vec<MadeSuite>,
}

#[derive(Debug, PartialEq)]
struct Expected {
    name: String,
    classname: Option<String>,
    suite: Vec<String>,
    outcome: Outcome,
    attempts: u32,
    message: Option<String>,
}

fn made_case() -> impl Strategy<Value = MadeCase> {
    let made = prop_oneof![
        Just(Made::Pass),
        Just(Made::Fail),
        Just(Made::Error),
        Just(Made::Skip),
        Just(Made::Xfail),
        (1u32..4).prop_map(Made::Flaky),
        (1u32..4).prop_map(Made::FailRerun),
    ];
    let message_as = prop_oneof![
        Just(MessageAs::Attribute),
        Just(MessageAs::Text),
        Just(MessageAs::Cdata)
    ];
    (
        "[a-zA-Z0-9_ <>&\"'.:\\[\\]é-]{0,16}",
        prop::option::of("[a-zA-Z0-9_.<&é]{0,10}"),
        made,
        "[a-zA-Z0-9<>&\"' é=]{0,24}",
        message_as,
        prop::option::of("[a-z <>&\n]{0,30}"),
    )
        .prop_map(
            |(name, classname, made, message, message_as, output)| MadeCase {
                name,
                classname,
                made,
                message,
                message_as,
                output,
            },
        )
}

fn suite_tree() -> impl Strategy<Value = MadeSuite> {
    let leaf = (
        prop::option::of("[a-zA-Z0-9 <&>\"é]{1,10}"),
        prop::collection::vec(made_case(), 0..5),
    )
        .prop_map(|(name, cases)| MadeSuite {
            name,
            cases,
            children: Vec::new(),
        });
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            prop::option::of("[a-zA-Z0-9 <&>\"é]{1,10}"),
            prop::collection::vec(made_case(), 0..4),
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(name, cases, children)| MadeSuite {
                name,
                cases,
                children,
            })
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
        .replace('\n', "&#10;")
}

fn status_element(element: &str, extra: &str, message: &str, message_as: MessageAs) -> String {
    match message_as {
        MessageAs::Attribute => format!("<{element}{extra} message=\"{}\"/>", escape(message)),
        MessageAs::Text => format!("<{element}{extra}>{}</{element}>", escape(message)),
        MessageAs::Cdata => format!(
            "<{element}{extra}><![CDATA[{message}]]><stackTrace>not it</stackTrace></{element}>"
        ),
    }
}

fn serialize(tree: &MadeSuite) -> String {
    fn suite(node: &MadeSuite, out: &mut String) {
        match &node.name {
            Some(name) => out.push_str(&format!(
                "<testsuite name=\"{}\" tests=\"999\">\n",
                escape(name)
            )),
            None => out.push_str("<testsuite>\n"),
        }
        for case in &node.cases {
            out.push_str(&format!("<testcase name=\"{}\"", escape(&case.name)));
            if let Some(classname) = &case.classname {
                out.push_str(&format!(" classname=\"{}\"", escape(classname)));
            }
            out.push_str(" time=\"0.5\">");
            let (message, how) = (&case.message, case.message_as);
            match case.made {
                Made::Pass => {}
                Made::Fail => out.push_str(&status_element("failure", "", message, how)),
                Made::Error => out.push_str(&status_element("error", "", message, how)),
                Made::Skip => out.push_str(&status_element(
                    "skipped",
                    " type=\"pytest.skip\"",
                    message,
                    how,
                )),
                Made::Xfail => out.push_str(&status_element(
                    "skipped",
                    " type=\"pytest.xfail\"",
                    message,
                    how,
                )),
                Made::Flaky(count) => {
                    for _ in 0..count {
                        out.push_str(&status_element("flakyFailure", "", message, how));
                    }
                }
                Made::FailRerun(count) => {
                    out.push_str(&status_element("failure", "", message, how));
                    for _ in 0..count {
                        out.push_str("<rerunFailure message=\"again\"><system-out>x</system-out></rerunFailure>");
                    }
                }
            }
            if let Some(output) = &case.output {
                out.push_str(&format!(
                    "<system-out>{}<failure message=\"printed\"/></system-out>",
                    escape(output)
                ));
            }
            out.push_str("</testcase>\n");
        }
        for child in &node.children {
            suite(child, out);
        }
        out.push_str("</testsuite>\n");
    }
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tool\">\n");
    suite(tree, &mut out);
    out.push_str("</testsuites>\n");
    out
}

fn expect(node: &MadeSuite, path: &mut Vec<String>, out: &mut Vec<Expected>) {
    if let Some(name) = &node.name {
        path.push(name.clone());
    }
    for case in &node.cases {
        let message = match case.message_as {
            MessageAs::Attribute => case.message.clone(),
            MessageAs::Text | MessageAs::Cdata => case.message.trim().to_owned(),
        };
        let message = (!message.is_empty()).then_some(message);
        let (outcome, attempts, message) = match case.made {
            Made::Pass => (Outcome::Pass, 1, None),
            Made::Fail => (Outcome::Fail, 1, message),
            Made::Error => (Outcome::Error, 1, message),
            Made::Skip => (Outcome::Skip, 1, message),
            Made::Xfail => (Outcome::Xfail, 1, message),
            Made::Flaky(count) => (Outcome::FlakyPass, 1 + count, message),
            Made::FailRerun(count) => (Outcome::Fail, 1 + count, message),
        };
        out.push(Expected {
            name: case.name.clone(),
            classname: case.classname.clone(),
            suite: path.clone(),
            outcome,
            attempts,
            message,
        });
    }
    for child in &node.children {
        expect(child, path, out);
    }
    if node.name.is_some() {
        path.pop();
    }
}
