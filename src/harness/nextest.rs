//! What nextest tells the test process it starts, through the environment: that it runs under
//! nextest (one process per test, no skip at run time), and which attempt of the test this is.
//!
//! nextest sets `NEXTEST=1` and `NEXTEST_EXECUTION_MODE=process-per-test` in every test process,
//! and `NEXTEST_ATTEMPT` (1 for the first try, 2 for the first retry, ...) and
//! `NEXTEST_TOTAL_ATTEMPTS` (1 + its `--retries`). Each retry is a new process, so the harness
//! learns the attempt number only from these variables.

use std::fmt;

/// The variable nextest sets to `1` in every test process.
pub const NEXTEST_ENV: &str = "NEXTEST";
/// The variable naming nextest's execution mode (`process-per-test`).
pub const EXECUTION_MODE_ENV: &str = "NEXTEST_EXECUTION_MODE";
/// The variable holding the attempt number, from 1.
pub const ATTEMPT_ENV: &str = "NEXTEST_ATTEMPT";
/// The variable holding how many attempts nextest makes at most (1 + its retries).
pub const TOTAL_ATTEMPTS_ENV: &str = "NEXTEST_TOTAL_ATTEMPTS";

/// The test process runs under nextest: this attempt of at most that many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nextest {
    /// Which attempt this process is, from 1.
    pub attempt: u32,
    /// How many attempts nextest makes at most; above 1, nextest retries failures itself.
    pub total_attempts: u32,
}

/// A nextest variable whose value makes no sense: the harness refuses to guess an attempt number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextestEnvError {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What was wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for NextestEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} set by nextest {}; nextest sets attempt numbers from 1 up to {TOTAL_ATTEMPTS_ENV}",
            self.variable, self.value, self.problem
        )
    }
}

impl std::error::Error for NextestEnvError {}

impl Nextest {
    /// Reads the process's environment: `None` when not under nextest.
    pub fn from_env() -> Result<Option<Nextest>, NextestEnvError> {
        Nextest::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads nextest's variables through `var` (the environment, or a test's table).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Nextest>, NextestEnvError> {
        let attempt = var(ATTEMPT_ENV);
        let under = var(NEXTEST_ENV).as_deref() == Some("1")
            || var(EXECUTION_MODE_ENV).is_some()
            || attempt.is_some();
        if !under {
            return Ok(None);
        }
        let number = |variable: &'static str, value: Option<String>| match value {
            // A nextest too old to say: its first attempt is all it can be sure of.
            None => Ok(1),
            Some(value) => match value.trim().parse::<u32>() {
                Ok(0) => Err(NextestEnvError {
                    variable,
                    value,
                    problem: "is 0",
                }),
                Ok(number) => Ok(number),
                Err(_) => Err(NextestEnvError {
                    variable,
                    value,
                    problem: "is not a number",
                }),
            },
        };
        let attempt = number(ATTEMPT_ENV, attempt)?;
        let total_attempts = number(TOTAL_ATTEMPTS_ENV, var(TOTAL_ATTEMPTS_ENV))?;
        if attempt > total_attempts {
            return Err(NextestEnvError {
                variable: ATTEMPT_ENV,
                value: attempt.to_string(),
                problem: "is past NEXTEST_TOTAL_ATTEMPTS",
            });
        }
        Ok(Some(Nextest {
            attempt,
            total_attempts,
        }))
    }

    /// Whether nextest retries failed tests itself (its `--retries`, or `retries` in its
    /// profile): then the harness does not retry within the process as well.
    pub fn retries(&self) -> bool {
        self.total_attempts > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<Nextest>, NextestEnvError> {
        Nextest::from_vars(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn attempts_come_from_nextest_variables() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[("NEXTEST_RUN_ID", "x")]), Ok(None));
        let under = [
            ("NEXTEST", "1"),
            ("NEXTEST_EXECUTION_MODE", "process-per-test"),
        ];
        assert_eq!(
            read(&under),
            Ok(Some(Nextest {
                attempt: 1,
                total_attempts: 1
            }))
        );
        let retry = read(&[
            ("NEXTEST", "1"),
            ("NEXTEST_ATTEMPT", "2"),
            ("NEXTEST_TOTAL_ATTEMPTS", "3"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            retry,
            Nextest {
                attempt: 2,
                total_attempts: 3
            }
        );
        assert!(retry.retries());
    }

    #[test]
    fn nonsense_attempts_are_refused() {
        let error = read(&[("NEXTEST_ATTEMPT", "two")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "NEXTEST_ATTEMPT=\"two\" set by nextest is not a number; nextest sets attempt numbers \
             from 1 up to NEXTEST_TOTAL_ATTEMPTS"
        );
        assert!(read(&[("NEXTEST_ATTEMPT", "0")]).is_err());
        assert!(read(&[("NEXTEST_ATTEMPT", "3"), ("NEXTEST_TOTAL_ATTEMPTS", "2")]).is_err());
    }
}
