//! The verdict vocabulary (tiers, tier statuses, test outcomes) and the cc-ci shaped
//! `results.json` the run writes last. Nothing here ever holds a secret value: results only
//! carry names, statuses and failure messages built from HTTP exchanges and file paths.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::Error;

/// The staged test tiers, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Fresh deployment serves.
    Install,
    /// Deploy the previous revision, upgrade to this one.
    Upgrade,
    /// Back up the declared data paths.
    Backup,
    /// Restore from that backup.
    Restore,
    /// The recipe's own functional tests.
    Custom,
}

impl Tier {
    /// All tiers in run order.
    pub const ALL: [Tier; 5] = [
        Tier::Install,
        Tier::Upgrade,
        Tier::Backup,
        Tier::Restore,
        Tier::Custom,
    ];

    /// The name used in results and progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Install => "install",
            Tier::Upgrade => "upgrade",
            Tier::Backup => "backup",
            Tier::Restore => "restore",
            Tier::Custom => "custom",
        }
    }

    /// Tiers whose success this one builds on: everything needs a working install, and a
    /// restore needs the backup it restores from.
    pub fn prerequisites(self) -> &'static [Tier] {
        match self {
            Tier::Install => &[],
            Tier::Upgrade | Tier::Backup | Tier::Custom => &[Tier::Install],
            Tier::Restore => &[Tier::Install, Tier::Backup],
        }
    }
}

/// The status of a whole tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran; no test failed.
    Pass,
    /// Ran; at least one test failed.
    Fail,
    /// Not supported by the recipe (it declares no tests for the tier).
    Skip,
    /// Not verified: a prerequisite tier failed or was itself not verified.
    Unver,
}

impl Status {
    /// The status of a tier that ran these tests: `fail` iff one failed, `skip` if every
    /// test skipped itself (or there were none), `pass` otherwise.
    pub fn of_tests(tests: &[TestResult]) -> Status {
        if tests.iter().any(|test| test.outcome == Outcome::Fail) {
            Status::Fail
        } else if tests.iter().all(|test| test.outcome == Outcome::Skip) {
            Status::Skip
        } else {
            Status::Pass
        }
    }

    /// The lowercase name used in results and progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Unver => "unver",
        }
    }
}

/// The outcome of one test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// A check did not hold (see the message).
    Fail,
    /// The recipe gives the test nothing to check (see the message).
    Skip,
}

/// One test's record in `stages.<tier>.tests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// Test name, e.g. `test_serving`.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why it failed or skipped; absent on pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Wall-clock duration.
    pub duration_ms: u64,
}

/// One stage's record. Skipped and unverified stages are written with an empty list, so every
/// tier appears in `stages`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StageResult {
    /// Tests in the order they ran.
    pub tests: Vec<TestResult>,
}

/// One value per tier, serialized as a JSON object in tier order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerTier<T> {
    /// Value for [`Tier::Install`].
    pub install: T,
    /// Value for [`Tier::Upgrade`].
    pub upgrade: T,
    /// Value for [`Tier::Backup`].
    pub backup: T,
    /// Value for [`Tier::Restore`].
    pub restore: T,
    /// Value for [`Tier::Custom`].
    pub custom: T,
}

impl<T> PerTier<T> {
    /// The value for `tier`.
    pub fn get(&self, tier: Tier) -> &T {
        match tier {
            Tier::Install => &self.install,
            Tier::Upgrade => &self.upgrade,
            Tier::Backup => &self.backup,
            Tier::Restore => &self.restore,
            Tier::Custom => &self.custom,
        }
    }

    /// The value for `tier`, mutably.
    pub fn get_mut(&mut self, tier: Tier) -> &mut T {
        match tier {
            Tier::Install => &mut self.install,
            Tier::Upgrade => &mut self.upgrade,
            Tier::Backup => &mut self.backup,
            Tier::Restore => &mut self.restore,
            Tier::Custom => &mut self.custom,
        }
    }
}

/// Level reached: L1 install, L2 upgrade, L3 backup and restore, L4 custom, counting
/// consecutive levels from L1 and stopping at the first one that did not pass.
pub fn level(statuses: &PerTier<Status>) -> u8 {
    let levels: [&[Tier]; 4] = [
        &[Tier::Install],
        &[Tier::Upgrade],
        &[Tier::Backup, Tier::Restore],
        &[Tier::Custom],
    ];
    levels
        .iter()
        .take_while(|tiers| {
            tiers
                .iter()
                .all(|tier| *statuses.get(*tier) == Status::Pass)
        })
        .count() as u8
}

