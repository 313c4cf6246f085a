//! A generated canary suite for `examples/bench.rs`: N canaries named `c00000`, `c00001`, ...
//! (N from `COALMINE_BENCH_CANARIES`, default 10,000), each expecting GREEN with two checks
//! that have teeth (tier `install` passed, no tier failed), so that their `teeth::` trials pass
//! too. They run under `coalmine::Harness` with the process's command line; the recipe CI comes
//! from the harness.toml that `COALMINE_CONFIG` names (the benchmark driver writes one whose CI
//! is `cp template.json {artifacts}/results.json`).
//!
//!     COALMINE_CONFIG=/tmp/x/harness.toml target/release/examples/bench_suite --list
//!     COALMINE_CONFIG=/tmp/x/harness.toml target/release/examples/bench_suite --exact canary::c00042

use std::process::ExitCode;

use coalmine::{Canary, Expect, Harness, check};

/// How many canaries the suite has when `COALMINE_BENCH_CANARIES` is not set.
const DEFAULT_CANARIES: usize = 10_000;

fn main() -> ExitCode {
    let count = match std::env::var("COALMINE_BENCH_CANARIES") {
        Ok(text) => match text.parse::<usize>() {
            Ok(count) => count,
            Err(error) => {
                eprintln!("error: COALMINE_BENCH_CANARIES={text:?} is not a count: {error}");
                return ExitCode::from(coalmine::harness::EXIT_FAILED);
            }
        },
        Err(_) => DEFAULT_CANARIES,
    };
    // Generated lazily: only the canaries a command line selects are built.
    let names = (0..count).map(|index| format!("c{index:05}"));
    Harness::new()
        .generated(names, |name| {
            Canary::new(name)
                .recipe("bench-recipe")
                .rev("0000000")
                .expect(Expect::Green)
                .check(check::tier("install").is(check::Pass))
                .check(check::no_tier_failed())
        })
        .run()
}
