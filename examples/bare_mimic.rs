//! The baseline for `examples/bench.rs`: a bare libtest-mimic harness with as many trials as
//! `examples/bench_suite.rs` has canaries (`COALMINE_BENCH_CANARIES`, default 10,000), named
//! the same (`canary::c00000`, ...), each an empty test. What coalmine adds on top of
//! libtest-mimic is measured against this.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

/// How many trials the harness has when `COALMINE_BENCH_CANARIES` is not set.
const DEFAULT_TRIALS: usize = 10_000;

fn main() -> ExitCode {
    let count = match std::env::var("COALMINE_BENCH_CANARIES") {
        Ok(text) => match text.parse::<usize>() {
            Ok(count) => count,
            Err(error) => {
                eprintln!("error: COALMINE_BENCH_CANARIES={text:?} is not a count: {error}");
                return ExitCode::from(101);
            }
        },
        Err(_) => DEFAULT_TRIALS,
    };
    let trials = (0..count)
        .map(|index| Trial::test(format!("canary::c{index:05}"), || Ok(())))
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}
