//! coalmine: regression canaries for recipe CIs.
//!
//! A *recipe CI* takes a target (a recipe, a repo) at a pinned revision, deploys and tests it,
//! and says GREEN or RED. coalmine checks that the CI itself still tells the truth: *canaries*
//! are pinned known-good targets that must come out GREEN and known-bad ones that must come out
//! RED, each with semantic checks (exit code, tier statuses, flags, named tests in named
//! stages). A RED canary whose CI exits 0 is a *false green* and fails loudly.
//!
//! # Quick start
//! 1. `coalmine init` in your crate writes `harness.toml`, `tests/regression/canaries.rs` and
//!    the `[[test]]` entry (`harness = false`).
//! 2. Declare canaries with [`canary!`] and end the file with [`main!`]`()`.
//! 3. `cargo test --test regression -- canary good-simple` runs one canary;
//!    `cargo nextest run --test regression` runs them all through nextest.
//!
//! ```no_run
//! coalmine::canary! {
//!     name: "good-simple",
//!     recipe: "custom-html-tiny",
//!     rev: "435df8fc",
//!     expect: Green,
//!     checks: [
//!         tier("install").is(Pass),
//!         no_tier_failed(),
//!         flag("clean_teardown"),
//!         stage("install").test("test_serving").passed(),
//!     ],
//! }
//! coalmine::main!();
//! ```
//!
//! # Modules
//! The two halves of the product, each in its own folders.
//!
//! Canaries (no false greens):
//! - [`mod@canary`]: declaring canaries: the [`Canary`] builder, its validation, the registry
//!   that [`canary!`] submits to.
//! - [`execute`]: running one canary: the recipe CI in its own process group with a timeout,
//!   its artifact folder, secrets and redaction, `canary.json`, the failure report.
//! - [`check`]: the check vocabulary and evaluation; [`teeth`]: the proof that every check can
//!   fail.
//! - [`results`]: reading what the recipe CI wrote into one normalised model.
//! - [`harness`]: the libtest-compatible runner.
//!
//! Flaky tests (a history and a quarantine):
//! - [`ingest`]: report files into the history; [`history`]: the outcome history (SQLite);
//!   [`quarantine`]: the policy and the plan; [`sources`]: the quarantine marked in the test
//!   source (Ginkgo specs, Rust `#[test]` functions).
//!
//! Shared: [`config`] (`harness.toml`) and [`cli`] (the `coalmine` command's subcommands).
//!
//! # Known limitations
//! Unix only (process groups and signals). Canaries run in threads of one process under
//! `cargo test`, and in one process each under nextest.

#[cfg(not(unix))]
compile_error!("coalmine runs recipe CIs in Unix process groups and supports Unix only");

pub mod canary;
pub mod check;
pub mod cli;
pub mod config;
pub mod execute;
pub mod harness;
pub mod history;
pub mod ingest;
pub mod quarantine;
pub mod results;
pub mod sources;
mod suggest;
pub mod teeth;

pub use canary::{Canary, DeclarationError, Expect, SourceLocation};
pub use harness::{Harness, run};

/// Not public API: what the macros expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::canary::registry::Registration;
    pub use inventory;

    /// The names in scope inside `canary! { checks: [...] }`.
    pub mod dsl {
        pub use crate::check::{
            Fail, Pass, Skip, Unver, custom, exit_code, flag, no_tier_failed, output_matches,
            stage, stderr_matches, stdout_matches, tier,
        };
    }
}
