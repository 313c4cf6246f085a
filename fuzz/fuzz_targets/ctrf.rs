//! Feeds arbitrary bytes to the CTRF adapter: it must never panic, hang or grow without bound,
//! whatever the input; every test it hands out keeps its message within the bound, there are no
//! more tests than the input can describe (an element per test), and reading through a buffer of a
//! few bytes gives exactly what reading it whole gives.

#![no_main]

use coalmine::results::formats::Ctrf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    coalmine_fuzz::check(&Ctrf, data, data.len() + 1);
});
