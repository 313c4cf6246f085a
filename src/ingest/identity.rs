//! Which run an ingest records: the run id a CI gives its jobs, read from the environment when
//! `--run-id` is not given (see the docs of [`super`], # Run identity).
//!
//! | CI | variables | run id |
//! | --- | --- | --- |
//! | GitHub Actions | `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`, `GITHUB_JOB` | `github:<run>.<attempt>/<job>` |
//! | GitLab CI | `CI_JOB_ID` | `gitlab:<job id>` |
//! | Buildkite | `BUILDKITE_JOB_ID` | `buildkite:<job id>` |
//! | Drone | `DRONE_BUILD_NUMBER`, `DRONE_STAGE_NAME` | `drone:<build>/<stage>` |
//! | Jenkins | `BUILD_TAG` | `jenkins:<tag>` |
//! | Prow | `BUILD_ID`, `JOB_NAME` | `prow:<job>/<build>` |
//!
//! The first CI in this order whose variables are all set (and not empty) gives the id.
//! Jenkins comes before Prow because Jenkins sets `BUILD_ID` and `JOB_NAME` too; Prow does not
//! set `BUILD_TAG`.

/// One CI's job id, from its environment variables.
struct Ci {
    /// The CI's name, as the id's prefix.
    name: &'static str,
    /// The variables, all required, in the order the id joins them.
    variables: &'static [&'static str],
    /// Builds the id from the variables' values, in `variables`' order.
    id: fn(&[String]) -> String,
}

const CIS: &[Ci] = &[
    Ci {
        name: "github",
        variables: &["GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB"],
        id: |v| format!("{}.{}/{}", v[0], v[1], v[2]),
    },
    Ci {
        name: "gitlab",
        variables: &["CI_JOB_ID"],
        id: |v| v[0].clone(),
    },
    Ci {
        name: "buildkite",
        variables: &["BUILDKITE_JOB_ID"],
        id: |v| v[0].clone(),
    },
    Ci {
        name: "drone",
        variables: &["DRONE_BUILD_NUMBER", "DRONE_STAGE_NAME"],
        id: |v| format!("{}/{}", v[0], v[1]),
    },
    Ci {
        name: "jenkins",
        variables: &["BUILD_TAG"],
        id: |v| v[0].clone(),
    },
    Ci {
        name: "prow",
        variables: &["BUILD_ID", "JOB_NAME"],
        id: |v| format!("{}/{}", v[1], v[0]),
    },
];

/// Every variable any CI's id is read from (for tests and tools that must run without them).
pub fn variables() -> impl Iterator<Item = &'static str> {
    CIS.iter().flat_map(|ci| ci.variables.iter().copied())
}

/// A run id found in the environment, and the variables it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiRunId {
    /// The id, e.g. `github:123456.1/e2e`.
    pub id: String,
    /// The variables it was read from, e.g. `GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_JOB`.
    pub from: String,
}

/// The CI job's run id, read through `var` (e.g. `|name| std::env::var(name).ok()`).
pub fn ci_run_id(var: impl Fn(&str) -> Option<String>) -> Option<CiRunId> {
    CIS.iter().find_map(|ci| {
        let values: Option<Vec<String>> = ci
            .variables
            .iter()
            .map(|name| {
                var(name)
                    .map(|value| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
            })
            .collect();
        values.map(|values| CiRunId {
            id: format!("{}:{}", ci.name, (ci.id)(&values)),
            from: ci.variables.join(", "),
        })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Option<CiRunId> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        ci_run_id(|name| env.get(name).cloned())
    }

    #[test]
    fn each_ci_gives_its_job_id() {
        let github = [
            ("GITHUB_RUN_ID", "123456"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "e2e"),
        ];
        assert_eq!(from(&github).unwrap().id, "github:123456.2/e2e");
        assert_eq!(
            from(&github).unwrap().from,
            "GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_JOB"
        );
        assert_eq!(from(&[("CI_JOB_ID", "77")]).unwrap().id, "gitlab:77");
        assert_eq!(
            from(&[("BUILDKITE_JOB_ID", "01a2-b3")]).unwrap().id,
            "buildkite:01a2-b3"
        );
        assert_eq!(
            from(&[("DRONE_BUILD_NUMBER", "9"), ("DRONE_STAGE_NAME", "test")])
                .unwrap()
                .id,
            "drone:9/test"
        );
        // Jenkins sets BUILD_ID and JOB_NAME too: its BUILD_TAG wins.
        assert_eq!(
            from(&[
                ("BUILD_TAG", "jenkins-e2e-41"),
                ("BUILD_ID", "41"),
                ("JOB_NAME", "e2e")
            ])
            .unwrap()
            .id,
            "jenkins:jenkins-e2e-41"
        );
        assert_eq!(
            from(&[("BUILD_ID", "1801"), ("JOB_NAME", "periodic-kubevirt-e2e")])
                .unwrap()
                .id,
            "prow:periodic-kubevirt-e2e/1801"
        );
    }

    #[test]
    fn a_partial_or_empty_set_gives_no_id() {
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("GITHUB_RUN_ID", "1"), ("GITHUB_JOB", "x")]), None);
        assert_eq!(from(&[("CI_JOB_ID", "  ")]), None);
        assert_eq!(from(&[("BUILD_ID", "1")]), None);
        assert!(variables().any(|name| name == "DRONE_STAGE_NAME"));
    }
}