/// Whole-run flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// After teardown every service process was reaped and every port it listened on refuses
    /// connections.
    pub clean_teardown: bool,
    /// No secret value occurs in any file the run wrote under the artifacts dir.
    pub no_secret_leak: bool,
}

/// The document written to `<artifacts>/results.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Results {
    /// Recipe name.
    pub recipe: String,
    /// Revision under test.
    pub rev: String,
    /// The caller's run id, echoed.
    pub run_id: String,
    /// Tier statuses.
    pub results: PerTier<Status>,
    /// See [`level`].
    pub level: u8,
    /// Whole-run flags.
    pub flags: Flags,
    /// Per-stage test records.
    pub stages: PerTier<StageResult>,
}

impl Results {
    /// True if any tier failed, which makes the run exit 1.
    pub fn any_failed(&self) -> bool {
        Tier::ALL
            .iter()
            .any(|tier| *self.results.get(*tier) == Status::Fail)
    }

    /// Writes the document to `path` via a temporary file and a rename, so a reader never
    /// sees half a file.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|error| Error::io("serializing results", error.into()))?;
        let partial = path.with_extension("json.partial");
        fs::write(&partial, text + "\n")
            .map_err(|error| Error::io(format!("writing {}", partial.display()), error))?;
        fs::rename(&partial, path)
            .map_err(|error| Error::io(format!("writing {}", path.display()), error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(list: [Status; 5]) -> PerTier<Status> {
        let [install, upgrade, backup, restore, custom] = list;
        PerTier {
            install,
            upgrade,
            backup,
            restore,
            custom,
        }
    }

    fn test(outcome: Outcome) -> TestResult {
        TestResult {
            name: "t".into(),
            outcome,
            message: None,
            duration_ms: 0,
        }
    }

    #[test]
    fn level_counts_consecutive_passing_levels() {
        use Status::*;
        assert_eq!(level(&statuses([Pass, Pass, Skip, Skip, Skip])), 2);
        assert_eq!(level(&statuses([Pass, Pass, Pass, Pass, Fail])), 3);
        assert_eq!(level(&statuses([Pass, Fail, Pass, Pass, Pass])), 1);
        assert_eq!(level(&statuses([Pass, Pass, Pass, Unver, Pass])), 2);
        assert_eq!(level(&statuses([Fail, Unver, Unver, Unver, Unver])), 0);
        assert_eq!(level(&statuses([Pass; 5])), 4);
    }

    #[test]
    fn tier_status_follows_its_tests() {
        use Outcome::*;
        assert_eq!(Status::of_tests(&[test(Pass), test(Fail)]), Status::Fail);
        assert_eq!(Status::of_tests(&[test(Pass), test(Skip)]), Status::Pass);
        assert_eq!(Status::of_tests(&[test(Skip)]), Status::Skip);
        assert_eq!(Status::of_tests(&[]), Status::Skip);
    }

    #[test]
    fn serializes_in_the_cc_ci_shape() {
        let mut stages = PerTier::<StageResult>::default();
        stages.custom.tests.push(TestResult {
            name: "test_x".into(),
            outcome: Outcome::Fail,
            message: Some("boom".into()),
            duration_ms: 3,
        });
        stages.install.tests.push(test(Outcome::Pass));
        let results = Results {
            recipe: "r".into(),
            rev: "1".into(),
            run_id: "id".into(),
            results: statuses([
                Status::Pass,
                Status::Pass,
                Status::Pass,
                Status::Pass,
                Status::Fail,
            ]),
            level: 3,
            flags: Flags {
                clean_teardown: true,
                no_secret_leak: true,
            },
            stages,
        };
        let json = serde_json::to_value(&results).unwrap();
        assert_eq!(json["results"]["custom"], "fail");
        assert_eq!(json["flags"]["clean_teardown"], true);
        assert_eq!(json["stages"]["custom"]["tests"][0]["message"], "boom");
        assert!(
            json["stages"]["install"]["tests"][0]
                .get("message")
                .is_none()
        );
        assert_eq!(json["stages"]["backup"]["tests"], serde_json::json!([]));
        let text = serde_json::to_string(&results).unwrap();
        let order: Vec<usize> = [
            "\"install\"",
            "\"upgrade\"",
            "\"backup\"",
            "\"restore\"",
            "\"custom\"",
        ]
        .iter()
        .map(|key| text.find(key).unwrap())
        .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(results.any_failed());
    }
}
