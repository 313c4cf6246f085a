//! Feeds arbitrary bytes to the JUnit adapter: it must never panic, hang or grow without bound,
//! whatever the input; every test it hands out keeps its message within the bound, and reading
//! through a buffer of a few bytes gives exactly what reading it whole gives (errors and their
//! line and column included).

#![no_main]

use std::io::BufReader;

use coalmine::results::adapter::{Adapter, MAX_MESSAGE_BYTES};
use coalmine::results::formats::Junit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Junit.sniff(&data[..data.len().min(4096)]);
    let mut input = data;
    let mut tests = Vec::new();
    let whole = Junit.read(&mut input, &mut |test| {
        if let Some(message) = &test.message {
            assert!(
                message.len() <= MAX_MESSAGE_BYTES + 64,
                "an unbounded message"
            );
        }
        assert!(test.attempts >= 1);
        tests.push(test);
    });
    // A testcase takes at least `<testcase/>`.
    assert!(
        tests.len() <= data.len() / 11,
        "more tests than the bytes can hold"
    );

    let mut chunked = Vec::new();
    let small = Junit.read(&mut BufReader::with_capacity(3, data), &mut |test| {
        chunked.push(test)
    });
    assert_eq!(format!("{whole:?}"), format!("{small:?}"));
    assert_eq!(tests, chunked);
});
